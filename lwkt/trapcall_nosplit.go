package lwkt

// The other half of TrapCall, in trap context: nosplit.

import (
	"unsafe"

	"gofly/arch/amd64"
)

// RunTrapCall serves VectorTrapCall and VectorTrapCallLocal: it calls the
// function TrapCall put in DI with the argument in SI and returns its
// result in RAX. The trap path calls it holding the MP lock for the
// first vector, nothing for the second.
//
//go:nosplit
func RunTrapCall(f *amd64.Frame) {
	fv := uintptr(f.RDI)
	fn := *(*func(uintptr) uintptr)(unsafe.Pointer(&fv))
	f.RAX = uint64(fn(uintptr(f.RSI)))
}
