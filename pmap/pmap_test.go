package pmap

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gofly/mm"
)

const (
	gib  = 1 << 30
	tib  = 1 << 40
	slot = 512 * gib // one PML4 entry
)

// wantTables counts the page-table pages a set of 4 KiB mappings needs
// below the root: one PDPT per PML4 slot, one PD per PDPT slot, one PT per
// PD slot.
func wantTables(vas []uintptr) uint64 {
	pdpt := map[uintptr]bool{}
	pd := map[uintptr]bool{}
	pt := map[uintptr]bool{}
	for _, va := range vas {
		pdpt[va>>39&511] = true
		pd[va>>30&(1<<18-1)] = true
		pt[va>>21&(1<<27-1)] = true
	}
	return uint64(len(pdpt) + len(pd) + len(pt))
}

// checkAccounting checks that every frame taken from mm.Phys since free0
// is either a page table or a resident page (callers enter only frames
// from mm.Phys, and only through Enter).
func checkAccounting(t *testing.T, p *Pmap, free0 uint64) {
	t.Helper()
	if got, want := mm.Phys.FreePages(), free0-p.Tables()-p.Resident(); got != want {
		t.Fatalf("FreePages %d; want %d (start %d - tables %d - resident %d)",
			got, want, free0, p.Tables(), p.Resident())
	}
}

// boundaryVAs are pages on either side of 2 MiB, 1 GiB and 512 GiB
// boundaries, at the ends of both canonical halves.
var boundaryVAs = []uintptr{
	0x1000, 0x1F_F000, 0x20_0000, 0x20_1000,
	gib - 0x1000, gib, gib + 0x1000,
	slot - 0x1000, slot, slot + 0x1000,
	0x6000_0000_0000, 0x6000_0020_0000, 0x6000_4000_0000,
	0x7FFF_FFFF_E000, 0x7FFF_FFFF_F000,
	0xFFFF_8000_0000_0000, 0xFFFF_FFFF_FFFF_E000, // the top page has its own test: TestRemoveLastPageEnds
}

func TestEnterExtractRoundTrip(t *testing.T) {
	p, free0 := newPmap(t)
	r := rand.New(rand.NewPCG(3, 4))
	vas := append([]uintptr(nil), boundaryVAs...)
	seen := map[uintptr]bool{}
	for _, va := range vas {
		seen[va] = true
	}
	for len(vas) < 400 { // random pages of the lower half
		va := uintptr(r.Uint64N(0x8000_0000_0000)) &^ (pageSize - 1)
		if va >= pageSize && !seen[va] {
			seen[va] = true
			vas = append(vas, va)
		}
	}
	flagSets := []uint64{Writable, 0, Writable | User, NoExec, Writable | Global | NoExec, User | NoExec}
	pas := map[uintptr]uint64{}
	for i, va := range vas {
		pa := frame(t)
		pas[va] = pa
		// Low bits of pa and address bits of flags must be ignored.
		if !p.Enter(va, pa|0xABC, flagSets[i%len(flagSets)]|addrMask) {
			t.Fatalf("Enter(%#x) = false", va)
		}
	}
	for i, va := range vas {
		pa := pas[va]
		for _, off := range []uintptr{0, 1, 0x7FF, pageSize - 1} {
			if got, ok := p.Extract(va + off); !ok || got != pa+uint64(off) {
				t.Fatalf("Extract(%#x) = %#x, %v; want %#x", va+off, got, ok, pa+uint64(off))
			}
		}
		if got, want := p.Flags(va+5), flagSets[i%len(flagSets)]|Present; got != want {
			t.Fatalf("Flags(%#x) = %#x; want %#x", va, got, want)
		}
		for _, nb := range []uintptr{va - pageSize, va + pageSize} {
			if nb >= 0x8000_0000_0000 && nb < 0xFFFF_8000_0000_0000 {
				continue // non-canonical: aliases a canonical page
			}
			if _, ok := p.Extract(nb); ok != seen[nb] {
				t.Fatalf("Extract(neighbour %#x) ok = %v; want %v", nb, ok, seen[nb])
			}
			if fl := p.Flags(nb); (fl != 0) != seen[nb] {
				t.Fatalf("Flags(neighbour %#x) = %#x", nb, fl)
			}
		}
	}
	if p.Resident() != uint64(len(vas)) {
		t.Fatalf("Resident %d; want %d", p.Resident(), len(vas))
	}
	if want := wantTables(vas); p.Tables() != want {
		t.Fatalf("Tables %d; want %d", p.Tables(), want)
	}
	checkAccounting(t, p, free0)
	for _, va := range []uintptr{0, 0x123, 0x2000, 0x5000_0000_0000, 0x7FFF_FFFF_D000} {
		if _, ok := p.Extract(va); ok {
			t.Errorf("Extract(%#x) of an unmapped page succeeded", va)
		}
	}

	// Remove everything: all leaf frames go back, the tables stay.
	for _, va := range vas {
		p.Remove(va, va+pageSize)
		if _, ok := p.Extract(va); ok || !mm.Phys.IsFree(pas[va]) {
			t.Fatalf("after Remove(%#x): still mapped %v, frame free %v", va, ok, mm.Phys.IsFree(pas[va]))
		}
	}
	if p.Resident() != 0 || mm.Phys.FreePages() != free0-p.Tables() {
		t.Fatalf("after removing all: Resident %d, FreePages %d; want 0, %d",
			p.Resident(), mm.Phys.FreePages(), free0-p.Tables())
	}
	if err := mm.Phys.SelfTest(); err != nil {
		t.Fatal(err)
	}
}

func TestEnterRefusesPage0(t *testing.T) {
	p, free0 := newPmap(t)
	pa := frame(t)
	for _, va := range []uintptr{0, 1, 0x800, pageSize - 1} {
		if p.Enter(va, pa, Writable) {
			t.Errorf("Enter(%#x) = true; page 0 must never be mapped", va)
		}
	}
	if _, ok := p.Extract(0); ok || p.Resident() != 0 || p.Tables() != 0 {
		t.Fatalf("refused Enter left state: mapped %v, Resident %d, Tables %d", ok, p.Resident(), p.Tables())
	}
	if mm.Phys.FreePages() != free0-1 {
		t.Fatal("refused Enter took frames")
	}
	if !p.Enter(pageSize, pa, Writable) {
		t.Fatal("Enter(0x1000) = false")
	}
	if _, ok := p.Extract(pageSize - 1); ok {
		t.Fatal("mapping page 1 made page 0 visible")
	}
}

func TestReEnterReplacesMapping(t *testing.T) {
	p, _ := newPmap(t)
	va := uintptr(0x6000_0000_3000)
	pa1, pa2 := frame(t), frame(t)
	if !p.Enter(va, pa1, Writable) || !p.Enter(va, pa2, NoExec) {
		t.Fatal("Enter failed")
	}
	if got, _ := p.Extract(va); got != pa2 || p.Flags(va) != NoExec|Present || p.Resident() != 1 {
		t.Fatalf("re-Enter: Extract %#x, Flags %#x, Resident %d; want %#x, %#x, 1", got, p.Flags(va), p.Resident(), pa2, uint64(NoExec|Present))
	}
}

func TestEnterFailsWhenOutOfFrames(t *testing.T) {
	p, _ := newPmap(t)
	var held []uint64
	for pa := mm.Phys.Alloc(); pa != 0; pa = mm.Phys.Alloc() {
		held = append(held, pa)
	}
	if p.Enter(0x6000_0000_0000, held[0], Writable) {
		t.Fatal("Enter without frames for page tables succeeded")
	}
	if p.Resident() != 0 || p.Tables() != 0 {
		t.Fatalf("failed Enter: Resident %d, Tables %d", p.Resident(), p.Tables())
	}
	// With exactly two frames free, the PDPT and PD are built, the PT is not.
	mm.Phys.Free(held[1])
	mm.Phys.Free(held[2])
	if p.Enter(0x6000_0000_0000, held[0], Writable) || p.Tables() != 2 {
		t.Fatalf("Enter with 2 frames: Tables %d; want failure with 2 tables", p.Tables())
	}
	mm.Phys.Free(held[3])
	if !p.Enter(0x6000_0000_0000, held[0], Writable) || p.Tables() != 3 || p.Resident() != 1 {
		t.Fatalf("Enter with the last table frame: Tables %d, Resident %d", p.Tables(), p.Resident())
	}
}

func TestProtect(t *testing.T) {
	p, free0 := newPmap(t)
	va0 := uintptr(0x6000_001F_C000) // 8 pages straddling a 2 MiB boundary
	var pas [8]uint64
	for i := range pas {
		pas[i] = frame(t)
		if !p.Enter(va0+uintptr(i)*pageSize, pas[i], Writable|User) {
			t.Fatal("Enter failed")
		}
	}
	page := func(i int) uintptr { return va0 + uintptr(i)*pageSize }
	check := func(step string, want [8]uint64) {
		t.Helper()
		for i := range pas {
			if got := p.Flags(page(i)); got != want[i] {
				t.Fatalf("%s: Flags(page %d) = %#x; want %#x", step, i, got, want[i])
			}
			if got, ok := p.Extract(page(i)); !ok || got != pas[i] {
				t.Fatalf("%s: Extract(page %d) = %#x, %v; want %#x", step, i, got, ok, pas[i])
			}
		}
		if p.Resident() != 8 {
			t.Fatalf("%s: Resident %d", step, p.Resident())
		}
		checkAccounting(t, p, free0)
	}
	const rwu = Present | Writable | User
	p.Protect(page(2), page(5), NoExec)
	check("read-only NX", [8]uint64{rwu, rwu, Present | NoExec, Present | NoExec, Present | NoExec, rwu, rwu, rwu})
	p.Protect(page(3), page(4), Writable)
	check("NX cleared", [8]uint64{rwu, rwu, Present | NoExec, Present | Writable, Present | NoExec, rwu, rwu, rwu})
	p.Protect(page(3), page(5), Writable|NoExec)
	check("NX kept/set", [8]uint64{rwu, rwu, Present | NoExec, Present | Writable | NoExec, Present | Writable | NoExec, rwu, rwu, rwu})
	// Unaligned bounds: the page holding va, up to the page holding end-1.
	p.Protect(page(0)+5, page(1)+1, User)
	check("unaligned", [8]uint64{Present | User, Present | User, Present | NoExec, Present | Writable | NoExec, Present | Writable | NoExec, rwu, rwu, rwu})
	// Address bits in flags must not move the frame.
	p.Protect(page(7), page(8), Writable|addrMask)
	check("address bits", [8]uint64{Present | User, Present | User, Present | NoExec, Present | Writable | NoExec, Present | Writable | NoExec, rwu, rwu, Present | Writable})

	// Protect over absent pages and tables creates nothing.
	tables := p.Tables()
	p.Protect(page(8), page(8)+4*gib, Writable)
	p.Protect(0x1000, 0x10_0000_0000, Writable)
	if p.Tables() != tables || p.Resident() != 8 {
		t.Fatalf("Protect of absent range: Tables %d (was %d), Resident %d", p.Tables(), tables, p.Resident())
	}
	if _, ok := p.Extract(page(8)); ok {
		t.Fatal("Protect mapped an absent page")
	}
}

func TestRemove(t *testing.T) {
	p, free0 := newPmap(t)
	base := uintptr(0x6000_3FFF_E000) // 6 pages across a 1 GiB boundary
	var pas []uint64
	for i := 0; i < 6; i++ {
		pa := frame(t)
		pas = append(pas, pa)
		if !p.Enter(base+uintptr(i)*pageSize, pa, Writable) {
			t.Fatal("Enter failed")
		}
	}
	mapped := func(i int) bool { _, ok := p.Extract(base + uintptr(i)*pageSize); return ok }

	// Remove pages 1 and 2 with unaligned bounds: [va rounded down, end).
	p.Remove(base+pageSize+7, base+2*pageSize+1)
	for i, want := range []bool{true, false, false, true, true, true} {
		if mapped(i) != want || mm.Phys.IsFree(pas[i]) == want {
			t.Fatalf("page %d: mapped %v, frame free %v; want mapped %v", i, mapped(i), mm.Phys.IsFree(pas[i]), want)
		}
	}
	if p.Resident() != 4 {
		t.Fatalf("Resident %d; want 4", p.Resident())
	}
	checkAccounting(t, p, free0)

	// An empty or inverted range removes nothing.
	p.Remove(base, base)
	p.Remove(base+5*pageSize, base)
	if p.Resident() != 4 {
		t.Fatal("empty Remove changed something")
	}

	// Removing an absent range again is harmless.
	p.Remove(base+pageSize, base+3*pageSize)
	if p.Resident() != 4 {
		t.Fatalf("Remove of absent pages: Resident %d", p.Resident())
	}

	// The rest, over a range much wider than the mappings.
	p.Remove(base-10*gib, base+10*gib)
	if p.Resident() != 0 || mm.Phys.FreePages() != free0-p.Tables() {
		t.Fatalf("Resident %d, FreePages %d; want 0, %d", p.Resident(), mm.Phys.FreePages(), free0-p.Tables())
	}
	if err := mm.Phys.SelfTest(); err != nil {
		t.Fatal(err)
	}
}

// Remove must skip absent tables instead of stepping through every page:
// 1 TiB is 2^28 pages.
func TestRemoveSparseRangeIsFast(t *testing.T) {
	p, free0 := newPmap(t)
	start := uintptr(0x6000_0000_0000)
	vas := []uintptr{start, start + 300*gib + 0x5000, start + tib - pageSize}
	for _, va := range vas {
		if !p.Enter(va, frame(t), Writable) {
			t.Fatal("Enter failed")
		}
	}
	t0 := time.Now()
	p.Remove(start, start+tib)
	d := time.Since(t0)
	if p.Resident() != 0 || mm.Phys.FreePages() != free0-p.Tables() {
		t.Fatalf("Resident %d, FreePages %d; want 0, %d", p.Resident(), mm.Phys.FreePages(), free0-p.Tables())
	}
	if d > 250*time.Millisecond {
		t.Fatalf("Remove over 1 TiB with 3 pages took %v", d)
	}
	t0 = time.Now()
	p.Remove(pageSize, 0x8000_0000_0000) // the whole lower half
	p.Protect(pageSize, 0x8000_0000_0000, Writable)
	if d := time.Since(t0); d > 250*time.Millisecond {
		t.Fatalf("Remove+Protect over the lower half took %v", d)
	}
}

func TestEnterLarge(t *testing.T) {
	p, free0 := newPmap(t)
	vas := []uintptr{0x20_0000, gib - largeSize, gib, slot - largeSize, slot, 0x6000_0000_0000}
	for i, va := range vas {
		pa := uint64(0x1_0000_0000 + i*largeSize) // never dereferenced
		if !p.EnterLarge(va, pa, Writable|Global) {
			t.Fatalf("EnterLarge(%#x) = false", va)
		}
		if e, ok := p.walk(va, 1); !ok || *e != pa|Writable|Global|Present|Large {
			t.Fatalf("PD entry for %#x wrong", va)
		}
	}
	// One PDPT per slot (3), one PD per distinct 1 GiB region (5).
	if p.Tables() != 8 || p.Resident() != 0 {
		t.Fatalf("Tables %d, Resident %d; want 8, 0 (large pages are not resident 4 KiB pages)", p.Tables(), p.Resident())
	}
	checkAccounting(t, p, free0)
	for i, va := range vas {
		pa := uint64(0x1_0000_0000 + i*largeSize)
		for _, off := range []uintptr{0, 1, 0x1000, 0x12345, largeSize - 1} {
			if got, ok := p.Extract(va + off); !ok || got != pa+uint64(off) {
				t.Fatalf("Extract(%#x) = %#x, %v; want %#x", va+off, got, ok, pa+uint64(off))
			}
		}
		if p.Enter(va+0x3000, frame(t), Writable) {
			t.Fatalf("Enter inside the large page at %#x succeeded", va)
		}
	}
	for _, va := range []uintptr{0, 0x1000, 0x40_0000, gib + largeSize, 0x6000_0020_0000} {
		if _, ok := p.Extract(va); ok {
			t.Errorf("Extract(%#x) outside the large pages succeeded", va)
		}
	}

	// 4 KiB pages next to a large page; Remove and Protect over all of it
	// drop the small pages and leave the large page alone.
	va := uintptr(0x6000_0000_0000)
	before, after := frame(t), frame(t)
	if !p.Enter(va-pageSize, before, Writable) || !p.Enter(va+largeSize, after, Writable) {
		t.Fatal("Enter next to a large page failed")
	}
	free := mm.Phys.FreePages()
	p.Protect(va-pageSize, va+largeSize+pageSize, 0)
	if e, _ := p.walk(va, 1); *e != 0x1_0000_0000+5*largeSize|Writable|Global|Present|Large {
		t.Fatalf("Protect changed the large page's PD entry to %#x", *e)
	}
	p.Remove(va-pageSize, va+largeSize+pageSize)
	if got, ok := p.Extract(va + 0x1234); !ok || got != 0x1_0000_0000+5*largeSize+0x1234 {
		t.Fatalf("Remove over a large page: Extract = %#x, %v", got, ok)
	}
	if !mm.Phys.IsFree(before) || !mm.Phys.IsFree(after) || mm.Phys.FreePages() != free+2 {
		t.Fatalf("Remove freed the wrong frames: FreePages %d, want %d", mm.Phys.FreePages(), free+2)
	}

	// Re-entering a large page replaces it.
	if !p.EnterLarge(gib, 0x2_0000_0000, Writable) {
		t.Fatal("EnterLarge over a large page failed")
	}
	if got, _ := p.Extract(gib + 8); got != 0x2_0000_0008 {
		t.Fatalf("Extract after re-EnterLarge = %#x", got)
	}
}

func TestResidentCounts(t *testing.T) {
	p, free0 := newPmap(t)
	va := uintptr(0x6000_0000_0000)
	for i := uintptr(0); i < 100; i++ {
		if !p.Enter(va+i*pageSize, frame(t), Writable) {
			t.Fatal("Enter failed")
		}
	}
	pa, _ := p.Extract(va)
	p.Enter(va, pa, 0) // re-enter: not a new page
	if p.Resident() != 100 {
		t.Fatalf("Resident %d; want 100", p.Resident())
	}
	p.Remove(va+10*pageSize, va+20*pageSize)
	p.Remove(va+15*pageSize, va+30*pageSize)
	if p.Resident() != 80 {
		t.Fatalf("Resident %d; want 80", p.Resident())
	}
	checkAccounting(t, p, free0)
}

func TestSelfTest(t *testing.T) {
	p, free0 := newPmap(t)
	// SelfTest stores through its scratch address and expects the store in
	// the frame it allocates. On the host that holds when scratch is that
	// very frame (the identity "direct map"): the next Alloc returns the
	// frame just freed.
	scratch := frame(t)
	mm.Phys.Free(scratch)
	if err := p.SelfTest(uintptr(scratch)); err != nil {
		t.Fatal(err)
	}
	checkAccounting(t, p, free0)
	if err := mm.Phys.SelfTest(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() {
		if p.SelfTest(uintptr(scratch)) != nil {
			panic("SelfTest failed")
		}
	}); n != 0 {
		t.Fatalf("SelfTest: %v allocations per run; want 0 (it runs under the MP lock)", n)
	}
}

// SelfTest refuses a scratch address that is mapped (Enter would replace
// the mapping and leak its frame) or is page 0, and throws when page 0 is
// mapped.
func TestSelfTestRefusesScratchAndThrows(t *testing.T) {
	p, _ := newPmap(t)
	va := uintptr(0x6000_0000_0000)
	pa := frame(t)
	if !p.Enter(va, pa, Writable) {
		t.Fatal("Enter failed")
	}
	for _, scratch := range []uintptr{va, 0} {
		if err := p.SelfTest(scratch); err == nil {
			t.Errorf("SelfTest(%#x) = nil; want an error", scratch)
		}
	}
	if got, _ := p.Extract(va); got != pa || p.Resident() != 1 {
		t.Fatalf("SelfTest changed the mapping at its scratch address: Extract %#x, Resident %d", got, p.Resident())
	}
	if !p.Enter(pageSize, frame(t), Writable) { // builds page 0's tables
		t.Fatal("Enter failed")
	}
	e, _ := p.walk(0, 0)
	*e = frame(t) | Present // page 0, behind Enter's back
	if msg := throws(func() { p.SelfTest(va + pageSize) }); !strings.HasPrefix(msg, "pmap: page0") {
		t.Fatalf("SelfTest with page 0 mapped threw %q; want a page0 throw", msg)
	}
}

// Without the guard held, every operation that changes page tables throws
// before it changes anything.
func TestGuardNotHeldThrows(t *testing.T) {
	p, free0 := newPmap(t)
	va := uintptr(0x6000_0000_0000)
	pa := frame(t)
	if !p.Enter(va, pa, Writable) {
		t.Fatal("Enter failed")
	}
	free := mm.Phys.FreePages()
	Held = func() bool { return false }
	defer func() { Held = nil }()
	for _, op := range []struct {
		name string
		f    func()
	}{
		{"Enter", func() { p.Enter(va+pageSize, pa, Writable) }},
		{"EnterLarge", func() { p.EnterLarge(va+gib, 0x1_0000_0000, Writable) }},
		{"Remove", func() { p.Remove(va, va+pageSize) }},
		{"Protect", func() { p.Protect(va, va+pageSize, 0) }},
		{"SelfTest", func() { p.SelfTest(va + 2*pageSize) }},
	} {
		if msg, want := throws(op.f), "pmap: "+op.name+" without the pmap's lock"; msg != want {
			t.Errorf("%s without the guard threw %q; want %q", op.name, msg, want)
		}
	}
	Held = nil
	if got, _ := p.Extract(va); got != pa || p.Flags(va) != Present|Writable || p.Resident() != 1 || mm.Phys.FreePages() != free {
		t.Fatalf("refused calls changed the pmap: Extract %#x, Flags %#x, Resident %d, FreePages %d (was %d)",
			got, p.Flags(va), p.Resident(), mm.Phys.FreePages(), free)
	}
	checkAccounting(t, p, free0)
}

// The page-table code runs below the runtime: none of it may allocate.
func TestNoGoAllocations(t *testing.T) {
	p, _ := newPmap(t)
	va := uintptr(0x6000_0000_0000)
	p.Enter(va, frame(t), Writable) // build the tables first
	p.EnterLarge(va+gib, 0x1_0000_0000, Writable)
	n := testing.AllocsPerRun(100, func() {
		pa := mm.Phys.Alloc()
		if !p.Enter(va+pageSize, pa, Writable) {
			panic("Enter failed")
		}
		if got, ok := p.Extract(va + pageSize); !ok || got != pa {
			panic("Extract failed")
		}
		_ = p.Flags(va + pageSize)
		p.Protect(va, va+2*pageSize, NoExec)
		p.Remove(va+pageSize, va+2*pageSize)
		p.EnterLarge(va+gib, 0x1_0000_0000, Writable)
		_ = p.Resident() + p.Tables() + p.Root()
	})
	if n != 0 {
		t.Fatalf("%v allocations per run; want 0", n)
	}
}

// Flags reports the leaf entry's flags inside a 2 MiB page too, as
// Extract finds it; Touch and SelfTest rely on it.
func TestFlagsOfLargePage(t *testing.T) {
	p, _ := newPmap(t)
	va := uintptr(0x6000_0000_0000)
	if !p.EnterLarge(va, 0x1_0000_0000, Writable|Global) {
		t.Fatal("EnterLarge failed")
	}
	if _, ok := p.Extract(va + 0x5000); !ok {
		t.Fatal("Extract inside the large page failed")
	}
	if fl := p.Flags(va + 0x5000); fl&Present == 0 || fl&Writable == 0 || fl&Global == 0 {
		t.Errorf("Flags(%#x) inside a large page = %#x; want Present|Writable|Global (|Large)", va+0x5000, fl)
	}
}

// EnterLarge must not map [0, 2 MiB): that would map page 0 (invariant
// page0).
func TestEnterLargeRefusesPage0(t *testing.T) {
	p, _ := newPmap(t)
	ok := p.EnterLarge(0, 0, Writable)
	if _, mapped := p.Extract(0); ok || mapped {
		t.Errorf("EnterLarge(0, 0, Writable) = %v, Extract(0) mapped = %v; want false, false (page0)", ok, mapped)
	}
}

// EnterLarge over a PD entry that points to a page table must fail rather
// than overwrite it, which would leak the table and its frames and change
// the old mapping silently.
func TestEnterLargeRefusesPageTable(t *testing.T) {
	p, free0 := newPmap(t)
	va := uintptr(0x6000_0000_0000)
	pa := frame(t)
	if !p.Enter(va+0x1000, pa, Writable) {
		t.Fatal("Enter failed")
	}
	ok := p.EnterLarge(va, 0x1_0000_0000, Writable)
	got, _ := p.Extract(va + 0x1000)
	if ok || got != pa {
		t.Errorf("EnterLarge over a page table = %v, Extract(%#x) = %#x; want false, %#x (page table kept)", ok, va+0x1000, got, pa)
	}
	p.Remove(va, va+largeSize)
	if ok && (p.Resident() != 0 || mm.Phys.FreePages() != free0-p.Tables()) {
		t.Errorf("after Remove: Resident %d, FreePages %d; want 0, %d (the frame %#x and its page table leaked)",
			p.Resident(), mm.Phys.FreePages(), free0-p.Tables(), pa)
	}
}

// Remove must end when end lies inside the last page of the address space,
// where va += pageSize wraps to 0. The call runs in a child process killed
// after a few seconds, so a regression fails instead of hanging.
func TestRemoveLastPageEnds(t *testing.T) {
	const env = "GOFLY_PMAP_WRAP_CHILD"
	if os.Getenv(env) == "1" {
		p, _ := newPmap(t)
		top := uintptr(0xFFFF_FFFF_FFFF_F000)
		p.Enter(top, frame(t), Writable)
		p.Remove(top, ^uintptr(0))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRemoveLastPageEnds$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Errorf("Remove(0xFFFF_FFFF_FFFF_F000, 0xFFFF_FFFF_FFFF_FFFF) with the top page mapped did not return within 3s")
	} else if err != nil {
		t.Errorf("child failed: %v\n%s", err, out)
	}
}

// Remove of a page whose frame is already free: mm's no-double-free throw
// (it used to come back as a message that callers turned into an errno).
func TestRemoveThrowsOnFreedFrame(t *testing.T) {
	p, _ := newPmap(t)
	pa := frame(t)
	va := uintptr(0x6000_0000_0000)
	if !p.Enter(va, pa, Writable) {
		t.Fatal("Enter failed")
	}
	mm.Phys.Free(pa) // the frame is free, yet entered
	if msg := throws(func() { p.Remove(va, va+pageSize) }); !strings.HasPrefix(msg, "mm: no-double-free") {
		t.Fatalf("Remove of a free frame threw %q; want mm's no-double-free throw", msg)
	}
}

// A present leaf that Enter never counted breaks the resident count:
// Remove throws rather than let the count wrap.
func TestRemoveThrowsOnUncountedPage(t *testing.T) {
	p, _ := newPmap(t)
	va := uintptr(0x6000_0000_0000)
	if !p.Enter(va, frame(t), Writable) { // builds va's tables
		t.Fatal("Enter failed")
	}
	p.Remove(va, va+pageSize)
	e, _ := p.walk(va, 0)
	*e = frame(t) | Present | Writable // behind Enter's back
	if msg := throws(func() { p.Remove(va, va+pageSize) }); !strings.HasPrefix(msg, "pmap: resident") {
		t.Fatalf("Remove of an uncounted page threw %q (Resident now %d); want a resident throw", msg, p.Resident())
	}
}

// A table entry without W (table-frames) would make every leaf below it
// read-only, and a write fault on a page the map allows would repeat
// forever: Enter and Protect throw.
func TestReadOnlyTableEntryThrows(t *testing.T) {
	p, _ := newPmap(t)
	va := uintptr(0x6000_0000_0000)
	if !p.Enter(va, frame(t), Writable) {
		t.Fatal("Enter failed")
	}
	pde, _ := p.walk(va, 1) // the PD entry of va's page table
	*pde &^= Writable
	for name, f := range map[string]func(){
		"Enter":   func() { p.Enter(va+pageSize, frame(t), Writable) },
		"Protect": func() { p.Protect(va, va+pageSize, Writable) },
		"Remove":  func() { p.Remove(va, va+pageSize) },
	} {
		if msg := throws(f); !strings.HasPrefix(msg, "pmap: table-frames") {
			t.Errorf("%s under a read-only table entry threw %q; want a table-frames throw", name, msg)
		}
	}
}

// TestUserSpace: a user address space shares the kernel's upper half,
// puts U on the tables it adds below, and Destroy gives every frame it
// owns back — pages, tables and root — leaving the kernel's tables alone.
func TestUserSpace(t *testing.T) {
	k, _ := newPmap(t)
	const kva = 0xFFFF_8000_0020_1000
	if !k.Enter(kva, frame(t), Writable) {
		t.Fatal("kernel Enter in the upper half failed")
	}
	kpa, _ := k.Extract(kva)
	free0 := mm.Phys.FreePages()
	u := new(Pmap)
	u.InitUser(frame(t), k)
	for i := uintptr(KernelHalf); i < 512; i++ {
		if *entry(u.Root(), i) != *entry(k.Root(), i) {
			t.Fatalf("PML4 slot %d not shared with the kernel", i)
		}
	}
	if pa, ok := u.Extract(kva); !ok || pa != kpa {
		t.Fatalf("kernel page through the user root: %#x %v, want %#x", pa, ok, kpa)
	}
	var vas []uintptr
	for _, va := range boundaryVAs {
		if va < KernelHalf*slot {
			vas = append(vas, va)
		}
	}
	vas = append(vas, 0x40_0000, 0x40_1000, 0xC0_0000_0000)
	for _, va := range vas {
		if !u.Enter(va, frame(t), User|Writable) {
			t.Fatalf("user Enter(%#x) failed", va)
		}
		// Every table on the way down carries U and W; the leaf has U.
		table := u.Root()
		for l := uint(3); l > 0; l-- {
			e := *entry(table, index(va, l))
			if e&(Present|Writable|User) != Present|Writable|User {
				t.Fatalf("va %#x level %d table entry %#x lacks P|W|U", va, l, e)
			}
			table = e & addrMask
		}
		if f := u.Flags(va); f&User == 0 {
			t.Fatalf("va %#x leaf flags %#x lack U", va, f)
		}
	}
	if got, want := u.Tables(), wantTables(vas); got != want {
		t.Fatalf("user tables %d, want %d", got, want)
	}
	u.Destroy()
	if got := mm.Phys.FreePages(); got != free0 {
		t.Fatalf("after Destroy: %d free frames, want %d (pages, tables and root back)", got, free0)
	}
	if pa, ok := k.Extract(kva); !ok || pa != kpa {
		t.Fatalf("kernel page after a user Destroy: %#x %v, want %#x", pa, ok, kpa)
	}
	if msg := throws(func() { k.Destroy() }); !strings.Contains(msg, "kernel's address space") {
		t.Fatalf("Destroy of the kernel's space: %q", msg)
	}
}

// TestKernelTablesHaveNoU: the kernel's own tables never carry U.
func TestKernelTablesHaveNoU(t *testing.T) {
	k, _ := newPmap(t)
	const va = 0x6000_0000_0000
	if !k.Enter(va, frame(t), Writable) {
		t.Fatal("Enter failed")
	}
	table := k.Root()
	for l := uint(3); l > 0; l-- {
		e := *entry(table, index(va, l))
		if e&User != 0 {
			t.Fatalf("kernel table entry at level %d has U: %#x", l, e)
		}
		table = e & addrMask
	}
}

// TestUserSpaceStaysInItsHalf: a user space cannot enter, remove or
// protect pages in the kernel's half, whose tables it shares.
func TestUserSpaceStaysInItsHalf(t *testing.T) {
	k, _ := newPmap(t)
	const kva = 0xFFFF_8000_4000_0000
	if !k.Enter(kva, frame(t), Writable) {
		t.Fatal("kernel Enter failed")
	}
	kpa, _ := k.Extract(kva)
	u := new(Pmap)
	u.InitUser(frame(t), k)
	pa := frame(t)
	if u.Enter(kva+pageSize, pa, User|Writable) || u.EnterLarge(0x4000_0000, pa, User) {
		t.Fatal("a user space entered a page in the kernel half, or a large page")
	}
	mm.Phys.Free(pa)
	if !u.Enter(0x40_0000, frame(t), User) {
		t.Fatal("user Enter failed")
	}
	u.Remove(0, ^uintptr(0))
	u.Protect(0, ^uintptr(0), 0)
	if got, ok := k.Extract(kva); !ok || got != kpa || k.Flags(kva)&Writable == 0 {
		t.Fatalf("the kernel's page after a user Remove/Protect of everything: %#x %v flags %#x", got, ok, k.Flags(kva))
	}
	u.Destroy()
}
