package kernel

// Inter-processor messages are sent and handled in trap context, with
// interrupts off: nosplit, allocation-free.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/lwkt/ipiq"
)

// Handler ids (registered in ipi.go).
const (
	idCount = lwkt.FirstFreeHandler + iota
	idStorm
	idPassive
	idPing
	idPong
	idSpin
	idMark
)

// IPI self-test state: stormRecv[src][dst] counts messages from src run on
// dst, stormNext[src][dst] is the sequence number expected next.
var (
	stormRecv  [amd64.MaxCPUs][amd64.MaxCPUs]atomic.Uint64
	stormNext  [amd64.MaxCPUs][amd64.MaxCPUs]uint64 // written only by dst
	stormOrder atomic.Uint64                        // messages out of order
	stormN     atomic.Uint64                        // messages per pair

	passiveSentTick atomic.Uint64
	passiveRunTick  atomic.Uint64
)

// ipiCount runs on the target: arg1 is the source CPU, arg2 the sequence
// number (from 1) on that pair.
//
//go:nosplit
func ipiCount(src, seq uintptr) {
	dst := amd64.CPU()
	if stormNext[src][dst]+1 != uint64(seq) {
		stormOrder.Add(1)
	}
	stormNext[src][dst] = uint64(seq)
	stormRecv[src][dst].Add(1)
}

// ipiStorm runs on every CPU taking part: it sends stormN counted messages
// to each CPU in the mask arg1 but itself.
//
//go:nosplit
func ipiStorm(mask, _ uintptr) {
	me := amd64.CPU()
	n := stormN.Load()
	for seq := uint64(1); seq <= n; seq++ {
		for dst := 0; dst < amd64.MaxCPUs; dst++ {
			if dst != me && mask&(1<<dst) != 0 {
				lwkt.Send(dst, ipiq.Msg{Fn: idCount, Arg1: uintptr(me), Arg2: uintptr(seq)}, false)
			}
		}
	}
}

// ipiPassive records the tick at which a passive message ran.
//
//go:nosplit
func ipiPassive(_, _ uintptr) { passiveRunTick.Store(timer.Ticks()) }

// Benchmark state: pongs counts round trips come back to CPU 0;
// spinCount[cpu] is each CPU's private counter (its own cache line).
var (
	pongs     atomic.Uint64
	spinCount [amd64.MaxCPUs]struct {
		n atomic.Uint64
		_ [56]byte
	}
	spinUntil atomic.Uint64 // TSC at which ipiSpin stops
	spinDone  atomic.Uint64 // CPUs that finished spinning
)

// ipiPing runs on the target and answers CPU arg1 with a pong.
//
//go:nosplit
func ipiPing(src, _ uintptr) { lwkt.Send(int(src), ipiq.Msg{Fn: idPong}, false) }

// ipiPong counts a completed round trip.
//
//go:nosplit
func ipiPong(_, _ uintptr) { pongs.Add(1) }

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

// cpusyncSeen collects the CPUs that ran ipiMark.
var cpusyncSeen atomic.Uint64

// ipiMark records that this CPU ran it.
//
//go:nosplit
func ipiMark(_, _ uintptr) { cpusyncSeen.Or(1 << amd64.CPU()) }

// idleEntry runs each time a CPU's idle thread is about to halt, with
// interrupts off: if passive messages are queued for this CPU, it raises
// this CPU's own IPI, which fires as the idle loop enables interrupts, so
// they run now rather than at the next tick. See entry_amd64.s.
//
//go:nosplit
func idleEntry() {
	cpu := amd64.CPU()
	if lwkt.IPIs.Pending(cpu) {
		apic.SendIPI(lwkt.APICID(cpu), amd64.VectorIPI)
	}
}
