package vm

import (
	"testing"

	"gofly/mm"
	"gofly/pmap"
)

// TestFaultFresh: the fault path without the MP lock maps a fresh frame
// where tables and PV bookkeeping exist already, refuses what the entry
// does not allow, and hands everything else on (no page table yet, a
// copy-on-write page), having changed nothing.
func TestFaultFresh(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 4*p, rw, fixed, int64(a))
	f.mmap(a+4*p, p, ProtRead, fixed, int64(a+4*p))
	f.mmap(a+5*p, p, ProtNone, fixed, int64(a+5*p))
	fresh := func(va uintptr, write bool, wantR int, wantUsed bool) uint64 {
		t.Helper()
		pa := mm.Phys.Alloc()
		f.held++
		r, used := f.m.faultFresh(va, write, false, pa)
		if r != wantR || used != wantUsed {
			t.Fatalf("faultFresh(%#x, write=%v) = %d, %v; want %d, %v", va, write, r, used, wantR, wantUsed)
		}
		if used {
			f.held-- // the map's now
		} else {
			mm.Phys.Free(pa)
			f.held--
		}
		f.check("faultFresh")
		return pa
	}
	fresh(a, true, FaultSlow, false) // no page table yet: the MP lock's
	f.fault(a, true, false, true)
	pa := fresh(a+p, true, FaultServed, true)
	if f.frameOf(a+p) != pa || f.m.FreshFaults != 1 || f.m.Faults != 2 {
		t.Fatalf("frame %#x (want %#x), fresh faults %d, faults %d", f.frameOf(a+p), pa, f.m.FreshFaults, f.m.Faults)
	}
	if fl := f.pm.Flags(a + p); fl&(pmap.Writable|pmap.User|pmap.Managed) != pmap.Writable|pmap.User|pmap.Managed {
		t.Fatalf("flags %#x", fl)
	}
	fresh(a+p, true, FaultServed, false)     // present: spurious, retried
	fresh(a+4*p, true, FaultRefused, false)  // write to read-only
	fresh(a+4*p, false, FaultServed, true)   // read of read-only
	fresh(a+5*p, false, FaultRefused, false) // PROT_NONE
	fresh(a+6*p, false, FaultRefused, false) // nothing mapped

	// A page fork shares: a write is copy-on-write, the MP lock's.
	child := f.fork()
	pa = mm.Phys.Alloc()
	if r, used := f.m.faultFresh(a+p, true, false, pa); r != FaultSlow || used {
		t.Fatalf("copy-on-write page: faultFresh = %d, %v; want FaultSlow", r, used)
	}
	mm.Phys.Free(pa)
	child.Destroy()
	f.check("child destroyed")
}

// TestEmptyTablesFreed: in a process's map, removing pages frees the page
// tables they leave empty, up to the PDPT; tables that still map a page
// stay.
func TestEmptyTablesFreed(t *testing.T) {
	f := newUserFixture(t, testMin)
	const mib = 1 << 20
	a := base + mib // base is 512 GiB aligned: PDPT, PD, and two page tables
	f.mmap(a, 3*mib, rw, fixed, int64(a))
	for va := a; va < a+3*mib; va += 64 * p {
		f.fault(va, true, false, true)
	}
	if f.pm.Tables() != 4 {
		t.Fatalf("tables %d; want 4", f.pm.Tables())
	}
	f.munmap(a, mib/2, 0) // the first page table still maps the rest of its 2 MiB
	if f.pm.Tables() != 4 {
		t.Fatalf("tables %d after a partial unmap; want 4", f.pm.Tables())
	}
	f.madvise(a+mib/2, mib/2, MadvDontNeed, 0) // empties the first page table
	if f.pm.Tables() != 3 {
		t.Fatalf("tables %d after emptying a page table; want 3", f.pm.Tables())
	}
	f.munmap(a, 3*mib, 0)
	if f.pm.Tables() != 0 || f.pm.Resident() != 0 {
		t.Fatalf("tables %d, resident %d after unmapping everything; want 0", f.pm.Tables(), f.pm.Resident())
	}
}

// TestFramesWaitForShootdown: a page or page table removed from a map
// another CPU runs goes back to mm only after the shootdown it asks for
// (pmap.FreeDeferred, which the trap path runs after lwkt.Flush); from a
// map no other CPU runs, at once.
func TestFramesWaitForShootdown(t *testing.T) {
	f := newUserFixture(t, testMin)
	var asked uint64
	pmap.Shootdown = func(mask uint64) { asked |= mask }
	defer func() { pmap.Shootdown = nil }()
	a := base
	f.mmap(a, 4*p, rw, fixed, int64(a))
	for i := uintptr(0); i < 4; i++ {
		f.fault(a+i*p, true, false, true)
	}
	f.munmap(a, p, 0) // no other CPU runs the map: at once
	if pmap.Deferred() != 0 || asked != 0 {
		t.Fatalf("%d frames deferred, shootdown of %#x asked, with no other CPU running the map", pmap.Deferred(), asked)
	}
	f.pm.Activate(3)
	free := mm.Phys.FreePages()
	if f.m.Munmap(a+p, 3*p) != 0 { // three pages and the tables they leave empty
		t.Fatal("munmap failed")
	}
	waiting := pmap.Deferred()
	if waiting < 3 || asked != 1<<3 || mm.Phys.FreePages() > free {
		t.Fatalf("with CPU 3 running the map: %d frames deferred, shootdown of %#x, free %d (was %d)", waiting, asked, mm.Phys.FreePages(), free)
	}
	pmap.FreeDeferred()
	f.pm.Deactivate(3)
	if pmap.Deferred() != 0 || mm.Phys.FreePages() < free+waiting {
		t.Fatalf("after the shootdown: %d deferred, free %d; want %d more than %d", pmap.Deferred(), mm.Phys.FreePages(), waiting, free)
	}
	f.check("after FreeDeferred")
}
