package lwkt

// Spin-wait watchdogs run inside the spins of the trap path: nosplit.

import (
	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/fatal"
	"gofly/klog"
)

// How long a spin may last: a warning after SpinWarn, a throw after
// SpinLimit (DragonFly warns about and then panics on tokens and spinlocks
// held too long). Nothing in the trap path legitimately waits this long.
const (
	SpinWarnSeconds  = 1
	SpinLimitSeconds = 10
)

// spinWatch times one spin. Its zero value starts on the first check.
type spinWatch struct {
	start uint64 // TSC at the first check
	next  uint64 // TSC cycles after start at which to report next
	limit uint64 // TSC cycles after start at which to throw
	turns uint32 // checks so far: the TSC is read on one in spinTSCEvery
}

// spinTSCEvery is how many turns of a spin read the TSC once. Reading it
// on every turn disturbed QEMU's TCG clock: while one CPU spun for the MP
// lock that another held to time the TSC against the PIT (the self-test's
// 20 ms), the TSC ran 0.25% to 3% fast of the PIT, in most -smp 2 boots
// on this host (QEMU keeps one TSC for all CPUs that may not go
// backwards, and reads from two threads that cross seem to push it on);
// reading it one turn in 1024, never.
const spinTSCEvery = 1024

// check is called on each turn of a spin waiting for what, held (when
// known) by CPU holder (-1: unknown). Before the TSC is calibrated, and on
// the host, there is no clock and no limit.
//
//go:nosplit
func (w *spinWatch) check(what string, holder int) {
	w.turns++
	if w.start != 0 && w.turns%spinTSCEvery != 0 {
		return
	}
	now := amd64.Rdtsc()
	if w.start == 0 {
		hz := timer.TSCHz()
		if hz == 0 {
			hz = 1 << 62 // no clock: never
		}
		w.start, w.next, w.limit = now, SpinWarnSeconds*hz, SpinLimitSeconds*hz
		return
	}
	if now-w.start > w.next {
		spinLate(w, what, holder, now-w.start)
	}
}

// spinLate is late, called through a variable so that the linker does not
// count the report into the 792-byte bound of the nosplit chains that
// spin: that bound is for goroutine stacks, and every spin runs in the
// trap path, on its CPU's 64 KiB trap stack (amd64.TrapStackSize).
var spinLate = (*spinWatch).late

// late warns once, after SpinWarn, and throws after SpinLimit.
//
//go:nosplit
func (w *spinWatch) late(what string, holder int, d uint64) {
	w.next = w.limit
	if d <= w.limit {
		spinReport(" has waited over a second for ", what, holder)
		return
	}
	spinReport(" has waited 10 seconds for ", what, holder)
	fatal.Throw("lwkt: stuck spin")
}

// spinReport prints which CPU waits for what, held by whom.
//
//go:nosplit
func spinReport(msg, what string, holder int) {
	m := klog.Begin() // every CPU spinning on the same lock reports at once
	klog.Puts("gofly: cpu ")
	klog.Dec(uint64(amd64.CPU()))
	klog.Puts(msg)
	klog.Puts(what)
	if holder >= 0 {
		klog.Puts(", held by cpu ")
		klog.Dec(uint64(holder))
	}
	klog.Puts("\n")
	m.End()
}
