package kernel

// Inter-processor messages are sent and handled in trap context, with
// interrupts off: nosplit, allocation-free.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/drivers/timer"
	"gofly/lwkt/ipiq"
)

// VectorIPI is the vector that tells a CPU its IPI queues have messages.
const VectorIPI = 0xF0

var (
	// ipis holds every CPU pair's message FIFO (DragonFly's gd_ipiq).
	ipis ipiq.Set
	// apicIDs maps CPU indices to local APIC ids, for raising IPIs.
	apicIDs [amd64.MaxCPUs]uint32
)

// sendMsg queues m from this CPU to CPU dst, actively (raising VectorIPI
// when the target has not been signalled since it last drained) or
// passively (no interrupt: the target drains at its next tick). When the
// FIFO is full it drains this CPU's own incoming queues until there is
// room, so CPUs flooding each other all progress; nothing is dropped. The
// caller has interrupts off.
//
//go:nosplit
func sendMsg(dst int, m ipiq.Msg, passive bool) {
	me := amd64.CPU()
	for {
		var raise, full bool
		if passive {
			raise, full = ipis.SendPassive(me, dst, m)
		} else {
			raise, full = ipis.Send(me, dst, m)
		}
		if raise {
			apic.SendIPI(apicIDs[dst], VectorIPI)
		}
		if !full {
			return
		}
		ipis.ProcessNested(me)
		amd64.Pause()
	}
}

// Handler ids (registered in ipi.go).
const (
	idCount = ipiq.FirstHandler + iota
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
				sendMsg(dst, ipiq.Msg{Fn: idCount, Arg1: uintptr(me), Arg2: uintptr(seq)}, false)
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
func ipiPing(src, _ uintptr) { sendMsg(int(src), ipiq.Msg{Fn: idPong}, false) }

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

// cpusync runs handler fn with arg1 and arg2 on every online CPU in mask,
// this one included when it is in mask, and returns once all of them have
// finished it (DragonFly's lwkt_cpusync_quick: the targets are not held
// afterwards). While it waits it drains its own incoming queues, so two
// CPUs in cpusync with each other both finish. Interrupts must be off.
//
//go:nosplit
func cpusync(mask uint64, fn, arg1, arg2 uintptr) {
	me := amd64.CPU()
	var seq [amd64.MaxCPUs]uint64
	for dst := 0; dst < amd64.MaxCPUs; dst++ {
		if dst == me || mask&(1<<dst) == 0 || !cpuOnline[dst].Load() {
			continue
		}
		sendMsg(dst, ipiq.Msg{Fn: fn, Arg1: arg1, Arg2: arg2}, false)
		seq[dst] = ipis.Seq(me, dst)
	}
	if mask&(1<<me) != 0 {
		ipis.Send(me, me, ipiq.Msg{Fn: fn, Arg1: arg1, Arg2: arg2}) // to self: runs now
	}
	for dst := 0; dst < amd64.MaxCPUs; dst++ {
		for seq[dst] != 0 && !ipis.Done(me, dst, seq[dst]) {
			ipis.Process(me)
			amd64.Pause()
		}
	}
}

// cpusyncSeen collects the CPUs that ran ipiMark.
var cpusyncSeen atomic.Uint64

// ipiMark records that this CPU ran it.
//
//go:nosplit
func ipiMark(_, _ uintptr) { cpusyncSeen.Or(1 << amd64.CPU()) }
