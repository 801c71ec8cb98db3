package vm

import (
	"testing"

	"gofly/fatal"
	"gofly/mm"
	"gofly/pmap"
)

// writeMarks faults in n pages from va for writing and stores each page's
// address in its first word.
func (f *fixture) writeMarks(va uintptr, n int) {
	f.t.Helper()
	for i := 0; i < n; i++ {
		a := va + uintptr(i)*p
		f.fault(a, true, false, true)
		*(*uint64)(mm.Ptr(f.frameOf(a))) = uint64(a)
	}
}

// marksKept checks that the n pages from va are still in the frames
// frames lists, with their marks.
func (f *fixture) marksKept(va uintptr, frames []uint64) {
	f.t.Helper()
	for i, pa := range frames {
		a := va + uintptr(i)*p
		if got := f.frameOf(a); got != pa || *(*uint64)(mm.Ptr(pa)) != uint64(a) {
			f.t.Fatalf("page %#x: frame %#x (was %#x), mark %#x", a, got, pa, *(*uint64)(mm.Ptr(got)))
		}
	}
}

func (f *fixture) frames(va uintptr, n int) []uint64 {
	var fs []uint64
	for i := 0; i < n; i++ {
		fs = append(fs, f.frameOf(va+uintptr(i)*p))
	}
	return fs
}

// TestMprotect: protection changes clip and merge entries, keep every
// page and its contents, and the pages' flags follow: read-only refuses
// writes, PROT_NONE pages stay present but supervisor-only, and a page
// that gets write back stays read-only until a write fault upgrades it in
// place.
func TestMprotect(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 8*p, rw, fixed, int64(a))
	f.writeMarks(a, 8)
	frames := f.frames(a, 8)

	f.mprotect(a+2*p, 3*p, ProtRead, 0)
	f.entries(Entry{Start: a, End: a + 2*p, Prot: rw}, Entry{Start: a + 2*p, End: a + 5*p, Prot: ProtRead},
		Entry{Start: a + 5*p, End: a + 8*p, Prot: rw})
	f.marksKept(a, frames)
	if f.pm.Flags(a+2*p)&pmap.Writable != 0 || f.pm.Flags(a+p)&pmap.Writable == 0 {
		t.Fatal("flags did not follow the protection")
	}
	f.fault(a+2*p, true, false, false) // write to read-only: SIGSEGV
	f.fault(a+3*p, false, false, true) // read: present, retried

	f.mprotect(a+2*p, 3*p, rw, 0) // merges back into one entry
	f.entries(Entry{Start: a, End: a + 8*p, Prot: rw})
	if f.pm.Flags(a+3*p)&pmap.Writable != 0 {
		t.Fatal("a page that got write back is writable before its write fault")
	}
	f.fault(a+3*p, true, false, true)
	if f.pm.Flags(a+3*p)&pmap.Writable == 0 || f.m.CopyFaults != 0 {
		t.Fatal("the write fault did not make the page writable in place")
	}
	f.marksKept(a, frames)

	f.mprotect(a, p, ProtNone, 0)
	if !f.present(a) || f.pm.Flags(a)&pmap.User != 0 {
		t.Fatalf("PROT_NONE page: present %v, flags %#x; want present, supervisor-only", f.present(a), f.pm.Flags(a))
	}
	f.fault(a, false, false, false)
	f.touch(a, 8, false, false)
	f.mprotect(a, p, ProtRead, 0)
	if f.pm.Flags(a)&pmap.User == 0 {
		t.Fatal("PROT_READ after PROT_NONE left the page supervisor-only")
	}
	f.touch(a, 8, false, true)
	f.marksKept(a, frames)

	// On x86-64 write and execute access imply read, as on Linux.
	f.mprotect(a+p, p, ProtWrite, 0)
	f.fault(a+p, false, false, true)
	f.touch(a+p, 8, true, true)
	f.mprotect(a+6*p, 2*p, ProtExec, 0)
	f.fault(a+6*p, false, false, true)
	f.fault(a+6*p, false, true, true)
	f.fault(a+7*p, true, false, false)
	f.marksKept(a, frames)

	f.munmap(a, 8*p, 0)
	if f.pm.Resident() != 0 {
		t.Fatal("pages left after munmap")
	}
}

// TestMprotectErrors: Linux's checks, in Linux's order; a refused call
// changes nothing.
func TestMprotectErrors(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 4*p, rw, fixed, int64(a))
	f.mmap(a+5*p, 2*p, rw, fixed, int64(a+5*p)) // a hole at a+4p
	f.writeMarks(a, 4)
	before := entries(f.m)
	for _, c := range []struct {
		name    string
		addr, n uintptr
		prot    int
		want    int64
	}{
		{"misaligned", a + 1, p, ProtRead, -EINVAL},
		{"unknown prot bit", a, p, 0x10, -EINVAL},
		{"PROT_GROWSDOWN", a, p, 0x01000000 | ProtRead, -EINVAL},
		{"PROT_GROWSUP", a, p, 0x02000000 | ProtRead, -EINVAL},
		{"zero length, unmapped", a + 4*p, 0, ProtRead, 0},
		{"zero length, unknown bit", a, 0, 0x10, 0},
		{"wraps, unknown bit", a, ^uintptr(0) - p, 0x10, -ENOMEM},
		{"both grow flags", a + 4*p, 0, protGrowsDown | protGrowsUp, -EINVAL},
		{"PROT_GROWSDOWN over a hole", a + 4*p, p, protGrowsDown | ProtRead, -ENOMEM},
		{"PROT_GROWSDOWN from a hole into an entry", a + 4*p, 2 * p, protGrowsDown | ProtRead, -EINVAL},
		{"PROT_GROWSUP from a hole into an entry", a + 4*p, 2 * p, protGrowsUp | ProtRead, -ENOMEM},
		{"starts in the hole", a + 4*p, 2 * p, ProtRead, -ENOMEM},
		{"nothing mapped", a + 64*p, p, ProtRead, -ENOMEM},
		{"below userMin", testMin - p, p, ProtRead, -ENOMEM},
		{"wraps", a, ^uintptr(0) - p, ProtRead, -ENOMEM},
		{"past UserMax", UserMax - p, 2 * p, ProtRead, -ENOMEM},
	} {
		if got := f.m.Mprotect(c.addr, c.n, c.prot); got != c.want {
			t.Errorf("%s: Mprotect(%#x, %#x, %#x) = %d; want %d", c.name, c.addr, c.n, c.prot, got, c.want)
		}
		f.check(c.name)
		f.entries(before...)
	}
	// PROT_SEM is accepted (and means nothing on x86-64); a length is
	// rounded up to pages.
	f.mprotect(a, p+1, ProtRead|protSem, 0)
	f.entries(Entry{Start: a, End: a + 2*p, Prot: ProtRead}, Entry{Start: a + 2*p, End: a + 4*p, Prot: rw},
		Entry{Start: a + 5*p, End: a + 7*p, Prot: rw})
	// Over a hole, as Linux: what lies before it changes, then ENOMEM.
	f.mprotect(a, 7*p, ProtExec, -ENOMEM)
	f.entries(Entry{Start: a, End: a + 4*p, Prot: ProtExec}, Entry{Start: a + 5*p, End: a + 7*p, Prot: rw})
	f.mprotect(a+5*p, 3*p, ProtRead, -ENOMEM) // runs past the end
	f.entries(Entry{Start: a, End: a + 4*p, Prot: ProtExec}, Entry{Start: a + 5*p, End: a + 7*p, Prot: ProtRead})

}

// The kernel's own map has no mprotect.
func TestMprotectKernelMap(t *testing.T) {
	k := newFixture(t, testMin)
	k.mmap(base, p, rw, fixed, int64(base))
	if got := k.m.Mprotect(base, p, ProtRead); got != -ENOSYS {
		t.Fatalf("kernel map: Mprotect = %d; want ENOSYS", got)
	}
}

// TestMprotectTableFull: a change that would split an entry of a full
// table is ENOMEM and changes nothing; one that needs no new slot works.
func TestMprotectTableFull(t *testing.T) {
	f := newUserFixture(t, testMin)
	f.fillTable()
	f.writeMarks(base, 3)
	frames := f.frames(base, 3)
	full := entries(f.m)
	f.mprotect(base+p, p, ProtRead, -ENOMEM)
	f.entries(full...)
	f.marksKept(base, frames)
	f.mprotect(base, 3*p, ProtRead, 0) // the whole entry: no new slot
	if f.m.Len() != MaxEntries || f.m.At(0).Prot != ProtRead {
		t.Fatalf("Len %d, entry 0 prot %d", f.m.Len(), f.m.At(0).Prot)
	}
	f.marksKept(base, frames)
}

// TestMprotectAfterFork: pages fork shares stay read-only whatever
// mprotect grants; the first write copies them, as without mprotect.
func TestMprotectAfterFork(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 2*p, rw, fixed, int64(a))
	f.writeMarks(a, 2)
	child := f.fork()
	shared := f.frameOf(a)
	// The child's PVs are live too: the fixture's accounting holds again
	// once the child is gone.
	if f.m.Mprotect(a, 2*p, ProtRead) != 0 || f.m.Mprotect(a, 2*p, rw) != 0 {
		t.Fatal("Mprotect failed")
	}
	if f.pm.Flags(a)&pmap.Writable != 0 {
		t.Fatal("mprotect made a page fork shares writable")
	}
	if !f.m.Fault(a, true, false) {
		t.Fatal("write fault after mprotect failed")
	}
	for _, m := range []*Map{f.m, child} {
		if msg := fatal.Catch(m.CheckPV); msg != "" {
			t.Fatal(msg)
		}
	}
	if f.frameOf(a) == shared || f.m.CopyFaults != 1 {
		t.Fatalf("the write after mprotect did not copy: frame %#x (shared %#x), copy faults %d", f.frameOf(a), shared, f.m.CopyFaults)
	}
	if pa, _ := child.Pmap.Extract(a); pa != shared || *(*uint64)(mm.Ptr(pa)) != uint64(a) {
		t.Fatal("the child lost the shared page")
	}
	child.Destroy()
	f.check("child destroyed")
}
