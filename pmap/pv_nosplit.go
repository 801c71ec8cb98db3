package pmap

// PV entries, as the NetBSD design mail proposes (shared/design/pmap.md
// §3–4, option A): a managed mapping (pmap, va → page) has one PV entry,
// on two lists at once — its page's (physical to virtual: who maps this
// page) and its map entry's (virtual to physical, and the ready-made walk
// a dying address space's teardown takes instead of its page tables).
// No global hash: a mapping's PV is found from its page (few mappings
// each) or its entry.
//
// Below the runtime. A map entry's list is guarded by its pmap's guard;
// every page's list and the slab by pvLock, a leaf lock: a process's
// memory call unlinks PVs from pages fork shared with other address
// spaces under its own pmap's lock and this one, without the MP lock.
// PV entries come from this package's own slab of mm frames: pmap sits
// below objcache in the layers.

import (
	"sync/atomic"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/fatal"
	"gofly/mm"
)

// Managed marks a leaf whose mapping has a PV entry (a software bit the
// CPU ignores, as NetBSD's PG_PVLIST).
const Managed = 1 << 9

// PVList is the head of a map entry's PV list: circular and doubly
// linked, in no particular order. The map entry holds it by value and may
// be copied or moved freely: no PV points at the head.
type PVList struct {
	head uintptr // a PV of the list, 0: empty
	n    uint64  // PVs on the list
}

// Len returns the number of PVs on l.
//
//go:nosplit
func (l *PVList) Len() uint64 { return l.n }

// pv is one managed mapping.
type pv struct {
	pm         uintptr // the *Pmap
	va         uintptr
	pa         uint64
	pageNext   uintptr // next PV of the same page
	next, prev uintptr // the entry's list
}

const pvSize = unsafe.Sizeof(pv{})

// pvs is the PV slab: a free list threaded through pv.next, refilled a
// frame at a time (under the MP lock, which mm's Alloc needs). Guarded by
// pvLock.
var pvs struct {
	free   uintptr
	pages  uint64 // frames the slab took from mm
	leaves uint64 // frames of page-list heads (pageDir's leaves)
	live   uint64 // PVs in use
}

// PVStats returns the PVs in use and the frames the PV bookkeeping holds
// (the slab and the pages' list heads); they stay with it.
//
//go:nosplit
func PVStats() (live, frames uint64) { return pvs.live, pvs.pages + pvs.leaves }

// ResetPV forgets every PV and page list: for a host test that
// re-initialises mm.Phys, which takes their frames back.
func ResetPV() {
	pvs.free, pvs.pages, pvs.leaves, pvs.live = 0, 0, 0, 0
	clear(pageDir[:])
}

//go:nosplit
func pvAt(a uintptr) *pv { return (*pv)(mm.Direct(uint64(a))) }

// pvLock guards pvs and every page's PV list: 1 held. Interrupts are off
// while it is held, for one list walk, never across a call to mm or a
// wait for anything else.
var pvLock atomic.Uint32

//go:nosplit
func lockPVs() {
	for !pvLock.CompareAndSwap(0, 1) {
		amd64.Pause()
	}
}

//go:nosplit
func unlockPVs() { pvLock.Store(0) }

// pvAlloc returns a zeroed PV, or 0 when the slab is empty and grow is
// off (the caller holds no MP lock) or mm has no frame.
//
//go:nosplit
func pvAlloc(grow bool) uintptr {
	lockPVs()
	if pvs.free == 0 {
		unlockPVs()
		if !grow {
			return 0
		}
		page := mm.Phys.Alloc()
		if page == 0 {
			return 0
		}
		lockPVs()
		pvs.pages++
		for off := uint64(0); off+uint64(pvSize) <= mm.PageSize; off += uint64(pvSize) {
			a := uintptr(page + off)
			pvAt(a).next = pvs.free
			pvs.free = a
		}
	}
	a := pvs.free
	pvs.free = pvAt(a).next
	pvs.live++
	unlockPVs()
	*pvAt(a) = pv{}
	return a
}

// pvFreeLocked puts PV a back (pvAlloc zeroes it when it hands it out
// again). The caller holds pvLock.
//
//go:nosplit
func pvFreeLocked(a uintptr) {
	fatal.Assert(pvs.live != 0, "pmap: pv: freeing more PVs than were allocated")
	pvAt(a).next = pvs.free
	pvs.free = a
	pvs.live--
}

// The pages' PV list heads: a two-level table by frame number, whose
// leaves (a frame of 512 heads each) are allocated on first use.
const (
	headsPerLeaf = mm.PageSize / 8
	maxFrames    = 1 << 25 // 128 GiB of physical addresses
)

var pageDir [maxFrames / headsPerLeaf]uint64

// pageHead returns the PV list head of the page at pa, nil if its leaf
// does not exist yet.
//
//go:nosplit
func pageHead(pa uint64) *uintptr {
	f := pa >> 12
	fatal.Assert(f < maxFrames, "pmap: pv: a managed page above the PV table's reach")
	d := pageDir[(f/headsPerLeaf)&(uint64(len(pageDir))-1)]
	if d == 0 {
		return nil
	}
	return (*uintptr)(mm.Direct(d + (f%headsPerLeaf)*8))
}

// makePageHead is pageHead that allocates the leaf if need be (nil when
// mm has no frame).
//
//go:nosplit
func makePageHead(pa uint64) *uintptr {
	if h := pageHead(pa); h != nil {
		return h
	}
	leaf := mm.Phys.Alloc()
	if leaf == 0 {
		return nil
	}
	pvs.leaves++
	pageDir[(pa>>12/headsPerLeaf)&(uint64(len(pageDir))-1)] = leaf
	return pageHead(pa)
}

// Mappings returns how many managed mappings the page at pa has. The
// caller holds the MP lock: no other CPU can add one meanwhile (they are
// added under it, but for a fresh page's first), nor remove one of a page
// with two or more (vm.Map.Alone).
//
//go:nosplit
func Mappings(pa uint64) int {
	guard("pmap: Mappings without the MP lock")
	h := pageHead(pa)
	n := 0
	lockPVs()
	for a := uintptr(0); h != nil; {
		if a == 0 {
			a = *h
		} else {
			a = pvAt(a).pageNext
		}
		if a == 0 {
			break
		}
		n++
	}
	unlockPVs()
	return n
}

// link puts PV a on l.
//
//go:nosplit
func (l *PVList) link(a uintptr) {
	v := pvAt(a)
	if l.head == 0 {
		v.next, v.prev = a, a
		l.head = a
	} else {
		h := pvAt(l.head)
		v.next, v.prev = l.head, h.prev
		pvAt(h.prev).next = a
		h.prev = a
	}
	l.n++
}

// unlink takes PV a off l.
//
//go:nosplit
func (l *PVList) unlink(a uintptr) {
	fatal.Assert(l.n != 0, "pmap: pv: unlinking from an empty entry list")
	v := pvAt(a)
	if v.next == a {
		l.head = 0
	} else {
		pvAt(v.prev).next = v.next
		pvAt(v.next).prev = v.prev
		if l.head == a {
			l.head = v.next
		}
	}
	v.next, v.prev = 0, 0
	l.n--
}

// Split moves the PVs of l at or above va to the list it returns: a map
// entry clipped at va.
//
//go:nosplit
func (l *PVList) Split(va uintptr) PVList {
	var hi PVList
	for k := l.n; k > 0 && l.head != 0; k-- {
		a := l.head
		l.head = pvAt(a).next // rotate: every PV passes the head once
		if pvAt(a).va >= va {
			l.unlink(a)
			hi.link(a)
		}
	}
	return hi
}

// Append moves every PV of o onto l: map entries merged. o is empty after.
//
//go:nosplit
func (l *PVList) Append(o *PVList) {
	if o.head == 0 {
		return
	}
	if l.head == 0 {
		*l = *o
	} else {
		h, oh := pvAt(l.head), pvAt(o.head)
		lt, ot := h.prev, oh.prev
		pvAt(lt).next = o.head
		oh.prev = lt
		pvAt(ot).next = l.head
		h.prev = ot
		l.n += o.n
	}
	*o = PVList{}
}

// addPV records the mapping va → pa of p on the page's list and l; false
// when the PV or the page's head needs a frame and grow is off, or mm has
// none.
//
//go:nosplit
func (p *Pmap) addPV(va uintptr, pa uint64, l *PVList, grow bool) bool {
	h := pageHead(pa)
	if h == nil && grow {
		h = makePageHead(pa)
	}
	if h == nil {
		return false
	}
	a := pvAlloc(grow)
	if a == 0 {
		return false
	}
	v := pvAt(a)
	v.pm, v.va, v.pa = uintptr(unsafe.Pointer(p)), va, pa&addrMask
	l.link(a)
	lockPVs()
	v.pageNext = *h
	*h = a
	unlockPVs()
	return true
}

// dropPV removes p's PV for its mapping of va to pa (on l) from both its
// lists and frees it; it reports whether the page has no managed mapping
// left (its frame is then free to go: an anonymous page belongs to its
// mappings).
//
//go:nosplit
func (p *Pmap) dropPV(va uintptr, pa uint64, l *PVList) (last bool) {
	lockPVs()
	a := p.findPV(va, pa)
	fatal.Assert(a != 0, "pmap: pv: a managed leaf without its PV")
	l.unlink(a)
	last = unlinkPage(a)
	pvFreeLocked(a)
	unlockPVs()
	return last
}

// unlinkPage takes PV a off its page's list and reports whether the list
// is empty after. The caller holds pvLock.
//
//go:nosplit
func unlinkPage(a uintptr) bool {
	v := pvAt(a)
	// pageHead inlined, without its range check (a PV's page passed it
	// when the PV was made): a copy-on-write break during a signal
	// frame's write reaches here at the nosplit bound.
	f := v.pa >> 12
	d := pageDir[(f/headsPerLeaf)&(uint64(len(pageDir))-1)]
	fatal.Assert(d != 0, "pmap: pv: a PV whose page has no list")
	h := (*uintptr)(mm.Direct(d + (f%headsPerLeaf)*8))
	for at := h; ; {
		fatal.Assert(*at != 0, "pmap: pv: a PV missing from its page's list")
		if *at == a {
			*at = v.pageNext
			break
		}
		at = &pvAt(*at).pageNext
	}
	return *h == 0
}

// Hold records that an owner other than a mapping — a VM object, which
// tag names — holds the page at pa: a PV with no pmap on the page's list
// alone, so that the page's last mapping going does not free the frame.
// False when mm has no frame for the PV or the page's list head. The
// caller holds the MP lock.
//
//go:nosplit
func Hold(pa uint64, tag uintptr) bool {
	guard("pmap: Hold without the MP lock")
	h := makePageHead(pa)
	if h == nil {
		return false
	}
	a := pvAlloc(true)
	if a == 0 {
		return false
	}
	v := pvAt(a)
	v.va, v.pa = tag, pa&addrMask
	lockPVs()
	v.pageNext = *h
	*h = a
	unlockPVs()
	return true
}

// Release drops tag's hold on the page at pa and reports whether nothing
// maps or holds the page any more: its frame is then the caller's to
// free. The caller holds the MP lock.
//
//go:nosplit
func Release(pa uint64, tag uintptr) bool {
	guard("pmap: Release without the MP lock")
	h := pageHead(pa)
	fatal.Assert(h != nil, "pmap: Release of a page nothing holds")
	lockPVs()
	a := *h
	for a != 0 && (pvAt(a).pm != 0 || pvAt(a).va != tag) {
		a = pvAt(a).pageNext
	}
	fatal.Assert(a != 0, "pmap: Release of a page the tag does not hold")
	last := unlinkPage(a)
	pvFreeLocked(a)
	unlockPVs()
	return last
}

// FirstMapping returns one mapping of the page at pa, holds left out:
// the address of its Pmap and its address there; 0, 0 when it has none.
// Removing the mappings it returns one by one is the P→V walk that
// takes a page out of every address space. The caller holds the MP lock.
//
//go:nosplit
func FirstMapping(pa uint64) (pm, va uintptr) {
	guard("pmap: FirstMapping without the MP lock")
	h := pageHead(pa)
	if h == nil {
		return 0, 0
	}
	lockPVs()
	for a := *h; a != 0; a = pvAt(a).pageNext {
		if v := pvAt(a); v.pm != 0 {
			unlockPVs()
			return v.pm, v.va
		}
	}
	unlockPVs()
	return 0, 0
}

// shared reports whether the page at pa has more than one PV (mappings
// or holds).
//
//go:nosplit
func shared(pa uint64) bool {
	h := pageHead(pa)
	if h == nil {
		return false
	}
	lockPVs()
	two := *h != 0 && pvAt(*h).pageNext != 0
	unlockPVs()
	return two
}

// findPV returns the PV of p's mapping at va of the page at pa, or 0.
// The caller holds pvLock.
//
//go:nosplit
func (p *Pmap) findPV(va uintptr, pa uint64) uintptr {
	h := pageHead(pa)
	if h == nil {
		return 0
	}
	me := uintptr(unsafe.Pointer(p))
	for a := *h; a != 0; a = pvAt(a).pageNext {
		if v := pvAt(a); v.pm == me && v.va == va {
			return a
		}
	}
	return 0
}

// CheckList checks the PVs of l, the list of p's map entry [start, end):
// each maps a page of p inside the range through a present managed leaf
// to its frame, is on that page's list exactly once, and there are as
// many as managed leaves in the range. A broken invariant throws. The
// caller holds the guard.
//
//go:nosplit
func (p *Pmap) CheckList(l *PVList, start, end uintptr) {
	p.guard("pmap: CheckList without the pmap's lock")
	me := uintptr(unsafe.Pointer(p))
	a := l.head
	for k := uint64(0); k < l.n; k++ {
		fatal.Assert(a != 0, "pmap: pv: an entry list shorter than its count")
		v := pvAt(a)
		fatal.Assert(v.pm == me && v.va >= start && v.va < end, "pmap: pv: a PV outside its entry or of another pmap")
		fl := p.Flags(v.va)
		pa, ok := p.Extract(v.va)
		fatal.Assert(ok && fl&Managed != 0 && pa&addrMask == v.pa, "pmap: pv: a PV without its present managed leaf")
		seen := 0
		lockPVs()
		for b := *pageHead(v.pa); b != 0; b = pvAt(b).pageNext {
			if b == a {
				seen++
			}
		}
		unlockPVs()
		fatal.Assert(seen == 1, "pmap: pv: a PV not exactly once on its page's list")
		fatal.Assert(pvAt(v.next).prev == a, "pmap: pv: an entry list's links disagree")
		a = v.next
	}
	fatal.Assert(a == l.head, "pmap: pv: an entry list longer than its count")
	fatal.Assert(p.visit(start, p.limit(end), 0, opCountManaged, nil) == l.n, "pmap: pv: managed leaves without a PV on their entry's list")
}

// Upgrade gives p's present leaf at va the flags flags (its frame and
// Managed bit kept): a copy-on-write page left with one mapping becomes
// writable in place. Only for raising rights: no CPU needs a flush. The
// caller holds the guard.
//
//go:nosplit
func (p *Pmap) Upgrade(va uintptr, flags uint64) {
	p.guard("pmap: Upgrade without the pmap's lock")
	e, ok := p.walk(va, 0)
	fatal.Assert(ok && e != nil && *e&Present != 0, "pmap: Upgrade of an absent page")
	*e = *e&(addrMask|Managed) | flags&^Managed&flagsMask | Present
	if p.invlpg {
		amd64.Invlpg(va)
	}
}

// Remap moves p's managed mapping at va (on l) to frame pa with flags: a
// copy-on-write break gives the writer its own copy. The old page keeps
// its other mappings; it must have some (the caller's copy came from it,
// and a page with two mappings loses one only under the MP lock, which
// the caller holds: see vm.Map.Alone). False when mm has no frame for
// the new page's list head. The caller holds the guard, and shoots the
// old translation down on other CPUs.
//
//go:nosplit
func (p *Pmap) Remap(va uintptr, pa uint64, flags uint64, l *PVList) bool {
	p.guard("pmap: Remap without the pmap's lock")
	guard("pmap: Remap without the MP lock: the old page's list is shared")
	e, ok := p.walk(va, 0)
	fatal.Assert(ok && e != nil && *e&(Present|Managed) == Present|Managed, "pmap: Remap of a page with no managed mapping")
	h := makePageHead(pa)
	if h == nil {
		return false
	}
	old := *e & addrMask
	lockPVs()
	a := p.findPV(va, old)
	fatal.Assert(a != 0, "pmap: pv: a managed leaf without its PV")
	last := unlinkPage(a)
	v := pvAt(a)
	v.pa = pa & addrMask
	v.pageNext = *h
	*h = a
	unlockPVs()
	fatal.Assert(!last, "pmap: Remap of a page's last mapping")
	*e = pa&addrMask | flags&^Managed&flagsMask | Present | Managed
	p.flush(va)
	return true
}

// ShareRange enters in c, over c's entry list cl, every managed page p
// maps in [start, end) (on p's entry list pl). With cow, read-only, and
// it write-protects p's own mapping: fork's copy-on-write, page by page,
// so each page gains a mapping and a PV; without, with p's flags (a
// shared mapping's pages stay shared). False when mm runs out (c then
// holds what was shared so far; its teardown frees it). The caller holds
// the guard and shoots p's downgraded translations down on other CPUs.
//
//go:nosplit
func (p *Pmap) ShareRange(pl *PVList, c *Pmap, cl *PVList, start, end uintptr, cow bool) bool {
	p.guard("pmap: ShareRange without the pmap's lock")
	c.guard("pmap: ShareRange without the child's lock")
	guard("pmap: ShareRange without the MP lock: the pages' lists are shared")
	a := pl.head
	for k := pl.n; k > 0; k-- {
		v := pvAt(a)
		a = v.next
		if v.va < start || v.va >= end {
			continue
		}
		e, ok := p.walk(v.va, 0)
		fatal.Assert(ok && e != nil, "pmap: pv: a PV without its leaf")
		if cow {
			*e &^= Writable
			p.flush(v.va)
		}
		if !c.enter(v.va, v.pa, *e&flagsMask&^Managed&^Present, cl, true) {
			return false
		}
	}
	return true
}
