package kernel

// Routines in entry_amd64.s and vectors_amd64.s, and the facts they share
// with Go.

import (
	"unsafe"

	"gofly/arch/amd64"
)

// vectorSyscall is amd64.VectorSyscall for syscallEntry (go_asm.h exports
// only this package's constants).
const vectorSyscall = amd64.VectorSyscall

// trapEntry pushes the registers in amd64.Frame's order and calls trap
// with SP pointing at the result: the layout it assumes, checked when
// compiling (a negative array length fails).
const frameSize = 0xB0

var (
	_ [unsafe.Offsetof(amd64.Frame{}.RAX) - 0x70]byte
	_ [0x70 - unsafe.Offsetof(amd64.Frame{}.RAX)]byte
	_ [unsafe.Offsetof(amd64.Frame{}.Vector) - 0x78]byte
	_ [0x78 - unsafe.Offsetof(amd64.Frame{}.Vector)]byte
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
