package amd64

// Frame is the register state saved on trap and system-call entry, lowest
// address first. kernel/entry_amd64.s pushes the general registers in
// reverse order after the vector and error code; the CPU (or, for SYSCALL,
// the entry code) supplies the interrupt-return frame at the top.
//
//	+0x00 R15 … +0x70 RAX     general registers
//	+0x78 Vector              interrupt vector, or VectorSyscall
//	+0x80 Error               error code (0 when the CPU pushes none)
//	+0x88 RIP CS RFLAGS RSP SS  IRETQ frame
type Frame struct {
	R15, R14, R13, R12, R11, R10, R9, R8 uint64
	RBP, RDI, RSI, RDX, RCX, RBX, RAX    uint64

	Vector, Error uint64

	RIP, CS, RFLAGS, RSP, SS uint64
}

// Segment selectors of the GDT built by SetupCPU. The user ones carry RPL
// 3 and sit where Linux has them (a ring-3 program may read its CS).
const (
	KernelCS = 0x08
	KernelDS = 0x10
	TSSSel   = 0x18
	UserDS   = 0x28 | 3
	UserCS   = 0x30 | 3
)

// FlagIOPL1 sets the I/O privilege level to 1 in a ring-3 RFLAGS: every
// user frame carries it (ring 3 cannot change IOPL, and CPL 3 > IOPL 1
// still denies port access), so the SYSCALL entry, which cannot look at
// CS, tells a ring-3 caller from the kernel's own program by this bit.
const FlagIOPL1 = 1 << 12

// Alias is the upper-half address at which the kernel sees physical
// memory (the direct map, mm.DirectBase), supervisor-only, in every
// address space: PML4 slot 256, the first of the upper half. The kernel
// image is linked there too (at Alias plus its physical address), so the
// entry code, descriptor tables, IST stacks and per-CPU block a trap from
// ring 3 needs are there on the user's page tables.
const Alias = 0xFFFF_8000_0000_0000

// Flags bits.
const (
	FlagIF = 1 << 9
	FlagDF = 1 << 10
	FlagTF = 1 << 8
	FlagAC = 1 << 18
)

// FPUState is an FXSAVE image. Its address must be 16-byte aligned; the
// arrays that hold it are allocated with FPUAlign spare bytes.
type FPUState [512]byte

// FPUAlign is the alignment FXSAVE requires.
const FPUAlign = 16

// Fxsave stores the x87/SSE state at p (16-byte aligned).
func Fxsave(p uintptr)

// Fxrstor loads the x87/SSE state from p (16-byte aligned).
func Fxrstor(p uintptr)
