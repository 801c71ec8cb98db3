package vm

import (
	"testing"

	"gofly/mm"
	"gofly/pmap"
)

// TestLoan: lent pages stay mapped, read-only, with a hold beside their
// mapping; the owner's write copies a lent page and the loan keeps the
// original; an unlent page's write makes it writable in place; the last
// hold frees a frame no mapping has; shared memory, PROT_NONE and holes
// are not lent.
func TestLoan(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 4*p, rw, fixed, int64(a))
	f.writeMarks(a, 4)
	was := f.frames(a, 4)
	out := make([]uint64, 4)
	if k := f.m.Loan(a, out); k != 4 {
		t.Fatalf("Loan of 4 private pages lent %d", k)
	}
	for i, pa := range out {
		if pa != was[i] || f.pm.Flags(a+uintptr(i)*p)&pmap.Writable != 0 || pmap.Mappings(pa) != 2 {
			t.Fatalf("lent page %d: frame %#x (mapped %#x), flags %#x, %d PVs; want its frame, read-only, 2 PVs",
				i, pa, was[i], f.pm.Flags(a+uintptr(i)*p), pmap.Mappings(pa))
		}
	}
	if Loans() != 4 {
		t.Fatalf("Loans() = %d, want 4", Loans())
	}
	f.check("Loan")

	// The owner writes page 0: a copy for it, the original for the loan.
	f.held++ // the original: the loan's alone after the copy
	f.fault(a, true, false, true)
	if f.frameOf(a) == out[0] || *(*uint64)(mm.Ptr(f.frameOf(a))) != uint64(a) {
		t.Fatal("a write to a lent page did not copy it")
	}
	*(*uint64)(mm.Ptr(f.frameOf(a))) = 1
	if *(*uint64)(mm.Ptr(out[0])) != uint64(a) {
		t.Fatal("the owner's write reached the lent page")
	}
	f.check("write to a lent page")
	if n := Unloan(out[:1]); n != 1 {
		t.Fatalf("Unloan of a page the owner copied freed %d frames, want 1", n)
	}
	f.held--
	f.check("Unloan of a page only the loan had")

	// Page 1 given back: the owner's write makes it writable in place.
	if n := Unloan(out[1:2]); n != 0 {
		t.Fatalf("Unloan of a page the owner still maps freed %d frames, want 0", n)
	}
	f.fault(a+p, true, false, true)
	if f.frameOf(a+p) != out[1] || f.pm.Flags(a+p)&pmap.Writable == 0 {
		t.Fatal("a write to a page given back did not upgrade it in place")
	}
	f.check("write to a page given back")

	// Page 2 unmapped while lent: the frame stays the loan's; not a call
	// for the map's lock alone.
	if f.m.Alone(a+2*p, p, true, false) {
		t.Fatal("Alone allows a munmap of a lent page")
	}
	f.held++
	f.munmap(a+2*p, p, 0)
	if *(*uint64)(mm.Ptr(out[2])) != uint64(a+2*p) {
		t.Fatal("a lent page changed when its mapping went")
	}
	f.check("munmap of a lent page")
	if n := Unloan(out[2:4]); n != 1 {
		t.Fatalf("Unloan of a page unmapped and one still mapped freed %d frames, want 1", n)
	}
	f.held--
	f.check("Unloan of the rest")
	if Loans() != 0 {
		t.Fatalf("Loans() = %d after every Unloan", Loans())
	}

	// Not lent: shared memory, PROT_NONE, a hole; a loan stops at the
	// first such page.
	f.mmap(a+8*p, p, rw, shared, int64(a+8*p))
	f.touch(a+8*p, p, true, true)
	f.mmap(a+9*p, p, rw, fixed, int64(a+9*p))
	f.mprotect(a+9*p, p, 0, 0)
	f.mmap(a+7*p, p, rw, fixed, int64(a+7*p))
	for _, c := range []struct {
		name string
		va   uintptr
		want int
	}{{"shared memory", a + 8*p, 0}, {"PROT_NONE", a + 9*p, 0}, {"a hole", a + 10*p, 0}, {"a private page before shared memory", a + 7*p, 1}} {
		if k := f.m.Loan(c.va, out[:2]); k != c.want {
			t.Errorf("Loan of %s lent %d pages, want %d", c.name, k, c.want)
		}
	}
	Unloan(out[:1])
	f.check("refused loans")
}
