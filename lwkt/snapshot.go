package lwkt

import (
	"fmt"
	"unsafe"

	"gofly/arch/amd64"
)

// ThreadInfo is a copy of one thread's public state, for ps.
type ThreadInfo struct {
	Slot       int32
	ID         int32
	CPU        int
	State      State
	Wait       WaitKind
	Pri        uint8
	Idle       bool
	Current    bool
	Cycles     uint64
	Switches   uint64
	Migrations uint64
	SysID      uint64 // the thread's sysid (0: none yet)
}

// CPUInfo is a copy of one CPU's scheduler counters.
type CPUInfo struct {
	CPU             int
	Online          bool
	Switches        uint64
	IdleCycles      uint64
	Load            int32 // running and queued threads, and run messages on their way
	MigrIn, MigrOut uint64
	PullAsks        uint64
	Ticks           uint64 // timer ticks taken
}

// Snapshot copies every live thread's state and every online CPU's
// counters. The copy is made below the runtime (TrapCall: this CPU's
// interrupts off, the MP lock held); other CPUs' counters are read as they
// run, so theirs may be a tick stale.
func Snapshot() ([]ThreadInfo, []CPUInfo) {
	var s snapshot
	TrapCall(snapshotCopy, uintptr(unsafe.Pointer(&s)))
	return append([]ThreadInfo(nil), s.threads[:s.n]...), append([]CPUInfo(nil), s.cpus[:s.nc]...)
}

// SelfTest checks the scheduler's invariants on the live thread table.
// Each CPU checks its own scheduler, in an IPI handler, so that it sees its
// run queue at rest (owner-cpu: no other CPU may read it mid-change).
func SelfTest() error {
	var r [amd64.MaxCPUs]checkOutcome
	TrapCall(checkAll, uintptr(unsafe.Pointer(&r)))
	for c := range r {
		if gds[c].online && r[c].code != checkOK {
			return fmt.Errorf("lwkt: cpu %d: %s: thread %d", c, checkMessages[r[c].code], r[c].id)
		}
	}
	return nil
}

var checkMessages = [...]string{
	checkOK:            "ok",
	checkNotRun:        "runq-state: the check did not run",
	checkCycle:         "runq-state: run queue links broken (a cycle, a bad index, back link or tail)",
	checkQueuedState:   "runq-state: a thread on the run queue is not runnable",
	checkQueuedOwner:   "owner-cpu: a thread of another CPU is on the run queue",
	checkUnsorted:      "runq-state: run queue not sorted by priority",
	checkRunnableAlone: "runq-state: a runnable thread is not on the run queue",
	checkNoWait:        "blocked-why: a blocked thread has no wait kind",
	checkCurrent:       "runq-state: the current thread is not running",
}
