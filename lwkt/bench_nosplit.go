package lwkt

// The below-runtime halves of lwkt's benchmarks (bench.go): IPI handlers
// and TrapCall bodies, in trap context with interrupts off: nosplit,
// allocation-free, no pointer stores.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/lwkt/ipiq"
	"gofly/mm"
)

// Per-CPU counter workload: spinCount[cpu] is each CPU's private counter
// (its own cache line).
var (
	spinCount [amd64.MaxCPUs]struct {
		n atomic.Uint64
		_ [56]byte
	}
	spinUntil atomic.Uint64 // TSC at which ipiSpin stops
	spinDone  atomic.Uint64 // CPUs that finished spinning
)

// pingCall is the round-trip benchmark's TrapCall body: a ping to another
// CPU, whose pong comes back by interrupt once TrapCall has returned.
//
//go:nosplit
func pingCall(_ uintptr) uintptr {
	me := amd64.CPU()
	if dst := otherCPU(me); dst >= 0 {
		Send(dst, ipiq.Msg{Fn: idTestPing, Arg1: uintptr(me)}, false)
	}
	return 0
}

// emptyCall is the TrapCall benchmark's body.
//
//go:nosplit
func emptyCall(arg uintptr) uintptr { return arg }

// sendArgs is sendCall's argument and result.
type sendArgs struct {
	n       int    // in: messages to send
	passive bool   // in: send passively
	me, dst int    // out: this CPU and the target; dst -1 if none
	cycles  uint64 // out: TSC cycles the n sends took
}

// sendCall is the send benchmark's TrapCall body: n Nop messages to
// another CPU, timed.
//
//go:nosplit
func sendCall(arg uintptr) uintptr {
	a := (*sendArgs)(mm.Ptr(uint64(arg)))
	a.me = amd64.CPU()
	a.dst = otherCPU(a.me)
	if a.dst < 0 {
		return 0
	}
	t0 := amd64.Rdtsc()
	for i := 0; i < a.n; i++ {
		Send(a.dst, ipiq.Msg{Fn: ipiq.Nop}, a.passive)
	}
	a.cycles = amd64.Rdtsc() - t0
	return 0
}

// ipiSpin increments this CPU's private counter until the TSC passes
// spinUntil: the per-CPU counter workload. It runs with interrupts off.
//
//go:nosplit
func ipiSpin(_, _ uintptr) {
	c := &spinCount[amd64.CPU()].n
	end := spinUntil.Load()
	for amd64.Rdtsc() < end {
		for i := 0; i < 1000; i++ {
			c.Store(c.Load() + 1) // only this CPU writes it
		}
	}
	spinDone.Add(1)
}

// spinCall is the per-CPU benchmark's TrapCall body: it starts ipiSpin on
// n-1 other online CPUs and runs it here too. It returns how many CPUs
// take part.
//
//go:nosplit
func spinCall(n uintptr) uintptr {
	me, sent := amd64.CPU(), uintptr(1)
	for c := range gds {
		if c != me && gds[c].online && sent < n {
			Send(c, ipiq.Msg{Fn: idTestSpin}, false)
			sent++
		}
	}
	ipiSpin(0, 0)
	return sent
}
