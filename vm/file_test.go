package vm

import (
	"testing"

	"gofly/mm"
	"gofly/pmap"
)

// fileObject makes a file's object of size pages, with the file's own
// reference, dropped when the test ends.
func fileObject(t *testing.T, size uint64) uint32 {
	t.Helper()
	obj := newObject()
	if obj == 0 {
		t.Fatal("no object")
	}
	objects[obj].file, objects[obj].size = true, size
	t.Cleanup(func() { objUnref(obj, 0) })
	return obj
}

// TestMmapObject: MAP_SHARED of a file's object maps its pages; a
// MAP_PRIVATE one maps them read-only and copies on the first write,
// leaving the object's page as it was; a page past the file's end is a
// bus error; bad offsets are EINVAL.
func TestMmapObject(t *testing.T) {
	f := newUserFixture(t, testMin)
	obj := fileObject(t, 3)
	a, b := base, base+16*p
	if got := f.m.MmapObject(a, 4*p, rw, MapShared, obj, 0); got != int64(a) {
		t.Fatalf("MmapObject shared = %d", got)
	}
	if got := f.m.MmapObject(b, 2*p, rw, MapPrivate, obj, 1); got != int64(b) {
		t.Fatalf("MmapObject private = %d", got)
	}
	f.check("mmap of an object")
	if objects[obj].refs != 3 {
		t.Fatalf("object references %d, want 3 (the file and two entries)", objects[obj].refs)
	}
	f.fault(a+p, true, false, true)
	mark(t, f.m, a+p, 41)
	f.fault(b, false, false, true) // the object's page 1, read-only
	if f.frameOf(b) != f.frameOf(a+p) || f.pm.Flags(b)&pmap.Writable != 0 || markOf(t, f.m, b) != 41 {
		t.Fatal("a private mapping's read fault did not map the object's page read-only")
	}
	f.fault(b, true, false, true) // copied
	mark(t, f.m, b, 42)
	if f.frameOf(b) == f.frameOf(a+p) || markOf(t, f.m, a+p) != 41 {
		t.Fatal("a private mapping's write reached the object's page")
	}
	f.fault(b+p, true, false, true) // not present, a write: the object's page 2 copied at once
	if s := objectAt(obj).slot(2, false); s == nil || *s == 0 || f.frameOf(b+p) == *s || f.pm.Flags(b+p)&pmap.Writable == 0 {
		t.Fatal("a private mapping's first write did not copy the object's page")
	}
	f.check("private copies")
	bus := f.m.BusErrors
	f.fault(a+3*p, false, false, false)
	if f.m.BusErrors != bus+1 {
		t.Fatal("a fault past the file's end is not a bus error")
	}
	for _, c := range []struct {
		off uint64
		n   uintptr
	}{{objMaxPages, p}, {objMaxPages - 1, 2 * p}} {
		if got := f.m.MmapObject(0, c.n, rw, MapShared, obj, c.off); got != -EINVAL {
			t.Errorf("MmapObject from page %d, %d bytes = %d; want EINVAL", c.off, c.n, got)
		}
	}
	if objects[obj].refs != 3 {
		t.Fatalf("refused mmaps changed the object's references: %d", objects[obj].refs)
	}

	// A fork shares the private copies copy-on-write, the object's pages
	// as they are.
	child := f.fork()
	if pa, _ := child.Pmap.Extract(b); pa != f.frameOf(b) || pmap.Mappings(pa) != 2 || f.pm.Flags(b)&pmap.Writable != 0 {
		t.Fatal("fork did not share a private copy copy-on-write")
	}
	child.Destroy()
	f.check("fork")
	f.munmap(a, 4*p, 0)
	f.munmap(b, 2*p, 0)
	if objects[obj].refs != 1 {
		t.Fatalf("object references %d after munmap, want the file's 1", objects[obj].refs)
	}
	f.check("munmap")
}

// TestTruncateMapped: a file's object cut shorter loses its pages from
// every map that maps them, a shared entry's and a private one's alike
// (a private copy stays its mapping's), and their frames go back; the
// map faults there after as past the end.
func TestTruncateMapped(t *testing.T) {
	f := newUserFixture(t, testMin)
	obj := fileObject(t, 4)
	a, b := base, base+16*p
	f.m.MmapObject(a, 4*p, rw, MapShared, obj, 0)
	f.m.MmapObject(b, 4*p, rw, MapPrivate, obj, 0)
	for i := uintptr(0); i < 4; i++ {
		f.fault(a+i*p, true, false, true)
		f.fault(b+i*p, false, false, true)
	}
	f.fault(b+3*p, true, false, true) // page 3 copied: stays
	f.check("mapped")
	free := mm.Phys.FreePages()
	o := objectAt(obj)
	o.size = 1
	o.truncate(obj, 1)
	for i := uintptr(1); i < 4; i++ {
		if f.present(a+i*p) || i < 3 && f.present(b+i*p) {
			t.Fatalf("page %d of the object is still mapped after the truncate", i)
		}
	}
	if !f.present(a) || !f.present(b) || !f.present(b+3*p) {
		t.Fatal("the truncate took a page it should have left")
	}
	if got := mm.Phys.FreePages() - free; got != 3 {
		t.Fatalf("%d frames back after the truncate, want the object's 3", got)
	}
	f.check("truncated")
	bus := f.m.BusErrors
	f.fault(a+2*p, false, false, false)
	f.fault(b+p, false, false, false)
	if f.m.BusErrors != bus+2 {
		t.Fatal("faults past the new end are not bus errors")
	}
	f.munmap(a, 4*p, 0)
	f.munmap(b, 4*p, 0)
	f.check("munmap")
}

// TestFileFrames: the lock-free index walk finds what the index holds —
// pages, holes, pages in index tables made later — and a dropped page is
// a hole after.
func TestFileFrames(t *testing.T) {
	newUserFixture(t, testMin) // mm over host memory, the MP lock's checks off
	obj := fileObject(t, 1<<20)
	idx := []uint64{0, 1, 511, 512, 1 << 18, 1<<20 - 1}
	var got [4]uint64
	if FileFrames(obj, 0, got[:]); got != [4]uint64{} {
		t.Fatalf("an empty object's frames: %v", got)
	}
	want := map[uint64]uint64{}
	for _, i := range idx {
		if want[i] = objPage(obj, i); want[i] == 0 {
			t.Fatal("no frame for an object page")
		}
	}
	for _, i := range idx {
		var one [3]uint64
		FileFrames(obj, max(i, 1)-1, one[:min(3, 1<<27-(max(i, 1)-1))])
		for k, pa := range one {
			at := max(i, 1) - 1 + uint64(k)
			if pa != want[at] {
				t.Fatalf("page %d: FileFrames %#x, the index %#x", at, pa, want[at])
			}
		}
	}
	for _, i := range []uint64{511, 512} { // filePunch's work (a TrapCall cannot run on the host)
		objectAt(obj).drop(obj, objectAt(obj).slot(i, false), nil)
	}
	var after [2]uint64
	if FileFrames(obj, 511, after[:]); after != [2]uint64{} {
		t.Fatalf("punched pages still found: %v", after)
	}
}

// TestMadviseRemoveFile: MADV_REMOVE leaves a file's pages to the file,
// which punches them under its range lock (PunchFile), and punches an
// orphan's, whose file let go of it while it was mapped.
func TestMadviseRemoveFile(t *testing.T) {
	f := newUserFixture(t, testMin)
	obj := newObject()
	if obj == 0 {
		t.Fatal("no object")
	}
	objects[obj].file, objects[obj].size = true, 2
	if got := f.m.MmapObject(base, 2*p, rw, MapShared, obj, 0); got != int64(base) {
		t.Fatalf("MmapObject = %d", got)
	}
	f.fault(base, true, false, true)
	f.madvise(base, p, MadvRemove, 0)
	if s := objectAt(obj).slot(0, false); s == nil || *s == 0 {
		t.Fatal("MADV_REMOVE freed a page its file still holds")
	}
	releaseFile(obj) // removed and closed, still mapped
	if !objects[obj].orphan {
		t.Fatal("a file's object still mapped after the file let go is not an orphan")
	}
	f.madvise(base, p, MadvRemove, 0)
	if s := objectAt(obj).slot(0, false); s != nil && *s != 0 {
		t.Fatal("MADV_REMOVE left an orphan's page")
	}
	f.munmap(base, 2*p, 0)
	if objects[obj].refs != 0 || objects[obj].orphan {
		t.Fatal("the orphan outlived its last mapping")
	}
}

// TestMprotectNoWrite: a shared mapping its process may not write
// (MapNoWrite: a file opened read-only) stays unwritable: mprotect's
// PROT_WRITE is EACCES there, after the entries before it changed (Linux's
// order), and the mark survives splits and merges.
func TestMprotectNoWrite(t *testing.T) {
	f := newUserFixture(t, testMin)
	obj := fileObject(t, 4)
	a := base
	f.mmap(a, p, rw, fixed, int64(a)) // private memory, then the file
	if got := f.m.MmapObject(a+p, 2*p, int(ProtRead), MapShared|MapFixed|MapNoWrite, obj, 0); got != int64(a+p) {
		t.Fatalf("MmapObject = %d", got)
	}
	f.check("mmap")
	f.mprotect(a+p, 2*p, rw, -EACCES)
	f.mprotect(a+p, p, int(ProtRead|ProtExec), 0) // splits the entry: both halves keep the mark
	f.mprotect(a+2*p, p, rw, -EACCES)
	f.mprotect(a+p, p, int(ProtRead), 0) // merges again
	f.mprotect(a, 3*p, 0, 0)             // PROT_NONE: no write asked
	f.mprotect(a, 3*p, rw, -EACCES)
	if e := f.m.At(f.m.lookup(a)); e.Prot != ProtRead|ProtWrite {
		t.Fatalf("the private entry before the file's is %#x after the refused mprotect; want read+write (Linux changes what lies before)", e.Prot)
	}
	for va := a + p; va < a+3*p; va += p {
		if e := f.m.At(f.m.lookup(va)); e.Prot != 0 || e.Flags&NoWrite == 0 {
			t.Fatalf("the file's entry at %#x: prot %#x flags %#x; want none, NoWrite", va, e.Prot, e.Flags)
		}
	}
	if got := f.m.MmapObject(a+8*p, p, int(ProtRead), MapShared|MapNoWrite, obj, 0); got < 0 || f.m.At(f.m.lookup(uintptr(got))).Flags&NoWrite == 0 {
		t.Fatalf("MmapObject with MapNoWrite = %d, or its entry lacks NoWrite", got)
	}
}
