package msgport

// msgport's in-kernel self-test (ktest).

import (
	"errors"
	"fmt"
	"sync"

	"gofly/ktest"
	"gofly/sysref"
)

func init() {
	ktest.Register(ktest.Check{Name: "msgport: DoMsg, SendMsg and replies between threads; ports found by sysid while initialised", Run: checkPorts})
}

// Ports for the self-test: static, as the kernel sleeps on their words.
var testServer, testClient Port

// checkPorts runs a server thread and a client thread (on different CPUs
// when there are several): synchronous requests with DoMsg, asynchronous
// ones with SendMsg whose replies come back to the client's own port, and a
// wait on a port the thread does not own.
func checkPorts() error {
	const n = 200
	var wg sync.WaitGroup
	serverErr := make(chan error, 1)
	ready := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := testServer.InitPort(); err != nil {
			serverErr <- err
			close(ready)
			return
		}
		defer testServer.ReleasePort()
		close(ready)
		for i := 0; i < 2*n; i++ {
			m, err := testServer.WaitMsg()
			if err != nil {
				serverErr <- err
				return
			}
			v, ok := m.Body.(int)
			if !ok {
				ReplyMsg(m, errors.New("body is not an int"))
				continue
			}
			m.Body = v + 1
			ReplyMsg(m, nil)
		}
		serverErr <- nil
	}()
	<-ready
	if err := testClient.InitPort(); err != nil {
		return err
	}
	defer testClient.ReleasePort()
	if err := checkRecords(&testServer, &testClient); err != nil {
		return err
	}
	if _, err := testServer.WaitMsg(); err != ErrNotOwner {
		return fmt.Errorf("msgport: WaitMsg on another thread's port returned %v, want ErrNotOwner", err)
	}
	for i := 0; i < n; i++ {
		m := NewMsg()
		if m == nil {
			return errors.New("msgport: NewMsg returned nil")
		}
		m.Body = i
		if err := DoMsg(&testServer, m); err != nil {
			return fmt.Errorf("msgport: DoMsg: %v", err)
		}
		if m.Body != i+1 || !m.Done() {
			return fmt.Errorf("msgport: DoMsg %d came back as %v (done %v)", i, m.Body, m.Done())
		}
		FreeMsg(m)
	}
	for i := 0; i < n; i++ {
		m := NewMsg()
		m.ReplyPort, m.Body = &testClient, 1000+i
		if err := SendMsg(&testServer, m); err != nil {
			return fmt.Errorf("msgport: SendMsg: %v", err)
		}
	}
	for i := 0; i < n; i++ {
		m, err := testClient.WaitMsg()
		if err != nil {
			return err
		}
		if !m.Done() || m.Error != nil || m.Body != 1000+i+1 {
			return fmt.Errorf("msgport: reply %d: body %v, error %v, done %v (want %d, in order)", i, m.Body, m.Error, m.Done(), 1000+i+1)
		}
		FreeMsg(m)
	}
	wg.Wait()
	return <-serverErr
}

// checkRecords finds each initialised port's record by its sysid (class
// port, active, the owner's thread in the summary), and checks that a
// port released is found no more.
func checkRecords(ports ...*Port) error {
	for _, p := range ports {
		info, err := sysref.Find(p.Sysid())
		if err != nil {
			return fmt.Errorf("msgport: port %#x: %v", p.Sysid(), err)
		}
		want := fmt.Sprintf("port of thread %d:", p.owner.Load())
		if info.Class != "port" || info.State != sysref.Active || len(info.Summary) < len(want) || info.Summary[:len(want)] != want {
			return fmt.Errorf("msgport: port %#x's record: class %s, %s, %q; want an active port of thread %d", p.Sysid(), info.Class, info.State, info.Summary, p.owner.Load())
		}
	}
	var q Port
	if err := q.InitPort(); err != nil {
		return err
	}
	id := q.Sysid()
	q.ReleasePort()
	if id == 0 || q.Sysid() != 0 {
		return fmt.Errorf("msgport: InitPort gave sysid %#x, ReleasePort left %#x", id, q.Sysid())
	}
	if info, err := sysref.Find(id); err == nil && info.State == sysref.Active {
		return fmt.Errorf("msgport: released port %#x is still an active record", id)
	}
	return nil
}
