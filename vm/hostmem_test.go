package vm

// Host memory stands in for RAM: see package hostram.

import (
	"testing"
	"unsafe"

	"gofly/internal/hostram"
	"gofly/mm"
	"gofly/pmap"

	"gofly/fatal"
)

// hostRAM returns the window of host memory used as RAM.
func hostRAM(t testing.TB) (base, n uint64) { return hostram.Window(t) }

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
	pmap.ResetPV()
	objects = [MaxObjects]Object{} // a test's maps may have left objects over the old frames
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

// throws runs f and returns the message of the throw it made.
func throws(f func()) string { return fatal.Catch(f) }
