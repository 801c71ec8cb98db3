package kernel

// Boot timeline stamps are taken from early boot onwards: nosplit.

// Phase names a point of the boot timeline.
type Phase int

const (
	phaseStub       Phase = iota // boot stub's first instruction
	phaseEntry                   // Go image entered
	phaseMemory                  // page allocator ready
	phaseCPU                     // GDT, TSS, IDT, SYSCALL ready
	phaseTSC                     // TSC calibrated against the PIT
	phaseCalibrated              // local APIC timer calibrated
	phaseRuntime                 // jumping into the Go runtime
	PhaseMain                    // kernel.Start called from main
	phaseACPI                    // ACPI tables read
	phaseStarted                 // kernel.Start done: CPUs started, IRQs routed
	PhasePrompt                  // first shell prompt printed
	numPhases
)

var phaseNames = [numPhases]string{
	"boot stub entered", "Go image entered", "page allocator ready",
	"descriptor tables loaded", "TSC calibrated", "APIC timer calibrated",
	"Go runtime entered", "main.main started", "ACPI tables read",
	"kernel started", "first prompt",
}

var stamps [numPhases]uint64

//go:nosplit
func mark(p Phase, tsc uint64) {
	if stamps[p] == 0 {
		stamps[p] = tsc
	}
}
