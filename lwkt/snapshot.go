package lwkt

import (
	"fmt"

	"gofly/arch/amd64"
)

// ThreadInfo is a copy of one thread's public state, for ps.
type ThreadInfo struct {
	Slot     int32
	ID       int32
	CPU      int
	State    State
	Wait     WaitKind
	Pri      uint8
	Idle     bool
	Current  bool
	Cycles   uint64
	Switches uint64
}

// CPUInfo is a copy of one CPU's scheduler counters.
type CPUInfo struct {
	CPU        int
	Online     bool
	Switches   uint64
	IdleCycles uint64
}

// Snapshot copies every live thread's state and every online CPU's
// counters. Interrupts are off on this CPU while it copies; other CPUs'
// counters are read as they run, so theirs may be a tick stale.
func Snapshot() ([]ThreadInfo, []CPUInfo) {
	var buf [MaxThreads]ThreadInfo
	var cbuf [amd64.MaxCPUs]CPUInfo
	n, nc := 0, 0
	Critical(func() {
		now := amd64.Rdtsc()
		for i := range threads {
			t := &threads[i]
			if t.state == Free {
				continue
			}
			g := &gds[t.gd]
			c := t.Cycles
			if int32(i) == g.cur {
				c += now - t.since
			}
			buf[n] = ThreadInfo{int32(i), t.ID, int(t.gd), t.state, t.Wait, t.pri, int32(i) == g.idle, int32(i) == g.cur, c, t.Switches}
			n++
		}
		for i := range gds {
			g := &gds[i]
			if !g.online {
				continue
			}
			ci := CPUInfo{i, true, g.Switches, g.IdleCycles}
			if g.cur == g.idle {
				ci.IdleCycles += now - threads[g.cur].since
			}
			cbuf[nc] = ci
			nc++
		}
	})
	return append([]ThreadInfo(nil), buf[:n]...), append([]CPUInfo(nil), cbuf[:nc]...)
}

// SelfTest checks the scheduler's invariants on the live thread table.
// Each CPU checks its own scheduler, in an IPI handler, so that it sees its
// run queue at rest (owner-cpu: no other CPU may read it mid-change).
func SelfTest() error {
	Critical(func() {
		for c := range checkResult {
			checkResult[c] = checkOutcome{}
		}
		Cpusync(^uint64(0), idCheck, 0, 0)
	})
	for c, r := range checkResult {
		if gds[c].online && r.code != checkOK {
			return fmt.Errorf("lwkt: cpu %d: %s: thread %d", c, checkMessages[r.code], r.id)
		}
	}
	return nil
}

var checkMessages = [...]string{
	checkOK:            "ok",
	checkNotRun:        "runq-state: the check did not run",
	checkCycle:         "runq-state: run queue has a cycle",
	checkQueuedState:   "runq-state: a thread on the run queue is not runnable",
	checkQueuedOwner:   "owner-cpu: a thread of another CPU is on the run queue",
	checkUnsorted:      "runq-state: run queue not sorted by priority",
	checkRunnableAlone: "runq-state: a runnable thread is not on the run queue",
	checkNoWait:        "blocked-why: a blocked thread has no wait kind",
	checkCurrent:       "runq-state: the current thread is not running",
}
