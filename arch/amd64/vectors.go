package amd64

// Every interrupt vector the kernel uses, defined here once. The local
// APIC orders fixed interrupts by vector class (vector/16): the scheduler's
// own vectors sit above the device IRQs.
const (
	// CPU exceptions (Intel SDM vol. 3, 6.3.1); those with their own IST
	// stack are named.
	VectorDE  = 0
	VectorDB  = 1
	VectorNMI = 2
	VectorBP  = 3 // INT3: the one software interrupt ring 3 may raise (its gate's DPL is 3, as Linux's)
	VectorUD  = 6
	VectorDF  = 8
	VectorGP  = 13
	VectorPF  = 14
	VectorMC  = 18

	// VectorIRQ0 is where legacy IRQ 0 arrives, through the I/O APIC (or
	// the 8259, which stays masked); IRQ n arrives at VectorIRQ0+n.
	VectorIRQ0 = 32
	// NumIRQs is the number of legacy IRQ lines.
	NumIRQs = 16

	// VectorTrapCall runs a function below the runtime (lwkt.TrapCall):
	// Go code raises it with INT.
	VectorTrapCall = 0x81
	// VectorTrapCallLocal is VectorTrapCall without the MP lock
	// (lwkt.TrapCallLocal).
	VectorTrapCallLocal = 0x82

	// VectorTimer is the local APIC timer: the scheduler tick.
	VectorTimer = 0xEF
	// VectorIPI tells a CPU its IPI message queues have messages.
	VectorIPI = 0xF0
	// VectorSpurious is where the local APIC sends spurious interrupts.
	VectorSpurious = 0xFF

	// VectorSyscall is the Frame.Vector of a SYSCALL entry (not an IDT
	// vector).
	VectorSyscall = 256
)

// ExceptionNames names the CPU exceptions, by vector (Intel SDM vol. 3,
// table 6-1).
var ExceptionNames = [32]string{
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD exception", "#VE virtualization",
	"#CP control protection", "reserved 22", "reserved 23", "reserved 24",
	"reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
}
