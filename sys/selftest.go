package sys

// sys's in-kernel self-test (ktest): threads as SYSREF resources.

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"time"

	"gofly/ktest"
	"gofly/lwkt"
	"gofly/sysref"
)

func init() {
	ktest.Register(ktest.Check{Name: "sys: every thread is a SYSREF resource; an exiting thread's record is released", Run: checkThreadRecords})
}

// checkThreadRecords finds every live thread's record by its sysid
// (class thread, active, the right tid), then lets a locked goroutine
// end, which ends its thread, and checks that thread's record is gone.
func checkThreadRecords() error {
	ts, _ := lwkt.Snapshot()
	for _, t := range ts {
		if t.SysID == 0 {
			return fmt.Errorf("sys: thread %d has no sysid", t.ID)
		}
		info, err := sysref.Find(t.SysID)
		if err != nil {
			return fmt.Errorf("sys: thread %d: %v", t.ID, err)
		}
		if info.Class != "thread" || info.State != sysref.Active || !strings.Contains(info.Summary, fmt.Sprintf("thread tid %d:", t.ID)) {
			return fmt.Errorf("sys: thread %d's record: class %s, %s, %q", t.ID, info.Class, info.State, info.Summary)
		}
	}
	// A goroutine that ends locked to its thread ends the thread (exit),
	// unless that thread is the runtime's first, which the runtime parks
	// for good instead: a second try cannot land there again.
	r0 := threadClass.Stats().Releases
	for try := 0; try < 2; try++ {
		ch := make(chan uint64, 1)
		go func() {
			runtime.LockOSThread()
			tid := int32(syscall.Gettid())
			ts, _ := lwkt.Snapshot()
			for _, t := range ts {
				if t.ID == tid {
					ch <- t.SysID
					return
				}
			}
			ch <- 0
		}()
		id := <-ch
		if id == 0 {
			return errors.New("sys: a thread found no sysid of its own")
		}
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := sysref.Find(id); err != nil {
				if threadClass.Stats().Releases == r0 {
					return fmt.Errorf("sys: thread record %#x is gone but the class counted no release", id)
				}
				return nil
			}
		}
	}
	return errors.New("sys: two threads ended and neither's record was released")
}
