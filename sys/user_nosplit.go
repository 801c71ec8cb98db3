package sys

// User-memory access for system calls: nosplit, trap context.

import (
	"gofly/arch/amd64"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/vm"
)

// user makes [addr, addr+n) present (user-access) and reports whether the
// range is accessible. An empty range is, wherever it is, as with Linux's
// access_ok; page 0 never is (vm.Touch).
//
//go:nosplit
func user(addr, n uintptr, write bool) bool {
	return vm.Kernel.Touch(addr, n, write)
}

// accessOK is Linux's access_ok for the kernel's own program, whose
// address space is both halves: [addr, addr+n) neither wraps nor meets
// the non-canonical hole between them. A call that may use only part of
// a buffer checks all of it this way, as Linux does, and touches only
// what it uses.
//
//go:nosplit
func accessOK(addr, n uintptr) bool {
	end := addr + n
	return end >= addr && (end <= vm.UserMax || addr >= amd64.Alias)
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
func mmap(regs *amd64.Frame, _ uintptr) int64 {
	// fd is ignored for an anonymous mapping, as on Linux.
	addr, length, prot, flags := uintptr(regs.RDI), uintptr(regs.RSI), int(regs.RDX), int(regs.R10)
	resident := vm.Kernel.Pmap.Resident()
	r := vm.Kernel.Mmap(addr, length, prot, flags)
	if vm.Kernel.Pmap.Resident() < resident {
		lwkt.RequestShootdown()
	}
	return r
}

//go:nosplit
func munmap(regs *amd64.Frame, _ uintptr) int64 {
	addr, length := uintptr(regs.RDI), uintptr(regs.RSI)
	r := vm.Kernel.Munmap(addr, length)
	lwkt.RequestShootdown()
	return r
}

//go:nosplit
func madvise(regs *amd64.Frame, _ uintptr) int64 {
	addr, length, advice := uintptr(regs.RDI), uintptr(regs.RSI), int(regs.RDX)
	resident := vm.Kernel.Pmap.Resident()
	r := vm.Kernel.Madvise(addr, length, advice)
	if vm.Kernel.Pmap.Resident() < resident {
		lwkt.RequestShootdown()
	}
	return r
}
