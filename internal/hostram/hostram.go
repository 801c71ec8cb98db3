// Package hostram gives host unit tests ordinary memory that stands in for
// physical RAM. The kernel reaches physical memory through a direct map
// at mm.DirectBase plus the physical address (mm.Direct); on the host
// DirectBase is 0, so any mapped memory can play RAM: its address is its
// "physical address".
//
// The memory must sit at a low address: mm's bitmap covers [0, highest
// frame), one bit per 4 KiB, and Go's own heap lies tens of TiB up, which
// would need a bitmap of hundreds of MiB. So the window is anonymous memory
// mapped at the first free one of a few low fixed addresses, never
// unmapped, shared by every test of a process.
package hostram

import (
	"sync"
	"syscall"
	"testing"
)

// Size is the window's length (a multiple of 2 MiB).
const Size = 64 << 20

// candidates are the addresses tried for the window, lowest first; each is
// 2 MiB aligned.
var candidates = []uintptr{1 << 30, 2 << 30, 4 << 30, 16 << 30, 64 << 30}

var (
	once sync.Once
	base uint64
)

// Window returns the window [base, base+Size). It skips the test if no
// candidate address is free.
func Window(tb testing.TB) (uint64, uint64) {
	tb.Helper()
	once.Do(func() {
		for _, a := range candidates {
			if Map(a, Size) {
				base = uint64(a)
				return
			}
		}
	})
	if base == 0 {
		tb.Skip("hostram: no free low host address for the test RAM window")
	}
	return base, Size
}

// Map maps n bytes of anonymous read-write memory at exactly addr, or
// reports false without disturbing any existing mapping.
func Map(addr, n uintptr) bool {
	const mapFixedNoReplace = 0x100000 // Linux 4.17
	p, _, errno := syscall.Syscall6(syscall.SYS_MMAP, addr, n,
		syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|mapFixedNoReplace, ^uintptr(0), 0)
	if errno != 0 {
		return false
	}
	if p != addr { // an old kernel took the flag as a mere hint
		Unmap(p, n)
		return false
	}
	return true
}

// Unmap undoes Map.
func Unmap(addr, n uintptr) {
	syscall.Syscall(syscall.SYS_MUNMAP, addr, n, 0)
}
