package kernel

// Routines in entry_amd64.s and vectors_amd64.s, and the facts they share
// with Go.

import (
	"unsafe"

	"gofly/arch/amd64"
	"gofly/sys"
)

// Vectors for entry_amd64.s (go_asm.h exports only this package's
// constants).
const (
	vectorSyscall = amd64.VectorSyscall
	vectorNMI     = amd64.VectorNMI
	vectorMC      = amd64.VectorMC
)

// frameVector is the offset of amd64.Frame.Vector, where trapEntry reads
// the vector (the error code and CS follow at +8 and +0x18); frameRAX is
// RAX's, the system call number.
const (
	frameVector = 0x78
	frameRAX    = 0x70
)

// nrSwitch is sys.NrSwitch, the system call whose entry saves no FPU state
// (entry_amd64.s), and fxsaveX15 the offset of X15 in an FXSAVE image
// (Intel SDM vol. 1, 10.5.1: XMM0 at 160, 16 bytes each).
const (
	nrSwitch  = sys.NrSwitch
	fxsaveX15 = 160 + 15*16
)

// defaultMXCSR is the MXCSR every kernel thread runs with (all exceptions
// masked, round to nearest), which Go's code assumes; the trap exit loads
// it when it hands the CPU back to a thread whose FPU state it did not
// restore (cpuLocal.lazy).
var defaultMXCSR uint32 = 0x1F80

// Segment selectors and the IOPL marker bit for entry_amd64.s.
const (
	kernelCS     = amd64.KernelCS
	kernelDS     = amd64.KernelDS
	userCS       = amd64.UserCS
	userDS       = amd64.UserDS
	flagIOPL1Bit = 12
)

// The bit number matches the flag.
var (
	_ [amd64.FlagIOPL1 - 1<<flagIOPL1Bit]byte
	_ [1<<flagIOPL1Bit - amd64.FlagIOPL1]byte
)

// trapEntry pushes the registers in amd64.Frame's order and calls trap
// with SP pointing at the result: the layout it assumes, checked when
// compiling (a negative array length fails).
const frameSize = 0xB0

var (
	_ [unsafe.Offsetof(amd64.Frame{}.RAX) - frameRAX]byte
	_ [frameRAX - unsafe.Offsetof(amd64.Frame{}.RAX)]byte
	_ [unsafe.Offsetof(amd64.Frame{}.Vector) - frameVector]byte
	_ [frameVector - unsafe.Offsetof(amd64.Frame{}.Vector)]byte
	_ [unsafe.Offsetof(amd64.Frame{}.RIP) - 0x88]byte
	_ [0x88 - unsafe.Offsetof(amd64.Frame{}.RIP)]byte
	_ [unsafe.Sizeof(amd64.Frame{}) - frameSize]byte
	_ [frameSize - unsafe.Sizeof(amd64.Frame{})]byte
)

// entry is the Go image's ELF entry point; see entry_amd64.s.
func entry()

// syscallEntry is the SYSCALL target; see entry_amd64.s.
func syscallEntry()

// trapEntry is the common trap path; see entry_amd64.s.
func trapEntry()

// trapLow and trapExit are its low and return halves; see entry_amd64.s.
func trapLow()
func trapExit()

// idleLoop is the idle thread's code; see entry_amd64.s.
func idleLoop()

// faultTrampoline runs reportFault on a faulting thread; see entry_amd64.s.
func faultTrampoline()

// vectorStubs returns the entry address of each IDT vector's stub.
func vectorStubs() *[256]uintptr

// apEntry is where application processors enter the kernel; see
// entry_amd64.s.
func apEntry()

// codeAddrs returns the addresses of syscallEntry, idleLoop,
// faultTrampoline and apEntry.
func codeAddrs() (syscall, idle, trampoline, ap uintptr)

// vectorTrapCall is amd64.VectorTrapCall for probe_amd64.s.
const vectorTrapCall = amd64.VectorTrapCall

// fpuProbe puts x1 in X1, runs body in the trap path and returns X1 after;
// see nmitest_amd64.s.
func fpuProbe(body func(uintptr) uintptr, x1 uint64) uint64

// setX1 puts v in X1.
func setX1(v uint64)

// syscallInstr executes a SYSCALL instruction (getpid).
func syscallInstr()
