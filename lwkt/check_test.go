package lwkt

import (
	"fmt"
	"testing"

	"gofly/lwkt/ipiq"
)

// checkScene builds a healthy CPU 0 for the invariants checker: a running
// thread, a queue of two priorities, a waiting thread, and on CPU 1 a
// running and a runnable thread.
type checkScene struct {
	cur, b, c, d, waiter, other int32
}

func newCheckScene(t *testing.T) checkScene {
	resetAll(2)
	var s checkScene
	s.waiter = newWaiting(t, 0, 12, WaitFutex, 0x80, 0, 0)
	s.cur = newRunning(t, 0, 12)
	s.b = newRunnable(t, 0, 12)
	s.c = newRunnable(t, 0, 12)
	s.d = newRunnable(t, 0, 6)
	newRunning(t, 1, 12)
	s.other = newRunnable(t, 1, 12)
	return s
}

// TestCheckSched: the scheduler's invariants checker passes healthy
// schedulers and names each kind of breakage.
func TestCheckSched(t *testing.T) {
	s := newCheckScene(t)
	wantCheck(t, &gds[0])
	wantCheck(t, &gds[1])
	// A thread another CPU woke, its run message in flight.
	runOn(t, 1, func() error {
		if !Wakeup(s.waiter, 1) || !threads[s.waiter].runMsg {
			return fmt.Errorf("remote wakeup: no run message posted")
		}
		return nil
	})
	wantCheck(t, &gds[0])
	runOn(t, 0, func() error { remoteRun(uintptr(s.waiter), 0); return nil })
	if threads[s.waiter].runMsg || threads[s.waiter].state != Runnable {
		t.Fatal("the run message ran but the thread is not runnable, or still has one in flight")
	}
	wantCheck(t, &gds[0])
	// An idle CPU with an empty queue, and an idle one with a queue.
	resetAll(1)
	wantCheck(t, &gds[0])
	newRunnable(t, 0, 12)
	wantCheck(t, &gds[0])

	g := &gds[0]
	broken := []struct {
		name    string
		want    uint8
		id      func(s checkScene) int32 // slot of the thread named; nil: any
		breakIt func(s checkScene)
	}{
		{"cycle", checkCycle, nil, func(s checkScene) { threads[s.d].next = s.b }},
		{"self-loop", checkCycle, nil, func(s checkScene) { threads[s.b].next = s.b }},
		{"link out of range", checkCycle, nil, func(s checkScene) { threads[s.d].next = MaxThreads + 5 }},
		{"broken back link", checkCycle, nil, func(s checkScene) { threads[s.c].prev = -1 }},
		{"tail not the last", checkCycle, nil, func(s checkScene) { g.tail = s.c }},
		{"unsorted", checkUnsorted, func(s checkScene) int32 { return s.c }, func(s checkScene) { threads[s.b].pri = 6 }},
		{"blocked thread queued", checkQueuedState, func(s checkScene) int32 { return s.c }, func(s checkScene) {
			threads[s.c].state, threads[s.c].Wait = Blocked, WaitSleep
		}},
		{"running thread queued", checkQueuedState, func(s checkScene) int32 { return s.cur }, func(s checkScene) {
			makeRunnable(g, s.cur)
			threads[s.cur].state = Running
		}},
		{"idle thread queued", checkQueuedState, func(s checkScene) int32 { return g.idle }, func(s checkScene) {
			makeRunnable(g, g.idle)
			threads[g.idle].state = Blocked
		}},
		{"another CPU's thread queued", checkQueuedOwner, func(s checkScene) int32 { return s.other }, func(s checkScene) {
			unlink(&gds[1], s.other)
			makeRunnable(g, s.other)
		}},
		{"runnable thread not queued", checkRunnableAlone, func(s checkScene) int32 { return s.c }, func(s checkScene) {
			unlink(g, s.c)
		}},
		{"blocked thread without a wait", checkNoWait, func(s checkScene) int32 { return s.waiter }, func(s checkScene) {
			threads[s.waiter].Wait = WaitNone
		}},
		{"current thread not running", checkCurrent, func(s checkScene) int32 { return s.cur }, func(s checkScene) {
			threads[s.cur].state, threads[s.cur].Wait = Blocked, WaitSleep
		}},
	}
	for _, b := range broken {
		s = newCheckScene(t)
		b.breakIt(s)
		r := checkSched(g)
		if r.code != b.want {
			t.Errorf("%s: checkSched = %q, want %q", b.name, checkMessages[r.code], checkMessages[b.want])
			continue
		}
		if b.id != nil {
			if want := threads[b.id(s)].ID; r.id != want {
				t.Errorf("%s: checkSched names thread id %d, want %d", b.name, r.id, want)
			}
		}
	}
}

// TestCheckLocalRunMessage: the self-check's message to a CPU can run
// before a run message that was sent to that CPU earlier, by a
// higher-numbered CPU, since a CPU drains its sources in CPU order. The
// woken thread is then Blocked with no wait kind, legitimately: its run
// message is in flight (blocked-why). checkLocal once reported it broken.
func TestCheckLocalRunMessage(t *testing.T) {
	resetAll(3)
	w := newWaiting(t, 1, 12, WaitFutex, 0x90, 0, 0)
	runOn(t, 2, func() error { // CPU 2 wakes CPU 1's waiter
		GetMPLock()
		defer RelMPLock()
		if !Wakeup(w, 9) {
			return fmt.Errorf("wakeup failed")
		}
		hostFlush()
		return nil
	})
	runOn(t, 0, func() error { // CPU 0's checkAll: the check message
		GetMPLock()
		checkResult[1] = checkOutcome{}
		if _, full := IPIs.SendPassive(0, 1, ipiq.Msg{Fn: idCheck}); full {
			return fmt.Errorf("queue full")
		}
		return nil
	})
	runOn(t, 1, func() error { // CPU 1 takes its IPI
		IPIs.Process(1)
		return nil
	})
	runOn(t, 0, func() error { RelMPLock(); return nil })
	if r := checkResult[1]; r.code != checkOK {
		t.Fatalf("checkLocal on CPU 1: %q (thread id %d)", checkMessages[r.code], r.id)
	}
	if threads[w].state != Runnable || fmt.Sprint(queueOf(&gds[1])) != fmt.Sprint([]int32{w}) {
		t.Fatal("the run message did not run")
	}
}
