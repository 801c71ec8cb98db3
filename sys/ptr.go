package sys

import (
	"unsafe"

	"gofly/arch/amd64"
)

//go:nosplit
func ptrAdd(f *amd64.Frame, off uintptr) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(f), off)
}
