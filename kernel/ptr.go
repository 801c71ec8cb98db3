package kernel

import "gofly/vm"

//go:nosplit
func kernelPmapExtract(va uint64) (uint64, bool) { return vm.Kernel.Pmap.Extract(uintptr(va)) }
