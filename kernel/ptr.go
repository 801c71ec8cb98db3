package kernel

import (
	"unsafe"

	"gofly/mm"
	"gofly/vm"
)

//go:nosplit
func ptrAt(a uintptr) unsafe.Pointer { return mm.Ptr(uint64(a)) }

//go:nosplit
func kernelPmapExtract(va uint64) (uint64, bool) { return vm.Kernel.Pmap.Extract(uintptr(va)) }
