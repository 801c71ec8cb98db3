package vm

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gofly/fatal"
	"gofly/mm"
	"gofly/pmap"
)

const (
	p        = pageSize
	testMin  = 1 << 32 // userMin for most tests: past a 4 GiB direct map
	rw       = ProtRead | ProtWrite
	anon     = MapPrivate | MapAnonymous
	fixed    = anon | MapFixed
	noRepl   = anon | MapFixedNoReplace
	base     = uintptr(MmapBase)
	ProtNone = 0         // PROT_NONE
	lowVA    = 0x20_0000 // a "direct map" page below testMin
	nonCanon = 1 << 48   // aliases PML4 slot 0 in the 4-level walk
)

// fixture is a Map over a host pmap, with the free-page count at the start.
type fixture struct {
	t     *testing.T
	m     *Map
	pm    *pmap.Pmap
	free0 uint64
	held  uint64 // frames the test itself holds outside the pmap
}

func newFixture(t *testing.T, userMin uintptr) *fixture {
	t.Helper()
	pm, free0 := newPmap(t)
	m := new(Map)
	m.Pmap.Init(pm.Root(), false)
	m.Init(userMin)
	f := &fixture{t: t, m: m, pm: &m.Pmap, free0: free0}
	f.check("Init")
	return f
}

// check runs after every step: SelfTest, the PV bookkeeping (every
// managed page on its entry's list and its page's, and nothing else), and
// frame accounting (every frame taken since the start is a page table, a
// resident page, PV bookkeeping or held by the test).
func (f *fixture) check(step string) {
	f.t.Helper()
	if err := f.m.SelfTest(); err != nil {
		f.t.Fatalf("%s: %v", step, err)
	}
	if msg := fatal.Catch(f.m.CheckPV); msg != "" {
		f.t.Fatalf("%s: %s", step, msg)
	}
	live, pvFrames := pmap.PVStats()
	objPages, objTables := ObjectPages()
	if live != f.pm.CountManaged(pageSize, UserMax)+objPages+loans {
		f.t.Fatalf("%s: %d PVs live, %d managed pages, %d object pages, %d loans", step, live, f.pm.CountManaged(pageSize, UserMax), objPages, loans)
	}
	// A resident page of shared memory is its object's frame.
	private := f.pm.Resident()
	for i := 0; i < f.m.Len(); i++ {
		e := f.m.At(i)
		if e.Obj == 0 {
			continue
		}
		for va := e.Start; va < e.End; va += p { // a copy-on-write entry's copies are private
			s := objectAt(e.Obj).slot(e.Off+uint64(va-e.Start)/p, false)
			if pa, ok := f.pm.Extract(va); ok && s != nil && *s == pa&^(p-1) {
				private--
			}
		}
	}
	if got, want := mm.Phys.FreePages(), f.free0-f.pm.Tables()-private-f.held-pvFrames-objPages-objTables; got != want {
		f.t.Fatalf("%s: FreePages %d; want %d (tables %d, private pages %d, PV frames %d, object pages %d and tables %d, held %d)",
			step, got, want, f.pm.Tables(), private, pvFrames, objPages, objTables, f.held)
	}
}

// newUserFixture is newFixture over a process's pmap (pmap.InitUser,
// with an empty upper half), whose pages carry U and which has mprotect.
// The map leaves the list of live maps when the test ends.
func newUserFixture(t *testing.T, userMin uintptr) *fixture {
	t.Helper()
	kernel, _ := newPmap(t)
	root := mm.Phys.Alloc()
	if root == 0 {
		t.Fatal("no frame for the user root table")
	}
	m := new(Map)
	m.Pmap.InitUser(root, kernel)
	m.Init(userMin)
	t.Cleanup(m.Destroy)
	f := &fixture{t: t, m: m, pm: &m.Pmap, free0: mm.Phys.FreePages()}
	f.check("Init")
	return f
}

func (f *fixture) mprotect(addr, length uintptr, prot int, want int64) {
	f.t.Helper()
	if got := f.m.Mprotect(addr, length, prot); got != want {
		f.t.Fatalf("Mprotect(%#x, %#x, %d) = %d; want %d", addr, length, prot, got, want)
	}
	f.check(fmt.Sprintf("Mprotect(%#x, %#x, %d)", addr, length, prot))
}

func (f *fixture) mmap(addr, length uintptr, prot, flags int, want int64) {
	f.t.Helper()
	if got := f.m.Mmap(addr, length, prot, flags); got != want {
		f.t.Fatalf("Mmap(%#x, %#x, %d, %#x) = %#x; want %#x", addr, length, prot, flags, got, want)
	}
	f.check(fmt.Sprintf("Mmap(%#x, %#x)", addr, length))
}

func (f *fixture) munmap(addr, length uintptr, want int64) {
	f.t.Helper()
	if got := f.m.Munmap(addr, length); got != want {
		f.t.Fatalf("Munmap(%#x, %#x) = %d; want %d", addr, length, got, want)
	}
	f.check(fmt.Sprintf("Munmap(%#x, %#x)", addr, length))
}

func (f *fixture) madvise(addr, length uintptr, advice int, want int64) {
	f.t.Helper()
	if got := f.m.Madvise(addr, length, advice); got != want {
		f.t.Fatalf("Madvise(%#x, %#x, %d) = %d; want %d", addr, length, advice, got, want)
	}
	f.check(fmt.Sprintf("Madvise(%#x, %#x)", addr, length))
}

func (f *fixture) fault(va uintptr, write, exec, want bool) {
	f.t.Helper()
	if got := f.m.Fault(va, write, exec); got != want {
		f.t.Fatalf("Fault(%#x, write=%v, exec=%v) = %v; want %v", va, write, exec, got, want)
	}
	f.check(fmt.Sprintf("Fault(%#x)", va))
}

func (f *fixture) touch(va, n uintptr, write, want bool) {
	f.t.Helper()
	if got := touchAny(f.m, va, n, write); got != want {
		f.t.Fatalf("Touch(%#x, %#x, write=%v) = %v; want %v", va, n, write, got, want)
	}
	f.check(fmt.Sprintf("Touch(%#x, %#x)", va, n))
}

// entriesAt returns entry j of m, in a slice to take its address.
func entriesAt(m *Map, j int) []Entry { return []Entry{m.At(j)} }

func entries(m *Map) []Entry {
	var es []Entry
	for i := 0; i < m.Len(); i++ {
		e := m.At(i)
		es = append(es, Entry{Start: e.Start, End: e.End, Prot: e.Prot})
	}
	return es
}

func (f *fixture) entries(want ...Entry) {
	f.t.Helper()
	if got := entries(f.m); !slices.Equal(got, want) {
		f.t.Fatalf("entries:\n got %s\nwant %s", fmtEntries(got), fmtEntries(want))
	}
}

func fmtEntries(es []Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "[%#x,%#x)p%d ", e.Start, e.End, e.Prot)
	}
	return b.String()
}

// present reports whether va is mapped in the pmap.
func (f *fixture) present(va uintptr) bool {
	_, ok := f.pm.Extract(va)
	return ok
}

func (f *fixture) frameOf(va uintptr) uint64 {
	f.t.Helper()
	pa, ok := f.pm.Extract(va)
	if !ok {
		f.t.Fatalf("%#x not mapped", va)
	}
	return pa
}

func frameIsZero(pa uint64) bool {
	for _, w := range (*[pageSize / 8]uint64)(mm.Ptr(pa &^ (pageSize - 1))) {
		if w != 0 {
			return false
		}
	}
	return true
}

func TestMmapFirstFit(t *testing.T) {
	f := newFixture(t, testMin)
	f.mmap(0, 5000, rw, anon, int64(base)) // rounded up to 2 pages
	f.entries(Entry{Start: base, End: base + 2*p, Prot: rw})
	f.mmap(0, p, ProtRead, anon, int64(base+2*p))
	f.mmap(0, 3*p-1, ProtRead, anon, int64(base+3*p)) // merges with the previous
	f.entries(Entry{Start: base, End: base + 2*p, Prot: rw}, Entry{Start: base + 2*p, End: base + 6*p, Prot: ProtRead})
	f.munmap(base, 2*p, 0)
	f.mmap(0, 3*p, rw, anon, int64(base+6*p)) // the 2-page hole is too small
	f.mmap(0, 2*p, rw, MapShared|MapAnonymous, int64(base))
	f.mmap(0, p, rw, anon, int64(base+9*p)) // merges with [6p, 9p)
	f.entries(Entry{Start: base, End: base + 2*p, Prot: rw}, Entry{Start: base + 2*p, End: base + 6*p, Prot: ProtRead}, Entry{Start: base + 6*p, End: base + 10*p, Prot: rw})
	if f.pm.Resident() != 0 || f.pm.Tables() != 0 {
		t.Fatal("Mmap must not allocate: memory is demand-zero")
	}
}

func TestMmapHint(t *testing.T) {
	f := newFixture(t, testMin)
	h := base + 100*p
	f.mmap(h, 2*p, rw, anon, int64(h))                      // usable hint
	f.mmap(testMin+16*p, p, rw, anon, int64(testMin+16*p))  // below MmapBase, above userMin
	f.mmap(h+p, p, ProtRead, anon, int64(base))             // hint overlaps: first fit
	f.mmap(0x10000, p, ProtRead, anon, int64(base+p))       // hint below userMin: first fit (merges)
	f.mmap(UserMax-p, 2*p, ProtRead, anon, int64(base+2*p)) // hint runs past UserMax: first fit
	f.mmap(UserMax-p, p, ProtNone, anon, int64(UserMax-p))  // the very last page is usable
	f.mmap(h-p, p, rw, anon, int64(h-p))                    // adjacent hint: merges
	f.mmap(h+p, 3*p, ProtRead, anon, int64(base+4*p))       // overlaps the end: first fit
	f.mmap(h+2*p, 3*p, ProtRead, anon, int64(h+2*p))        // right after: no merge (prot differs)
	f.entries(
		Entry{Start: testMin + 16*p, End: testMin + 17*p, Prot: rw},
		Entry{Start: base, End: base + 7*p, Prot: ProtRead},
		Entry{Start: h - p, End: h + 2*p, Prot: rw},
		Entry{Start: h + 2*p, End: h + 5*p, Prot: ProtRead},
		Entry{Start: UserMax - p, End: UserMax, Prot: ProtNone},
	)
	f.mmap(h+5*p+1, p, rw, anon, int64(h+5*p)) // a misaligned hint is rounded down
}

func TestMapFixedReplacesPart(t *testing.T) {
	f := newFixture(t, testMin)
	a := base + 0x1000*p
	f.mmap(a, 8*p, rw, fixed, int64(a))
	f.touch(a, 8*p, true, true)
	var frames [8]uint64
	for i := range frames {
		frames[i] = f.frameOf(a + uintptr(i)*p)
	}
	free := mm.Phys.FreePages()
	f.mmap(a+2*p, 3*p, ProtRead, fixed, int64(a+2*p))
	f.entries(Entry{Start: a, End: a + 2*p, Prot: rw}, Entry{Start: a + 2*p, End: a + 5*p, Prot: ProtRead}, Entry{Start: a + 5*p, End: a + 8*p, Prot: rw})
	for i, fr := range frames {
		replaced := i >= 2 && i < 5
		if f.present(a+uintptr(i)*p) == replaced || mm.Phys.IsFree(fr) != replaced {
			t.Fatalf("page %d: present %v, frame free %v; replaced %v", i, f.present(a+uintptr(i)*p), mm.Phys.IsFree(fr), replaced)
		}
		if !replaced && f.frameOf(a+uintptr(i)*p) != fr {
			t.Fatalf("page %d moved to another frame", i)
		}
	}
	if mm.Phys.FreePages() != free+3 {
		t.Fatalf("FreePages %d; want %d", mm.Phys.FreePages(), free+3)
	}
	// Putting the old protection back merges the three pieces.
	f.mmap(a+2*p, 3*p, rw, fixed, int64(a+2*p))
	f.entries(Entry{Start: a, End: a + 8*p, Prot: rw})
	// Over an entry's tail, a hole and the next entry's head.
	f.mmap(a+10*p, 4*p, ProtRead, fixed, int64(a+10*p))
	f.mmap(a+6*p, 6*p, ProtNone, fixed, int64(a+6*p))
	f.entries(Entry{Start: a, End: a + 6*p, Prot: rw}, Entry{Start: a + 6*p, End: a + 12*p, Prot: ProtNone}, Entry{Start: a + 12*p, End: a + 14*p, Prot: ProtRead})
	if f.present(a+6*p) || f.present(a+7*p) || !f.present(a+5*p) {
		t.Fatal("MAP_FIXED PROT_NONE left pages present, or dropped one outside")
	}
	// Exactly over one entry.
	f.mmap(a+12*p, 2*p, rw, fixed, int64(a+12*p))
	f.entries(Entry{Start: a, End: a + 6*p, Prot: rw}, Entry{Start: a + 6*p, End: a + 12*p, Prot: ProtNone}, Entry{Start: a + 12*p, End: a + 14*p, Prot: rw})
	// Refused addresses change nothing.
	before := entries(f.m)
	f.mmap(0, p, rw, fixed, -EINVAL)
	f.mmap(testMin-p, 2*p, rw, fixed, -EINVAL)
	f.mmap(0x10000, p, rw, fixed, -EINVAL)
	f.mmap(UserMax-p, 2*p, rw, fixed, -EINVAL)
	f.mmap(a+1, p, rw, fixed, -EINVAL)
	f.entries(before...)
	f.mmap(testMin, p, rw, fixed, int64(testMin)) // exactly userMin is fine
}

func TestMapFixedNoReplace(t *testing.T) {
	f := newFixture(t, testMin)
	a := base + 0x40*p
	f.mmap(a, 4*p, rw, noRepl, int64(a))
	f.touch(a, 4*p, true, true)
	before := entries(f.m)
	f.mmap(a, 4*p, rw, noRepl, -EEXIST)
	f.mmap(a+p, p, ProtRead, noRepl, -EEXIST)
	f.mmap(a-p, 2*p, ProtRead, noRepl, -EEXIST)   // overlaps the head
	f.mmap(a+3*p, 9*p, ProtRead, noRepl, -EEXIST) // overlaps the tail
	f.mmap(a-8*p, 16*p, rw, noRepl, -EEXIST)      // covers it
	f.mmap(a, p, rw, noRepl|MapFixed, -EEXIST)    // NOREPLACE wins over FIXED
	f.mmap(testMin-p, p, rw, noRepl, -EINVAL)
	f.mmap(UserMax, p, rw, noRepl, -EINVAL)
	f.entries(before...)
	for i := uintptr(0); i < 4; i++ {
		if !f.present(a + i*p) {
			t.Fatal("a refused MAP_FIXED_NOREPLACE dropped a page")
		}
	}
	f.mmap(a+4*p, p, rw, noRepl, int64(a+4*p))   // adjacent: merges
	f.mmap(a-p, p, ProtRead, noRepl, int64(a-p)) // adjacent, other prot
	f.entries(Entry{Start: a - p, End: a, Prot: ProtRead}, Entry{Start: a, End: a + 5*p, Prot: rw})
}

func TestMmapBadArguments(t *testing.T) {
	f := newFixture(t, testMin)
	f.mmap(0, 2*p, rw, anon, int64(base))
	before := entries(f.m)
	for _, tc := range []struct {
		addr, length uintptr
		flags        int
		want         int64
	}{
		{0, 0, anon, -EINVAL},
		{0, 0, fixed, -EINVAL},
		{base + 0x800, p, fixed, -EINVAL},
		{base + 0x10*p + 1, p, fixed, -EINVAL},
		{0, p, MapAnonymous, -EINVAL},                    // neither private nor shared
		{0, p, MapAnonymous | MapFixed, -EINVAL},         // still neither
		{0, p, MapPrivate, -ENODEV},                      // a file mapping
		{0, p, MapShared | MapFixed, -ENODEV},            // a file mapping
		{0, ^uintptr(0), anon, -ENOMEM},                  // rounding overflows
		{0, ^uintptr(0) - 2*p, anon, -ENOMEM},            // larger than the space
		{0, 1 << 47, anon, -ENOMEM},                      // larger than what is left above MmapBase
		{base + 0x10*p, ^uintptr(0) - p, fixed, -EINVAL}, // end wraps
	} {
		if got := f.m.Mmap(tc.addr, tc.length, rw, tc.flags); got != tc.want {
			t.Errorf("Mmap(%#x, %#x, rw, %#x) = %d; want %d", tc.addr, tc.length, tc.flags, got, tc.want)
		}
		f.check("bad Mmap")
	}
	f.entries(before...)
}

func TestMunmap(t *testing.T) {
	f := newFixture(t, testMin)
	a := base + 0x200*p
	f.mmap(a, 10*p, rw, fixed, int64(a))
	f.touch(a, 10*p, true, true)
	f.munmap(a+3*p, 2*p, 0) // split in the middle
	f.entries(Entry{Start: a, End: a + 3*p, Prot: rw}, Entry{Start: a + 5*p, End: a + 10*p, Prot: rw})
	for i := uintptr(0); i < 10; i++ {
		if f.present(a+i*p) != (i < 3 || i >= 5) {
			t.Fatalf("page %d present %v after the split", i, f.present(a+i*p))
		}
	}
	f.munmap(a+9*p, 1, 0) // length rounds up to a page: trims the tail
	f.entries(Entry{Start: a, End: a + 3*p, Prot: rw}, Entry{Start: a + 5*p, End: a + 9*p, Prot: rw})
	f.munmap(a+2*p, 4*p, 0) // tail of one entry, hole, head of the next
	f.entries(Entry{Start: a, End: a + 2*p, Prot: rw}, Entry{Start: a + 6*p, End: a + 9*p, Prot: rw})
	f.munmap(a+20*p, 5*p, 0) // nothing there
	f.munmap(a-p, 11*p, 0)   // everything
	f.entries()
	if live, pvFrames := pmap.PVStats(); f.pm.Resident() != 0 || live != 0 || mm.Phys.FreePages() != f.free0-f.pm.Tables()-pvFrames {
		t.Fatalf("after Munmap of everything: Resident %d, PVs %d, FreePages %d; want 0, 0, %d",
			f.pm.Resident(), live, mm.Phys.FreePages(), f.free0-f.pm.Tables()-pvFrames)
	}
	f.munmap(a+1, p, -EINVAL)
	f.munmap(a, 0, -EINVAL)
	f.munmap(testMin-p, 2*p, -EINVAL)
	f.munmap(UserMax-p, 2*p, -EINVAL)
	f.munmap(a, ^uintptr(0)-a, -EINVAL) // end wraps
}

func TestMergeFillsHole(t *testing.T) {
	f := newFixture(t, testMin)
	f.mmap(base, 2*p, rw, fixed, int64(base))
	f.mmap(base+3*p, 2*p, rw, fixed, int64(base+3*p))
	f.entries(Entry{Start: base, End: base + 2*p, Prot: rw}, Entry{Start: base + 3*p, End: base + 5*p, Prot: rw})
	f.mmap(0, p, rw, anon, int64(base+2*p)) // first fit lands in the hole and joins both
	f.entries(Entry{Start: base, End: base + 5*p, Prot: rw})
	f.munmap(base+2*p, p, 0)
	f.mmap(base+2*p, p, ProtRead, noRepl, int64(base+2*p)) // other prot: three entries
	f.entries(Entry{Start: base, End: base + 2*p, Prot: rw}, Entry{Start: base + 2*p, End: base + 3*p, Prot: ProtRead}, Entry{Start: base + 3*p, End: base + 5*p, Prot: rw})
	f.mmap(base+2*p, p, rw, fixed, int64(base+2*p))
	f.entries(Entry{Start: base, End: base + 5*p, Prot: rw})
}

func TestFault(t *testing.T) {
	f := newFixture(t, testMin)
	dirtyFreeFrames(t)
	a := base
	f.mmap(a, 4*p, rw, fixed, int64(a))
	f.mmap(a+4*p, 2*p, ProtRead, fixed, int64(a+4*p))
	f.mmap(a+6*p, p, ProtNone, fixed, int64(a+6*p))
	f.mmap(a+7*p, p, ProtRead|ProtExec, fixed, int64(a+7*p))
	f.mmap(a+8*p, p, ProtWrite, fixed, int64(a+8*p))

	f.fault(a+p+0x123, true, false, true)
	pa := f.frameOf(a + p)
	if !frameIsZero(pa) {
		t.Fatal("a demand-zero page is not zero")
	}
	if fl := f.pm.Flags(a + p); fl != pmap.Present|pmap.Writable|pmap.Managed {
		t.Fatalf("Flags of a RW page = %#x; want Present|Writable|Managed", fl)
	}
	if f.m.Faults != 1 {
		t.Fatalf("Faults = %d; want 1", f.m.Faults)
	}
	f.fault(a+p, false, false, true) // present and allowed: spurious (another CPU filled it), retried
	f.fault(a, false, false, true)   // a read fault in a RW entry maps it writable too
	if fl := f.pm.Flags(a); fl&pmap.Writable == 0 {
		t.Fatalf("read fault in a RW entry: Flags %#x", fl)
	}
	f.fault(a+3*p+p-1, true, false, true) // last byte of the entry
	f.fault(a+4*p, true, false, false)    // write to read-only
	f.fault(a+4*p, false, true, false)    // exec of non-exec
	f.fault(a+4*p, false, false, true)    // read of read-only
	if fl := f.pm.Flags(a + 4*p); fl != pmap.Present|pmap.Managed {
		t.Fatalf("Flags of a read-only page = %#x; want Present|Managed", fl)
	}
	f.fault(a+4*p, true, false, false)  // present read-only: a write is a violation
	f.fault(a+6*p, false, false, false) // PROT_NONE
	f.fault(a+6*p, true, false, false)
	f.fault(a+8*p, true, false, true) // write-only: on x86-64 write implies read, as Linux maps it
	if fl := f.pm.Flags(a + 8*p); fl != pmap.Present|pmap.Writable|pmap.Managed {
		t.Fatalf("Flags of a write-only page = %#x; want Present|Writable|Managed", fl)
	}
	f.fault(a+7*p, false, true, true) // exec of an exec page
	f.fault(a+9*p, false, false, false)
	f.fault(a-p, false, false, false)
	f.fault(lowVA, false, false, false)
	f.fault(0, false, false, false)
	for _, va := range []uintptr{a + 6*p, a + 9*p, a - p} {
		if f.present(va) {
			t.Fatalf("%#x present after a refused fault", va)
		}
	}
	if f.m.Faults != 6 {
		t.Fatalf("Faults = %d; want 6", f.m.Faults)
	}

	// With NX on, non-exec pages get NoExec.
	defer func(old bool) { pmap.NXEnabled = old }(pmap.NXEnabled)
	pmap.NXEnabled = true
	f.mmap(a+20*p, 3*p, rw, fixed, int64(a+20*p))
	f.mmap(a+23*p, p, ProtRead|ProtExec, fixed, int64(a+23*p))
	f.mmap(a+24*p, p, ProtRead|ProtWrite|ProtExec, fixed, int64(a+24*p))
	f.fault(a+20*p, true, false, true)
	f.fault(a+23*p, false, true, true)
	f.fault(a+24*p, true, false, true)
	for va, want := range map[uintptr]uint64{
		a + 20*p: pmap.Present | pmap.Writable | pmap.NoExec,
		a + 23*p: pmap.Present,
		a + 24*p: pmap.Present | pmap.Writable,
	} {
		if fl := f.pm.Flags(va); fl != want|pmap.Managed {
			t.Errorf("NX on: Flags(%#x) = %#x; want %#x", va, fl, want|pmap.Managed)
		}
	}

	// Out of memory: the fault fails and maps nothing.
	var held []uint64
	for pa := mm.Phys.Alloc(); pa != 0; pa = mm.Phys.Alloc() {
		held = append(held, pa)
	}
	f.held = uint64(len(held))
	f.fault(a+21*p, true, false, false)
	for _, pa := range held {
		mm.Phys.Free(pa)
	}
	f.held = 0
	f.fault(a+21*p, true, false, true)
}

func TestMadvise(t *testing.T) {
	f := newFixture(t, testMin)
	a := base + 0x30*p
	f.mmap(a, 6*p, rw, fixed, int64(a))
	f.touch(a, 6*p, true, true)
	var frames [6]uint64
	for i := range frames {
		frames[i] = f.frameOf(a + uintptr(i)*p)
		fill(frames[i], pageSize, 0x77) // the program wrote here
	}
	before := entries(f.m)
	free := mm.Phys.FreePages()
	f.madvise(a+p, 3*p, MadvDontNeed, 0)
	f.entries(before...)
	for i := range frames {
		dropped := i >= 1 && i < 4
		if f.present(a+uintptr(i)*p) == dropped || mm.Phys.IsFree(frames[i]) != dropped {
			t.Fatalf("page %d: present %v, frame free %v; want dropped %v", i, f.present(a+uintptr(i)*p), mm.Phys.IsFree(frames[i]), dropped)
		}
	}
	if mm.Phys.FreePages() != free+3 {
		t.Fatalf("FreePages %d; want %d", mm.Phys.FreePages(), free+3)
	}
	// The next touch reads zeros again.
	f.fault(a+2*p, false, false, true)
	if !frameIsZero(f.frameOf(a + 2*p)) {
		t.Fatal("a page dropped by MADV_DONTNEED does not read as zero")
	}
	f.madvise(a+5*p, 1, MadvFree, 0) // length rounds up
	if f.present(a + 5*p) {
		t.Fatal("MADV_FREE kept the page")
	}
	for _, adv := range []int{0, 1, 2, 3, 14, 15, 100} { // NORMAL..WILLNEED, HUGEPAGE, NOHUGEPAGE, ...
		f.madvise(a, 6*p, adv, 0)
		if !f.present(a) || !f.present(a+4*p) {
			t.Fatalf("advice %d dropped pages", adv)
		}
	}
	f.madvise(a+0x100*p, 8*p, MadvDontNeed, -ENOMEM) // nothing mapped there: ENOMEM, as on Linux
	f.madvise(a+1, p, MadvDontNeed, -EINVAL)
	f.madvise(testMin-p, 2*p, MadvDontNeed, -EINVAL)
	f.madvise(lowVA, 0, MadvDontNeed, 0) // empty: allowed anywhere
	f.madvise(a, ^uintptr(0)-a, MadvDontNeed, -EINVAL)
	f.entries(before...)
	f.madvise(a, 6*p, MadvDontNeed, 0)
	if f.pm.Resident() != 0 {
		t.Fatalf("Resident %d after dropping everything", f.pm.Resident())
	}
}

func TestTouch(t *testing.T) {
	f := newFixture(t, testMin)
	a := base
	f.mmap(a, 4*p, rw, fixed, int64(a))
	f.mmap(a+4*p, p, ProtNone, fixed, int64(a+4*p))
	f.mmap(a+5*p, 2*p, ProtRead, fixed, int64(a+5*p))

	f.touch(a+p-1, 2, true, true) // two pages, one byte each
	if !f.present(a) || !f.present(a+p) || f.present(a+2*p) {
		t.Fatal("Touch of 2 bytes across a page boundary")
	}
	f.touch(a+2*p, 3*p, false, false) // runs into PROT_NONE
	if !f.present(a+2*p) || !f.present(a+3*p) || f.present(a+4*p) {
		t.Fatal("a failed Touch must still have faulted the pages before the PROT_NONE one")
	}
	f.touch(a+5*p, 2*p, false, true)
	f.touch(a+5*p, 8, true, false) // present but read-only
	f.touch(a+6*p, 8, true, false)
	f.touch(a, 4*p, true, true) // all present already
	f.touch(a+7*p, 1, false, false)
	f.touch(a, 0, true, true)
	f.touch(^uintptr(0)-3, 8, false, false) // wraps
	f.touch(0, 8, false, false)

	// Below userMin, only what the pmap maps (the direct map) is present.
	if !f.pm.Enter(lowVA, mm.Phys.Alloc(), pmap.Writable) {
		t.Fatal("Enter failed")
	}
	f.touch(lowVA+8, 16, true, true)
	f.touch(lowVA+p-8, 16, false, false) // the next page is not mapped
	f.touch(8, 8, false, false)          // page 0
	if f.m.Faults != 6 {
		t.Fatalf("Faults = %d; want 6", f.m.Faults)
	}
}

// fillTable fills f's map with MaxEntries entries of 3 pages, one-page
// holes between them, from base; it returns the end of the last entry.
func (f *fixture) fillTable() uintptr {
	f.t.Helper()
	for i := uintptr(0); i < MaxEntries; i++ {
		va := base + 4*i*p
		if got := f.m.Mmap(va, 3*p, rw, noRepl); got != int64(va) {
			f.t.Fatalf("entry %d: Mmap = %d", i, got)
		}
	}
	f.check("filled")
	if f.m.Len() != MaxEntries {
		f.t.Fatalf("Len %d; want %d", f.m.Len(), MaxEntries)
	}
	return base + (4*MaxEntries-1)*p
}

func TestTableFull(t *testing.T) {
	f := newFixture(t, testMin)
	lastEnd := f.fillTable()
	f.touch(base, 3*p, true, true)
	full := entries(f.m)

	f.mmap(0, p, ProtRead, anon, -ENOMEM)          // first fit: the first hole, other prot
	f.mmap(base+3*p, p, ProtRead, noRepl, -ENOMEM) // same hole, fixed
	f.mmap(lastEnd+p, p, rw, anon, -ENOMEM)        // hint past the end, not adjacent
	f.mmap(base+p, p, ProtRead, fixed, -ENOMEM)    // would split an entry
	f.munmap(base+p, p, -ENOMEM)                   // would split an entry
	f.entries(full...)

	// What needs no new slot still works.
	f.mmap(lastEnd, p, rw, anon, int64(lastEnd))     // extends the last entry
	f.mmap(base+3*p, p, rw, noRepl, int64(base+3*p)) // joins entries 0 and 1
	f.munmap(base+12*p, 3*p, 0)                      // removes entry 3 whole
	if f.m.Len() != MaxEntries-2 {
		t.Fatalf("Len %d; want %d", f.m.Len(), MaxEntries-2)
	}
	f.mmap(base+8*p, 2*p, ProtRead, fixed, int64(base+8*p)) // trims entry 2, takes a slot
	f.munmap(base+p, p, 0)                                  // splits: the last slot
	if f.m.Len() != MaxEntries {
		t.Fatalf("Len %d; want %d", f.m.Len(), MaxEntries)
	}
	f.mmap(0, p, ProtNone, anon, -ENOMEM)
	f.mmap(0, p, rw, anon, int64(base+p)) // fills the hole, joining both sides
	if f.m.Len() != MaxEntries-1 {
		t.Fatalf("Len %d; want %d", f.m.Len(), MaxEntries-1)
	}
	f.munmap(base, lastEnd+p-base, 0)
	f.entries()
	if f.pm.Resident() != 0 {
		t.Fatal("pages left after unmapping everything")
	}
}

// A call refused for want of a map entry must change nothing: not the
// entries, and not the pages, which hold the program's data. Each case
// runs on a full table, with entries 0 and 1 faulted in and written.
func TestRefusedCallKeepsPages(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(m *Map) int64
	}{
		// Splitting entry 0 needs a slot.
		{"munmap", func(m *Map) int64 { return m.Munmap(base+p, p) }},
		{"MAP_FIXED split", func(m *Map) int64 { return m.Mmap(base+p, p, ProtRead, fixed) }},
		// Trims entries 0 and 1 (no slot), then the new entry needs one.
		{"MAP_FIXED across a hole", func(m *Map) int64 { return m.Mmap(base+2*p, 3*p, ProtRead, fixed) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testMin)
			f.fillTable()
			f.touch(base, 3*p, true, true)
			f.touch(base+4*p, 3*p, true, true)
			full := entries(f.m)
			for va := base; va < base+7*p; va += p {
				if va != base+3*p {
					*(*uintptr)(mm.Ptr(f.frameOf(va))) = va
				}
			}
			if got := tc.call(f.m); got != -ENOMEM {
				t.Fatalf("= %d; want %d", got, -ENOMEM)
			}
			f.check(tc.name)
			if got := entries(f.m); !slices.Equal(got, full) {
				t.Errorf("entries changed; now begin %s", fmtEntries(got[:3]))
			}
			for va := base; va < base+7*p; va += p {
				if va == base+3*p {
					continue
				}
				if !f.present(va) || *(*uintptr)(mm.Ptr(f.frameOf(va))) != va {
					t.Errorf("page %#x: present %v; its data lost by a refused call", va, f.present(va))
				}
			}
		})
	}
}

// MAP_FIXED with the protection of the entry it lands in needs no new
// entry, even on a full table: the pages are replaced by fresh zero pages.
func TestMapFixedSameProtOnFullTable(t *testing.T) {
	f := newFixture(t, testMin)
	f.fillTable()
	f.touch(base, 3*p, true, true)
	full := entries(f.m)
	old := f.frameOf(base + p)
	*(*uint64)(mm.Ptr(f.frameOf(base))) = 1
	f.mmap(base+p, p, rw, fixed, int64(base+p))
	f.entries(full...)
	if f.present(base+p) || !mm.Phys.IsFree(old) || *(*uint64)(mm.Ptr(f.frameOf(base))) != 1 {
		t.Fatal("MAP_FIXED did not replace exactly its page")
	}
}

// A corrupt map is a broken invariant: SelfTest throws with its label.
func TestSelfTestThrowsOnCorruption(t *testing.T) {
	f := newFixture(t, testMin)
	f.mmap(base, 2*p, rw, fixed, int64(base))
	f.mmap(base+4*p, 2*p, rw, fixed, int64(base+4*p))
	for _, tc := range []struct {
		i     int
		e     Entry
		label string
	}{
		{1, Entry{Start: base + 4*p, End: base + 4*p, Prot: rw}, "vm: sorted-disjoint"},     // empty
		{1, Entry{Start: base + 4*p + 1, End: base + 6*p, Prot: rw}, "vm: sorted-disjoint"}, // misaligned
		{1, Entry{Start: base + p, End: base + 6*p, Prot: rw}, "vm: sorted-disjoint"},       // overlaps entry 0
		{1, Entry{Start: base - 2*p, End: base - p, Prot: rw}, "vm: sorted-disjoint"},       // out of order
		{0, Entry{Start: testMin - p, End: testMin, Prot: rw}, "vm: no-user-below"},
	} {
		saved := f.m.entries[tc.i]
		f.m.entries[tc.i] = tc.e
		msg := throws(func() { f.m.SelfTest() })
		f.m.entries[tc.i] = saved
		if !strings.HasPrefix(msg, tc.label) {
			t.Errorf("SelfTest with entry %d = %v threw %q; want a %s throw", tc.i, tc.e, msg, tc.label)
		}
	}
	f.check("restored")
}

// The map runs below the runtime: none of its paths may allocate.
func TestNoGoAllocations(t *testing.T) {
	f := newFixture(t, testMin)
	f.mmap(base+100*p, p, ProtRead, fixed, int64(base+100*p))
	n := testing.AllocsPerRun(100, func() {
		a := uintptr(f.m.Mmap(0, 4*p, rw, anon))
		if !touchAny(f.m, a, 4*p, true) || !f.m.Fault(a, true, false) { // the second: spurious, present
			panic("Touch/Fault")
		}
		f.m.Mmap(a+p, p, ProtRead, fixed)
		f.m.Madvise(a, 4*p, MadvDontNeed)
		f.m.Mmap(a+p, p, rw, noRepl)
		f.m.Munmap(a+p, p)
		f.m.Munmap(a, 4*p)
		_ = f.m.Len() + int(f.m.UserMin())
		_ = f.m.At(0)
		_ = f.m.SelfTest()
	})
	if n != 0 {
		t.Fatalf("%v allocations per run; want 0", n)
	}
	f.check("after AllocsPerRun")
}

// model is a reference implementation of the map: the protection of each
// mapped page and the set of pages faulted in.
type model struct {
	userMin uintptr
	prot    map[uintptr]int
	present map[uintptr]bool
	// writable: present pages mapped writable. A page mprotect gives
	// write stays read-only until a write faults.
	writable map[uintptr]bool
}

func (md *model) free(start, end uintptr) bool {
	for va := start; va < end; va += p {
		if _, ok := md.prot[va]; ok {
			return false
		}
	}
	return true
}

func (md *model) unmap(start, end uintptr) {
	for va := start; va < end; va += p {
		delete(md.prot, va)
		delete(md.present, va)
	}
}

func (md *model) mmap(addr, length uintptr, prot, flags int) int64 {
	if flags&MapAnonymous == 0 {
		return -ENODEV
	}
	if length == 0 || flags&(MapShared|MapPrivate) == 0 {
		return -EINVAL
	}
	if addr%p != 0 {
		if flags&(MapFixed|MapFixedNoReplace) != 0 {
			return -EINVAL
		}
		addr &^= p - 1 // a misaligned hint is rounded down, as on Linux
	}
	n := (length + p - 1) &^ (p - 1)
	inRange := addr >= md.userMin && addr+n <= UserMax
	oldProt, oldPresent := maps.Clone(md.prot), maps.Clone(md.present)
	switch {
	case flags&MapFixedNoReplace != 0:
		if !inRange {
			return -EINVAL
		}
		if !md.free(addr, addr+n) {
			return -EEXIST
		}
	case flags&MapFixed != 0:
		if !inRange {
			return -EINVAL
		}
		md.unmap(addr, addr+n)
	default:
		if addr == 0 || !inRange || !md.free(addr, addr+n) {
			addr = MmapBase
			for !md.free(addr, addr+n) {
				addr += p
			}
		}
	}
	for va := addr; va < addr+n; va += p {
		md.prot[va] = prot & 7
	}
	if !md.fits(oldProt, oldPresent) {
		return -ENOMEM
	}
	return int64(addr)
}

func (md *model) munmap(addr, length uintptr) int64 {
	end := (addr + length + p - 1) &^ (p - 1)
	if addr%p != 0 || length == 0 || addr < md.userMin || end > UserMax {
		return -EINVAL
	}
	oldProt, oldPresent := maps.Clone(md.prot), maps.Clone(md.present)
	md.unmap(addr, end)
	if !md.fits(oldProt, oldPresent) {
		return -ENOMEM
	}
	return 0
}

// fits reports whether the map can hold the model's pages: one entry per
// run of consecutive pages of equal protection. If not, it puts back the
// state before the call (prot, present): a refused call changes nothing.
func (md *model) fits(prot map[uintptr]int, present map[uintptr]bool) bool {
	pages := slices.Sorted(maps.Keys(md.prot))
	n := 0
	for i, va := range pages {
		if i == 0 || pages[i-1]+p != va || md.prot[pages[i-1]] != md.prot[va] {
			n++
		}
	}
	if n <= MaxEntries {
		return true
	}
	md.prot, md.present = prot, present
	return false
}

func (md *model) madvise(addr, length uintptr, advice int) int64 {
	end := (addr + length + p - 1) &^ (p - 1)
	if addr%p != 0 || addr < md.userMin && length != 0 {
		return -EINVAL
	}
	if advice == MadvDontNeed || advice == MadvFree {
		for va := addr; va < end; va += p {
			delete(md.present, va)
		}
	}
	for va := addr; va < end; va += p {
		if _, ok := md.prot[va]; !ok {
			return -ENOMEM // Linux: the mapped parts took it, the holes fail the call
		}
	}
	return 0
}

func (md *model) fault(va uintptr, write, exec bool) bool {
	page := va &^ (p - 1)
	prot, ok := md.prot[page]
	if !ok || !readable(uint8(prot)) || write && prot&ProtWrite == 0 || exec && prot&ProtExec == 0 {
		return false
	}
	if !md.present[page] {
		md.writable[page] = prot&ProtWrite != 0 // a fresh page gets the entry's protection
	}
	md.present[page] = true // already present: a spurious fault, retried
	md.writable[page] = md.writable[page] || write
	return true
}

func (md *model) mprotect(addr, length uintptr, prot int) int64 {
	grows := prot & (protGrowsDown | protGrowsUp)
	if grows == protGrowsDown|protGrowsUp || addr%p != 0 {
		return -EINVAL
	}
	if length == 0 {
		return 0
	}
	end := (addr + length + p - 1) &^ (p - 1)
	if end <= addr {
		return -ENOMEM
	}
	if prot&^(ProtRead|ProtWrite|ProtExec|protSem|grows) != 0 {
		return -EINVAL
	}
	if addr < md.userMin || end > UserMax {
		return -ENOMEM
	}
	if md.free(addr, end) {
		return -ENOMEM
	}
	if grows == protGrowsDown {
		return -EINVAL // whatever lies before the first entry
	}
	hole := addr // as Linux: up to the first hole, then ENOMEM
	for hole < end {
		if _, ok := md.prot[hole]; !ok {
			break
		}
		hole += p
	}
	if hole == addr {
		return -ENOMEM
	}
	if grows != 0 {
		return -EINVAL
	}
	oldProt, oldPresent := maps.Clone(md.prot), maps.Clone(md.present)
	for va := addr; va < hole; va += p {
		md.prot[va] = prot & 7
	}
	if !md.fits(oldProt, oldPresent) {
		return -ENOMEM
	}
	for va := addr; va < hole; va += p {
		md.writable[va] = md.writable[va] && prot&ProtWrite != 0
	}
	if hole < end {
		return -ENOMEM
	}
	return 0
}

func (md *model) touch(va, n uintptr, write bool) bool {
	for pg := va &^ (p - 1); pg < va+n; pg += p {
		if md.present[pg] {
			if write && !md.writable[pg] || !readable(uint8(md.prot[pg])) {
				return false
			}
			continue
		}
		if !md.fault(pg, write, false) {
			return false
		}
	}
	return true
}

// TestRandomAgainstModel applies random operations to a Map and to the
// model and compares them after each: results, page coverage and
// protection, that adjacent entries of equal protection are merged,
// which pages are present (with fresh pages zeroed and present pages'
// write permission matching), and frame accounting.
func TestRandomAgainstModel(t *testing.T) {
	if pmap.NXEnabled {
		t.Fatal("NXEnabled left on")
	}
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runModel(t, seed, 2500, 0) })
	}
	// All but 40 entries taken far above the window: calls are refused
	// for want of an entry, and a refused call must change nothing.
	for seed := uint64(5); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed, "-full"), func(t *testing.T) { runModel(t, seed, 2500, MaxEntries-40) })
	}
}

// runModel runs ops random operations on a map that holds filler one-page
// entries far above the window to begin with.
func runModel(t *testing.T, seed uint64, ops, filler int) {
	f := newUserFixture(t, testMin)
	md := &model{userMin: testMin, prot: map[uintptr]int{}, present: map[uintptr]bool{}, writable: map[uintptr]bool{}}
	const fillBase = base + 8192*p
	for i := 0; i < filler; i++ {
		va := fillBase + uintptr(2*i)*p
		f.mmap(va, p, ProtRead, noRepl, int64(va))
		md.prot[va] = ProtRead
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b9))
	const lo, span = base - 32*p, 192 // window of pages [lo, lo+span*p)
	addr := func() uintptr {
		switch r.IntN(40) {
		case 0:
			return 0
		case 1:
			return testMin - p // below userMin
		case 2:
			return lo + uintptr(r.IntN(span))*p + 1 + uintptr(r.IntN(p-1)) // misaligned
		}
		return lo + uintptr(r.IntN(span))*p
	}
	length := func(max int) uintptr {
		n := uintptr(1+r.IntN(max)) * p
		if r.IntN(4) == 0 {
			n -= uintptr(1 + r.IntN(p-1)) // not a page multiple
		}
		if r.IntN(100) == 0 {
			n = 0
		}
		return n
	}
	// somePage returns a mapped page half of the time (in a deterministic
	// order), else any page of the window.
	somePage := func() uintptr {
		if len(md.prot) == 0 || r.IntN(2) == 0 {
			return lo + uintptr(r.IntN(span))*p
		}
		pages := slices.Sorted(maps.Keys(md.prot))
		pages = pages[:len(pages)-filler]
		if len(pages) == 0 {
			return lo + uintptr(r.IntN(span))*p
		}
		return pages[r.IntN(len(pages))]
	}
	var log []string
	frames := map[uintptr]uint64{} // present page -> frame, as of the last step
	stats := map[string]int{}      // op kind and outcome -> count
	maxEntries, maxPresent := 0, 0
	fail := func(format string, args ...any) {
		t.Helper()
		start := max(0, len(log)-15)
		t.Fatalf("seed %d op %d: %s\nlast ops:\n  %s\nentries: %s", seed, len(log), fmt.Sprintf(format, args...),
			strings.Join(log[start:], "\n  "), fmtEntries(entries(f.m)))
	}
	for i := 0; i < ops; i++ {
		var op string
		var got, want any
		switch k := r.IntN(100); {
		case k < 35:
			a, n, prot := addr(), length(8), r.IntN(8)
			// Shared memory (its objects) has tests of its own: the
			// model knows private memory only.
			flags := []int{anon, anon, anon, anon, anon, fixed, fixed, fixed,
				noRepl, noRepl, MapAnonymous, MapPrivate}[r.IntN(12)]
			op = fmt.Sprintf("Mmap(%#x, %#x, %d, %#x)", a, n, prot, flags)
			got, want = f.m.Mmap(a, n, prot, flags), md.mmap(a, n, prot, flags)
		case k < 55:
			a, n := addr(), length(12)
			op = fmt.Sprintf("Munmap(%#x, %#x)", a, n)
			got, want = f.m.Munmap(a, n), md.munmap(a, n)
		case k < 60:
			a, n, prot := addr(), length(6), r.IntN(8)
			if r.IntN(2) == 0 {
				a = somePage() // a mapped page more often than not
			}
			if r.IntN(20) == 0 {
				prot |= []int{protSem, 0x10, protGrowsDown, protGrowsUp, protGrowsDown | protGrowsUp}[r.IntN(5)]
			}
			op = fmt.Sprintf("Mprotect(%#x, %#x, %#x)", a, n, prot)
			got, want = f.m.Mprotect(a, n, prot), md.mprotect(a, n, prot)
		case k < 65:
			a, n := addr(), length(12)
			adv := []int{MadvDontNeed, MadvFree, 0, 14}[r.IntN(4)]
			op = fmt.Sprintf("Madvise(%#x, %#x, %d)", a, n, adv)
			got, want = f.m.Madvise(a, n, adv), md.madvise(a, n, adv)
		case k < 85:
			va := somePage() + uintptr(r.IntN(p))
			write, exec := r.IntN(2) == 0, r.IntN(5) == 0
			op = fmt.Sprintf("Fault(%#x, %v, %v)", va, write, exec)
			got, want = f.m.Fault(va, write, exec), md.fault(va, write, exec)
		default:
			va, n := somePage()+uintptr(r.IntN(p)), uintptr(r.IntN(4*p))
			write := r.IntN(2) == 0
			op = fmt.Sprintf("Touch(%#x, %#x, %v)", va, n, write)
			got, want = touchAny(f.m, va, n, write), md.touch(va, n, write)
		}
		log = append(log, op)
		outcome := fmt.Sprint(want)
		if v, ok := want.(int64); ok && v > 0 {
			outcome = "addr"
		}
		stats[op[:strings.IndexByte(op, '(')]+" = "+outcome]++
		if got != want {
			fail("%s = %v; model says %v", op, got, want)
		}
		if err := f.m.SelfTest(); err != nil {
			fail("%v", err)
		}

		// Coverage and protection, page by page, and merging.
		covered := 0
		for j := 0; j < f.m.Len(); j++ {
			e := f.m.At(j)
			if j > 0 && mergeable(&entriesAt(f.m, j-1)[0], &e) {
				fail("entries %d and %d are adjacent with equal protection", j-1, j)
			}
			for va := e.Start; va < e.End; va += p {
				if prot, ok := md.prot[va]; !ok || prot != int(e.Prot) {
					fail("page %#x: entry prot %d; model %d (mapped %v)", va, e.Prot, prot, ok)
				}
				covered++
			}
		}
		if covered != len(md.prot) {
			fail("entries cover %d pages; model %d", covered, len(md.prot))
		}

		// Present pages.
		now := map[uintptr]uint64{}
		for va := range md.prot {
			pa, ok := f.pm.Extract(va)
			if ok != md.present[va] {
				fail("page %#x present %v; model %v", va, ok, md.present[va])
			}
			if !ok {
				continue
			}
			fl := f.pm.Flags(va)
			if (fl&pmap.Writable != 0) != md.writable[va] || (fl&pmap.User != 0) != readable(uint8(md.prot[va])) {
				fail("page %#x Flags %#x, prot %d, model writable %v", va, fl, md.prot[va], md.writable[va])
			}
			// A newly present page must read as zero; then the "program"
			// writes to it, so a reused frame not zeroed again shows up.
			marker := (*uint64)(mm.Ptr(pa &^ (p - 1)))
			if old, ok := frames[va]; ok && old == pa {
				if *marker != uint64(va) {
					fail("page %#x frame %#x lost its contents", va, pa)
				}
			} else if !frameIsZero(pa) {
				fail("page %#x newly present in frame %#x that is not zeroed", va, pa)
			}
			*marker = uint64(va)
			now[va] = pa
		}
		frames = now
		maxEntries, maxPresent = max(maxEntries, f.m.Len()), max(maxPresent, len(md.present))
		for j := 0; j < span; j++ {
			va := lo + uintptr(j)*p
			if _, ok := f.pm.Extract(va); ok && !md.present[va] {
				fail("page %#x present outside the model", va)
			}
		}
		if f.pm.Resident() != uint64(len(md.present)) {
			fail("Resident %d; model %d", f.pm.Resident(), len(md.present))
		}
		_, pvFrames := pmap.PVStats()
		if mm.Phys.FreePages() != f.free0-f.pm.Tables()-f.pm.Resident()-pvFrames {
			fail("FreePages %d; want %d", mm.Phys.FreePages(), f.free0-f.pm.Tables()-f.pm.Resident()-pvFrames)
		}
		if msg := fatal.Catch(f.m.CheckPV); msg != "" {
			fail("%s", msg)
		}
	}
	if err := mm.Phys.SelfTest(); err != nil {
		t.Fatal(err)
	}
	t.Logf("max entries %d, max present pages %d", maxEntries, maxPresent)
	if testing.Verbose() {
		keys := slices.Sorted(maps.Keys(stats))
		for _, k := range keys {
			t.Logf("%6d %s", stats[k], k)
		}
	}
}

// Madvise must refuse ranges that end past UserMax: the 4-level walk uses
// address bits 12..47 only, so past 1<<48 a range aliases PML4 slot 0 and
// MADV_DONTNEED would remove the kernel's own direct-map pages.
func TestMadviseBeyondUserMax(t *testing.T) {
	f := newFixture(t, testMin)
	pa := mm.Phys.Alloc()
	if !f.pm.Enter(lowVA, pa, pmap.Writable) {
		t.Fatal("Enter failed")
	}
	got := f.m.Madvise(testMin, nonCanon, MadvDontNeed)
	if _, ok := f.pm.Extract(lowVA); got != -EINVAL || !ok {
		t.Errorf("Madvise(%#x, 1<<48, MADV_DONTNEED) = %d, direct-map page %#x still mapped = %v, frame %#x free = %v; want %d, true, false",
			uintptr(testMin), got, lowVA, ok, pa, mm.Phys.IsFree(pa), -EINVAL)
	}
}

// Touch must refuse addresses past UserMax, which the walk would alias to
// the page 1<<48 lower; the system call must return EFAULT, not take a #GP
// in the kernel.
func TestTouchBeyondUserMax(t *testing.T) {
	f := newFixture(t, testMin)
	pa := mm.Phys.Alloc()
	if !f.pm.Enter(lowVA, pa, pmap.Writable) {
		t.Fatal("Enter failed")
	}
	if touchAny(f.m, nonCanon+lowVA, 8, false) {
		t.Errorf("Touch(%#x, 8, false) = true; want false (not a user address)", uintptr(nonCanon+lowVA))
	}
}

// First fit starts at max(MmapBase, userMin), keeping no-user-below when
// userMin lies above MmapBase.
func TestMmapFirstFitNotBelowUserMin(t *testing.T) {
	const userMin = 0x7000_0000_0000
	f := newFixture(t, userMin)
	got := f.m.Mmap(0, p, rw, anon)
	if got < userMin {
		t.Errorf("Mmap(0, 4096) with userMin %#x = %#x; want an address >= userMin (SelfTest: %v)", userMin, got, f.m.SelfTest())
	}
}

// MADV_DONTNEED over a page whose frame is already free: mm's
// no-double-free throw, not EINVAL after some pages were dropped.
func TestMadviseThrowsOnFreedFrame(t *testing.T) {
	f := newFixture(t, testMin)
	f.mmap(base, 2*p, rw, fixed, int64(base))
	f.touch(base, 2*p, true, true)
	mm.Phys.Free(f.frameOf(base + p)) // behind the pmap's back
	if msg := throws(func() { f.m.Madvise(base, 2*p, MadvDontNeed) }); !strings.HasPrefix(msg, "mm: no-double-free") {
		t.Fatalf("Madvise over a freed frame threw %q; want mm's no-double-free throw", msg)
	}
}

// Entries out of order or overlapping break sorted-disjoint: a call that
// walks past them throws instead of editing a map it cannot trust.
func TestUnsortedEntriesThrow(t *testing.T) {
	for _, tc := range []struct {
		name string
		e1   Entry // replaces entry 1
	}{
		{"out of order", Entry{Start: base - 4*p, End: base - 2*p, Prot: rw}},
		{"overlapping", Entry{Start: base + p, End: base + 6*p, Prot: ProtRead}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testMin)
			f.mmap(base, 2*p, rw, fixed, int64(base))
			f.mmap(base+4*p, 2*p, ProtRead, fixed, int64(base+4*p))
			f.mmap(base+8*p, 2*p, rw, fixed, int64(base+8*p))
			f.m.entries[1] = tc.e1
			for name, call := range map[string]func(){
				"Munmap":    func() { f.m.Munmap(base+20*p, p) },
				"MAP_FIXED": func() { f.m.Mmap(base+20*p, p, rw, fixed) },
				"SelfTest":  func() { f.m.SelfTest() },
			} {
				if msg := throws(call); !strings.HasPrefix(msg, "vm: sorted-disjoint") {
					t.Errorf("%s threw %q; want a sorted-disjoint throw", name, msg)
				}
			}
		})
	}
}

// Without the guard held, every operation that changes the map or its
// pages throws before it changes anything.
func TestGuardNotHeldThrows(t *testing.T) {
	f := newFixture(t, testMin)
	f.mmap(base, 4*p, rw, fixed, int64(base))
	f.touch(base, p, true, true)
	before := entries(f.m)
	Held = func() bool { return false }
	defer func() { Held = nil }()
	for _, op := range []struct {
		name string
		f    func()
	}{
		{"Mmap", func() { f.m.Mmap(base, p, ProtRead, fixed) }},
		{"Munmap", func() { f.m.Munmap(base, p) }},
		{"Madvise", func() { f.m.Madvise(base, p, MadvDontNeed) }},
		{"Mprotect", func() { f.m.Mprotect(base, p, ProtRead) }},
		{"Fault", func() { f.m.Fault(base+p, true, false) }},
		{"Touch", func() { touchAny(f.m, base+p, 8, true) }},
		{"SelfTest", func() { f.m.SelfTest() }},
	} {
		want := "vm: " + op.name + " without its locks"
		if strings.HasPrefix(op.name, "M") { // the memory calls: the map's own lock, which is the MP lock here
			want = "vm: " + op.name + " without its lock"
		}
		if msg := throws(op.f); msg != want {
			t.Errorf("%s without the guard threw %q; want %q", op.name, msg, want)
		}
	}
	Held = nil
	f.check("refused calls")
	f.entries(before...)
	if !f.present(base) || f.present(base+p) {
		t.Fatal("refused calls changed which pages are present")
	}
}

// TestForkCopyOnWrite: a forked map shares every page read-only, each
// page with a PV in both maps; the first write in either copies the page
// (the other keeps the original), a write to a page left with one mapping
// makes it writable in place, and both maps tear down to nothing.
func TestForkCopyOnWrite(t *testing.T) {
	f := newFixture(t, testMin)
	f.mmap(base, 4*p, rw, fixed, int64(base))
	for i := uintptr(0); i < 4; i++ {
		f.fault(base+i*p, true, false, true)
		*(*byte)(mm.Ptr(f.frameOf(base + i*p))) = byte(10 + i)
	}
	child := new(Map)
	root := mm.Phys.Alloc()
	child.Pmap.Init(root, false)
	child.Init(testMin)
	if !f.m.Fork(child) {
		t.Fatal("Fork failed")
	}
	for _, m := range []*Map{f.m, child} {
		if msg := fatal.Catch(m.CheckPV); msg != "" {
			t.Fatal(msg)
		}
	}
	shared := f.frameOf(base)
	if pa, _ := child.Pmap.Extract(base); pa != shared || pmap.Mappings(shared) != 2 {
		t.Fatalf("after Fork: child maps %#x, parent %#x, %d mappings; want the same frame twice", pa, shared, pmap.Mappings(shared))
	}
	if f.pm.Flags(base)&pmap.Writable != 0 || child.Pmap.Flags(base)&pmap.Writable != 0 {
		t.Fatal("a forked page is still writable")
	}
	// The child writes: it gets a copy, the parent keeps the original.
	if !child.Fault(base+5, true, false) {
		t.Fatal("copy-on-write fault in the child failed")
	}
	cp, _ := child.Pmap.Extract(base)
	if cp == shared || *(*byte)(mm.Ptr(cp)) != 10 || child.CopyFaults != 1 {
		t.Fatalf("child's copy %#x (shared %#x), byte %d, copy faults %d", cp, shared, *(*byte)(mm.Ptr(cp)), child.CopyFaults)
	}
	// The parent writes: the page is its alone now, writable in place.
	if !f.m.Fault(base, true, false) || f.frameOf(base) != shared || f.pm.Flags(base)&pmap.Writable == 0 || f.m.CopyFaults != 0 {
		t.Fatal("the last mapping's write fault did not make it writable in place")
	}
	for _, m := range []*Map{f.m, child} {
		if msg := fatal.Catch(m.CheckPV); msg != "" {
			t.Fatal(msg)
		}
	}
	child.Munmap(testMin, UserMax-testMin)
	if live, _ := pmap.PVStats(); live != 4 {
		t.Fatalf("%d PVs after the child's unmap; want the parent's 4", live)
	}
	mm.Phys.Free(root)
	f.held = child.Pmap.Tables() // a kernel-style test pmap keeps its tables
	f.munmap(base, 4*p, 0)
}

// touchAny is Touch for any map: the kernel's by Touch, a process's page
// by page as the hardware would (Fault, copy on write and objects
// included), as the tests use it to make a process's pages present.
func touchAny(m *Map, va, n uintptr, write bool) bool {
	if !m.Pmap.IsUser() {
		return m.Touch(va, n, write)
	}
	end := va + n
	if n == 0 {
		return true
	}
	if end < va || end > m.max {
		return false
	}
	for p := va &^ (pageSize - 1); p < end; p += pageSize {
		if p < m.userMin {
			return false
		}
		if fl := m.Pmap.Flags(p); fl&pmap.Present != 0 {
			if write && fl&pmap.Writable == 0 || fl&pmap.User == 0 {
				return false // read-only, or a PROT_NONE page
			}
			continue
		}
		if !m.Fault(p, write, false) {
			return false
		}
	}
	return true
}
