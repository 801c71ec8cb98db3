package mm

import (
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gofly/internal/hostram"
)

// bitmapLenFor is the bitmap size Init needs when the highest usable
// address is limit: one bit per frame of [0, limit), rounded to pages.
func bitmapLenFor(limit uint64) uint64 {
	words := (limit/PageSize + 63) / 64
	return (words*8 + PageSize - 1) &^ (PageSize - 1)
}

// fitBitmap returns the bitmap size bm for available memory
// [base, base+mult*bm+extra): the fixed point of bitmapLenFor.
func fitBitmap(base, mult, extra uint64) uint64 {
	bm := uint64(0)
	for {
		nb := bitmapLenFor(base + mult*bm + extra)
		if nb == bm {
			return bm
		}
		bm = nb
	}
}

func overlapsAny(rs []Range, base, n uint64) bool {
	for _, r := range rs {
		if base < r.End() && r.Base < base+n {
			return true
		}
	}
	return false
}

// wantBitmapBase is an independent model of where Init puts the bitmap:
// the lowest page-aligned address other than 0 in the first available
// range that holds bmLen bytes clear of every reserved range. It returns 0
// when there is none.
func wantBitmapBase(avail, reserved []Range, bmLen uint64) uint64 {
	for _, r := range avail {
		for b := (r.Base + PageSize - 1) &^ (PageSize - 1); b+bmLen <= r.End(); b += PageSize {
			if b != 0 && !overlapsAny(reserved, b, bmLen) {
				return b
			}
		}
	}
	return 0
}

// wantFree is an independent model of the frames Init manages: every whole
// page inside an available range, except page 0, pages touching a reserved
// range and the bitmap's pages.
func wantFree(avail, reserved []Range, bitmap Range) map[uint64]bool {
	set := make(map[uint64]bool)
	for _, r := range avail {
		for pa := (r.Base + PageSize - 1) &^ (PageSize - 1); pa+PageSize <= r.End(); pa += PageSize {
			if pa == 0 || overlapsAny(reserved, pa, PageSize) || overlapsAny([]Range{bitmap}, pa, PageSize) {
				continue
			}
			set[pa] = true
		}
	}
	return set
}

// layout describes available ranges with reserved holes, unaligned edges,
// a duplicate (overlapping) range and a range that is wholly reserved,
// all inside the host window [base, base+n).
func layout(t *testing.T) (avail, reserved []Range, bmLen uint64) {
	base, n := hostRAM(t)
	limit := base + n - 0x800 // the last range ends mid-page
	bm := bitmapLenFor(limit)
	o := base + bm // everything after the first stretch sits past the bitmap
	const mib = 1 << 20
	avail = []Range{
		{base + 0x1123, bm + 0x40000},            // first stretch, unaligned start
		{o + 1*mib, 4 * mib},                     // second stretch
		{o + 3*mib, 4 * mib},                     // overlaps the second
		{o + 8*mib, 0x10000},                     // wholly reserved below
		{o + 10*mib, limit - (o + 10*mib)},       // runs to the unaligned limit
		{base + 0x1123 + 0x800, PageSize},        // inside the first, again
		{o + 9*mib + 0x10, PageSize - 0x20},      // shorter than a page: no frame
		{o + 9*mib + PageSize + 1, PageSize - 1}, // page-sized but unaligned: no frame
	}
	reserved = []Range{
		{base + 0x3010, 0x10},            // a few bytes: costs one frame, pushes the bitmap
		{o + 2*mib + 0x3000, 0x7000},     // a hole in the second stretch
		{o + 8*mib - 0x100, 0x20000},     // swallows the fourth range
		{o + 12*mib, mib},                // a hole in the last stretch
		{0, 0x10000},                     // below the window: harmless
		{limit + PageSize, 4 * PageSize}, // above the window: harmless
	}
	return avail, reserved, bm
}

// initLayout initialises a over layout's ranges after filling the window
// with garbage, and returns the model of its free frames.
func initLayout(t *testing.T, a *Allocator) (avail, reserved []Range, want map[uint64]bool) {
	t.Helper()
	base, n := hostRAM(t)
	fill(base, n, 0xAA)
	avail, reserved, bm := layout(t)
	bmBase := wantBitmapBase(avail, reserved, bm)
	if bmBase == 0 {
		t.Fatalf("test layout leaves no room for a %d-byte bitmap", bm)
	}
	if !a.Init(avail, reserved) {
		t.Fatalf("Init(%#x, %#x) = false", avail, reserved)
	}
	if got := a.Bitmap(); got != (Range{bmBase, bm}) {
		t.Fatalf("Bitmap() = %#x; want %#x", got, Range{bmBase, bm})
	}
	return avail, reserved, wantFree(avail, reserved, a.Bitmap())
}

func checkCounts(t *testing.T, a *Allocator) {
	t.Helper()
	if n := a.countFree(); n != a.FreePages() {
		t.Fatalf("bitmap-truth: %d bits set, FreePages %d", n, a.FreePages())
	}
}

func TestInitCountsExactly(t *testing.T) {
	var a Allocator
	_, reserved, want := initLayout(t, &a)
	if a.TotalPages() != uint64(len(want)) || a.FreePages() != uint64(len(want)) {
		t.Fatalf("TotalPages %d, FreePages %d; want both %d", a.TotalPages(), a.FreePages(), len(want))
	}
	checkCounts(t, &a)

	// IsFree agrees with the model on every page of the window and beyond.
	base, n := hostRAM(t)
	for pa := uint64(0); pa < 0x20000; pa += PageSize {
		if a.IsFree(pa) {
			t.Fatalf("IsFree(%#x) below the window = true", pa)
		}
	}
	for pa := base; pa < base+n+4*PageSize; pa += PageSize {
		if got := a.IsFree(pa); got != want[pa] {
			t.Fatalf("IsFree(%#x) = %v; want %v", pa, got, want[pa])
		}
	}
	for _, pa := range []uint64{base + n, 1 << 40, ^uint64(0) &^ (PageSize - 1)} {
		if a.IsFree(pa) {
			t.Errorf("IsFree(%#x) past the limit = true", pa)
		}
	}
	for _, r := range reserved {
		for pa := r.Base &^ (PageSize - 1); pa < r.End(); pa += PageSize {
			if a.IsFree(pa) {
				t.Errorf("reserved frame %#x is free", pa)
			}
		}
	}
	bm := a.Bitmap()
	for pa := bm.Base; pa < bm.End(); pa += PageSize {
		if a.IsFree(pa) {
			t.Errorf("bitmap frame %#x is free", pa)
		}
	}
	if err := a.SelfTest(); err != nil {
		t.Fatal(err)
	}
}

func TestAllocUntilExhaustedThenFree(t *testing.T) {
	var a Allocator
	_, _, want := initLayout(t, &a)
	total := a.TotalPages()

	// Every frame comes out once, aligned, managed and zeroed (the window
	// was filled with 0xAA), and is dirtied so later reuse must re-zero.
	got := make([]uint64, 0, total)
	seen := make(map[uint64]bool)
	for {
		pa := a.Alloc()
		if pa == 0 {
			break
		}
		switch {
		case pa%PageSize != 0:
			t.Fatalf("Alloc() = %#x: not page aligned", pa)
		case !want[pa]:
			t.Fatalf("Alloc() = %#x: not a managed frame (reserved, bitmap or hole)", pa)
		case seen[pa]:
			t.Fatalf("Alloc() = %#x twice", pa)
		case !pageIsZero(pa):
			t.Fatalf("Alloc() = %#x: page not zeroed", pa)
		case a.IsFree(pa):
			t.Fatalf("IsFree(%#x) = true right after Alloc", pa)
		}
		seen[pa] = true
		got = append(got, pa)
		fill(pa, PageSize, 0x55)
		if uint64(len(got)) > total {
			t.Fatalf("Alloc handed out more than TotalPages (%d) frames", total)
		}
	}
	if uint64(len(got)) != total {
		t.Fatalf("Alloc handed out %d frames before failing; TotalPages %d", len(got), total)
	}
	if a.Alloc() != 0 || a.FreePages() != 0 {
		t.Fatalf("exhausted allocator: Alloc() again nonzero or FreePages %d", a.FreePages())
	}
	checkCounts(t, &a)
	if err := a.SelfTest(); err == nil {
		t.Errorf("SelfTest on an exhausted allocator = nil; want the Alloc failure")
	}

	// Free in random order; each frame becomes free again.
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	for i, pa := range got {
		a.Free(pa)
		if !a.IsFree(pa) || a.FreePages() != uint64(i+1) {
			t.Fatalf("after Free(%#x): IsFree %v, FreePages %d; want true, %d", pa, a.IsFree(pa), a.FreePages(), i+1)
		}
	}
	checkCounts(t, &a)
	if err := a.SelfTest(); err != nil {
		t.Fatal(err)
	}

	// Reused frames are zeroed again.
	for i := uint64(0); i < total; i++ {
		pa := a.Alloc()
		if pa == 0 || !want[pa] || !pageIsZero(pa) {
			t.Fatalf("reuse: Alloc() = %#x (managed %v, zero %v)", pa, want[pa], pa != 0 && pageIsZero(pa))
		}
	}
	if a.Alloc() != 0 {
		t.Fatal("reuse: Alloc() past TotalPages succeeded")
	}
}

// frames returns an allocator over exactly n frames after its bitmap.
func frames(t *testing.T, n uint64) *Allocator {
	t.Helper()
	base, _ := hostRAM(t)
	a := new(Allocator)
	bm := fitBitmap(base, 1, n*PageSize)
	if !a.Init([]Range{{base, bm + n*PageSize}}, nil) {
		t.Fatal("Init failed")
	}
	return a
}

func TestAllocWrapsAroundHint(t *testing.T) {
	// 200 frames after the bitmap: the search hint must wrap over words.
	a := frames(t, 200)
	if a.TotalPages() != 200 {
		t.Fatalf("TotalPages %d; want 200", a.TotalPages())
	}
	var pages []uint64
	for pa := a.Alloc(); pa != 0; pa = a.Alloc() {
		pages = append(pages, pa)
	}
	if len(pages) != 200 {
		t.Fatalf("allocated %d frames; want 200", len(pages))
	}
	for _, i := range []int{0, 63, 64, 199, 100} {
		a.Free(pages[i])
		if pa := a.Alloc(); pa != pages[i] {
			t.Fatalf("Alloc after freeing only %#x = %#x", pages[i], pa)
		}
	}
	checkCounts(t, a)
}

// TestAllocLowestFirst checks that Alloc hands out the lowest free frame:
// frames freed anywhere are reused, lowest first, before frames above
// every one in use, and in random churn the highest frame ever handed out
// stays at the peak of frames in use.
func TestAllocLowestFirst(t *testing.T) {
	a := frames(t, 1000)
	var pages []uint64
	for range 600 {
		pages = append(pages, a.Alloc())
	}
	for i := 1; i < len(pages); i++ {
		if pages[i] <= pages[i-1] {
			t.Fatalf("frame %d at %#x after %#x: not ascending", i, pages[i], pages[i-1])
		}
	}
	// Free a scattered set, the highest first: Alloc returns them lowest first.
	freed := []int{599, 420, 301, 130, 64, 63, 5}
	for _, i := range freed {
		a.Free(pages[i])
	}
	for k := len(freed) - 1; k >= 0; k-- {
		if pa := a.Alloc(); pa != pages[freed[k]] {
			t.Fatalf("Alloc = %#x; want the lowest free frame %#x", pa, pages[freed[k]])
		}
	}
	if pa := a.Alloc(); pa <= pages[599] {
		t.Fatalf("Alloc = %#x with no frame free below; want one above %#x", pa, pages[599])
	} else {
		a.Free(pa)
	}
	// Churn: the footprint (highest frame handed out) never passes the
	// peak number of frames in use.
	rng := rand.New(rand.NewPCG(1, 2))
	held := map[uint64]bool{}
	for _, pa := range pages {
		held[pa] = true
	}
	peak, top := len(held), pages[599]
	for range 20000 {
		if len(held) < 900 && (len(held) == 0 || rng.IntN(2) == 0) {
			pa := a.Alloc()
			held[pa] = true
			top = max(top, pa)
			peak = max(peak, len(held))
		} else {
			for pa := range held {
				a.Free(pa)
				delete(held, pa)
				break
			}
		}
	}
	if limit := pages[0] + uint64(peak-1)*PageSize; top > limit {
		t.Fatalf("highest frame %#x above %#x, the %d frames of the peak in use", top, limit, peak)
	}
	checkCounts(t, a)
}

func TestInitFailsWithoutRoomForBitmap(t *testing.T) {
	base, _ := hostRAM(t)
	var a Allocator
	for _, tc := range []struct {
		name            string
		avail, reserved []Range
	}{
		{"no ranges", nil, nil},
		{"empty range", []Range{{base, 0}}, nil},
		{"too small", []Range{{base, PageSize}}, nil},
		{"all reserved", []Range{{base, 1 << 20}}, []Range{{base - 1, 1<<20 + 2}}},
		{"holes too small", []Range{{base, 1 << 20}}, []Range{{base + 0x1000, 0x10}, {base + 0x3000, 0x10}, {base + 0x5000, 1 << 20}}},
	} {
		if a.Init(tc.avail, tc.reserved) {
			t.Errorf("%s: Init(%#x, %#x) = true; want false", tc.name, tc.avail, tc.reserved)
		}
	}
}

func TestInitReusesRangeAfterReservedHoles(t *testing.T) {
	base, _ := hostRAM(t)
	var a Allocator
	bm := fitBitmap(base, 3, 0)
	avail := []Range{{base, 3 * bm}}
	// Reserved holes too close together to fit the bitmap between them.
	reserved := []Range{{base + bm - PageSize, 1}, {base + 2*bm - PageSize, 1}}
	if !a.Init(avail, reserved) {
		t.Fatal("Init failed")
	}
	want := wantBitmapBase(avail, reserved, bm)
	if got := a.Bitmap(); got.Base != want || got.Len != bm {
		t.Fatalf("Bitmap() = %#x; want {%#x %#x}", got, want, bm)
	}
	if a.TotalPages() != uint64(len(wantFree(avail, reserved, a.Bitmap()))) {
		t.Fatalf("TotalPages %d; want %d", a.TotalPages(), len(wantFree(avail, reserved, a.Bitmap())))
	}
	checkCounts(t, &a)
}

// A broken bitmap is a broken invariant: SelfTest throws.
func TestSelfTestThrowsOnBrokenBitmap(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	if err := a.SelfTest(); err != nil {
		t.Fatal(err)
	}
	pa := a.Alloc()
	f := pa / PageSize
	*a.word(f / 64) |= 1 << (f % 64) // mark it free behind the count's back
	if msg := throws(func() { a.SelfTest() }); !strings.HasPrefix(msg, "mm: bitmap-truth") {
		t.Fatalf("SelfTest with a stray bit threw %q; want a bitmap-truth throw", msg)
	}
	*a.word(f / 64) &^= 1 << (f % 64)
	if err := a.SelfTest(); err != nil {
		t.Fatal(err)
	}
}

func TestPhysSelfTest(t *testing.T) {
	base, n := hostRAM(t)
	if !Phys.Init([]Range{{base, n}}, nil) {
		t.Fatal("Phys.Init failed")
	}
	if want := n/PageSize - Phys.Bitmap().Len/PageSize; Phys.TotalPages() != want {
		t.Fatalf("TotalPages %d; want %d", Phys.TotalPages(), want)
	}
	if err := Phys.SelfTest(); err != nil {
		t.Fatal(err)
	}
	if Phys.FreePages() != Phys.TotalPages() {
		t.Fatalf("SelfTest leaked a frame: FreePages %d, TotalPages %d", Phys.FreePages(), Phys.TotalPages())
	}
}

// The allocator runs below the runtime: none of its paths may allocate.
func TestNoGoAllocations(t *testing.T) {
	var a Allocator
	avail, reserved, _ := initLayout(t, &a)
	for name, f := range map[string]func(){
		"Alloc+Free": func() {
			pa := a.Alloc()
			if pa == 0 {
				panic("Alloc failed")
			}
			a.Free(pa)
		},
		"IsFree":   func() { _ = a.IsFree(a.Bitmap().End()) },
		"counts":   func() { _ = a.FreePages() + a.TotalPages() + a.countFree() },
		"Ptr":      func() { _ = Ptr(a.Bitmap().Base) },
		"SelfTest": func() { _ = a.SelfTest() },
	} {
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per run; want 0", name, n)
		}
	}
	if n := testing.AllocsPerRun(3, func() {
		if !a.Init(avail, reserved) {
			panic("Init failed")
		}
	}); n != 0 {
		t.Errorf("Init: %v allocations per run; want 0", n)
	}
}

// When the first available range starts at physical 0 and nothing
// reserves page 0, the bitmap goes at page 1 rather than Init failing. (The
// kernel reserves [0, 1 MiB), so it does not meet this case.) The test maps
// host memory at [0x1000, 0x40000); it is skipped where the host forbids
// that.
func TestInitBitmapWhenFirstRangeStartsAtZero(t *testing.T) {
	const lowEnd = 0x40000
	if !hostram.Map(PageSize, lowEnd-PageSize) {
		t.Skip("cannot map host memory at 0x1000 (vm.mmap_min_addr)")
	}
	defer hostram.Unmap(PageSize, lowEnd-PageSize)
	var a Allocator
	avail := []Range{{0, lowEnd}}
	if !a.Init(avail, nil) {
		t.Errorf("Init(%#x, nil) = false; want true with the bitmap at 0x1000", avail)
	} else if got := a.Bitmap().Base; got != PageSize {
		t.Errorf("Bitmap().Base = %#x; want 0x1000", got)
	}

	base, n := hostRAM(t)
	avail = []Range{{0, lowEnd}, {base, n}}
	bm := bitmapLenFor(base + n)
	want := wantBitmapBase(avail, nil, bm)
	if !a.Init(avail, nil) {
		t.Fatalf("Init(%#x, nil) = false", avail)
	}
	if got := a.Bitmap().Base; got != want {
		t.Errorf("Init(%#x, nil): Bitmap().Base = %#x; want %#x (the first usable stretch, page 0 excluded)", avail, got, want)
	}
}

// Freeing a free frame is a kernel bug: it throws, and the allocator is
// unchanged.
func TestDoubleFreeThrows(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	pa := a.Alloc()
	a.Free(pa)
	free := a.FreePages()
	if msg := throws(func() { a.Free(pa) }); !strings.HasPrefix(msg, "mm: no-double-free") {
		t.Fatalf("second Free(%#x) threw %q; want the no-double-free throw", pa, msg)
	}
	if a.FreePages() != free || !a.IsFree(pa) {
		t.Fatalf("a refused double free changed the allocator: FreePages %d (was %d)", a.FreePages(), free)
	}
	checkCounts(t, &a)
}

// FreeBatch frees every frame it is given, as Free would one by one; a
// batch that holds a free frame throws as a double Free does.
func TestFreeBatch(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	free := a.FreePages()
	var pas []uint64
	for range 40 {
		pas = append(pas, a.Alloc())
	}
	a.FreeBatch(pas[:32])
	a.FreeBatch(pas[32:])
	a.FreeBatch(nil)
	if a.FreePages() != free {
		t.Fatalf("FreePages %d after freeing the batches; want %d", a.FreePages(), free)
	}
	for _, pa := range pas {
		if !a.IsFree(pa) {
			t.Fatalf("frame %#x not free after FreeBatch", pa)
		}
	}
	checkCounts(t, &a)
	pa := a.Alloc()
	if msg := throws(func() { a.FreeBatch([]uint64{pa, pas[0]}) }); !strings.HasPrefix(msg, "mm: no-double-free") {
		t.Fatalf("FreeBatch with a free frame threw %q; want the no-double-free throw", msg)
	}
	checkCounts(t, &a)
}

// Freeing a frame the allocator never managed throws: page 0 (Alloc's
// failure value), a bitmap frame (a later Alloc would zero the bitmap), a
// reserved frame, a frame in a hole between ranges, one past the limit,
// and misaligned addresses.
func TestFreeUnmanagedThrows(t *testing.T) {
	var a Allocator
	_, reserved, _ := initLayout(t, &a)
	pa := a.Alloc()
	before := a.FreePages()
	base, n := hostRAM(t)
	limit := base + n - 0x800
	o := base + a.Bitmap().Len
	for _, bad := range []uint64{
		0, a.Bitmap().Base, reserved[1].Base &^ (PageSize - 1),
		o + 7<<20 + 4*PageSize, // in the hole between the third and fourth ranges
		limit&^(PageSize-1) + PageSize, 1 << 40, ^uint64(0) &^ (PageSize - 1), ^uint64(0),
		pa + 1, pa + PageSize/2, pa + PageSize - 8,
	} {
		if msg := throws(func() { a.Free(bad) }); msg != "mm: Free of a frame the allocator does not manage" {
			t.Errorf("Free(%#x) threw %q; want the unmanaged-frame throw", bad, msg)
		}
	}
	if a.FreePages() != before || a.IsFree(pa) {
		t.Fatalf("bad Frees changed the allocator: FreePages %d (was %d), IsFree(%#x) %v", a.FreePages(), before, pa, a.IsFree(pa))
	}
	checkCounts(t, &a)
}

// A free count with no set bit behind it breaks bitmap-truth: Alloc
// throws instead of reporting memory exhausted.
func TestAllocThrowsWhenCountLies(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	for a.Alloc() != 0 {
	}
	a.free.Store(1)
	if msg := throws(func() { a.Alloc() }); !strings.HasPrefix(msg, "mm: bitmap-truth") {
		t.Fatalf("Alloc with a free count of 1 and no free bit threw %q; want a bitmap-truth throw", msg)
	}
}

// Without the MP lock, Alloc, AllocDirty and SelfTest throw before they
// change anything; Free needs only the allocator's own lock.
func TestGuardNotHeldThrows(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	pa := a.Alloc()
	free := a.FreePages()
	held := false
	Held = func() bool { return held }
	defer func() { Held = nil }()
	for _, op := range []struct {
		name string
		f    func()
	}{
		{"Alloc", func() { a.Alloc() }},
		{"AllocDirty", func() { a.AllocDirty() }},
		{"SelfTest", func() { a.SelfTest() }},
	} {
		if msg, want := throws(op.f), "mm: "+op.name+" without the MP lock"; msg != want {
			t.Errorf("%s without the MP lock threw %q; want %q", op.name, msg, want)
		}
	}
	if a.FreePages() != free || a.IsFree(pa) {
		t.Fatalf("refused calls changed the allocator: FreePages %d (was %d)", a.FreePages(), free)
	}
	if msg := throws(func() { a.Free(pa) }); msg != "" {
		t.Fatalf("Free without the MP lock threw %q; want it to free", msg)
	}
	if a.FreePages() != free+1 || !a.IsFree(pa) {
		t.Fatalf("Free without the MP lock: FreePages %d (was %d), frame free %v", a.FreePages(), free, a.IsFree(pa))
	}
	held = true
	if err := a.SelfTest(); err != nil {
		t.Fatal(err)
	}
}

// A process's memory call frees without the MP lock while other CPUs
// allocate and check under it: goroutines free frames holding nothing
// while others Alloc and SelfTest under the stand-in MP lock (a
// sync.Mutex; Held reports it taken). The allocator's own lock keeps each
// frame with one owner and the bitmap and the free count in agreement.
func TestFreeWithoutMPLock(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	var mu sync.Mutex
	var held atomic.Bool
	Held = held.Load
	defer func() { Held = nil }()
	var om sync.Mutex
	owner := map[uint64]bool{} // frames handed out and not yet freed, under om
	handed := make(chan uint64, 1024)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ { // allocators under the MP lock
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4000; i++ {
				mu.Lock()
				held.Store(true)
				pa := a.Alloc()
				if i%500 == 0 {
					if err := a.SelfTest(); err != nil {
						t.Error(err)
					}
				}
				held.Store(false)
				mu.Unlock()
				if pa == 0 {
					continue
				}
				om.Lock()
				if owner[pa] {
					t.Errorf("frame %#x handed out twice", pa)
				}
				owner[pa] = true
				om.Unlock()
				handed <- pa
			}
		}()
	}
	var fwg sync.WaitGroup
	for g := 0; g < 2; g++ { // freers holding nothing
		fwg.Add(1)
		go func() {
			defer fwg.Done()
			for pa := range handed {
				om.Lock()
				delete(owner, pa)
				om.Unlock()
				a.Free(pa)
			}
		}()
	}
	wg.Wait()
	close(handed)
	fwg.Wait()
	checkCounts(t, &a)
	if a.FreePages() != a.TotalPages() {
		t.Fatalf("FreePages %d after every frame came back; want %d", a.FreePages(), a.TotalPages())
	}
}

// The kernel ran SelfTest without the MP lock while other CPUs allocated,
// so one frame could go to two owners. Serialised by one lock (a
// sync.Mutex stands in for the MP lock; Held reports it taken), SelfTest
// and Alloc/Free from several goroutines hand each frame to one owner at a
// time and leave the bitmap and the free count in agreement.
func TestSelfTestConcurrentWithAllocFree(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	var mu sync.Mutex
	var held atomic.Bool
	lock := func() { mu.Lock(); held.Store(true) }
	unlock := func() { held.Store(false); mu.Unlock() }
	Held = held.Load
	defer func() { Held = nil }()

	owner := map[uint64]int{} // frame -> goroutine, under mu
	var wg sync.WaitGroup
	for g := 1; g <= 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			var mine []uint64
			for i := 0; i < 3000; i++ {
				lock()
				if len(mine) < 128 && r.IntN(3) != 0 {
					pa := a.Alloc()
					if o, taken := owner[pa]; taken {
						t.Errorf("frame %#x handed to goroutine %d while goroutine %d holds it", pa, g, o)
					}
					owner[pa] = g
					mine = append(mine, pa)
				} else if len(mine) > 0 {
					pa := mine[len(mine)-1]
					mine = mine[:len(mine)-1]
					delete(owner, pa)
					a.Free(pa)
				}
				unlock()
			}
			lock()
			for _, pa := range mine {
				delete(owner, pa)
				a.Free(pa)
			}
			unlock()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 300; i++ {
			lock()
			err := a.SelfTest()
			unlock()
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	checkCounts(t, &a)
	if a.FreePages() != a.TotalPages() {
		t.Fatalf("FreePages %d after every frame came back; want %d", a.FreePages(), a.TotalPages())
	}
}

// reclaimHeld is what testReclaim gives back: frames a "cache" holds.
var (
	reclaimAlloc *Allocator
	reclaimHeld  []uint64
	reclaimCalls int
)

// testReclaim stands in for objcache.ReclaimAll: it frees the held frames.
func testReclaim() uint64 {
	reclaimCalls++
	n := uint64(len(reclaimHeld))
	for _, pa := range reclaimHeld {
		reclaimAlloc.Free(pa)
	}
	reclaimHeld = nil
	return n
}

// TestReclaimUnderPressure: when no frame is free, Alloc calls the
// reclaim path once, counts what it gave back and hands out a reclaimed
// frame; with nothing left to reclaim it fails, having asked once.
func TestReclaimUnderPressure(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	reclaimAlloc, reclaimHeld, reclaimCalls = &a, nil, 0
	a.SetReclaim(testReclaim)
	var taken []uint64
	for i := 0; a.FreePages() > 0; i++ {
		pa := a.Alloc()
		if i < 3 {
			reclaimHeld = append(reclaimHeld, pa)
		} else {
			taken = append(taken, pa)
		}
	}
	if reclaimCalls != 0 {
		t.Fatalf("reclaim called %d times while frames were free", reclaimCalls)
	}
	pa := a.Alloc()
	if pa == 0 || reclaimCalls != 1 || a.Reclaims != 1 || a.ReclaimedPages != 3 || a.FreePages() != 2 {
		t.Fatalf("Alloc under pressure = %#x; reclaim calls %d, Reclaims %d, ReclaimedPages %d, free %d; want a frame, 1, 1, 3, 2",
			pa, reclaimCalls, a.Reclaims, a.ReclaimedPages, a.FreePages())
	}
	taken = append(taken, pa, a.Alloc(), a.Alloc())
	if a.Alloc() != 0 || reclaimCalls != 2 || a.ReclaimedPages != 3 {
		t.Fatalf("nothing left to reclaim: reclaim calls %d, ReclaimedPages %d; want a failed Alloc after the second call", reclaimCalls, a.ReclaimedPages)
	}
	for _, pa := range taken {
		a.Free(pa)
	}
	checkCounts(t, &a)
}

// Counts reports, with the free count, the frames freed without the MP
// lock: what a check under the lock takes off the free count's growth.
func TestCountsFreedAlone(t *testing.T) {
	var a Allocator
	initLayout(t, &a)
	held := true
	Held = func() bool { return held }
	defer func() { Held = nil }()
	p1, p2 := a.Alloc(), a.Alloc()
	free0, alone0 := a.Counts()
	a.Free(p1) // under the MP lock
	held = false
	a.Free(p2) // without it
	free1, alone1 := a.Counts()
	if free1 != free0+2 || alone1 != alone0+1 {
		t.Fatalf("after one free under the MP lock and one without: free %d→%d, freed alone %d→%d; want +2, +1", free0, free1, alone0, alone1)
	}
}
