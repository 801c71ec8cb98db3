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

// Segment selectors of the GDT built by SetupCPU.
const (
	KernelCS = 0x08
	KernelDS = 0x10
	TSSSel   = 0x18
)

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
