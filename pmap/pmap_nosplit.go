package pmap

// Page-table code runs from the page-fault handler and system calls below
// the runtime: nosplit and allocation-free throughout.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/fatal"
	"gofly/mm"
)

// PTE bits (Intel SDM vol. 3, 4.5).
const (
	Present  = 1 << 0
	Writable = 1 << 1
	User     = 1 << 2
	Accessed = 1 << 5
	Dirty    = 1 << 6
	Large    = 1 << 7 // 2 MiB page in a PD entry
	Global   = 1 << 8
	NoExec   = 1 << 63

	addrMask  = 0x000F_FFFF_FFFF_F000
	flagsMask = ^uint64(addrMask)
)

const (
	pageSize  = 4096
	largeSize = 2 << 20
)

// Pmap is one address space's page tables.
type Pmap struct {
	// Guarded by the pmap's guard (see guard), together with the
	// page-table pages below root: Enter, EnterLarge, Remove and Protect
	// change them.
	resident uint64 // 4 KiB leaf pages entered and not yet removed
	peak     uint64 // the most resident has been (a process's ru_maxrss)
	tables   uint64 // page-table pages allocated

	// Written by Init or InitUser before the Pmap is shared; read-only
	// after.
	root   uint64 // physical address of the PML4
	invlpg bool   // flush TLB entries (false only in host tests)
	user   bool   // a process's address space (InitUser): tables carry U

	// dying is set by RemoveAll (guard): RemoveDying's shortcut, not RemovePV.
	dying bool

	// id names a user pmap to the CPUs' PCID tags (InitUser: never 0,
	// never reused); gen counts its invalidations (flush). See
	// pcid_nosplit.go.
	id  uint64
	gen atomic.Uint64

	// lock is a process's pmap's own lock (TryLock): its holder's CPU
	// index + 1, 0 when free. The kernel's pmap does not use it.
	lock atomic.Uint32

	// active has a bit per CPU holding this address space's root in CR3,
	// which may cache its translations (it keeps them after a trap from
	// ring 3: package sys): Activate sets it before the CR3 load,
	// Deactivate clears it once the CPU has loaded another, as
	// DragonFly's pm_active. That load dropped p's translations, or,
	// with PCIDs, left them under a tag the CPU does not use until it
	// loads p again, with a flush if p.gen has moved (pcid_nosplit.go).
	active atomic.Uint64
}

// Activate and Deactivate track the CPUs that may cache p's
// translations: see Pmap.active.
//
//go:nosplit
func (p *Pmap) Activate(cpu int) { p.active.Or(1 << (uint(cpu) % amd64.MaxCPUs)) }

// Deactivate: see Activate.
//
//go:nosplit
func (p *Pmap) Deactivate(cpu int) { p.active.And(^(1 << (uint(cpu) % amd64.MaxCPUs))) }

// Active returns the CPUs running p, read with a locked instruction, a
// full fence: the caller's page-table stores (and its bump of p.gen,
// flush) are visible before the read, so a CPU it does not see loads p's
// CR3 after those stores, and, with PCIDs, sees the new generation and
// flushes p's tag: it cannot use what they removed.
//
//go:nosplit
func (p *Pmap) Active() uint64 { return p.active.Or(0) }

// KernelHalf is the first PML4 slot of the upper (kernel) half: a user
// address space owns slots [0, KernelHalf) and shares the kernel's
// tables for the rest.
const KernelHalf = 256

// userEnd is the end of a user address space's own half: Enter refuses,
// and Remove and Protect stop at, addresses from here up, whose tables
// are the kernel's.
const userEnd = uintptr(KernelHalf) << 39

// limit clamps end to what p may change: its own half, for a user space.
//
//go:nosplit
func (p *Pmap) limit(end uintptr) uintptr {
	if p.user && end > userEnd {
		return userEnd
	}
	return end
}

// NXEnabled records whether EFER.NXE is on; NoExec is only legal then.
// Written at boot before another CPU starts; read-only after.
var NXEnabled bool

// Held reports whether the caller holds the MP lock: the kernel pmap's
// guard, and what a change to pages other address spaces may map needs
// (their lists, mm's frames). The kernel sets it to a nosplit function
// once boot's single-CPU setup is done, before another CPU starts; nil
// (the host) skips every check.
var Held func() bool

// guard throws msg unless the caller holds the MP lock.
//
//go:nosplit
func guard(msg string) { fatal.Assert(Held == nil || Held(), msg) }

// guard throws msg unless the caller holds p's guard: a process's pmap's
// own lock (with or without the MP lock: a demand-zero fault takes only
// this one), the MP lock for the kernel's.
//
//go:nosplit
func (p *Pmap) guard(msg string) {
	if Held == nil {
		return
	}
	if p.user {
		fatal.Assert(p.Locked(), msg)
		return
	}
	fatal.Assert(Held(), msg)
}

// lockWord is this CPU's index + 1, what a lock it holds contains; 1 on
// the host (Held nil), which has no per-CPU block to read it from.
//
//go:nosplit
func lockWord() uint32 {
	if Held == nil {
		return 1
	}
	return uint32(amd64.CPU()) + 1
}

// TryLock takes a process's pmap's lock if it is free; the caller (vm)
// spins. Interrupts are off: the holder never waits for anything while
// it holds it, so a spinner never waits long.
//
//go:nosplit
func (p *Pmap) TryLock() bool { return p.lock.CompareAndSwap(0, lockWord()) }

// Locked reports whether this CPU holds p's lock.
//
//go:nosplit
func (p *Pmap) Locked() bool { return p.lock.Load() == lockWord() }

// Unlock releases p's lock, which this CPU holds.
//
//go:nosplit
func (p *Pmap) Unlock() {
	fatal.Assert(p.Locked(), "pmap: unlock of a pmap this CPU does not hold")
	p.lock.Store(0)
}

// Init makes p use the PML4 at root. flush says whether changes must be
// flushed from this CPU's TLB (p is the live address space). It runs
// before p is shared, so it takes no guard.
//
//go:nosplit
func (p *Pmap) Init(root uint64, flush bool) {
	p.root = root
	p.invlpg = flush
}

// ReserveTop makes the root's entries for [start, end) in the upper half
// point at page directory pointer tables, allocating those missing: the
// kernel's before any process's address space copies the upper half
// (InitUser), so that what the kernel maps there later is in every
// address space. False when mm has no frame. Before other CPUs start.
//
//go:nosplit
func (p *Pmap) ReserveTop(start, end uintptr) bool {
	for va := start; va < end && va >= start; va += 1 << 39 {
		if e := entry(p.root, index(va, 3)); *e&Present == 0 && !p.addTable(e, mm.Phys.Alloc()) {
			return false
		}
	}
	return true
}

// DropLow unmaps the kernel's lower half: the boot's identity map, which
// only the boot and the processors' start-up use (its tables stay: the
// direct map in the upper half shares them). After it, a kernel access to
// a low address faults whatever address space is loaded. The caller holds
// the MP lock and requests the other CPUs' shootdown.
//
//go:nosplit
func (p *Pmap) DropLow() {
	guard("pmap: DropLow without the MP lock")
	fatal.Assert(!p.user, "pmap: DropLow of a process's address space")
	for i := uintptr(0); i < KernelHalf; i++ {
		*entry(p.root, i) = 0
	}
	if p.invlpg {
		FlushTLB() // this CPU's
	}
}

// InitUser makes p a process's address space over root, a zeroed frame
// from mm.Phys that p owns from now on: its lower half starts empty, and
// its upper half points at the same tables as kernel's, which p never
// changes or frees. Table entries p adds in its lower half carry U, so a
// leaf's own U bit decides user access. Changes are INVLPG'd on the
// caller's CPU as the kernel's are (when kernel's are: not on the host):
// it may hold p's root while it serves p's calls (CR3 is kept lazily
// after a trap from ring 3), and a shootdown reaches only the other CPUs.
// The caller holds the guard.
//
//go:nosplit
func (p *Pmap) InitUser(root uint64, kernel *Pmap) {
	guard("pmap: InitUser without the MP lock")
	p.root, p.invlpg, p.user, p.dying = root, kernel.invlpg, true, false
	p.id = nextID.Add(1)
	p.resident, p.peak, p.tables = 0, 0, 0
	for i := uintptr(KernelHalf); i < 512; i++ {
		*entry(root, i) = *entry(kernel.root, i)
	}
}

// RemoveAll says every mapping of p is about to go (its process is
// exiting): from now on RemoveDying only unlinks PV entries and frees
// their pages, touching no page table and flushing nothing, and Destroy frees
// the tables in bulk without reading their leaves. Nothing may run in p,
// and nothing may be entered in it after. The caller holds the guard.
//
//go:nosplit
func (p *Pmap) RemoveAll() {
	p.guard("pmap: RemoveAll without the pmap's lock")
	fatal.Assert(p.user, "pmap: RemoveAll of the kernel's address space")
	p.dying = true
}

// Destroy frees everything a user address space owns: every frame
// mapped in its lower half (after RemoveAll, every managed one is gone
// already, and leaves are not read), every lower-half page table and the
// root — the NetBSD mail's bulk teardown, with no per-page TLB flush. The
// precondition that makes that safe: no CPU has p loaded, nor has since
// its last CR3 load elsewhere (the caller's process has no thread left
// running in it). The upper half's tables are the kernel's and stay. The
// caller holds the guard; p is unusable after.
//
//go:nosplit
func (p *Pmap) Destroy() {
	p.guard("pmap: Destroy without the pmap's lock")
	fatal.Assert(p.user, "pmap: Destroy of the kernel's address space")
	fatal.Assert(!p.dying || p.resident == 0, "pmap: resident: pages left after RemoveAll's PV teardown")
	for i := uintptr(0); i < KernelHalf; i++ {
		p.freeTable(entry(p.root, i), 3)
	}
	fatal.Assert(p.resident == 0 && p.tables == 0, "pmap: resident: Destroy left pages or tables counted")
	mm.Phys.Free(p.root)
	p.root = 0
}

// freeTable frees the table the level-l entry e points at (l 3: a PDPT,
// 2: a PD, 1: a PT) with everything below it, and clears e. Iterative:
// a cursor per level, no recursion below the runtime.
//
//go:nosplit
func (p *Pmap) freeTable(e *uint64, l uint) {
	if *e&Present == 0 {
		return
	}
	var tab [4]uint64   // tab[k]: the level-k table being emptied (k >= 1)
	var next [4]uintptr // next[k]: its next entry to look at
	top := l
	tab[top], next[top] = *e&addrMask, 0
	*e = 0
	for k := top; k <= top; {
		// A dying pmap's leaves went with their PVs (RemoveDying): its page
		// tables go without a look at them.
		if next[k] == 512 || k == 1 && p.dying {
			p.tables--
			mm.Phys.Free(tab[k])
			k++
			continue
		}
		ep := entry(tab[k], next[k])
		next[k]++
		v := *ep
		if v&Present == 0 {
			continue
		}
		*ep = 0
		if k == 1 {
			fatal.Assert(v&Managed == 0, "pmap: pv: Destroy of a managed page without RemoveAll")
			fatal.Assert(p.resident != 0, "pmap: resident: a user page Enter never entered")
			p.resident--
			mm.Phys.Free(v & addrMask)
			continue
		}
		fatal.Assert(v&Large == 0, "pmap: Destroy: a large page in a user address space")
		k--
		tab[k], next[k] = v&addrMask, 0
	}
}

// prune frees the page tables of a process's address space that removing
// [va, end) left empty: a page table with no entry, then the directory
// and the PDPT above it if that empties them (the root stays). A CPU
// that runs p or caches it under a PCID may still hold them in its
// paging-structure caches: each is flushed as a leaf is (flush: this
// CPU's INVLPG, p.gen for the tags), and its frame waits for the
// caller's shootdown of the CPUs running p (FreeAfterShootdown). The
// caller holds p's guard and the MP lock.
//
//go:nosplit
func (p *Pmap) prune(va, end uintptr) {
	if !p.user {
		return
	}
	va &^= largeSize - 1
	for va < end {
		e3 := entry(p.root, index(va, 3))
		if *e3&Present == 0 {
			va = nextSpan(va, 3)
			continue
		}
		e2 := entry(*e3&addrMask, index(va, 2))
		if *e2&Present == 0 {
			va = nextSpan(va, 2)
			continue
		}
		e1 := entry(*e2&addrMask, index(va, 1))
		if *e1&Present != 0 && p.dropEmpty(e1, va) && p.dropEmpty(e2, va) {
			p.dropEmpty(e3, va)
		}
		va = nextSpan(va, 1)
	}
}

// nextSpan returns the start of the span after va's at level l (l 1: 2
// MiB, 2: 1 GiB, 3: 512 GiB), or the top of the address space when that
// wraps.
//
//go:nosplit
func nextSpan(va uintptr, l uint) uintptr {
	span := uintptr(1) << (12 + 9*l)
	next := (va + span) &^ (span - 1)
	if next <= va {
		return ^uintptr(0)
	}
	return next
}

// dropEmpty frees the table the present entry e (on the way to va)
// points at and clears e, if no entry of that table is present; it
// reports whether it did. An empty table may have no leaf whose removal
// flushed it (Enter made it and then ran out of memory), so it is
// flushed here, before the frame's waiters are read.
//
//go:nosplit
func (p *Pmap) dropEmpty(e *uint64, va uintptr) bool {
	t := *e & addrMask
	for i := uintptr(0); i < 512; i++ {
		if *entry(t, i)&Present != 0 {
			return false
		}
	}
	*e = 0
	fatal.Assert(p.tables != 0, "pmap: tables: freeing a table Enter never counted")
	p.tables--
	p.flush(va)
	FreeAfterShootdown(t, p.waiters())
	return true
}

// IsUser reports whether p is a process's address space (InitUser).
//
//go:nosplit
func (p *Pmap) IsUser() bool { return p.user }

// Root returns the physical address of the PML4.
//
//go:nosplit
func (p *Pmap) Root() uint64 { return p.root }

// Resident returns the number of 4 KiB pages mapped by Enter. Read
// without the guard (statistics), it and Tables may be stale.
//
//go:nosplit
func (p *Pmap) Resident() uint64 { return p.resident }

// Peak returns the most pages Resident has counted; read as Resident.
//
//go:nosplit
func (p *Pmap) Peak() uint64 { return p.peak }

// Tables returns the number of page-table pages allocated since Init.
//
//go:nosplit
func (p *Pmap) Tables() uint64 { return p.tables }

//go:nosplit
func entry(table uint64, i uintptr) *uint64 {
	return (*uint64)(mm.Direct(table + uint64(i)*8))
}

//go:nosplit
func index(va uintptr, level uint) uintptr {
	return (va >> (12 + 9*level)) & 511
}

// noW is the table-frames throw: a table entry without W would make every
// page below it read-only whatever its leaf says, and a write fault there
// would repeat forever.
const noW = "pmap: table-frames: a page-table entry without W"

// walk returns the entry for va at level (0 = PT, 1 = PD) and true. When
// a table above that level is absent it returns the entry that would
// point to it, and false; when a large page is in the way, nil and false.
//
//go:nosplit
func (p *Pmap) walk(va uintptr, level uint) (*uint64, bool) {
	table := p.root
	for l := uint(3); l > level; l-- {
		e := entry(table, index(va, l))
		if *e&Present == 0 {
			return e, false
		}
		if *e&Large != 0 {
			return nil, false
		}
		fatal.Assert(*e&Writable != 0, noW)
		table = *e & addrMask
	}
	return entry(table, index(va, level)), true
}

// addTable points the absent table entry e at a new page table in frame
// pa, from mm.Phys; it returns false when pa is 0 (memory exhausted).
//
//go:nosplit
func (p *Pmap) addTable(e *uint64, pa uint64) bool {
	if pa == 0 {
		return false
	}
	p.tables++
	*e = pa | Present | Writable
	if p.user {
		*e |= User
	}
	return true
}

// Enter maps the 4 KiB page at va to frame pa with flags (Present is
// implied), unmanaged: no PV entry, for pages no map entry tracks. An
// unmanaged page already at va is replaced (its frame stays the
// caller's). It returns false when a page table could not be allocated,
// va is page 0, or a large page covers va. The caller holds the guard.
//
//go:nosplit
func (p *Pmap) Enter(va uintptr, pa uint64, flags uint64) bool {
	return p.enter(va, pa, flags, nil, true)
}

// EnterPV maps the 4 KiB page at va to frame pa with flags as Enter does,
// managed: the mapping gets a PV entry on the page's list and on l, its
// map entry's. A mapping already at va of the same page keeps its PV and
// takes the new flags; one of another page must have been removed first
// (RemovePV). False when mm has no frame for a table or the PV; nothing
// changed then. The caller holds the guard.
//
//go:nosplit
func (p *Pmap) EnterPV(va uintptr, pa uint64, flags uint64, l *PVList) bool {
	return p.enter(va, pa, flags, l, true)
}

// EnterFresh is EnterPV of a frame no other mapping has (a demand-zero
// page) at an address where nothing is mapped, by the fault path that
// holds p's lock and not the MP lock: it takes no frame from mm, so it
// returns false, having changed nothing, when a page table, the page's
// list head or a PV would need one (the caller then takes the MP lock
// and calls EnterPV).
//
//go:nosplit
func (p *Pmap) EnterFresh(va uintptr, pa uint64, flags uint64, l *PVList) bool {
	return p.enter(va, pa, flags, l, false)
}

// enter is Enter, EnterPV and EnterFresh: grow says it may take frames
// from mm (page tables, PV bookkeeping), which needs the MP lock.
//
//go:nosplit
func (p *Pmap) enter(va uintptr, pa uint64, flags uint64, l *PVList, grow bool) bool {
	p.guard("pmap: Enter without the pmap's lock")
	fatal.Assert(!p.dying, "pmap: Enter after RemoveAll")
	if va < pageSize || p.user && va >= userEnd {
		return false
	}
	// Page tables are allocated from this frame, not from walk's: a
	// fault while a signal frame is written is the deepest nosplit chain,
	// and the linker's bound leaves no room for another frame.
	e, ok := p.walk(va, 0)
	for !ok && e != nil {
		if !grow {
			return false
		}
		if !p.addTable(e, mm.Phys.Alloc()) {
			return false
		}
		e, ok = p.walk(va, 0)
	}
	if e == nil {
		return false
	}
	old := *e
	if !grow && old&Present != 0 {
		return false
	}
	flags &^= Managed
	if old&Present != 0 && old&addrMask == pa&addrMask {
		// The same page: new flags, the same PV (or none).
		fatal.Assert(old&Managed == 0 || l != nil, "pmap: pv: re-entering a managed page unmanaged")
		*e = pa&addrMask | flags&flagsMask | Present | old&Managed
		p.flush(va)
		return true
	}
	fatal.Assert(old&Managed == 0, "pmap: pv: entering over another page's managed mapping")
	if l != nil && !p.addPV(va, pa, l, grow) {
		return false
	}
	*e = pa&addrMask | flags&flagsMask | Present
	if l != nil {
		*e |= Managed
	}
	if old&Present == 0 {
		p.resident++
		p.peak = max(p.peak, p.resident)
	} else {
		p.flush(va)
	}
	return true
}

// dropLeaf clears the present leaf e (at va), flushes it from this CPU's
// TLB, and frees its frame — for a managed page only if this was its last
// mapping (its PV is on l).
//
//go:nosplit
func (p *Pmap) dropLeaf(e *uint64, va uintptr, l *PVList) {
	old := *e
	pa := old & addrMask
	// Enter counted every leaf it made; one it did not make was written
	// behind its back.
	fatal.Assert(p.resident != 0, "pmap: resident: removing a page Enter never entered")
	*e = 0
	p.resident--
	p.flush(va)
	if old&Managed == 0 {
		FreeAfterShootdown(pa, p.waiters())
		return
	}
	fatal.Assert(l != nil, "pmap: pv: removing a managed page with no entry list")
	if p.dropPV(va, pa, l) {
		FreeAfterShootdown(pa, p.waiters())
	}
}

// RemovePage is RemovePV of the one page at va, in a live address space
// (a dying one's pages go by Destroy, in the same MP-lock hold as
// RemoveAll): a walk to its leaf, no range visit, so that the P→V walk that takes a page out of every map
// (vm's Object.drop) stays within the nosplit bound. The caller holds the
// guard.
//
//go:nosplit
func (p *Pmap) RemovePage(va uintptr, l *PVList) {
	p.guard("pmap: RemovePage without the pmap's lock")
	fatal.Assert(!p.dying, "pmap: RemovePage in a dying address space (RemoveDying's)")
	if e, ok := p.walk(va, 0); ok && e != nil && *e&Present != 0 {
		p.dropLeaf(e, va, l)
	}
	p.prune(va, va+pageSize)
}

// EnterLarge maps the 2 MiB page at va (2 MiB aligned) to pa, for the
// direct map. It refuses the first 2 MiB (page0) and a range already
// mapped by a page table. The caller holds the guard.
//
//go:nosplit
func (p *Pmap) EnterLarge(va uintptr, pa uint64, flags uint64) bool {
	p.guard("pmap: EnterLarge without the pmap's lock")
	if va < largeSize || p.user {
		return false // a user space maps 4 KiB pages only (Destroy)
	}
	e, ok := p.walk(va, 1)
	for !ok && e != nil {
		if !p.addTable(e, mm.Phys.Alloc()) {
			return false
		}
		e, ok = p.walk(va, 1)
	}
	if e == nil || *e&Present != 0 && *e&Large == 0 {
		return false
	}
	*e = pa&addrMask | flags&flagsMask | Present | Large
	return true
}

// Extract returns the physical address va maps to.
//
//go:nosplit
func (p *Pmap) Extract(va uintptr) (uint64, bool) {
	table := p.root
	for l := uint(3); ; l-- {
		e := *entry(table, index(va, l))
		if e&Present == 0 {
			return 0, false
		}
		if l == 0 {
			return e&addrMask | uint64(va)&(pageSize-1), true
		}
		if e&Large != 0 && l == 1 {
			return e&addrMask&^(largeSize-1) | uint64(va)&(largeSize-1), true
		}
		table = e & addrMask
	}
}

// Flags returns the flags of the leaf entry (4 KiB or 2 MiB) mapping va,
// or 0 if va is unmapped.
//
//go:nosplit
func (p *Pmap) Flags(va uintptr) uint64 {
	table := p.root
	for l := uint(3); ; l-- {
		e := *entry(table, index(va, l))
		if e&Present == 0 {
			return 0
		}
		if l == 0 || l == 1 && e&Large != 0 {
			return e & flagsMask
		}
		table = e & addrMask
	}
}

// Remove unmaps every 4 KiB page in [va, end) and returns each frame to
// mm.Phys; there must be no managed page in the range (RemovePV). It
// skips absent tables, so sparse ranges cost little. It cannot fail: a
// frame mm refuses is a kernel bug, and mm throws. The caller holds the
// guard.
//
//go:nosplit
func (p *Pmap) Remove(va, end uintptr) {
	p.guard("pmap: Remove without the pmap's lock")
	guard("pmap: Remove without the MP lock: it frees frames")
	p.visit(va, p.limit(end), 0, opRemove, nil)
}

// RemovePV unmaps every page in [va, end), a range of one map entry whose
// PV list is l: each managed page's PV goes from both lists, and its
// frame when that was its last mapping. The caller holds the guard; it
// needs no MP lock (pages' lists have pvLock, mm's Free its own), but
// without it the frames it may defer must fit this CPU's DeferRoom. A
// dying pmap's pages go by RemoveDying instead.
//
//go:nosplit
func (p *Pmap) RemovePV(va, end uintptr, l *PVList) {
	p.guard("pmap: RemovePV without the pmap's lock")
	fatal.Assert(!p.dying, "pmap: RemovePV after RemoveAll: the shortcut is RemoveDying's")
	p.visit(va, p.limit(end), 0, opRemove, l)
	p.prune(va, p.limit(end))
}

// tearBatch is how many PVs removeDying unlinks under one hold of
// pvLock, and so how many frames it returns to mm at once at most.
const tearBatch = 32

// RemoveDying is RemovePV after RemoveAll, the shortcut: one pass over
// l, keeping what lies outside [va, end) on a new list, with no per-node
// unlinking and no page-table walk (the tables, stale and never loaded
// again, go in Destroy); the PVs go tearBatch at a time under one hold of
// pvLock, and the frames whose last mapping they were in one call to mm
// (FreeBatch): a lock round trip per batch, not two per page. The caller
// holds the guard.
//
//go:nosplit
func (p *Pmap) RemoveDying(va, end uintptr, l *PVList) {
	p.guard("pmap: RemoveDying without the pmap's lock")
	fatal.Assert(p.dying, "pmap: RemoveDying before RemoveAll")
	var kept PVList
	var frames [tearBatch]uint64
	a := l.head
	for k := l.n; k > 0; {
		n := 0
		lockPVs()
		for ; k > 0 && n < tearBatch; k-- {
			v := pvAt(a)
			next := v.next
			if v.va < va || v.va >= end {
				kept.link(a)
			} else {
				fatal.Assert(p.resident != 0, "pmap: resident: a PV for a page Enter never entered")
				p.resident--
				pa, last := v.pa, unlinkPage(a)
				pvFreeLocked(a)
				if last {
					frames[n] = pa
					n++
				}
			}
			a = next
		}
		unlockPVs()
		mm.Phys.FreeBatch(frames[:n])
	}
	*l = kept
}

// Protect replaces the flags of every mapped 4 KiB page in [va, end). The
// caller holds the guard.
//
//go:nosplit
func (p *Pmap) Protect(va, end uintptr, flags uint64) {
	p.guard("pmap: Protect without the pmap's lock")
	p.visit(va, p.limit(end), flags&^Managed|Present, opProtect, nil)
}

// Reprotect gives every present page in [va, end) the flags flags, but
// a managed page that is read-only stays so: it may be shared
// copy-on-write, and the write fault decides (mprotect). The caller holds
// the guard and shoots down.
//
//go:nosplit
func (p *Pmap) Reprotect(va, end uintptr, flags uint64) {
	p.guard("pmap: Reprotect without the pmap's lock")
	p.visit(va, p.limit(end), flags&^Managed|Present, opReprotect, nil)
}

// visit walks the leaf entries of [va, end) and does op to each present
// one (setting its flags to flags for opProtect); it returns how many it
// counted (opCount).
//
//go:nosplit
func (p *Pmap) visit(va, end uintptr, flags uint64, op int, list *PVList) (n uint64) {
	va &^= pageSize - 1
	for va < end {
		// Find the lowest level that has a table for va; skip the span an
		// absent entry covers.
		table := p.root
		l := uint(3)
		for ; l > 0; l-- {
			e := *entry(table, index(va, l))
			if e&Present == 0 || e&Large != 0 {
				break
			}
			fatal.Assert(e&Writable != 0, noW)
			table = e & addrMask
		}
		if l > 0 {
			span := uintptr(1) << (12 + 9*l)
			next := (va + span) &^ (span - 1)
			if next <= va { // wrapped past the top of the address space
				return n
			}
			va = next
			continue
		}
		e := entry(table, index(va, 0))
		switch {
		case *e&Present == 0:
		case op == opCount:
			n++
		case op == opCountManaged:
			if *e&Managed != 0 {
				n++
			}
		case op == opCountShared:
			if *e&Managed != 0 && shared(*e&addrMask) {
				n++
			}
		case op == opRemove:
			p.dropLeaf(e, va, list)
		default:
			f := flags
			if op == opReprotect && *e&(Managed|Writable) == Managed {
				f &^= Writable
			}
			*e = *e&(addrMask|Managed) | f&flagsMask
			p.flush(va)
		}
		if va+pageSize < va { // the last page of the address space
			return n
		}
		va += pageSize
	}
	return n
}

// What visit does to each present 4 KiB leaf.
const (
	opProtect      = iota // replace its flags
	opReprotect           // replace its flags, a managed read-only page's but Writable
	opRemove              // unmap it and free its frame (dropLeaf)
	opCount               // count it
	opCountManaged        // count it if it has a PV
	opCountShared         // count it if its page has another PV too
)

// CountManaged returns how many pages in [va, end) have a PV entry. The
// caller holds the guard.
//
//go:nosplit
func (p *Pmap) CountManaged(va, end uintptr) uint64 {
	p.guard("pmap: CountManaged without the pmap's lock")
	return p.visit(va, p.limit(end), 0, opCountManaged, nil)
}

// CountShared returns how many pages p maps in [va, end) that have
// another mapping (another address space's, after fork) or a hold. The
// caller holds the guard.
//
//go:nosplit
func (p *Pmap) CountShared(va, end uintptr) uint64 {
	p.guard("pmap: CountShared without the pmap's lock")
	return p.visit(va, p.limit(end), 0, opCountShared, nil)
}

// Count returns how many 4 KiB pages are mapped in [va, end), skipping
// absent tables whole. The caller holds the guard.
//
//go:nosplit
func (p *Pmap) Count(va, end uintptr) uint64 {
	p.guard("pmap: Count without the pmap's lock")
	return p.visit(va, p.limit(end), 0, opCount, nil)
}

// SelfTest checks page0 and an Enter/Extract/Protect/Remove round trip
// at scratch, an unmapped page-aligned address; a broken invariant
// throws. It returns an error only when it cannot run: scratch is mapped
// or page 0, or no frame is free. The caller holds the guard: the test is
// nosplit and allocation-free so that it can run under the MP lock.
//
//go:nosplit
func (p *Pmap) SelfTest(scratch uintptr) error {
	p.guard("pmap: SelfTest without the pmap's lock")
	_, mapped := p.Extract(0)
	fatal.Assert(!mapped, "pmap: page0: virtual page 0 is mapped")
	if _, inUse := p.Extract(scratch); inUse || scratch < pageSize {
		return errScratch
	}
	pa := mm.Phys.Alloc()
	if pa == 0 {
		return errNoFrame
	}
	before := p.resident
	if !p.Enter(scratch, pa, Writable) {
		mm.Phys.Free(pa)
		return errNoFrame // none for a page table
	}
	got, ok := p.Extract(scratch + 123)
	fatal.Assert(ok && got == pa+123, "pmap: Extract does not find the frame Enter mapped")
	*(*uint64)(mm.Ptr(uint64(scratch))) = 0x600dF00d
	fatal.Assert(*(*uint64)(mm.Direct(pa)) == 0x600dF00d, "pmap: a store through a mapping did not reach its frame")
	p.Protect(scratch, scratch+pageSize, 0)
	fatal.Assert(p.Flags(scratch)&Writable == 0, "pmap: Protect left a page writable")
	p.Remove(scratch, scratch+pageSize)
	_, ok = p.Extract(scratch)
	fatal.Assert(!ok && p.resident == before, "pmap: Remove left a page mapped")
	fatal.Assert(mm.Phys.IsFree(pa), "pmap: Remove did not free the frame")
	return p.selfTestUser()
}

// userTestVA is where the self-test maps a user page: where static
// executables load their text.
const userTestVA = 0x40_0000

// selfTestUser builds a user address space over p's upper half, maps a
// user page, and destroys it: every frame must come back. (The kernel's
// upper half is empty until ring 3 needs its entry code there, so the
// sharing it checks is of empty slots today.)
//
//go:nosplit
func (p *Pmap) selfTestUser() error {
	free, alone := mm.Phys.Counts()
	reclaimed := mm.Phys.ReclaimedPages
	root := mm.Phys.Alloc()
	if root == 0 {
		return errNoFrame
	}
	var u Pmap
	u.InitUser(root, p)
	fatal.Assert(u.TryLock(), "pmap: a new pmap's lock taken")
	fatal.Assert(*entry(root, KernelHalf) == *entry(p.root, KernelHalf), "pmap: InitUser did not share the kernel half")
	if pa := mm.Phys.Alloc(); pa != 0 && !u.Enter(userTestVA, pa, User|Writable) {
		mm.Phys.Free(pa)
	}
	fatal.Assert(u.Resident() == 0 || u.Flags(userTestVA)&User != 0, "pmap: a user page without U")
	u.Destroy()
	u.Unlock()
	// Frames the caches gave back, if an Alloc here ran mm dry, are free
	// now too, and so are those other CPUs freed without the MP lock.
	free1, alone1 := mm.Phys.Counts()
	fatal.Assert(free1 == free+(mm.Phys.ReclaimedPages-reclaimed)+(alone1-alone), "pmap: Destroy did not give back every frame of a user address space")
	return nil
}
