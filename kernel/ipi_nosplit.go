package kernel

// The idle loop's IPI hook runs in trap context, with interrupts off:
// nosplit, allocation-free. (The IPI self-tests and benchmarks are lwkt's.)

import (
	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/lwkt"
)

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
