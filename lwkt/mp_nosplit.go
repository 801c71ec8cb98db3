package lwkt

// The MP lock and cross-CPU scheduling messages run in trap context with
// interrupts off: nosplit, allocation-free.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/fatal"
	"gofly/lwkt/ipiq"
	"gofly/pmap"
)

// mpLock serialises the kernel's shared state (the address map and page
// allocator, descriptors, futex and wait queues, every thread's Wait,
// WaitKey and, while it waits, Frame; thread-table allocation) across CPUs,
// as DragonFly's MP lock did before its subsystems got their own tokens.
// Per-CPU state (run queues, the current thread) needs no lock: only its
// owner touches it. Holder: the trap path of one CPU, from entry to its
// IRETQ, interrupts off; the word is the holder's CPU index + 1 (0: free).
// IPI handlers never take it, and a CPU spinning for it drains its IPI
// queues meanwhile, so a holder waiting on another CPU (Cpusync, a full
// FIFO) always finishes.
var mpLock atomic.Uint32

// mpSpin times each CPU's wait for the MP lock (only that CPU uses its
// entry, with interrupts off).
var mpSpin [amd64.MaxCPUs]spinWatch

// GetMPLock takes the MP lock. Interrupts must be off. It is not
// recursive: taking it twice throws (after the stuck-spin limit).
//
//go:nosplit
func GetMPLock() {
	me := amd64.CPU()
	w := &mpSpin[me]
	*w = spinWatch{}
	for !mpLock.CompareAndSwap(0, uint32(me)+1) {
		IPIs.Process(me)
		w.check("the MP lock", int(mpLock.Load())-1)
		amd64.Pause()
	}
}

// RelMPLock releases the MP lock, which this CPU holds.
//
//go:nosplit
func RelMPLock() {
	fatal.Assert(HoldsMPLock(), "lwkt: MP lock released by a CPU that does not hold it")
	mpLock.Store(0)
}

// HoldsMPLock reports whether this CPU holds the MP lock: what the guards
// of mm, pmap and vm assert.
//
//go:nosplit
func HoldsMPLock() bool { return mpLock.Load() == uint32(amd64.CPU())+1 }

// Message handlers of the scheduler (registered in ipi.go); the kernel's
// own start at FirstFreeHandler.
const (
	idRun = ipiq.FirstHandler + iota
	idFlushTLB
	idCheck
	idPull
	// FirstFreeHandler is the first IPI handler id left for other packages.
	FirstFreeHandler
)

// remoteRun runs on thread i's CPU and puts it on the run queue: a new
// thread (Clone), one whose wait another CPU ended (Wakeup) or one given
// to this CPU (migrated != 0). Either way it is Blocked with no wait kind,
// and this message is the only one in flight for it (sendRun).
//
//go:nosplit
func remoteRun(i, migrated uintptr) {
	t := &threads[i]
	g := mycpu()
	fatal.Assert(t.state == Blocked && t.Wait == WaitNone && t.runMsg && int(t.gd.Load()) == g.cpu,
		"lwkt: run message for a thread that is not blocked, still waiting, not sent one or of another CPU")
	g.incoming.Add(-1)
	if migrated != 0 {
		g.MigrIn.Add(1)
	}
	makeRunnable(g, int32(i))
}

// flushTLB drops this CPU's cached translations: every entry of its
// current PCID, and (pmap.FlushTLB) the others at their next load.
//
//go:nosplit
func flushTLB(_, _ uintptr) { pmap.FlushTLB() }

// Deferred cross-CPU work. Wakeups of other CPUs' threads, new threads
// placed on other CPUs and TLB shootdowns are not sent where they arise,
// deep in a system call, but queued on this CPU and sent by Flush at the
// top of the trap path: sending can wait on a full FIFO and run IPI
// handlers, and the linker's 792-byte bound on nosplit call chains leaves
// no room for that at the bottom of a system call. Each thread has at most
// one message in flight (wake-pending, or not yet scheduled), so an outbox
// of MaxThreads entries cannot overflow.
type outbox struct {
	dst       [MaxThreads]uint8
	msg       [MaxThreads]ipiq.Msg
	n         int
	shootdown uint64 // the CPUs to flush
}

var outboxes [amd64.MaxCPUs]outbox

//go:nosplit
func post(dst int, m ipiq.Msg) {
	// Indices masked: a bounds-check call would not fit the nosplit
	// chains that wake threads.
	o := &outboxes[uint(amd64.CPU())%amd64.MaxCPUs]
	fatal.Assert(o.n < len(o.msg), "lwkt: outbox full: more messages than threads in one trap")
	o.dst[uint(o.n)%MaxThreads] = uint8(dst)
	o.msg[uint(o.n)%MaxThreads] = m
	o.n++
}

// RequestShootdown asks that every other CPU drop its cached translations
// before this trap returns, after this CPU removed mappings. The kernel's
// address space needs it under the MP lock, kept until Flush (pmap, tlb).
//
//go:nosplit
func RequestShootdown() { RequestShootdownOf(^uint64(0)) }

// RequestShootdownOf is RequestShootdown for the CPUs in mask only: those
// that may cache the translations removed (a process's map's, the CPUs
// holding its root). Requests of one trap add up.
//
//go:nosplit
func RequestShootdownOf(mask uint64) {
	if nOnline.Load() > 1 {
		me := uint(amd64.CPU()) % amd64.MaxCPUs // masked: no bounds-check panic path in this chain
		outboxes[me].shootdown |= mask &^ (1 << me)
	}
}

// Flush sends this CPU's deferred messages and performs a requested TLB
// shootdown, waiting for it (serving this CPU's IPIs meanwhile, so two
// CPUs may flush at once, with or without the MP lock). The trap path
// calls it last (Leave).
//
//go:nosplit
func Flush() {
	me := amd64.CPU()
	o := &outboxes[me]
	for i := 0; i < o.n && i < len(o.msg); i++ {
		Send(int(o.dst[i]), o.msg[i], false)
	}
	o.n = 0
	if mask := o.shootdown; mask != 0 {
		o.shootdown = 0
		Cpusync(mask, idFlushTLB, 0, 0)
	}
	if AfterShootdown != nil {
		AfterShootdown()
	}
}

// AfterShootdown runs at the end of every Flush, once the shootdown this
// trap asked for (if any) has completed: the kernel sets it to
// pmap.FreeDeferred, which gives back the frames that waited for it
// (pmap sits below lwkt). A nosplit function.
var AfterShootdown func()

// OnlineMask returns the set of CPUs whose schedulers run. A CPU's online
// flag is set once, when it starts, so any CPU and Go code may read it.
//
//go:nosplit
func OnlineMask() uint64 {
	var m uint64
	for i := range gds {
		if gds[i].online {
			m |= 1 << i
		}
	}
	return m
}

// nOnline counts the CPUs whose schedulers run.
var nOnline atomic.Uint32

// rotor picks the CPU for the next new thread when balancing is off.
var rotor atomic.Uint32

// placeThread returns the CPU a new thread allowed on aff goes to: the
// least loaded; with balancing off, the online CPUs in turn (DragonFly's
// lwkt_alloc_thread rotor).
//
//go:nosplit
func placeThread(aff uint64) int {
	if noBalance.Load() && aff == 0 {
		for {
			c := int(rotor.Add(1) % amd64.MaxCPUs)
			if gds[c].online {
				return c
			}
		}
	}
	c := idlestNow(aff)
	if c < 0 {
		fatal.Throw("lwkt: a thread's affinity admits no online CPU")
	}
	return c
}
