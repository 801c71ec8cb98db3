package pmap

// Host memory stands in for RAM: see package hostram.

import (
	"testing"

	"gofly/internal/hostram"
	"gofly/mm"

	"gofly/fatal"
)

// hostRAM returns the window of host memory used as RAM.
func hostRAM(t testing.TB) (base, n uint64) { return hostram.Window(t) }

// newPmap re-initialises mm.Phys over the host window and returns an empty
// address space whose root comes from it (no TLB flushes: INVLPG is
// privileged), with the free-page count after the root was taken.
func newPmap(t testing.TB) (p *Pmap, free0 uint64) {
	t.Helper()
	base, n := hostRAM(t)
	if !mm.Phys.Init([]mm.Range{{Base: base, Len: n}}, nil) {
		t.Fatal("mm.Phys.Init over the host window failed")
	}
	ResetPV()
	root := mm.Phys.Alloc()
	if root == 0 {
		t.Fatal("no frame for the root table")
	}
	p = new(Pmap)
	p.Init(root, false)
	return p, mm.Phys.FreePages()
}

// frame allocates a frame from mm.Phys or fails the test.
func frame(t testing.TB) uint64 {
	t.Helper()
	pa := mm.Phys.Alloc()
	if pa == 0 {
		t.Fatal("mm.Phys exhausted")
	}
	return pa
}

// throws runs f and returns the message of the throw it made.
func throws(f func()) string { return fatal.Catch(f) }
