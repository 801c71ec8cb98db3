package lwkt

// The scheduler's self-check runs in an IPI handler on each CPU:
// nosplit, allocation-free.

import (
	"gofly/arch/amd64"
	"gofly/mm"
)

// Outcomes of checkLocal.
const (
	checkNotRun = iota // zero value: the CPU never ran the check
	checkOK
	checkCycle
	checkQueuedState
	checkQueuedOwner
	checkUnsorted
	checkRunnableAlone
	checkNoWait
	checkCurrent
)

type checkOutcome struct {
	code uint8
	id   int32 // the thread concerned
}

var (
	checkResult [amd64.MaxCPUs]checkOutcome
	checkQueued [amd64.MaxCPUs][MaxThreads]bool // scratch: static, not on the stack
)

// checkLocal checks this CPU's scheduler (runq-state, owner-cpu,
// blocked-why) and records the outcome in checkResult.
//
//go:nosplit
func checkLocal(_, _ uintptr) {
	g := mycpu()
	checkResult[g.cpu] = checkSched(g)
}

// checkSched checks g's scheduler, at rest: its run queue is a well-linked
// list (forward links in range and acyclic, back links and tail agreeing;
// any breakage is reported as checkCycle) of Runnable threads of g's CPU
// in priority order, every Runnable thread of g's CPU is on it, every
// Blocked one but the idle thread waits or has a run message in flight,
// and the current thread is Running. The caller holds the MP lock, or no
// other CPU runs (the waits, and which slots are g's).
//
//go:nosplit
func checkSched(g *Globaldata) checkOutcome {
	onQueue := &checkQueued[uint(g.cpu)%amd64.MaxCPUs]
	for i := range onQueue {
		onQueue[i] = false
	}
	prevPri := uint8(255)
	n := 0
	last := int32(-1)
	for i := g.head; i >= 0; i = threads[i].next {
		if int(i) >= len(threads) {
			return checkOutcome{checkCycle, -1}
		}
		t := &threads[i]
		if n++; n > MaxThreads || onQueue[i] {
			return checkOutcome{checkCycle, t.ID}
		}
		switch {
		case t.prev != last:
			return checkOutcome{checkCycle, t.ID}
		case t.state != Runnable:
			return checkOutcome{checkQueuedState, t.ID}
		case int(t.gd.Load()) != g.cpu:
			return checkOutcome{checkQueuedOwner, t.ID}
		case t.pri > prevPri:
			return checkOutcome{checkUnsorted, t.ID}
		}
		prevPri = t.pri
		onQueue[i] = true
		last = i
	}
	if g.tail != last {
		return checkOutcome{checkCycle, -1}
	}
	for i := range threads {
		t := &threads[i]
		// gd first: the MP lock (held by checkAll's caller) keeps alloc
		// and Wakeup from changing it, and a CPU gives a thread away
		// (migrate-safe) only after making it Blocked with runMsg set,
		// which passes the checks below whichever gd is seen; the state
		// of another CPU's thread is that CPU's to write, unlocked.
		if int(t.gd.Load()) != g.cpu || t.state == Free {
			continue
		}
		if t.state == Runnable && !onQueue[i] {
			return checkOutcome{checkRunnableAlone, t.ID}
		}
		if t.state == Blocked && int32(i) != g.idle && t.Wait == WaitNone && !t.runMsg {
			return checkOutcome{checkNoWait, t.ID}
		}
	}
	if c := &threads[g.cur]; g.cur != g.idle && c.state != Running {
		return checkOutcome{checkCurrent, c.ID}
	}
	return checkOutcome{checkOK, 0}
}

// checkAll is SelfTest's TrapCall body: it runs checkLocal on every online
// CPU (Cpusync; TrapCall holds the MP lock, as Cpusync's callers must) and
// copies the outcomes into the caller's [amd64.MaxCPUs]checkOutcome at arg.
//
//go:nosplit
func checkAll(arg uintptr) uintptr {
	for c := range checkResult {
		checkResult[c] = checkOutcome{}
	}
	Cpusync(^uint64(0), idCheck, 0, 0)
	out := (*[amd64.MaxCPUs]checkOutcome)(mm.Ptr(uint64(arg)))
	*out = checkResult
	return 0
}
