package lwkt

// The below-runtime halves of lwkt's self-tests and benchmarks
// (selftest.go, bench.go): their IPI handlers and TrapCall bodies. Both run
// in trap context with interrupts off: nosplit, allocation-free, no
// pointer stores. A TrapCall body gets its arguments and leaves its results
// in a pointer-free struct of the Go caller's (mm.Ptr(uint64(arg))).

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/lwkt/ipiq"
	"gofly/mm"
)

// Test handler ids, after the production ones (mp_nosplit.go); registered
// by selftest.go's init, never by the production table in ipi.go.
const (
	idTestCount = FirstFreeHandler + iota
	idTestStorm
	idTestPassive
	idTestPing
	idTestPong
	idTestSpin
	idTestMark
	idTestToken
)

// otherCPU returns an online CPU other than me, or -1 if there is none.
//
//go:nosplit
func otherCPU(me int) int {
	for i := range gds {
		if i != me && gds[i].online {
			return i
		}
	}
	return -1
}

// spinCycles busy-waits for c TSC cycles, calling nothing splittable.
//
//go:nosplit
func spinCycles(c uint64) {
	for end := amd64.Rdtsc() + c; amd64.Rdtsc() < end; {
		amd64.Pause()
	}
}

// holdArgs is holdCPU's argument and result: where the body started and
// ended, what its CPU did meanwhile, and the pongs counted at each end.
type holdArgs struct {
	cycles uint64 // in: how long to spin
	ping   bool   // in: first send a ping to another CPU, which pongs back
	wait   uint64 // in: with ping, how much longer to spin for the pong to be queued
	queued bool   // out: the pong was queued to this CPU before the body ended

	cpu0, cpu1       int32  // CPU at the start and at the end
	thread0, thread1 int32  // this CPU's current thread at the start and end
	switches         uint64 // thread switches of that CPU in between
	pongs0, pongs1   uint64 // pongs counted at the start and at the end
	target           int32  // the CPU pinged; -1 if none
}

// holdCPU is the TrapCall body of the TrapCall check: it records its CPU
// and thread, optionally pings another CPU, spins for a.cycles (and, after
// a ping, until the pong is queued to this CPU, at most a.wait more) and
// records them again.
//
//go:nosplit
func holdCPU(arg uintptr) uintptr {
	a := (*holdArgs)(mm.Ptr(uint64(arg)))
	me := amd64.CPU()
	a.cpu0, a.thread0 = int32(me), Current()
	sw := gds[me].Switches
	a.pongs0 = pongs.Load()
	a.target = -1
	if a.ping {
		if dst := otherCPU(me); dst >= 0 {
			a.target = int32(dst)
			Send(dst, ipiq.Msg{Fn: idTestPing, Arg1: uintptr(me)}, false)
		}
	}
	spinCycles(a.cycles)
	if a.target >= 0 {
		// The pong must be waiting for this CPU, or its not running
		// here would prove nothing.
		for end := amd64.Rdtsc() + a.wait; IPIs.Depth(int(a.target), me) == 0 && amd64.Rdtsc() < end; {
			amd64.Pause()
		}
		a.queued = IPIs.Depth(int(a.target), me) > 0
	}
	a.pongs1 = pongs.Load()
	end := amd64.CPU()
	a.cpu1, a.thread1 = int32(end), Current()
	a.switches = gds[end].Switches - sw
	return 0
}

// Handlers of the IPI checks and benchmarks.

// IPI storm state: stormRecv[src][dst] counts messages from src run on
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
	if stormNext[src%amd64.MaxCPUs][dst]+1 != uint64(seq) {
		stormOrder.Add(1)
	}
	stormNext[src%amd64.MaxCPUs][dst] = uint64(seq)
	stormRecv[src%amd64.MaxCPUs][dst].Add(1)
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
				Send(dst, ipiq.Msg{Fn: idTestCount, Arg1: uintptr(me), Arg2: uintptr(seq)}, false)
			}
		}
	}
}

// stormCall is the storm check's TrapCall body: it clears the counters,
// starts ipiStorm on every other CPU in mask and takes part itself.
//
//go:nosplit
func stormCall(mask uintptr) uintptr {
	for s := range stormRecv {
		for d := range stormRecv[s] {
			stormRecv[s][d].Store(0)
			stormNext[s][d] = 0
		}
	}
	stormOrder.Store(0)
	me := amd64.CPU()
	for dst := 0; dst < amd64.MaxCPUs; dst++ {
		if dst != me && mask&(1<<dst) != 0 {
			Send(dst, ipiq.Msg{Fn: idTestStorm, Arg1: mask}, false)
		}
	}
	ipiStorm(mask, 0)
	return 0
}

// ipiPassive records, by its CPU's tick count, when a passive message ran.
//
//go:nosplit
func ipiPassive(_, _ uintptr) { passiveRunTick.Store(mycpu().Ticks.Load() + 1) }

// Results of passiveCall.
const (
	passiveRaise = 1 << iota // the send asked for an interrupt
	passiveFull              // the FIFO was full
	passiveAlone             // no other CPU online
)

// passiveCall is the passive check's TrapCall body: one passive message to
// another CPU; it returns what the send decided.
//
//go:nosplit
func passiveCall(_ uintptr) uintptr {
	me := amd64.CPU()
	dst := otherCPU(me)
	if dst < 0 {
		return passiveAlone
	}
	passiveSentTick.Store(gds[dst].Ticks.Load() + 1) // +1: 0 means "not run"
	// Other CPUs' traffic moves the IPI counters meanwhile; the send's
	// own decision is what must say "no interrupt" (but for a tickless
	// target, which Send kicks).
	raise, full := IPIs.SendPassive(me, dst, ipiq.Msg{Fn: idTestPassive})
	if !raise && !full {
		kickTickless(dst)
	}
	var r uintptr
	if raise {
		r |= passiveRaise
	}
	if full {
		r |= passiveFull
	}
	return r
}

// pongs counts the pongs come back (ipiPong).
var pongs atomic.Uint64

// ipiPing runs on the target and answers CPU arg1 with a pong.
//
//go:nosplit
func ipiPing(src, _ uintptr) { Send(int(src%amd64.MaxCPUs), ipiq.Msg{Fn: idTestPong}, false) }

// ipiPong counts a completed round trip.
//
//go:nosplit
func ipiPong(_, _ uintptr) { pongs.Add(1) }

// cpusyncSeen collects the CPUs that ran ipiMark.
var cpusyncSeen atomic.Uint64

// ipiMark records that this CPU ran it.
//
//go:nosplit
func ipiMark(_, _ uintptr) { cpusyncSeen.Or(1 << amd64.CPU()) }

// markCall is the cpusync check's TrapCall body: Cpusync over mask, and
// the set of CPUs that ran the handler.
//
//go:nosplit
func markCall(mask uintptr) uintptr {
	cpusyncSeen.Store(0)
	Cpusync(uint64(mask), idTestMark, 0, 0)
	return uintptr(cpusyncSeen.Load())
}

// The cross-CPU token check: every online CPU runs ipiTokens at once, each
// for tokRounds rounds of: get crossToken, count itself inside, bump
// tokTotal, spin, leave, release.
const tokRounds = 200

var (
	crossToken  Token        // static: tokrefs refer to it by address
	tokArrived  atomic.Int32 // CPUs that reached the start line
	tokInside   atomic.Int32 // CPUs inside the section now
	tokOverlaps atomic.Int32 // times a CPU found another inside
	tokBugs     atomic.Int32 // bug reports from TryToken or RelToken
	tokLate     atomic.Int32 // CPUs that started before the others arrived
	tokTotal    uint64       // protected by crossToken
)

// ipiTokens is the token check's handler; arg1 is the number of CPUs
// taking part. It first waits (up to a second) for all of them, so that
// they contend rather than run one after the other as the IPIs arrive.
// It takes the token for the thread it interrupted (Current), which the
// handler's own trap context keeps from running meanwhile, and releases
// it before it returns, so that thread's token stack is as it was.
//
//go:nosplit
func ipiTokens(n, _ uintptr) {
	tokArrived.Add(1)
	for end := amd64.Rdtsc() + timer.TSCHz(); tokArrived.Load() < int32(n); {
		if amd64.Rdtsc() > end {
			tokLate.Add(1)
			break
		}
		amd64.Pause()
	}
	self := Current()
	for r := 0; r < tokRounds; r++ {
		for {
			ok, msg := TryToken(self, &crossToken)
			if msg != "" {
				tokBugs.Add(1)
				return
			}
			if ok {
				break
			}
			amd64.Pause()
		}
		if tokInside.Add(1) != 1 {
			tokOverlaps.Add(1)
		}
		tokTotal++
		for i := 0; i < 200; i++ {
			_ = tokInside.Load()
		}
		tokInside.Add(-1)
		if msg := RelToken(self, &crossToken); msg != "" {
			tokBugs.Add(1)
			return
		}
	}
}

// tokenCall is the token check's TrapCall body: ipiTokens on every online
// CPU at once. The caller of Cpusync holds the MP lock (TrapCall takes it).
//
//go:nosplit
func tokenCall(_ uintptr) uintptr {
	mask := OnlineMask()
	n := uintptr(0)
	for m := mask; m != 0; m &= m - 1 {
		n++
	}
	Cpusync(mask, idTestToken, n, 0)
	return 0
}

// affinityAll is the spread check's TrapCall body: it sets the affinity
// of every live thread but the idle ones to mask arg (0: any).
//
//go:nosplit
func affinityAll(arg uintptr) uintptr {
	for i := range threads {
		t := &threads[i]
		if t.live && int32(i) != gds[t.gd.Load()%amd64.MaxCPUs].idle {
			t.affinity.Store(uint64(arg))
		}
	}
	return 0
}
