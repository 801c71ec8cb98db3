package sys

// User-memory access for system calls: nosplit, trap context.

import (
	"gofly/lwkt"
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

// The memory calls that remove pages (munmap, madvise DONTNEED, a
// MAP_FIXED mmap over old pages) make every other CPU drop its cached
// translations before the trap returns (and the MP lock is released), so
// no CPU reaches a freed frame through a stale TLB entry.

//go:nosplit
func mmap(addr, length uintptr, prot, flags, fd int) int64 {
	if flags&vm.MapAnonymous != 0 && fd != -1 {
		return -EBADF
	}
	resident := vm.Kernel.Pmap.Resident()
	r := vm.Kernel.Mmap(addr, length, prot, flags)
	if vm.Kernel.Pmap.Resident() < resident {
		lwkt.RequestShootdown()
	}
	return r
}

//go:nosplit
func munmap(addr, length uintptr) int64 {
	r := vm.Kernel.Munmap(addr, length)
	lwkt.RequestShootdown()
	return r
}

//go:nosplit
func madvise(addr, length uintptr, advice int) int64 {
	resident := vm.Kernel.Pmap.Resident()
	r := vm.Kernel.Madvise(addr, length, advice)
	if vm.Kernel.Pmap.Resident() < resident {
		lwkt.RequestShootdown()
	}
	return r
}
