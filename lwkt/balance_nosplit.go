package lwkt

// Balancing: the layer DragonFly puts above LWKT (usched_dfly.c) for the
// threads that may move — here every thread but the idle ones, since each
// Go runtime thread (an M) is a "user" thread to the scheduler. LWKT
// itself never moves a thread; this file decides where threads go and
// moves them, in three places:
//
//   - wake placement (Wakeup): a woken thread stays on its CPU when that
//     CPU idles, and otherwise goes to an idle CPU if there is one;
//   - pull (Schedule): a CPU that has just gone idle asks the busiest CPU
//     with a queued thread for one, by IPI message; the owner gives the
//     thread away in the handler, at once, not at its next tick;
//   - push (Tick): each tick, a CPU whose load is at least two above the
//     least loaded CPU gives that CPU one queued thread.
//
// migrate-safe: a thread moves only while fully saved (registers, FPU
// image, FS base in its Thread) and on no run queue, holding no token:
// a queued Runnable thread that its owner takes off its queue, or a
// blocked one whose wait the mover has just claimed under the MP lock. A
// thread running Go code, or inside a system call or trap, never moves.
// The mover sets gd to the new owner and sends it a run message
// (sendRun), so only the owner ever touches a thread's scheduling state
// (owner-cpu), and the thread is Blocked with runMsg set on the way
// (blocked-why).
//
// The decisions (wakeCPU, idlest, pushCPU, pullCPU) are pure functions of
// a load vector, tested on the host. Loads are read without a lock and may
// be stale by one message; every decision is re-checked by the owner that
// acts on it (remotePull gives nothing to a CPU that got work meanwhile).
// Push needs a difference of two, so each push lowers the sum of squared
// loads: pushes alone cannot ping-pong a thread.
//
// Trap context: nosplit, allocation-free.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/fatal"
	"gofly/lwkt/ipiq"
)

// noBalance turns the balancer off (SetBalance): threads then stay on the
// CPU they were created on, new threads go to the CPUs in turn, as LWKT
// alone does. For benchmarks that compare, and for the scheduler's model
// test, which models LWKT alone.
var noBalance atomic.Bool

// SetBalance turns balancing on or off; it is on from boot.
//
//go:nosplit
func SetBalance(on bool) { noBalance.Store(!on) }

// Balancing reports whether balancing is on.
//
//go:nosplit
func Balancing() bool { return !noBalance.Load() }

// loads holds each CPU's load (running non-idle thread, run queue and run
// messages in flight), or -1 for a CPU that is not online.
type loads [amd64.MaxCPUs]int32

// scratch is each CPU's load vector for the balancer (interrupts off),
// kept off the stack of the deep nosplit chains that wake threads.
var scratch [amd64.MaxCPUs]loads

// loadNow is g's load as the balancer counts it: its published load and
// the run messages on their way to it.
//
//go:nosplit
func (g *Globaldata) loadNow() int32 { return g.load.Load() + g.incoming.Load() }

// readLoads fills l from every CPU's published figures.
//
//go:nosplit
func readLoads(l *loads) {
	for c := range gds {
		l[c] = -1
		if gds[c].online {
			l[c] = gds[c].loadNow()
		}
	}
}

// idlestNow returns the least loaded online CPU that aff admits, by the
// loads as this CPU reads them now (in its scratch vector), or -1.
//
//go:nosplit
func idlestNow(aff uint64) int {
	l := &scratch[uint(amd64.CPU())%amd64.MaxCPUs]
	readLoads(l)
	return idlest(aff, l)
}

// allowed reports whether affinity set aff (0: any) admits CPU c.
//
//go:nosplit
func allowed(aff uint64, c int) bool { return aff == 0 || aff&(1<<uint(c)) != 0 }

// idlest returns the online CPU in aff with the lowest load, the lowest
// index first among equals, or -1 when aff admits no online CPU.
//
//go:nosplit
func idlest(aff uint64, l *loads) int {
	best := -1
	for c := range l {
		if l[c] >= 0 && allowed(aff, c) && (best < 0 || l[c] < l[best]) {
			best = c
		}
	}
	return best
}

// wakeCPU returns the CPU a thread of CPU own, allowed on aff, runs on
// when it wakes: own when own idles (its caches, no message), else an idle
// CPU, else own. A thread whose own CPU its affinity no longer admits goes
// to the idlest CPU it may use.
//
//go:nosplit
func wakeCPU(own int, aff uint64, l *loads) int {
	ok := allowed(aff, own) && l[own] >= 0
	if ok && l[own] == 0 {
		return own
	}
	c := idlest(aff, l)
	if c < 0 {
		fatal.Throw("lwkt: a thread's affinity admits no online CPU")
	}
	if !ok || l[c] == 0 {
		return c
	}
	return own
}

// pushCPU returns the CPU that CPU self, at its tick, gives one queued
// thread allowed on aff: the least loaded one, if its load is at least two
// below self's; else -1.
//
//go:nosplit
func pushCPU(self int, aff uint64, l *loads) int {
	c := idlest(aff, l)
	if c < 0 || c == self || l[c] > l[self]-2 {
		return -1
	}
	return c
}

// pullCPU returns the CPU that CPU self, gone idle, asks for a thread: the
// most loaded CPU with a thread queued beside its running one (load of two
// or more), or -1.
//
//go:nosplit
func pullCPU(self int, l *loads) int {
	best := -1
	for c := range l {
		if c != self && l[c] >= 2 && (best < 0 || l[c] > l[best]) {
			best = c
		}
	}
	return best
}

// publish makes g's load visible to the other CPUs' balancers.
//
//go:nosplit
func publish(g *Globaldata) {
	n := g.nq
	if g.cur != g.idle {
		n++
	}
	g.load.Store(n)
}

// movable returns the first thread on g's run queue that may run on CPU
// dst (its affinity, no tokens: a queued thread may still want back the
// tokens it held when switched out), or -1.
//
//go:nosplit
func movable(g *Globaldata, dst int) int32 {
	n := 0
	for i := g.head; i >= 0 && n < MaxThreads; i = threads[i].next {
		n++
		if allowed(threads[i].affinity.Load(), dst) && TokenCount(i) == 0 {
			return i
		}
	}
	return -1
}

// giveAway moves queued thread i of g, this CPU, to CPU dst
// (migrate-safe): off the queue, then handOff.
//
//go:nosplit
func giveAway(g *Globaldata, i int32, dst int) {
	fatal.Assert(threads[i].state == Runnable && int(threads[i].gd.Load()) == g.cpu && dst != g.cpu,
		"lwkt: give-away of a thread that is not queued here, or to its own CPU")
	unlink(g, i)
	handOff(g, i, dst)
}

// handOff makes thread i of g, this CPU, on no queue (given away, or the
// current thread evicted), Blocked with a run message on its way to CPU
// dst, which becomes its owner. runMsg is set before gd (see sendRun).
//
//go:nosplit
func handOff(g *Globaldata, i int32, dst int) {
	t := &threads[i]
	t.state = Blocked
	t.runMsg = true
	t.Migrations++
	g.MigrOut.Add(1)
	t.gd.Store(uint32(dst))
	sendRun(dst, i, true)
}

// sendRun posts a run message for thread i, which is Blocked with no
// wait, to its owner CPU dst; migrated says it comes from another CPU. The
// caller set the thread's runMsg before it made dst the owner (gd): dst
// may read the flag as soon as it sees itself in gd.
//
//go:nosplit
func sendRun(dst int, i int32, migrated bool) {
	gds[dst].incoming.Add(1)
	var m uintptr
	if migrated {
		m = 1
	}
	post(dst, ipiq.Msg{Fn: idRun, Arg1: uintptr(i), Arg2: m})
}

// push is the tick's rebalance on g: one queued thread to a CPU at least
// two less loaded, when there is one.
//
//go:nosplit
func push(g *Globaldata) {
	if g.head < 0 || nOnline.Load() < 2 || noBalance.Load() {
		return
	}
	l := &scratch[g.cpu]
	readLoads(l)
	for i := g.head; i >= 0; i = threads[i].next {
		if TokenCount(i) != 0 {
			continue
		}
		if dst := pushCPU(g.cpu, threads[i].affinity.Load(), l); dst >= 0 {
			giveAway(g, i, dst)
			return
		}
	}
}

// requestPull asks the busiest CPU for a thread on behalf of g, which has
// just gone idle with nothing queued or on its way.
//
//go:nosplit
func requestPull(g *Globaldata) {
	if g.head >= 0 || g.incoming.Load() != 0 || nOnline.Load() < 2 || noBalance.Load() {
		return
	}
	l := &scratch[g.cpu]
	readLoads(l)
	if src := pullCPU(g.cpu, l); src >= 0 {
		g.PullAsks++
		post(src, ipiq.Msg{Fn: idPull, Arg1: uintptr(g.cpu)})
	}
}

// remotePull runs on the CPU asked by requestPull: it gives CPU req its
// first movable queued thread, unless req has found work meanwhile.
//
//go:nosplit
func remotePull(req, _ uintptr) {
	g := mycpu()
	r := &gds[req%amd64.MaxCPUs]
	if r.loadNow() != 0 {
		return
	}
	if i := movable(g, int(req)); i >= 0 {
		giveAway(g, i, int(req))
	}
}

// misplaced returns the CPU that g's current thread must move to because
// its affinity no longer admits g's CPU (sched_setaffinity, or a test),
// or -1. A thread holding tokens finishes with them first.
//
//go:nosplit
func misplaced(g *Globaldata) int {
	t := &threads[g.cur]
	aff := t.affinity.Load()
	if g.cur == g.idle || t.state != Running || allowed(aff, g.cpu) || TokenCount(g.cur) != 0 {
		return -1
	}
	return idlestNow(aff)
}

// evictQueued gives away, at the tick, every thread on g's queue whose
// affinity no longer admits g's CPU.
//
//go:nosplit
func evictQueued(g *Globaldata) {
	for i := g.head; i >= 0; {
		next := threads[i].next
		if aff := threads[i].affinity.Load(); !allowed(aff, g.cpu) && TokenCount(i) == 0 {
			if dst := idlestNow(aff); dst >= 0 {
				giveAway(g, i, dst)
			}
		}
		i = next
	}
}

// SetAffinity sets thread i's affinity to the CPUs in mask (0: any). A
// queued thread leaves a CPU mask excludes at its CPU's next tick, a
// running one at its next trap (schedule), a waiting one when it wakes.
// The caller holds the MP lock (it found i by FindID).
//
//go:nosplit
func SetAffinity(i int32, mask uint64) { threads[i].affinity.Store(mask) }

// Affinity returns thread i's affinity (0: any).
//
//go:nosplit
func Affinity(i int32) uint64 { return threads[i].affinity.Load() }
