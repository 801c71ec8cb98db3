package lwkt

// The scheduler's self-check runs in an IPI handler on each CPU:
// nosplit, allocation-free.

import "gofly/arch/amd64"

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
	r := &checkResult[g.cpu]
	onQueue := &checkQueued[g.cpu]
	for i := range onQueue {
		onQueue[i] = false
	}
	prevPri := uint8(255)
	n := 0
	for i := g.head; i >= 0 && int(i) < len(threads); i = threads[i].next {
		t := &threads[i]
		if n++; n > MaxThreads {
			*r = checkOutcome{checkCycle, t.ID}
			return
		}
		switch {
		case t.state != Runnable:
			*r = checkOutcome{checkQueuedState, t.ID}
			return
		case int(t.gd) != g.cpu:
			*r = checkOutcome{checkQueuedOwner, t.ID}
			return
		case t.pri > prevPri:
			*r = checkOutcome{checkUnsorted, t.ID}
			return
		}
		prevPri = t.pri
		onQueue[i] = true
	}
	for i := range threads {
		t := &threads[i]
		if t.state == Free || int(t.gd) != g.cpu {
			continue
		}
		if t.state == Runnable && !onQueue[i] {
			*r = checkOutcome{checkRunnableAlone, t.ID}
			return
		}
		if t.state == Blocked && int32(i) != g.idle && t.Wait == WaitNone {
			*r = checkOutcome{checkNoWait, t.ID}
			return
		}
	}
	if c := &threads[g.cur]; g.cur != g.idle && c.state != Running {
		*r = checkOutcome{checkCurrent, c.ID}
		return
	}
	*r = checkOutcome{checkOK, 0}
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
	out := (*[amd64.MaxCPUs]checkOutcome)(ptr(arg))
	*out = checkResult
	return 0
}
