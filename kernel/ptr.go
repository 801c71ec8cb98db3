package kernel

import (
	"unsafe"

	"gofly/mm"
	"gofly/pmap"
)

//go:nosplit
func ptrAt(a uintptr) unsafe.Pointer { return mm.Ptr(uint64(a)) }

//go:nosplit
func kernelPmapExtract(va uint64) (uint64, bool) { return pmap.Kernel.Extract(uintptr(va)) }
