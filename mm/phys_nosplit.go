package mm

// The allocator's code runs in trap context and before the runtime starts:
// every function is nosplit and allocation-free.

import (
	"math/bits"
	"sync/atomic"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/fatal"
)

// PageSize is the size of a page frame.
const PageSize = 4096

// Held reports whether the caller holds the MP lock, which Alloc needs
// (see doc.go). The kernel sets it to a nosplit function once boot's
// single-CPU setup is done, before another CPU starts; nil (the host)
// skips the check.
var Held func() bool

// guard throws msg unless the caller holds the MP lock.
//
//go:nosplit
func guard(msg string) { fatal.Assert(Held == nil || Held(), msg) }

// Range is a span of physical addresses [Base, Base+Len).
type Range struct {
	Base, Len uint64
}

// End returns the first address past r.
//
//go:nosplit
func (r Range) End() uint64 { return r.Base + r.Len }

// Allocator is a bitmap page-frame allocator over [0, Limit).
type Allocator struct {
	// Guarded by lock, together with the bitmap words they summarise:
	// Alloc and Free change both.
	// hint is the word where the next search starts: the lowest word
	// with a free frame, or below it (lowest-first).
	hint uint64
	// free is the number of free frames: changed under lock, read
	// without it too (FreePages).
	free atomic.Uint64
	// freedAlone counts the frames freed by callers without the MP lock
	// (Counts).
	freedAlone uint64
	// lock is the bitmap's spin lock: 1 held. It is held for one search
	// or one bit, interrupts off, and never across a call out of the
	// allocator (reclaim runs without it), so a spinner waits little.
	lock atomic.Uint32

	// Written by Init on one CPU before any other starts; read-only after.
	bitmap    uintptr // address of the bitmap words (direct-mapped)
	words     uint64  // number of 64-bit words in the bitmap
	limit     uint64  // first physical address not covered
	total     uint64  // number of usable frames at Init
	bitmapLen uint64  // bytes used by the bitmap
	bitmapPA  uint64
	// The ranges Init was given, kept so that Free can refuse a frame it
	// never managed.
	avail, reserved   [MaxRanges]Range
	nAvail, nReserved int

	// The memory-pressure path (SetReclaim): reclaim is a funcval of
	// func() uint64 set once before other CPUs start; reclaiming, and
	// the counters, are guarded by the MP lock (Alloc's).
	reclaim        uintptr
	reclaiming     bool
	Reclaims       uint64 // times Alloc found no frame and called reclaim
	ReclaimedPages uint64 // frames reclaim gave back
}

// MaxRanges bounds the usable and the reserved ranges Init accepts.
const MaxRanges = 64

// Phys is the kernel's physical page allocator.
var Phys Allocator

//go:nosplit
func (a *Allocator) word(i uint64) *uint64 {
	return (*uint64)(Ptr(uint64(a.bitmap) + i*8))
}

// Init builds the allocator from the usable ranges avail, minus every range
// in reserved. It returns false when there are more than MaxRanges of
// either or no usable range can hold the bitmap. It runs before any other
// CPU starts, so it takes no guard.
//
//go:nosplit
func (a *Allocator) Init(avail []Range, reserved []Range) bool {
	if len(avail) > MaxRanges || len(reserved) > MaxRanges {
		return false
	}
	a.nAvail = copy(a.avail[:], avail)
	a.nReserved = copy(a.reserved[:], reserved)
	a.limit = 0
	for _, r := range avail {
		if r.End() > a.limit {
			a.limit = r.End()
		}
	}
	frames := a.limit / PageSize
	a.words = (frames + 63) / 64
	a.bitmapLen = (a.words*8 + PageSize - 1) &^ (PageSize - 1)

	// Carve the bitmap from the first usable stretch that avoids every
	// reserved range.
	found := false
	for _, r := range avail {
		base := (r.Base + PageSize - 1) &^ (PageSize - 1)
		if base == 0 {
			base = PageSize // frame 0 is never used
		}
		for base+a.bitmapLen <= r.End() {
			hit := overlapping(reserved, base, a.bitmapLen)
			if hit < 0 {
				a.bitmapPA, found = base, true
				break
			}
			base = (reserved[hit].End() + PageSize - 1) &^ (PageSize - 1)
		}
		if found {
			break
		}
	}
	if !found {
		return false
	}
	a.bitmap = DirectVA(a.bitmapPA)
	// Build the bitmap a word at a time (a frame-by-frame pass over a
	// large machine costs milliseconds at boot): set every frame lying
	// wholly inside a usable range, then clear frame 0, the bitmap's own
	// frames and every frame a reserved range touches. What is left is
	// exactly the frames managed() accepts.
	for i := uint64(0); i < a.words; i++ {
		*a.word(i) = 0
	}
	for _, r := range avail {
		a.setFrames((r.Base+PageSize-1)/PageSize, r.End()/PageSize, true)
	}
	a.setFrames(0, 1, false)
	a.setFrames(a.bitmapPA/PageSize, (a.bitmapPA+a.bitmapLen)/PageSize, false)
	for _, r := range reserved {
		hi := r.End() / PageSize // every frame the range touches
		if r.End()%PageSize != 0 {
			hi++
		}
		a.setFrames(r.Base/PageSize, hi, false)
	}
	a.free.Store(a.countFree())
	a.total = a.free.Load()
	a.hint = 0
	return true
}

// setFrames sets (set) or clears the bits of frames [lo, hi), clipped to
// the bitmap, whole words at a time where it can.
//
//go:nosplit
func (a *Allocator) setFrames(lo, hi uint64, set bool) {
	if max := a.words * 64; hi > max {
		hi = max
	}
	for f := lo; f < hi; {
		w := a.word(f / 64)
		bit := f % 64
		n := 64 - bit // bits left in this word
		if hi-f < n {
			n = hi - f
		}
		mask := ^uint64(0)
		if n < 64 {
			mask = (1<<n - 1) << bit
		}
		if set {
			*w |= mask
		} else {
			*w &^= mask
		}
		f += n
	}
}

// managed reports whether Init put the frame at pa under the allocator:
// inside a usable range, outside every reserved one and the bitmap, not 0.
//
//go:nosplit
func (a *Allocator) managed(pa uint64) bool {
	if pa == 0 || pa >= a.bitmapPA && pa < a.bitmapPA+a.bitmapLen {
		return false
	}
	// Ranging over the arrays, not slices of them, leaves no bounds
	// checks: this runs deep in nosplit chains (page fault -> Free).
	for i := range a.reserved {
		if i == a.nReserved {
			break
		}
		if r := a.reserved[i]; pa < r.End() && r.Base < pa+PageSize {
			return false
		}
	}
	for i := range a.avail {
		if i == a.nAvail {
			break
		}
		if r := a.avail[i]; pa >= r.Base && pa+PageSize <= r.End() {
			return true
		}
	}
	return false
}

//go:nosplit
func overlapping(rs []Range, base, n uint64) int {
	for i, r := range rs {
		if base < r.End() && r.Base < base+n {
			return i
		}
	}
	return -1
}

// Alloc returns the physical address of a zeroed free page, or 0 when
// memory is exhausted. The caller holds the MP lock (doc.go says why).
//
//go:nosplit
func (a *Allocator) Alloc() uint64 {
	// Alloc is at the bottom of the deepest nosplit chain (a page table
	// for a fault while a signal frame is written): its checks are
	// inline, not in a callee, to fit the linker's stack bound.
	if Held != nil && !Held() {
		fatal.Throw("mm: Alloc without the MP lock")
	}
	pa := a.allocFrame()
	if pa == 0 && a.reclaim != 0 && !a.reclaiming {
		a.reclaimFrames()
		pa = a.allocFrame()
	}
	if pa == noBit {
		fatal.Throw("mm: bitmap-truth: free count above zero but no free bit")
	}
	if pa == 0 {
		return 0
	}
	zeroPage(uintptr(pa))
	return pa
}

// AllocDirty is Alloc without the zeroing: for a caller that zeroes the
// frame itself, outside every lock (Zero), before anyone reads it.
//
//go:nosplit
func (a *Allocator) AllocDirty() uint64 {
	guard("mm: AllocDirty without the MP lock")
	pa := a.allocFrame()
	if pa == 0 || pa == noBit {
		return a.Alloc() // empty: Alloc reclaims, and zeroes what it finds
	}
	return pa
}

// Zero fills the frame at pa with zeros. It needs no lock: the frame is
// the caller's.
//
//go:nosplit
func Zero(pa uint64) { zeroPage(uintptr(pa)) }

// reclaimFrames asks the caches to give back what they hold: memory
// pressure (not recursively: reclaim's own frees need no frame). Its own
// function: Alloc's frame is at the bottom of the deepest nosplit chain.
//
//go:nosplit
func (a *Allocator) reclaimFrames() {
	a.reclaiming = true
	free0, alone0 := a.Counts()
	callReclaim(a.reclaim)
	free1, alone1 := a.Counts()
	a.Reclaims++
	a.ReclaimedPages += free1 - free0 - (alone1 - alone0) // not what other CPUs freed meanwhile
	a.reclaiming = false
}

// callReclaim runs the reclaim funcval fv.
//
//go:nosplit
func callReclaim(fv uintptr) uint64 {
	return (*(*func() uint64)(unsafe.Pointer(&fv)))()
}

//go:nosplit
func (a *Allocator) allocFrame() uint64 {
	a.take()
	pa := uint64(0)
	for n := uint64(0); n < a.words && a.free.Load() != 0; n++ {
		i := a.hint + n // lowest-first keeps nothing free below hint: no wrap but a defensive one
		if i >= a.words {
			i -= a.words
		}
		w := a.word(i)
		if *w == 0 {
			continue
		}
		bit := uint64(bits.TrailingZeros64(*w))
		*w &^= 1 << bit
		a.free.Add(^uint64(0))
		a.hint = i
		pa = (i*64 + bit) * PageSize
		break
	}
	if pa == 0 && a.free.Load() != 0 {
		pa = noBit // Alloc throws: allocFrame's chain has no room for it
	}
	a.lock.Store(0)
	return pa
}

// noBit is what allocFrame returns when the free count is above zero but
// no bit is set: two owners may hold a frame already (bitmap-truth).
const noBit = 1

// take spins for a's lock.
//
//go:nosplit
func (a *Allocator) take() {
	for !a.lock.CompareAndSwap(0, 1) {
		amd64.Pause()
	}
}

// Free returns the page at pa to the allocator; it needs no MP lock
// (doc.go). Freeing a frame that is free already (no-double-free) or
// that Init never managed is a kernel bug, so Free throws: only page
// tables hand frames back, never a system call's argument.
//
//go:nosplit
func (a *Allocator) Free(pa uint64) {
	a.checkManaged(pa)
	alone := Held != nil && !Held()
	a.take()
	double := a.freeLocked(pa, alone)
	a.lock.Store(0)
	fatal.Assert(!double, "mm: no-double-free: page frame freed twice")
}

// FreeBatch is Free of every frame in pas under one hold of the
// allocator's lock (a dying address space's teardown); it stops at a
// frame that is free already, and throws.
//
//go:nosplit
func (a *Allocator) FreeBatch(pas []uint64) {
	if len(pas) == 0 {
		return
	}
	for _, pa := range pas {
		a.checkManaged(pa)
	}
	alone := Held != nil && !Held()
	double := false
	a.take()
	for _, pa := range pas {
		if double = a.freeLocked(pa, alone); double {
			break
		}
	}
	a.lock.Store(0)
	fatal.Assert(!double, "mm: no-double-free: page frame freed twice")
}

// checkManaged throws unless pa is a frame Init managed; before a's
// lock is taken, so that a throw leaves it free.
//
//go:nosplit
func (a *Allocator) checkManaged(pa uint64) {
	fatal.Assert(pa%PageSize == 0 && pa < a.limit && a.managed(pa),
		"mm: Free of a frame the allocator does not manage")
}

// freeLocked marks the managed frame at pa free and counts it (alone:
// freed without the MP lock), unless it is free already: then it changes
// nothing and reports the double free. The caller holds a's lock.
//
//go:nosplit
func (a *Allocator) freeLocked(pa uint64, alone bool) (double bool) {
	f := pa / PageSize
	w := a.word(f / 64)
	if *w&(1<<(f%64)) != 0 {
		return true
	}
	*w |= 1 << (f % 64)
	a.hint = min(a.hint, f/64) // lowest-first: see doc.go
	a.free.Add(1)
	if alone {
		a.freedAlone++
	}
	return false
}

// FreePages returns the number of free frames. Read without the guard
// (statistics), it may be stale.
//
//go:nosplit
func (a *Allocator) FreePages() uint64 { return a.free.Load() }

// Counts returns the free frames and how many frames callers without the
// MP lock have freed since boot, read together. A check under the MP lock
// that counts frames (every Alloc needs the lock, but a process's memory
// call may free without it) takes the second's growth off the first's.
//
//go:nosplit
func (a *Allocator) Counts() (free, freedAlone uint64) {
	a.take()
	free, freedAlone = a.free.Load(), a.freedAlone
	a.lock.Store(0)
	return free, freedAlone
}

// TotalPages returns the number of frames the allocator managed at Init.
//
//go:nosplit
func (a *Allocator) TotalPages() uint64 { return a.total }

// Bitmap returns where the bitmap lives, for the memory map listing.
//
//go:nosplit
func (a *Allocator) Bitmap() Range { return Range{a.bitmapPA, a.bitmapLen} }

// IsFree reports whether the frame at pa is free.
//
//go:nosplit
func (a *Allocator) IsFree(pa uint64) bool {
	f := pa / PageSize
	if pa >= a.limit {
		return false
	}
	return *a.word(f / 64)&(1<<(f%64)) != 0
}

// SelfTest checks bitmap-truth and zeroed on the live allocator, with one
// Alloc/Free round trip; a broken invariant throws. It returns an error
// only when no frame is free to test with. The caller holds the MP lock:
// the test is nosplit and allocation-free so that it can run under it.
//
//go:nosplit
func (a *Allocator) SelfTest() error {
	guard("mm: SelfTest without the MP lock")
	a.take()
	same := a.countFree() == a.free.Load()
	a.lock.Store(0)
	fatal.Assert(same, "mm: bitmap-truth: free count differs from the bits set")
	pa := a.Alloc()
	if pa == 0 {
		return errNoFrame
	}
	fatal.Assert(!a.IsFree(pa), "mm: bitmap-truth: an allocated frame is marked free")
	fatal.Assert(isZero(pa), "mm: zeroed: Alloc returned a page that is not zero")
	a.Free(pa)
	return nil
}

// countFree counts set bits, for SelfTest.
//
//go:nosplit
func (a *Allocator) countFree() uint64 {
	var n uint64
	for i := uint64(0); i < a.words; i++ {
		n += uint64(bits.OnesCount64(*a.word(i)))
	}
	return n
}

//go:nosplit
func zeroPage(p uintptr) {
	pg := (*[PageSize / 8]uint64)(Direct(uint64(p)))
	for i := range pg {
		pg[i] = 0
	}
}

//go:nosplit
func isZero(pa uint64) bool {
	for _, w := range (*[PageSize / 8]uint64)(Direct(pa)) {
		if w != 0 {
			return false
		}
	}
	return true
}
