package ipiq

// Everything in this file runs below the Go runtime: in the IPI interrupt
// handler, in splz/doreti, in the timer tick and in a sender's back-pressure
// loop, on a CPU's trap stack with no g of its own. So every function is
// nosplit, allocates nothing and stores no pointers: CPUs, sources and
// handlers are integers, and index checks are written out so the compiler
// drops its bounds checks (no panic paths below the runtime).
//
// Vocabulary (DragonFly's words):
//
//	source, target  the CPU that sends a message and the CPU that runs it
//	fifo            one single-producer/single-consumer ring per ordered
//	                (source, target) pair: lwkt_ipiq
//	windex          entries the source has published (ip_windex)
//	rindex          entries the target has taken out (ip_rindex)
//	xindex          rindex as of the last handler that returned (ip_xindex)
//	ipimask         per target: sources whose fifo may hold entries
//	                (gd_ipimask)
//	npoll           per target: 1 from the first send after the target
//	                re-armed until it re-arms again (gd_npoll)
//	nesting         per CPU: Process frames active (gd_processing_ipiq)
//
// The problem. A CPU must hand small function calls to another CPU from
// interrupt context, without locks, without losing any, in per-pair order,
// and with as few hardware IPIs as possible; a sender whose ring fills must
// wait without deadlocking against a target that is itself waiting on a
// full ring back to the sender.
//
// Rejected designs.
//   - One queue per target under a spinlock: every sender and the target
//     contend for it in interrupt context, and a CPU that holds it must
//     keep IPIs off or deadlock against its own handler. One ring per pair
//     needs no lock at all: each index has exactly one writer.
//   - Raise an IPI when the ring was empty: a ring that holds passive
//     entries is not empty although nobody signalled the target, so an
//     active send queued behind them would wait for the tick; and a target
//     with N busy sources would take up to N IPIs where one does. DragonFly
//     decides per target instead: raise if and only if the target has not
//     been signalled since it last re-armed. At most one IPI per target per
//     re-arm (one-raise-per-rearm), and the first active send after a
//     re-arm always raises.
//   - Block inside Send when the ring is full: below the runtime there is
//     nothing to block on, and the wait must drain this CPU's own incoming
//     rings or two CPUs full towards each other wait forever. The package
//     therefore reports "full" and the caller runs DragonFly's wait loop
//     (see Send).
//
// Protocol (DragonFly lwkt_ipiq.c, 2020). A source S sending to T:
//
//  1. refuses (full) when T's ring from S holds more than its high-water
//     mark, or when a wait on this ring is in progress and it holds more
//     than the low-water mark (hysteresis, 128 then 64; 253 then 251 from
//     inside a handler);
//  2. writes the entry at windex, then stores windex+1 (atomic);
//  3. sets its bit in T's ipimask (atomic OR);
//  4. swaps T's npoll to 1; the caller raises the IPI only if it was 0.
//
// The target T, from the IPI handler, splz or the tick:
//
//  1. swaps npoll to 0 (re-arm) before it looks at anything;
//  2. for each source bit set in ipimask, repeatedly: loads rindex and
//     windex, copies the entry, stores rindex+1, calls the handler, stores
//     xindex = rindex; until the ring is empty;
//  3. then clears the source's bit and sets it again if the ring is not
//     empty (a sender raced in).
//
// Memory ordering. Go's sync/atomic operations are sequentially consistent
// (on amd64 a store is XCHG, Or/And are LOCKed); that covers DragonFly's
// sfence/lfence/mfence. Two places need more than acquire/release, and both
// get it from SC: the sender's ipimask OR followed by its npoll swap, against
// the target's npoll re-arm followed by its ipimask load (store-buffering:
// either the target sees the bit, or the sender's swap sees the re-armed 0
// and raises); and the target's ipimask AND followed by its windex load,
// against the sender's windex store followed by its OR (either the target
// sees the new windex and sets the bit again, or the sender's OR comes after
// the AND). The entries themselves are plain memory, published by the
// windex store and released back to the source by the rindex store.

import (
	"math/bits"
	"sync/atomic"

	"gofly/arch/amd64"
)

const (
	// MaxCPUs bounds the CPUs.
	MaxCPUs = amd64.MaxCPUs

	// FIFOSize is the number of entries in each pair's ring (DragonFly's
	// MAXCPUFIFO); a power of two, the indices run freely and are masked.
	FIFOSize = 256

	// PassiveLimit: a passive send to a ring that already holds this many
	// entries is sent actively instead (MAXCPUFIFO/4).
	PassiveLimit = FIFOSize / 4

	// HighWater and LowWater are the back-pressure limits for sends from
	// ordinary context: refused above HighWater, then refused until at most
	// LowWater remain (DragonFly's 128/64).
	HighWater = FIFOSize / 2
	LowWater  = FIFOSize / 4

	// NestedHighWater and NestedLowWater are the limits for sends made by a
	// handler (or anything else running inside Process on the sending CPU):
	// handlers may fill the ring almost completely, so a callback that sends
	// rarely has to wait, and when it does it only needs the target to make
	// a little room (MAXCPUFIFO-3 and MAXCPUFIFO-5). The ring never holds
	// more than FIFOSize-2 entries.
	NestedHighWater = FIFOSize - 3
	NestedLowWater  = FIFOSize - 5

	fifoMask  = FIFOSize - 1
	cacheLine = 64
)

// Msg is one IPI message: the handler Fn (an index into the handler table,
// see Register) and its two arguments. It holds no pointers, so the rings
// need no write barriers and the GC never has to scan them.
type Msg struct {
	Fn         uintptr
	Arg1, Arg2 uintptr
}

// Set is the IPI message queues of up to MaxCPUs CPUs: the machine has one.
// Its zero value is ready (all rings empty, every CPU armed); it is large
// (about 400 KiB) and belongs in static memory. Send, SendPassive, Process
// and ProcessNested must be called with src or self the calling CPU: each
// index has one writer, and that is what keeps it so. The queries (Pending,
// Depth, Seq, Done, Stats) may be called from anywhere.
type Set struct {
	cpus   [MaxCPUs]cpu
	badCPU atomic.Uint64 // calls with a CPU number out of range
}

// cpu is one CPU's share: as a target, its incoming rings and the words
// senders signal it through; as a source, its counters.
type cpu struct {
	// Written by every CPU that sends here.
	npoll   atomic.Uint32 // 1 from the first send after a re-arm until Process re-arms
	ipimask atomic.Uint32 // bit s: fifos[s] may hold entries (set by s, cleared here)
	_       [cacheLine - 8]byte

	// Written only by this CPU.
	nesting int32         // Process/ProcessNested frames active on this CPU
	maxNest atomic.Uint32 // deepest nesting seen
	stats   counters
	_       [cacheLine - (8+unsafeSizeofCounters)%cacheLine]byte

	fifos [MaxCPUs]fifo // incoming rings, indexed by source CPU
}

// counters are one CPU's statistics; only that CPU writes them. A queued
// active send bumps exactly one of raisedSend and avoided, so the hot path
// pays for one counter.
type counters struct {
	raisedSend  atomic.Uint64 // active sends that queued and told the caller to raise
	avoided     atomic.Uint64 // active sends that queued and found the target signalled
	raisedFull  atomic.Uint64 // refused sends that told the caller to raise
	full        atomic.Uint64 // sends refused by back-pressure
	sentPassive atomic.Uint64 // messages queued passively
	escalated   atomic.Uint64 // passive sends that went active (ring ≥ PassiveLimit)
	self        atomic.Uint64 // sends to this CPU itself, run synchronously
	processed   atomic.Uint64 // messages this CPU ran from its incoming rings
	rearms      atomic.Uint64 // Process calls that found npoll set
	badFn       atomic.Uint64 // messages with no registered handler (skipped)
}

// unsafeSizeofCounters is unsafe.Sizeof(counters{}); TestLayout checks it.
const unsafeSizeofCounters = 10 * 8

// fifo is the ring from one source to one target (lwkt_ipiq). The source
// writes windex, drain, drainLevel and the entry at windex; the target
// writes rindex and xindex. Each side's words have a cache line of their
// own.
type fifo struct {
	windex atomic.Uint64 // entries published; written by the source
	// drain is the source's back-pressure wait on this ring (ip_drain): 0
	// when none, else the depth the source waits for. ProcessNested on the
	// target drains the ring down to it.
	drain atomic.Uint32
	// drainLevel is the sending CPU's nesting when it started the wait
	// recorded in drain. Source-private: only the source reads or writes it.
	drainLevel int32
	_          [cacheLine - 16]byte

	rindex atomic.Uint64 // entries taken out; written by the target
	xindex atomic.Uint64 // rindex after the last handler returned; written by the target
	_      [cacheLine - 16]byte

	// Entry i lives in ring[i%FIFOSize]; entries rindex ≤ i < windex are
	// live. The source writes an entry before it publishes it (windex),
	// the target copies it out before it releases it (rindex).
	ring [FIFOSize]Msg
}

// Send queues m for CPU dst, from CPU src (the calling CPU), and reports
// whether the caller must raise an IPI to dst (lwkt_send_ipiq3).
//
// A send to self runs the handler at once and returns (false, false).
//
// Otherwise Send never blocks and never drops: either it queues m, or the
// ring to dst is past its back-pressure limit and it queues nothing and
// returns full. raise is independent of full: when it is true the caller
// must send the IPI even if full (the target may not know it is behind).
// On full the caller runs DragonFly's wait loop and sends m again; the loop
// drains this CPU's own incoming rings, which is what lets two CPUs full
// towards each other both progress:
//
//	raise, full := q.Send(me, dst, m)
//	for full {
//		if raise {
//			sendIPI(dst)
//		}
//		q.ProcessNested(me) // or Process(me)
//		cpuPause()
//		raise, full = q.Send(me, dst, m)
//	}
//	if raise {
//		sendIPI(dst)
//	}
//
// The loop should run with hardware interrupts enabled (DragonFly enables
// them: a CPU spinning with them off can deadlock the APIC) but inside the
// caller's critical section, so an IPI arriving meanwhile is only noted and
// handled when the section ends. Once full, the ring stays full to this
// caller until at most LowWater (NestedLowWater inside a handler) entries
// remain; a wait the caller abandons is forgotten the next time it sends
// from a shallower nesting level.
//
// Send must run with the calling CPU's IPI handling held off (a critical
// section or interrupts disabled), as DragonFly's does: an IPI handler
// sending on the same pair in the middle of a Send would break
// single-writer.
//
//go:nosplit
func (s *Set) Send(src, dst int, m Msg) (raise, full bool) {
	return s.send(src, dst, m, false)
}

// SendPassive queues m for dst like Send but leaves the target's npoll
// alone and asks for no IPI: the target finds the message at its next tick
// (Pending) or its next Process for any other reason. When dst's ring
// from src already holds PassiveLimit entries it sends actively instead,
// with Send's results and protocol (lwkt_send_ipiq3_passive). Below that it
// always succeeds with (false, false). A passive send to self runs the
// handler at once.
//
//go:nosplit
func (s *Set) SendPassive(src, dst int, m Msg) (raise, full bool) {
	return s.send(src, dst, m, true)
}

//go:nosplit
func (s *Set) send(src, dst int, m Msg, passive bool) (raise, full bool) {
	if uint(src) >= MaxCPUs || uint(dst) >= MaxCPUs {
		s.badCPU.Add(1)
		return false, false
	}
	me := &s.cpus[src]
	if src == dst {
		me.stats.self.Add(1)
		me.call(m)
		return false, false
	}
	t := &s.cpus[dst]
	f := &t.fifos[src]

	// windex is ours, so it is current; rindex can only have grown since,
	// never past windex.
	w := f.windex.Load()
	depth := w - f.rindex.Load()

	// Back-pressure, with hysteresis: a wait in progress on this ring
	// (drain set) holds the limit at the low-water mark until it is met.
	hi, lo := uint64(HighWater), uint64(LowWater)
	if me.nesting > 0 {
		hi, lo = NestedHighWater, NestedLowWater
	}
	waiting := f.drain.Load() != 0
	if waiting && f.drainLevel > me.nesting {
		// Started deeper in a handler frame that has since returned.
		f.drain.Store(0)
		waiting = false
	}
	if depth > hi || waiting && depth > lo {
		if !waiting {
			// Publish the wait: the target's ProcessNested drains
			// this ring down to lo. An outer wait, if any, already
			// asks for at most as much.
			f.drainLevel = me.nesting
			f.drain.Store(uint32(lo))
		}
		me.stats.full.Add(1)
		if t.npoll.Swap(1) == 0 {
			me.stats.raisedFull.Add(1)
			return true, true
		}
		return false, true
	}
	if waiting && f.drainLevel == me.nesting {
		f.drain.Store(0) // our wait is over
	}

	// Queue: entry, then windex, then the mask bit.
	f.ring[w&fifoMask] = m
	f.windex.Store(w + 1)
	t.ipimask.Or(1 << uint(src))

	if passive {
		if depth < PassiveLimit {
			me.stats.sentPassive.Add(1)
			return false, false
		}
		me.stats.escalated.Add(1)
	}
	if t.npoll.Swap(1) == 0 {
		me.stats.raisedSend.Add(1)
		return true, false
	}
	me.stats.avoided.Add(1)
	return false, false
}

// Process runs every message queued for CPU self, the calling CPU, and
// returns how many it ran (lwkt_process_ipiq). It is what the IPI handler,
// splz/doreti and the tick call; it first re-arms self (npoll = 0), so any
// send that finds the re-armed word raises a new IPI. A handler may send,
// wait on a full ring (calling Process or ProcessNested again) or call
// Process itself: rindex is advanced before each handler runs, so a nested
// call continues with the next message, and a source's bit is cleared only
// after its ring is empty (clearing it earlier would hide the ring being
// drained from a nested Process).
//
// The caller holds IPIs off (critical section) around it, as DragonFly's
// callers do, so it cannot be entered from an IPI on the same CPU except
// through a handler.
//
//go:nosplit
func (s *Set) Process(self int) (n int) {
	if uint(self) >= MaxCPUs {
		s.badCPU.Add(1)
		return 0
	}
	c := &s.cpus[self]
	if c.npoll.Swap(0) != 0 {
		c.stats.rearms.Add(1)
	}
	c.enter()
	mask := c.ipimask.Load()
	for mask != 0 {
		src := bits.TrailingZeros32(mask)
		mask &^= 1 << uint(src)
		if src >= MaxCPUs {
			continue // never set; lets the compiler drop the bounds check
		}
		f := &c.fifos[src]
		n += c.drain(f, 0)
		bit := uint32(1) << uint(src)
		c.ipimask.And(^bit)
		if f.rindex.Load() != f.windex.Load() {
			c.ipimask.Or(bit) // a sender raced in after the ring emptied
		}
	}
	c.nesting--
	return n
}

// ProcessNested is the drain a waiting sender runs (lwkt_process_ipiq_
// nested): it runs messages only from sources that are themselves waiting
// for room in their ring to self, and only until each such ring is down to
// the depth its source waits for. Limiting the work to blocked senders
// bounds how many new messages the handlers it runs can send; since every
// waiting CPU drains the rings of the CPUs waiting on it, a cycle of
// waiting CPUs always moves. It neither re-arms npoll nor touches ipimask
// (the next Process does both). Returns the number of messages run.
//
//go:nosplit
func (s *Set) ProcessNested(self int) (n int) {
	if uint(self) >= MaxCPUs {
		s.badCPU.Add(1)
		return 0
	}
	c := &s.cpus[self]
	c.enter()
	mask := c.ipimask.Load()
	for mask != 0 {
		src := bits.TrailingZeros32(mask)
		mask &^= 1 << uint(src)
		if src >= MaxCPUs {
			continue
		}
		f := &c.fifos[src]
		if lim := f.drain.Load(); lim != 0 {
			n += c.drain(f, uint64(lim))
		}
	}
	c.nesting--
	return n
}

// enter marks one more Process frame on this CPU; the caller undoes it.
//
//go:nosplit
func (c *cpu) enter() {
	c.nesting++
	if uint32(c.nesting) > c.maxNest.Load() {
		c.maxNest.Store(uint32(c.nesting))
	}
}

// drain runs messages from ring f until it holds at most limit entries
// (lwkt_process_ipiq_core). Both indices are reloaded for every message: a
// handler may run a nested Process that takes messages out of this very
// ring, and its sender may add more meanwhile.
//
//go:nosplit
func (c *cpu) drain(f *fifo, limit uint64) (n int) {
	for {
		r := f.rindex.Load() // ours: current
		w := f.windex.Load() // loaded after r, so w ≥ r
		if w-r <= limit {
			c.stats.processed.Add(uint64(n))
			return n
		}
		m := f.ring[r&fifoMask]
		f.rindex.Store(r + 1) // the slot is free again: rindex before the call
		c.call(m)
		// DragonFly's xindex: rindex when this handler returned. A
		// handler that ran a nested Process returns after later
		// messages, so xindex counts every message up to rindex as done
		// even while an outer handler further up this CPU's stack is
		// still running.
		f.xindex.Store(f.rindex.Load())
		n++
	}
}

// call runs m's handler on this CPU; a message with no handler is counted
// and skipped (a kernel bug; Stats reports it as BadFn).
//
//go:nosplit
func (c *cpu) call(m Msg) {
	if m.Fn < MaxHandlers {
		if h := handlers[m.Fn]; h != nil {
			h(m.Arg1, m.Arg2)
			return
		}
	}
	c.stats.badFn.Add(1)
}

// Pending reports whether CPU self has messages queued, active or passive:
// what the tick and the idle loop check before halting
// (lwkt_need_ipiq_process). A true answer is cleared only by Process.
//
//go:nosplit
func (s *Set) Pending(self int) bool {
	if uint(self) >= MaxCPUs {
		return false
	}
	return s.cpus[self].ipimask.Load() != 0
}

// Depth returns how many messages from src are queued for dst and not yet
// taken out. Exact when called by src or dst; a snapshot otherwise.
//
//go:nosplit
func (s *Set) Depth(src, dst int) int {
	if uint(src) >= MaxCPUs || uint(dst) >= MaxCPUs {
		return 0
	}
	f := &s.cpus[dst].fifos[src]
	r := f.rindex.Load()
	return int(f.windex.Load() - r)
}

// Seq returns the sequence number of the last message src queued for dst
// (messages on a pair are numbered from 1; lwkt_seq_ipiq). The sender reads
// it right after a Send that queued, in the same critical section, to wait
// for that message with Done.
//
//go:nosplit
func (s *Set) Seq(src, dst int) uint64 {
	if uint(src) >= MaxCPUs || uint(dst) >= MaxCPUs {
		return 0
	}
	return s.cpus[dst].fifos[src].windex.Load()
}

// Done reports whether dst has finished message seq from src
// (lwkt_wait_ipiq's test, xindex ≥ seq). The caller waits by looping on
// Done and Process(src), as lwkt_wait_ipiq does. Like DragonFly's, the
// answer can be early in one case: while a handler on dst is itself inside
// a nested Process, messages it ran count as done and so does the handler.
//
//go:nosplit
func (s *Set) Done(src, dst int, seq uint64) bool {
	if uint(src) >= MaxCPUs || uint(dst) >= MaxCPUs {
		return true
	}
	return s.cpus[dst].fifos[src].xindex.Load() >= seq
}

// nop is the Nop handler.
//
//go:nosplit
func nop(arg1, arg2 uintptr) {}

// selfTestRecord is SelfTest's handler: it appends (arg1, arg2) to
// selfTestLog.
//
//go:nosplit
func selfTestRecord(arg1, arg2 uintptr) {
	l := &selfTestLog
	if n := l.n; n < uint32(len(l.args)) {
		l.args[n] = [2]uintptr{arg1, arg2}
		l.n = n + 1
	}
}
