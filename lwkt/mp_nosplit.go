package lwkt

// The MP lock and cross-CPU scheduling messages run in trap context with
// interrupts off: nosplit, allocation-free.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/lwkt/ipiq"
)

// mpLock serialises the kernel's shared state (the address map and page
// allocator, descriptors, futex and wait queues, thread-table allocation)
// across CPUs, as DragonFly's MP lock did before its subsystems got their
// own tokens. Per-CPU state (run queues, the current thread) needs no lock:
// only its owner touches it. Holder: the trap path of one CPU, from entry
// to its IRETQ, interrupts off. IPI handlers never take it, and a CPU
// spinning for it drains its IPI queues meanwhile, so a holder waiting on
// another CPU (Cpusync, a full FIFO) always finishes.
var mpLock atomic.Uint32

// GetMPLock takes the MP lock. Interrupts must be off.
//
//go:nosplit
func GetMPLock() {
	me := amd64.CPU()
	for !mpLock.CompareAndSwap(0, 1) {
		IPIs.Process(me)
		amd64.Pause()
	}
}

// RelMPLock releases the MP lock.
//
//go:nosplit
func RelMPLock() { mpLock.Store(0) }

// Message handlers of the scheduler (registered in ipi.go); the kernel's
// own start at FirstFreeHandler.
const (
	idSchedule = ipiq.FirstHandler + iota
	idWakeup
	idFlushTLB
	idCheck
	// FirstFreeHandler is the first IPI handler id left for other packages.
	FirstFreeHandler
)

// remoteSchedule runs on a new thread's CPU and puts it on the run queue.
//
//go:nosplit
func remoteSchedule(i, _ uintptr) { makeRunnable(mycpu(), int32(i)) }

// remoteWakeup runs on a blocked thread's CPU: Wakeup sent it there.
//
//go:nosplit
func remoteWakeup(i, ret uintptr) {
	t := &threads[i]
	t.wakePending.Store(false)
	wakeLocal(int32(i), uint64(ret))
}

// flushTLB drops every non-global TLB entry of this CPU.
//
//go:nosplit
func flushTLB(_, _ uintptr) { amd64.WriteCR3(amd64.ReadCR3()) }

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
	shootdown bool
}

var outboxes [amd64.MaxCPUs]outbox

//go:nosplit
func post(dst int, m ipiq.Msg) {
	o := &outboxes[amd64.CPU()]
	if o.n < len(o.msg) {
		o.dst[o.n] = uint8(dst)
		o.msg[o.n] = m
		o.n++
	}
}

// RequestShootdown asks that every other CPU drop its cached translations
// before this trap returns, after this CPU removed mappings. The caller
// holds the MP lock and keeps it until Flush.
//
//go:nosplit
func RequestShootdown() {
	if nOnline.Load() > 1 {
		outboxes[amd64.CPU()].shootdown = true
	}
}

// Flush sends this CPU's deferred messages and performs a requested TLB
// shootdown, waiting for it. The trap path calls it last, holding the MP
// lock.
//
//go:nosplit
func Flush() {
	me := amd64.CPU()
	o := &outboxes[me]
	for i := 0; i < o.n && i < len(o.msg); i++ {
		Send(int(o.dst[i]), o.msg[i], false)
	}
	o.n = 0
	if o.shootdown {
		o.shootdown = false
		Cpusync(^uint64(0)&^(1<<me), idFlushTLB, 0, 0)
	}
}

// nOnline counts the CPUs whose schedulers run.
var nOnline atomic.Uint32

// rotor picks the CPU for the next new thread.
var rotor atomic.Uint32

// placeThread returns the CPU a new thread goes to: the online CPUs in
// turn (DragonFly's lwkt_alloc_thread rotor when cpu < 0).
//
//go:nosplit
func placeThread() int {
	for {
		c := int(rotor.Add(1) % amd64.MaxCPUs)
		if gds[c].online {
			return c
		}
	}
}
