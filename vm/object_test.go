package vm

import (
	"testing"

	"gofly/fatal"
	"gofly/mm"
	"gofly/pmap"
)

const shared = MapShared | MapAnonymous | MapFixed

// fork returns a new process map, f's map forked into it (Fork).
func (f *fixture) fork() *Map {
	f.t.Helper()
	child := new(Map)
	child.Pmap.InitUser(mm.Phys.Alloc(), f.pm)
	child.Init(testMin)
	if !f.m.Fork(child) {
		f.t.Fatal("Fork failed")
	}
	return child
}

// mark writes v into the first word of the page mapped at va in m.
func mark(t *testing.T, m *Map, va uintptr, v uint64) {
	t.Helper()
	pa, ok := m.Pmap.Extract(va)
	if !ok {
		t.Fatalf("%#x not mapped", va)
	}
	*(*uint64)(mm.Ptr(pa &^ (p - 1))) = v
}

func markOf(t *testing.T, m *Map, va uintptr) uint64 {
	t.Helper()
	pa, ok := m.Pmap.Extract(va)
	if !ok {
		t.Fatalf("%#x not mapped", va)
	}
	return *(*uint64)(mm.Ptr(pa &^ (p - 1)))
}

// TestSharedMemory: MAP_SHARED|MAP_ANONYMOUS memory is an object's pages.
// A fork shares them writable in both maps, a page either faults in is
// the other's too, MADV_DONTNEED and munmap of a piece keep what the
// object holds, and the object and its pages go with its last entry.
func TestSharedMemory(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 4*p, rw, shared, int64(a))
	f.mmap(a+4*p, 2*p, rw, shared, int64(a+4*p)) // another object: no merge
	if f.m.Len() != 2 || f.m.At(0).Obj == 0 || f.m.At(0).Obj == f.m.At(1).Obj {
		t.Fatalf("entries %s; want two over different objects", fmtEntries(entries(f.m)))
	}
	f.fault(a, true, false, true)
	mark(t, f.m, a, 100)

	child := f.fork()
	checkBoth := func(step string) {
		t.Helper()
		for _, m := range []*Map{f.m, child} {
			if msg := fatal.Catch(m.CheckPV); msg != "" {
				t.Fatalf("%s: %s", step, msg)
			}
		}
	}
	checkBoth("fork")
	pa, _ := f.pm.Extract(a)
	if cpa, _ := child.Pmap.Extract(a); cpa != pa || child.Pmap.Flags(a)&pmap.Writable == 0 || f.pm.Flags(a)&pmap.Writable == 0 {
		t.Fatal("fork did not share a shared page writable in both")
	}
	// A page the child faults in is the parent's too, and writes go both ways.
	if !child.Fault(a+p, true, false) {
		t.Fatal("child's fault failed")
	}
	mark(t, child, a+p, 101)
	if !f.m.Fault(a+p, false, false) || markOf(t, f.m, a+p) != 101 {
		t.Fatal("the parent does not see the page the child wrote")
	}
	mark(t, f.m, a, 200)
	if markOf(t, child, a) != 200 {
		t.Fatal("the child does not see the parent's write")
	}
	if f.m.CopyFaults != 0 || child.CopyFaults != 0 {
		t.Fatal("shared memory was copied")
	}
	checkBoth("faults")

	// MADV_DONTNEED drops the mapping, not the page; MADV_FREE is EINVAL.
	if f.m.Madvise(a, p, MadvDontNeed) != 0 || f.present(a) {
		t.Fatal("MADV_DONTNEED left the mapping")
	}
	if !f.m.Fault(a, false, false) || markOf(t, f.m, a) != 200 {
		t.Fatal("shared page lost its contents after MADV_DONTNEED")
	}
	if got := f.m.Madvise(a, p, MadvFree); got != -EINVAL {
		t.Fatalf("MADV_FREE of shared memory = %d; want EINVAL", got)
	}

	// The parent unmaps the middle: the pieces keep their indices.
	if f.m.Munmap(a+p, 2*p) != 0 || f.m.Len() != 3 {
		t.Fatalf("munmap of the middle: entries %s", fmtEntries(entries(f.m)))
	}
	if e := f.m.At(1); e.Start != a+3*p || e.Off != 3 || e.Obj != f.m.At(0).Obj {
		t.Fatalf("right piece %+v; want index 3 of the same object", e)
	}
	mark(t, child, a, 300)
	if markOf(t, f.m, a) != 300 {
		t.Fatal("the parent's remaining piece is no longer shared")
	}
	// mprotect splits and merges back into one entry over the object.
	if child.Mprotect(a+p, p, ProtRead) != 0 || child.Len() != 4 {
		t.Fatalf("mprotect split: entries %s", fmtEntries(entries(child)))
	}
	if child.Mprotect(a+p, p, rw) != 0 || child.Len() != 2 {
		t.Fatalf("mprotect back: entries %s", fmtEntries(entries(child)))
	}
	// A page the parent made read-only and writable again is written in
	// place, never copied.
	if f.m.Mprotect(a, p, ProtRead) != 0 || f.m.Mprotect(a, p, rw) != 0 || !f.m.Fault(a, true, false) {
		t.Fatal("write after mprotect failed")
	}
	if cpa, _ := child.Pmap.Extract(a); f.frameOf(a) != cpa || f.m.CopyFaults != 0 {
		t.Fatal("a shared page was copied after mprotect")
	}
	checkBoth("mprotect")

	// The child goes: the parent's pieces keep the object alive.
	child.Destroy()
	if markOf(t, f.m, a) != 300 {
		t.Fatal("the object lost a page its other entries map")
	}
	f.check("child gone")
	f.munmap(a, 6*p, 0)
	if pages, tables := ObjectPages(); pages != 0 || tables != 0 {
		t.Fatalf("objects hold %d pages, %d tables after every entry went", pages, tables)
	}
}

// TestSharedMemoryErrors: the object table's bound is ENOMEM with
// nothing changed, and a MAP_FIXED shared mapping over private memory
// replaces it.
func TestSharedMemoryErrors(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	for i := 0; i < 8; i++ {
		va := a + uintptr(2*i)*p
		f.mmap(va, p, rw, shared, int64(va))
	}
	var others []uint32 // the rest of the table: objects no entry is over (a file's)
	for o := newObject(); o != 0; o = newObject() {
		others = append(others, o)
	}
	if len(others) != MaxObjects-1-8 {
		t.Fatalf("%d more objects fit; want %d", len(others), MaxObjects-1-8)
	}
	before := entries(f.m)
	f.mmap(0, p, rw, MapShared|MapAnonymous, -ENOMEM)
	f.entries(before...)
	f.munmap(a, p, 0) // one object free again
	f.mmap(a, p, rw, shared, int64(a))
	f.munmap(a, 16*p, 0)
	for _, o := range others {
		objUnref(o, 0)
	}

	f.mmap(a, 2*p, rw, fixed, int64(a))
	f.fault(a, true, false, true)
	f.mmap(a, p, rw, shared, int64(a))
	if f.m.At(0).Obj == 0 || f.present(a) {
		t.Fatal("MAP_FIXED shared memory did not replace the private page")
	}
	f.fault(a, false, false, true)
	if !frameIsZero(f.frameOf(a)) {
		t.Fatal("a new shared page is not zero")
	}
}

// TestMadviseRemove: MADV_REMOVE punches a hole in shared memory: the
// page leaves every map that maps it (a fork's too) and its object, and
// reads as zero after; on private memory it is EINVAL, as on Linux, as
// is MADV_WIPEONFORK on shared memory.
func TestMadviseRemove(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 2*p, rw, shared, int64(a))
	f.mmap(a+2*p, p, rw, fixed, int64(a+2*p))
	f.fault(a, true, false, true)
	f.fault(a+p, true, false, true)
	mark(t, f.m, a, 7)
	mark(t, f.m, a+p, 8)
	child := f.fork()
	if got := f.m.Madvise(a+2*p, p, MadvRemove); got != -EINVAL {
		t.Fatalf("MADV_REMOVE over private memory = %d; want EINVAL", got)
	}
	if got := f.m.Madvise(a, p, MadvWipeOnFork); got != -EINVAL {
		t.Fatalf("MADV_WIPEONFORK of shared memory = %d; want EINVAL", got)
	}
	if got := f.m.Madvise(a, p, MadvRemove); got != 0 {
		t.Fatalf("MADV_REMOVE = %d", got)
	}
	if f.present(a) {
		t.Fatal("the removed page is still mapped in the parent")
	}
	if _, ok := child.Pmap.Extract(a); ok {
		t.Fatal("the removed page is still mapped in the child")
	}
	if pages, _ := ObjectPages(); pages != 1 {
		t.Fatalf("object holds %d pages; want 1 (the other one)", pages)
	}
	if !child.Fault(a, false, false) || markOf(t, child, a) != 0 || markOf(t, child, a+p) != 8 {
		t.Fatal("after MADV_REMOVE the page is not a fresh zero page, or its neighbour changed")
	}
	for _, m := range []*Map{f.m, child} {
		if msg := fatal.Catch(m.CheckPV); msg != "" {
			t.Fatal(msg)
		}
	}
	child.Destroy()
	f.check("child gone")
	// Linux's order: the shared entry before a private one is punched,
	// then the private one fails the call.
	if got := f.m.Madvise(a+p, 2*p, MadvRemove); got != -EINVAL {
		t.Fatalf("MADV_REMOVE over shared then private memory = %d; want EINVAL", got)
	}
	if pages, _ := ObjectPages(); pages != 1 {
		t.Fatalf("object holds %d pages after a punch stopped by private memory; want 1 (the child's)", pages)
	}
	// A read-only mapping punches nothing: EACCES.
	f.mprotect(a, p, ProtRead, 0)
	if got := f.m.Madvise(a, p, MadvRemove); got != -EACCES {
		t.Fatalf("MADV_REMOVE of read-only shared memory = %d; want EACCES", got)
	}
	if pages, _ := ObjectPages(); pages != 1 {
		t.Fatalf("object holds %d pages after MADV_REMOVE of a read-only mapping; want 1", pages)
	}
	f.check("punch stopped")
	// A private entry that begins before the range stops it at once:
	// nothing is punched, and nothing looks at an object it lacks.
	f.mmap(a+10*p, 2*p, rw, fixed, int64(a+10*p))
	if got := f.m.Madvise(a+11*p, p, MadvRemove); got != -EINVAL {
		t.Fatalf("MADV_REMOVE inside private memory = %d; want EINVAL", got)
	}
}

// TestForkAdvice: MADV_DONTFORK leaves a range out of a fork's child,
// MADV_WIPEONFORK gives it to the child without pages (zero), the
// entries split where the marks start and merge again when
// MADV_DOFORK/MADV_KEEPONFORK clear them; over a hole the mapped part is
// marked and the call is ENOMEM.
func TestForkAdvice(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 3*p, rw, fixed, int64(a))
	for i := uintptr(0); i < 3; i++ {
		f.fault(a+i*p, true, false, true)
		mark(t, f.m, a+i*p, uint64(10+i))
	}
	f.madvise(a, p, MadvDontFork, 0)
	f.madvise(a+p, p, MadvWipeOnFork, 0)
	if f.m.Len() != 3 || f.m.At(0).Flags != ForkSkip || f.m.At(1).Flags != ForkWipe || f.m.At(2).Flags != 0 {
		t.Fatalf("entries %s; want three, marked skip, wipe, none", fmtEntries(entries(f.m)))
	}
	child := f.fork()
	if child.Len() != 2 || child.At(0).Start != a+p || child.At(0).Flags != ForkWipe {
		t.Fatalf("child's entries %s; want the wiped one and the plain one", fmtEntries(entries(child)))
	}
	if _, ok := child.Pmap.Extract(a); ok || child.Fault(a, false, false) {
		t.Fatal("the child has the MADV_DONTFORK page")
	}
	if _, ok := child.Pmap.Extract(a + p); ok {
		t.Fatal("the child got the MADV_WIPEONFORK page")
	}
	if !child.Fault(a+p, false, false) || markOf(t, child, a+p) != 0 || markOf(t, child, a+2*p) != 12 {
		t.Fatal("the child's wiped page is not zero, or its plain page lost its contents")
	}
	child.Destroy()
	f.check("child gone")
	f.madvise(a, 2*p, MadvDoFork, 0)
	f.madvise(a, 2*p, MadvKeepOnFork, 0)
	if f.m.Len() != 1 || f.m.At(0).Flags != 0 {
		t.Fatalf("entries %s; want one again", fmtEntries(entries(f.m)))
	}
	f.madvise(a+2*p, 2*p, MadvDontFork, -ENOMEM) // a+3p is not mapped
	if f.m.Len() != 2 || f.m.At(1).Flags != ForkSkip {
		t.Fatalf("entries %s; want the mapped page marked", fmtEntries(entries(f.m)))
	}
}

// TestMadviseZeroLength: an empty range does nothing and succeeds,
// whatever the advice, as on Linux: no empty entry, no EINVAL.
func TestMadviseZeroLength(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 4*p, rw, fixed, int64(a))
	f.mmap(a+4*p, 2*p, rw, shared, int64(a+4*p))
	before := entries(f.m)
	for _, adv := range []int{MadvDontFork, MadvWipeOnFork, MadvDoFork, MadvKeepOnFork, MadvRemove, MadvFree, MadvDontNeed} {
		f.madvise(a+2*p, 0, adv, 0)
		f.madvise(a+5*p, 0, adv, 0)
		f.entries(before...)
	}
	f.munmap(a, 6*p, 0)
}

// TestFileObjectTruncate: a file's object frees exactly its pages at the
// cut and above (across index-table boundaries), keeps those below, and
// every frame comes back when it goes.
func TestFileObjectTruncate(t *testing.T) {
	f := newUserFixture(t, testMin)
	free0 := mm.Phys.FreePages()
	live0, kept0 := pmap.PVStats()
	o := newObject()
	idx := []uint64{0, 1, 511, 512, 513, 1 << 18, 1<<18 + 1, 3<<18 + 5<<9 + 7}
	for _, i := range idx {
		if objPage(o, i) == 0 {
			t.Fatalf("no page %d", i)
		}
	}
	for _, cut := range []uint64{1<<18 + 1, 513, 1, 0} {
		objectAt(o).truncate(o, cut)
		want := uint64(0)
		for _, i := range idx {
			s := objectAt(o).slot(i, false)
			has := s != nil && *s != 0
			if has != (i < cut) {
				t.Fatalf("after a cut at %d: page %d present %v", cut, i, has)
			}
			if i < cut {
				want++
			}
		}
		if objectAt(o).pages != want {
			t.Fatalf("after a cut at %d: %d pages counted; want %d", cut, objectAt(o).pages, want)
		}
	}
	objUnref(o, 0)
	live, kept := pmap.PVStats() // the PV bookkeeping keeps the frames it took
	if mm.Phys.FreePages()+(kept-kept0) != free0 || live != live0 {
		t.Fatalf("after the object went: free %d (was %d, PV bookkeeping took %d), PVs %d (was %d)", mm.Phys.FreePages(), free0, kept-kept0, live, live0)
	}
	f.check("after the file object")
}
