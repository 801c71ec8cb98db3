package vm

// Host memory that the tests treat as physical memory. On the host the
// "direct map" is the identity (mm.Ptr(pa) is simply the address pa), so any
// host memory can stand in for RAM.
//
// The allocator's bitmap covers [0, limit), so its size grows with the
// highest address it manages (one bit per 4 KiB frame, limit/32768 bytes):
// 32 KiB for memory near 1 GiB, but hundreds of MiB for Go heap memory,
// which Go 1.26 places at a random address tens of TiB up. So the window is anonymous memory mapped at a
// fixed low address (the first free one of a few candidates), outside the
// Go heap; it is never unmapped.

import (
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"gofly/mm"
	"gofly/pmap"
)

const (
	ramLenWant = 64 << 20
	mapFixedNR = 0x100000 // MAP_FIXED_NOREPLACE (Linux 4.17)
)

// ramCandidates are the addresses tried for the window, lowest first.
var ramCandidates = []uintptr{1 << 30, 2 << 30, 4 << 30, 16 << 30, 64 << 30}

var (
	ramOnce sync.Once
	ramBase uint64
)

// hostMmap maps n bytes of anonymous memory at exactly addr, or reports
// false without disturbing any existing mapping.
func hostMmap(addr, n uintptr) bool {
	p, _, errno := syscall.Syscall6(syscall.SYS_MMAP, addr, n,
		syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|mapFixedNR, ^uintptr(0), 0)
	if errno != 0 {
		return false
	}
	if p != addr { // an old kernel took the flag as a mere hint
		syscall.Syscall(syscall.SYS_MUNMAP, p, n, 0)
		return false
	}
	return true
}

// hostRAM returns a 2 MiB-aligned window of host memory to use as RAM.
func hostRAM(t testing.TB) (base, n uint64) {
	t.Helper()
	ramOnce.Do(func() {
		for _, addr := range ramCandidates {
			if hostMmap(addr, ramLenWant) {
				ramBase = uint64(addr)
				return
			}
		}
	})
	if ramBase == 0 {
		t.Skip("no free low host address for the test RAM window")
	}
	return ramBase, ramLenWant
}

// fill writes byte v over [pa, pa+n) of host "physical" memory.
func fill(pa, n uint64, v byte) {
	b := unsafe.Slice((*byte)(mm.Ptr(pa)), n)
	for i := range b {
		b[i] = v
	}
}

// newPmap re-initialises mm.Phys over the host window and returns an empty
// address space whose root comes from it (no TLB flushes: INVLPG is
// privileged), with the free-page count after the root was taken.
func newPmap(t testing.TB) (pm *pmap.Pmap, free0 uint64) {
	t.Helper()
	base, n := hostRAM(t)
	if !mm.Phys.Init([]mm.Range{{Base: base, Len: n}}, nil) {
		t.Fatal("mm.Phys.Init over the host window failed")
	}
	root := mm.Phys.Alloc()
	if root == 0 {
		t.Fatal("no frame for the root table")
	}
	pm = new(pmap.Pmap)
	pm.Init(root, false)
	return pm, mm.Phys.FreePages()
}

// dirtyFreeFrames scribbles over every free frame of the window, so a
// frame that Fault hands out reads as zero only if it was zeroed.
func dirtyFreeFrames(t testing.TB) {
	base, n := hostRAM(t)
	for pa := base; pa < base+n; pa += pageSize {
		if mm.Phys.IsFree(pa) {
			fill(pa, pageSize, 0xCC)
		}
	}
}
