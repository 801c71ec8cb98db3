package sys

import (
	"unsafe"

	"gofly/arch/amd64"
	"gofly/mm"
)

//go:nosplit
func ptrOf(a uint64) unsafe.Pointer { return mm.Ptr(a) }

//go:nosplit
func ptrAdd(f *amd64.Frame, off uintptr) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(f), off)
}
