package sys

// User-memory access for system calls: nosplit, trap context.

import (
	"gofly/mm"
	"gofly/vm"
)

// user makes [addr, addr+n) present (user-access) and reports whether the
// range is accessible.
//
//go:nosplit
func user(addr, n uintptr, write bool) bool {
	return addr != 0 && vm.Kernel.Touch(addr, n, write)
}

//go:nosplit
func u64(addr uintptr) *uint64 { return (*uint64)(mm.Ptr(uint64(addr))) }

//go:nosplit
func u32(addr uintptr) *uint32 { return (*uint32)(mm.Ptr(uint64(addr))) }

//go:nosplit
func u8(addr uintptr) *byte { return (*byte)(mm.Ptr(uint64(addr))) }

//go:nosplit
func mmap(addr, length uintptr, prot, flags, fd int) int64 {
	if flags&vm.MapAnonymous != 0 && fd != -1 {
		return -EBADF
	}
	return vm.Kernel.Mmap(addr, length, prot, flags)
}

//go:nosplit
func munmap(addr, length uintptr) int64 { return vm.Kernel.Munmap(addr, length) }

//go:nosplit
func madvise(addr, length uintptr, advice int) int64 {
	return vm.Kernel.Madvise(addr, length, advice)
}
