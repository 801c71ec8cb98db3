package kernel

// The idle loop's IPI hook runs in trap context, with interrupts off:
// nosplit, allocation-free. (The IPI self-tests and benchmarks are lwkt's.)

import (
	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/drivers/timer"
	"gofly/lwkt"
)

// idleEntry runs each time a CPU's idle thread is about to halt, with
// interrupts off. With nothing to run it stops the periodic tick (tickless
// idle, as DragonFly and Linux do: an idle machine costs its host little):
// the local APIC timer fires once at the earliest deadline of the CPU's
// waiting threads, or never; the next trap restarts the tick (trap). A
// deadline within two ticks keeps the tick, as Linux's tick_nohz does
// (and one-shots of a few counts wedged QEMU's TCG main loop). If
// passive messages are queued for this CPU, it raises this CPU's own IPI,
// which fires as the idle loop enables interrupts, so they run now. See
// entry_amd64.s.
//
//go:nosplit
func idleEntry() {
	cpu := amd64.CPU()
	if ns, ok := lwkt.EnterTickless(timer.Nanotime(), 2e9/tickHz); ok {
		apic.OneShot(amd64.VectorTimer, ns)
	}
	if lwkt.IPIs.Pending(cpu) {
		apic.SendIPI(lwkt.APICID(cpu), amd64.VectorIPI)
	}
}
