package amd64

// Instructions Go cannot express, implemented in cpu_amd64.s. All of them
// are leaf routines without a frame, so nosplit code may call them.

// Outb writes v to I/O port port.
func Outb(port uint16, v uint8)

// Inb reads I/O port port.
func Inb(port uint16) uint8

// Outw writes v to I/O port port.
func Outw(port uint16, v uint16)

// Inw reads a 16-bit value from I/O port port.
func Inw(port uint16) uint16

// Outl writes v to I/O port port.
func Outl(port uint16, v uint32)

// Inl reads a 32-bit value from I/O port port.
func Inl(port uint16) uint32

// Rdmsr reads model-specific register msr.
func Rdmsr(msr uint32) uint64

// Wrmsr writes v to model-specific register msr.
func Wrmsr(msr uint32, v uint64)

// ReadCR0 returns CR0.
func ReadCR0() uint64

// ReadCR2 returns CR2, the linear address of the last page fault.
func ReadCR2() uint64

// ReadCR3 returns CR3, the physical address of the current PML4.
func ReadCR3() uint64

// WriteCR3 loads a new PML4 and flushes non-global TLB entries.
func WriteCR3(v uint64)

// ReadCR4 returns CR4.
func ReadCR4() uint64

// WriteCR4 sets CR4.
func WriteCR4(v uint64)

// CR4 bits the kernel sets where the CPU has them (Intel SDM vol. 3,
// 2.5): process-context identifiers, supervisor-mode execution and access
// prevention.
const (
	CR4PCIDE = 1 << 17
	CR4SMEP  = 1 << 20
	CR4SMAP  = 1 << 21
)

// Invlpg drops the TLB entry for the page holding va.
func Invlpg(va uintptr)

// Cli disables maskable interrupts.
func Cli()

// Sti enables maskable interrupts.
func Sti()

// Halt enables interrupts and halts until the next one (STI; HLT, so that
// no interrupt can slip in between the two).
func Halt()

// Rflags returns the flags register.
func Rflags() uint64

// Rdtsc returns the time-stamp counter.
func Rdtsc() uint64

// Cpuid executes CPUID with EAX = leaf and ECX = sub.
func Cpuid(leaf, sub uint32) (a, b, c, d uint32)

// Lgdt loads the GDT register from the 10-byte pseudo-descriptor at p.
func Lgdt(p uintptr)

// Lidt loads the IDT register from the 10-byte pseudo-descriptor at p.
func Lidt(p uintptr)

// Ltr loads the task register with selector sel.
func Ltr(sel uint16)

// ReloadSegments reloads CS with code and DS, ES, SS with data. FS and GS
// are left alone: their selectors stay null and only their base MSRs matter.
func ReloadSegments(code, data uint16)

// Pause is the spin-wait hint.
func Pause()

// CPU returns the index of the running CPU: the first word of the per-CPU
// block the GS base points at (kernel.cpuLocal).
func CPU() int
