package kernel

import (
	"errors"
	"fmt"
	"sync"

	"gofly/lwkt"
)

// Ports for the self-test: static, as the kernel sleeps on their words.
var testServer, testClient lwkt.Port

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
		testServer.InitPort()
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
				lwkt.ReplyMsg(m, errors.New("body is not an int"))
				continue
			}
			m.Body = v + 1
			lwkt.ReplyMsg(m, nil)
		}
		serverErr <- nil
	}()
	<-ready
	testClient.InitPort()
	defer testClient.ReleasePort()
	if _, err := testServer.WaitMsg(); err != lwkt.ErrNotOwner {
		return fmt.Errorf("lwkt: port: WaitMsg on another thread's port returned %v, want ErrNotOwner", err)
	}
	for i := 0; i < n; i++ {
		m := &lwkt.Msg{Body: i}
		if err := lwkt.DoMsg(&testServer, m); err != nil {
			return fmt.Errorf("lwkt: port: DoMsg: %v", err)
		}
		if m.Body != i+1 || !m.Done() {
			return fmt.Errorf("lwkt: port: DoMsg %d came back as %v (done %v)", i, m.Body, m.Done())
		}
	}
	msgs := make([]lwkt.Msg, n)
	for i := range msgs {
		msgs[i] = lwkt.Msg{ReplyPort: &testClient, Body: 1000 + i}
		if err := lwkt.SendMsg(&testServer, &msgs[i]); err != nil {
			return fmt.Errorf("lwkt: port: SendMsg: %v", err)
		}
	}
	for i := 0; i < n; i++ {
		m, err := testClient.WaitMsg()
		if err != nil {
			return err
		}
		if !m.Done() || m.Error != nil || m.Body != 1000+i+1 {
			return fmt.Errorf("lwkt: port: reply %d: body %v, error %v, done %v (want %d, in order)", i, m.Body, m.Error, m.Done(), 1000+i+1)
		}
	}
	wg.Wait()
	return <-serverErr
}
