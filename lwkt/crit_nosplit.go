package lwkt

// Critical sections (DragonFly's crit_enter/crit_exit): entered and left
// by Go code, checked by the trap path: nosplit.

import (
	"gofly/arch/amd64"
	"gofly/drivers/apic"
)

// CritEnter enters a critical section of the calling thread: until the
// matching CritExit the thread is not preempted, and this CPU's timer
// work and IPI messages are only recorded (DragonFly's td_critcount). As in
// DragonFly, interrupts stay enabled and the thread may still block; a
// thread that blocks gives up the CPU, its count going with it. A system
// call made inside the section may run IPI messages (the kernel drains its
// queues while it waits for a lock, as DragonFly's spins do) and lets the
// Go runtime preempt the goroutine, which blocks the thread. Sections
// nest.
//
//go:nosplit
func CritEnter() { threads[mycpu().cur].crit++ }

// CritExit leaves a critical section. Leaving the outermost one runs what
// was deferred, by raising this CPU's own IPI.
//
//go:nosplit
func CritExit() {
	g := mycpu()
	t := &threads[g.cur]
	if t.crit == 0 {
		return
	}
	t.crit--
	if t.crit == 0 && g.deferred {
		g.deferred = false
		apic.SendIPI(apicIDs[g.cpu], amd64.VectorIPI)
	}
}

// InCritical reports whether the interrupted thread is in a critical
// section; the trap path then only records timer ticks and IPIs (Defer).
//
//go:nosplit
func InCritical() bool {
	g := mycpu()
	return g.cur != g.idle && threads[g.cur].crit > 0
}

// Defer records that a tick or IPI arrived in a critical section: the
// section's CritExit runs the work. An IPI not processed leaves npoll set,
// so senders raise no more until then.
//
//go:nosplit
func Defer() { mycpu().deferred = true }

// SwitchCount returns how many thread switches CPU cpu has made.
//
//go:nosplit
func SwitchCount(cpu int) uint64 { return gds[cpu].Switches }
