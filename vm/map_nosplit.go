package vm

// The address map serves system calls and page faults in trap context:
// nosplit and allocation-free.

import (
	"sync/atomic"
	"unsafe"

	"gofly/fatal"
	"gofly/mm"
	"gofly/pmap"
)

// Protection bits (Linux PROT_*).
const (
	ProtRead  = 1
	ProtWrite = 2
	ProtExec  = 4
)

// mmap flags (Linux MAP_*).
const (
	MapShared         = 0x01
	MapPrivate        = 0x02
	MapSharedValidate = 0x03 // shared, refusing flags Linux does not know
	MapTypeMask       = 0x0f // the bits of the type: shared, private or validate
	MapFixed          = 0x10
	MapAnonymous      = 0x20
	MapFixedNoReplace = 0x100000
	// legacyFlags are the flags MAP_SHARED_VALIDATE accepts (Linux 6.1's
	// LEGACY_MAP_MASK: the types, MAP_FIXED, MAP_ANONYMOUS, MAP_32BIT,
	// DENYWRITE, EXECUTABLE, UNINITIALIZED, GROWSDOWN, LOCKED,
	// NORESERVE, POPULATE, NONBLOCK, STACK, HUGETLB, HUGE_2MB and
	// HUGE_1GB).
	legacyFlags = 0x3 | MapFixed | MapAnonymous | 0x40 | 0x800 | 0x1000 | 0x4000000 | 0x100 |
		0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x7C000000
	// MapNoWrite is not Linux's: MmapObject's caller says that a shared
	// mapping's process may not write the object (a file it opened
	// without write access), and mprotect will not make it writable
	// (NoWrite). A user's flags reach vm sign-extended from 32 bits, so
	// they may carry it: proc's mmapFile clears it before it decides, and
	// vm reads it only for an object's mapping.
	MapNoWrite = 1 << 40
)

// MapTypeError is mmap's error for the type of flags (a user's, all 64
// bits), 0 for a good one, in Linux's order: a type other than shared,
// private and MAP_SHARED_VALIDATE is EINVAL, as is VALIDATE for
// anonymous memory (file false); VALIDATE with a flag Linux does not know
// is EOPNOTSUPP. Linux checks it before the descriptor's access.
//
//go:nosplit
func MapTypeError(flags uint64, file bool) int64 {
	switch flags & MapTypeMask {
	case MapShared, MapPrivate:
		return 0
	case MapSharedValidate:
		if !file {
			return -EINVAL
		}
		if flags&^legacyFlags != 0 {
			return -EOPNOTSUPP
		}
		return 0
	}
	return -EINVAL
}

// madvise advice values that change pages or fork (the rest only tune).
const (
	MadvDontNeed   = 4
	MadvFree       = 8
	MadvRemove     = 9
	MadvDontFork   = 10
	MadvDoFork     = 11
	MadvWipeOnFork = 18
	MadvKeepOnFork = 19
)

// Errno values returned (negated) by the system-call layer.
const (
	ENOMEM     = 12
	EACCES     = 13
	EINVAL     = 22
	EEXIST     = 17
	ENODEV     = 19
	ENOSYS     = 38
	EOPNOTSUPP = 95
)

// mprotect's flags beyond PROT_READ/WRITE/EXEC: PROT_SEM, which x86-64
// ignores, and the grow flags, for entries that grow (none here).
const (
	protSem       = 8
	protGrowsDown = 0x01000000
	protGrowsUp   = 0x02000000
)

const (
	pageSize = mm.PageSize
	// upperHalf is the first canonical address of the upper half.
	upperHalf = 0xFFFF_8000_0000_0000
	// UserMax is the top of the canonical lower half.
	UserMax = 0x7FFF_FFFF_F000
	// MmapBase is where first-fit placement starts.
	MmapBase = 0x6000_0000_0000
	// MaxEntries bounds the map.
	MaxEntries = 1024
	// KernelMin and KernelMax bound the kernel's map: what its Go
	// program maps (the runtime's heap, stacks and reservations) lies in
	// the upper half, PML4 slots 384 to 387 (2 TiB), so that the lower
	// half is free for a process's own.
	KernelMin = 0xFFFF_C000_0000_0000
	KernelMax = 0xFFFF_C200_0000_0000
)

// Entry is one mapped range [Start, End), with the PV entries of the
// pages mapped in it (pmap's per-map-entry PV tracking) and the object it
// maps, if any.
type Entry struct {
	Start, End uintptr
	Prot       uint8
	// Obj is the object whose pages the entry maps (shared memory, a
	// file), from page index Off at Start; 0: private memory, whose pages
	// belong to their mappings.
	Obj uint32
	Off uint64
	// Flags are what madvise asked of a fork (ForkSkip, ForkWipe), and
	// CopyOnWrite.
	Flags uint8
	PV    pmap.PVList
}

// Entry flags (Entry.Flags): madvise's MADV_DONTFORK (a fork's child has
// no entry there) and MADV_WIPEONFORK (its entry has no pages there: they
// read as zero); CopyOnWrite, a private mapping of an object (a file's
// MAP_PRIVATE): its object's pages are mapped read-only, and a write
// copies the page into one of the entry's own; NoWrite, a shared mapping
// that may never be made writable (MapNoWrite: Linux's VM_MAYWRITE
// clear), which mprotect refuses PROT_WRITE with EACCES.
const (
	ForkSkip = 1 << iota
	ForkWipe
	CopyOnWrite
	NoWrite
)

// Map is an address space: its map entries and its page tables, as
// DragonFly's vmspace holds a vm_map and its pmap. Holding the Pmap by
// value keeps Init free of pointer stores, which code below the runtime
// must not make.
type Map struct {
	// Guarded by the MP lock and, in a process's map, the map's lock
	// (guard); FaultFresh changes them under the map's lock alone.
	// Two slots past MaxEntries hold edit's clips for a moment: its
	// result, merged, fits (changeCount).
	entries [MaxEntries + 2]Entry
	n       int
	Faults  uint64 // demand-zero faults served
	// FreshFaults counts the demand-zero faults FaultFresh served without
	// the MP lock (they are in Faults too).
	FreshFaults uint64
	// CopyFaults counts copy-on-write faults that copied a page.
	CopyFaults uint64
	// OutOfMemory counts faults that failed for want of a page frame or
	// page table, so the fault path can tell them from access violations.
	OutOfMemory uint64
	// BusErrors counts faults at pages of a file's mapping past the end of
	// the file (SIGBUS, not SIGSEGV).
	BusErrors uint64
	// AroundPages counts the pages read faults mapped beside the one
	// they were for (faultAround).
	AroundPages uint64

	// Pmap has the same guard (see package pmap); its lock is the map's
	// (Lock).
	Pmap pmap.Pmap

	// Written by Init before the map is shared; read-only after: mmap
	// uses [userMin, max), first fit from base.
	userMin, max, base uintptr

	// live links the maps in use (Live), guarded by the MP lock: Init
	// of a process's map adds it, Destroy takes it out.
	nextLive, prevLive uintptr
}

// live is the list of the maps in use besides Kernel (the processes'),
// for the checks that span every map. MP lock.
var live uintptr

//go:nosplit
func mapAt(a uintptr) *Map { return (*Map)(mm.Ptr(uint64(a))) }

// Kernel is the kernel's (and the Go runtime's) address space.
var Kernel Map

// Unload makes every CPU that holds m's root in CR3 (a CPU keeps the
// last process's after its trap: package sys) load another, and waits:
// Destroy calls it before it frees m's tables. Set by package sys; nil
// on the host. A nosplit function.
var Unload func(m *Map)

// Held reports whether the caller holds the MP lock. The kernel sets it
// to a nosplit function once boot's single-CPU setup is done, before
// another CPU starts; nil (the host) skips every check.
var Held func() bool

// guard throws msg unless the caller holds the MP lock.
//
//go:nosplit
func guard(msg string) { fatal.Assert(Held == nil || Held(), msg) }

// guard throws msg unless the caller holds m's guard: the MP lock and,
// for a process's map, the map's own lock (Lock). A demand-zero fault
// holds only the map's lock (FaultFresh).
//
//go:nosplit
func (m *Map) guard(msg string) {
	fatal.Assert(Held == nil || Held() && (!m.Pmap.IsUser() || m.Pmap.Locked()), msg)
}

// ownGuard throws msg unless the caller holds m's own lock (the MP lock
// for the kernel's map): what the memory calls need, Alone says when it
// is enough; what they do that needs the MP lock too asserts it.
//
//go:nosplit
func (m *Map) ownGuard(msg string) {
	fatal.Assert(Held == nil || (m.Pmap.IsUser() && m.Pmap.Locked() || !m.Pmap.IsUser() && Held()), msg)
}

// Alone reports whether a memory call over [addr, addr+length) may run
// under m's own lock, without the MP lock: m is a process's map, no
// entry over an object meets the range (objects are shared between maps
// and guarded by the MP lock: such an entry would be clipped or edited;
// an entry of the call's own, private memory, never merges with one
// beside it, and an mmap given no usable address takes a hole), the call
// neither makes one nor punches a hole in one (objects: a shared mmap,
// MADV_REMOVE), and if it frees pages (frees):
//   - no page present in the range has another mapping (a fork's, copy
//     on write): such a page would stay in the TLBs of the CPUs running
//     this map until the end of the trap, while the other mapping's
//     owner, under the MP lock, frees it or makes it writable in place
//     (the answer holds while the caller keeps m's lock: only m's own
//     fork could add a mapping of a page m alone maps);
//   - the frames it may free (the pages present in the range and the
//     page tables over it) fit this CPU's deferred list in place
//     (pmap.DeferRoom), as deferring more takes frames from mm's Alloc,
//     which needs the MP lock.
//
// A freeing call with a bad range is left to the MP lock too; it only
// returns its error. The caller holds m's own lock and keeps it through
// the call.
//
//go:nosplit
func (m *Map) Alone(addr, length uintptr, frees, objects bool) bool {
	m.ownGuard("vm: Alone without the map's lock")
	if !m.Pmap.IsUser() || objects {
		return false
	}
	start := addr &^ (pageSize - 1)
	end, ok := pageEnd(addr, length)
	if ok {
		for k := range m.entries {
			if k == m.n {
				break
			}
			if e := &m.entries[k]; e.Obj != 0 && e.Start < end && start < e.End {
				return false
			}
		}
	}
	if !frees {
		return true
	}
	if !ok || start >= end || start < m.userMin || end > m.max {
		return false
	}
	n := m.Pmap.Count(start, end) + min(tablesOver(start, end), m.Pmap.Tables())
	return n <= uint64(pmap.DeferRoom()) && m.Pmap.CountShared(start, end) == 0
}

// tablesOver bounds the page tables a removal of [start, end) may empty
// and free: those of each level whose span meets the range.
//
//go:nosplit
func tablesOver(start, end uintptr) uint64 {
	n := uint64(0)
	for shift := uint(21); shift <= 39; shift += 9 {
		n += uint64((end-1)>>shift-start>>shift) + 1
	}
	return n
}

// Init empties m; mmap will use addresses from userMin up to UserMax,
// first fit from MmapBase. The caller has initialised m.Pmap. It runs
// before m is shared, so it takes no guard; a process's map (a user
// pmap) joins the list of live maps, for which the caller holds the
// guard.
//
//go:nosplit
func (m *Map) Init(userMin uintptr) { m.InitRange(userMin, UserMax, max(MmapBase, userMin)) }

// InitRange is Init for a map whose mmap uses [min, max), first fit
// from base: the kernel's, in the upper half.
//
//go:nosplit
func (m *Map) InitRange(min, max, base uintptr) {
	m.userMin, m.max, m.base = min, max, base
	m.n = 0
	if m.Pmap.IsUser() {
		guard("vm: Init of a process's map without the lock")
		me := uintptr(unsafe.Pointer(m))
		m.prevLive, m.nextLive = 0, live
		if live != 0 {
			mapAt(live).prevLive = me
		}
		live = me
	}
}

// UserMin returns the lowest address mmap may use.
//
//go:nosplit
func (m *Map) UserMin() uintptr { return m.userMin }

// Len returns the number of entries. Read without the guard (statistics),
// it and the counters may be stale.
//
//go:nosplit
func (m *Map) Len() int { return m.n }

// At returns entry i.
//
//go:nosplit
func (m *Map) At(i int) Entry { return m.entries[i] }

// lookup returns the index of the entry containing va, or -1.
//
//go:nosplit
func (m *Map) lookup(va uintptr) int {
	lo, hi := 0, m.n
	for lo < hi {
		mid := int(uint(lo+hi) / 2)
		if uint(mid) >= uint(len(m.entries)) { // never, but proves the index in range
			return -1
		}
		e := &m.entries[mid]
		switch {
		case va < e.Start:
			hi = mid
		case va >= e.End:
			lo = mid + 1
		default:
			return mid
		}
	}
	return -1
}

// span returns [i, j), the indices of the entries that overlap [start,
// end): none when the range is empty. The entries it passes must be sorted and disjoint: edits made from
// a map that is not would lose pages or map them twice, so it throws.
//
//go:nosplit
func (m *Map) span(start, end uintptr) (i, j int) {
	prevEnd := uintptr(0)
	// Ranging over the array leaves no bounds checks, whose panic path
	// would not fit the nosplit stack bound below a system call.
	for j = range m.entries {
		if j == m.n {
			return i, j
		}
		e := &m.entries[j]
		fatal.Assert(prevEnd <= e.Start && e.Start < e.End,
			"vm: sorted-disjoint: map entries out of order or overlapping")
		prevEnd = e.End
		if e.End <= start {
			i = j + 1
		} else if e.Start >= end || end <= start {
			return i, j
		}
	}
	return i, m.n
}

// free reports whether [start, end) overlaps no entry.
//
//go:nosplit
func (m *Map) free(start, end uintptr) bool {
	i, j := m.span(start, end)
	return i == j
}

// findSpace returns the lowest free range of n bytes at or above base.
//
//go:nosplit
func (m *Map) findSpace(n uintptr) uintptr {
	at := m.base
	for i := 0; i < m.n; i++ {
		e := &m.entries[i]
		if e.End <= at {
			continue
		}
		if e.Start >= at+n {
			break
		}
		at = e.End
	}
	if at+n > m.max || at+n < at {
		return 0
	}
	return at
}

// Mmap maps length bytes of anonymous memory and returns the address or a
// negated errno. A refused call changes nothing. The caller holds m's
// own lock, and the MP lock unless Alone allows the call without it (the
// memory calls below likewise).
//
//go:nosplit
func (m *Map) Mmap(addr, length uintptr, prot, flags int) int64 {
	return m.mmap(addr, length, prot, flags, 0, 0)
}

// MmapObject maps object obj (a file's) from page index off, as Mmap maps
// memory: MAP_SHARED maps its pages, MAP_PRIVATE maps them copy-on-write
// (CopyOnWrite). The entry takes a reference to obj. EINVAL when the
// range would reach past the largest object. The caller holds m's lock
// and the MP lock.
//
//go:nosplit
func (m *Map) MmapObject(addr, length uintptr, prot, flags int, obj uint32, off uint64) int64 {
	return m.mmap(addr, length, prot, flags, obj, off)
}

// mmap is Mmap (obj 0) and MmapObject; both stay one call deep for the
// nosplit bound.
//
//go:nosplit
func (m *Map) mmap(addr, length uintptr, prot, flags int, obj uint32, off uint64) int64 {
	if obj == 0 {
		m.ownGuard("vm: Mmap without its lock")
		if flags&MapAnonymous == 0 {
			return -ENODEV // a file's mapping is MmapObject's
		}
	} else {
		m.guard("vm: MmapObject without its locks")
		if off >= objMaxPages || uint64(length/pageSize) > objMaxPages-off {
			return -EINVAL
		}
		objectAt(obj) // a live object
	}
	if length == 0 {
		return -EINVAL
	}
	if e := MapTypeError(uint64(uint32(flags)), obj != 0); e != 0 {
		return e
	}
	if flags&MapTypeMask == MapSharedValidate {
		flags &^= MapPrivate // shared, its flags checked
	}
	if addr%pageSize != 0 {
		if flags&(MapFixed|MapFixedNoReplace) != 0 {
			return -EINVAL
		}
		addr &^= pageSize - 1 // a hint is only a hint
	}
	n := (length + pageSize - 1) &^ (pageSize - 1)
	if n < length {
		return -ENOMEM
	}
	inRange := addr >= m.userMin && addr+n <= m.max && addr+n > addr
	fixed := flags&MapFixed != 0 && flags&MapFixedNoReplace == 0
	switch {
	case flags&MapFixedNoReplace != 0:
		if !inRange {
			return -EINVAL
		}
		if !m.free(addr, addr+n) {
			return -EEXIST
		}
	case fixed:
		if !inRange {
			return -EINVAL
		}
	default:
		if addr == 0 || !inRange || !m.free(addr, addr+n) {
			addr = m.findSpace(n)
			if addr == 0 {
				return -ENOMEM
			}
		}
	}
	// Shared memory gets an object of its own (private memory none), made
	// before the check so that the check sees what will be; a mapping of
	// an object, a reference to it.
	ef := uint8(0)
	switch {
	case obj != 0:
		objRef(obj)
		if flags&MapPrivate != 0 {
			ef = CopyOnWrite
		} else if flags&MapNoWrite != 0 {
			ef = NoWrite
		}
	case flags&MapShared != 0:
		if n/pageSize > objMaxPages {
			return -ENOMEM
		}
		if obj = newObject(); obj == 0 {
			return -ENOMEM
		}
	}
	if !m.replace(addr, addr+n, uint8(prot&7), obj, off, ef, true) {
		objUnref(obj, 0) // nothing mapped it through this reference
		return -ENOMEM
	}
	if fixed {
		m.unmapPages(addr, addr+n) // the pages of what it replaces
		m.dropObjects(addr, addr+n)
	}
	m.replace(addr, addr+n, uint8(prot&7), obj, off, ef, false)
	return int64(addr)
}

// Munmap removes [addr, addr+length) and frees its pages. A refused call
// changes nothing. The caller holds m's own lock (see Mmap).
//
//go:nosplit
func (m *Map) Munmap(addr, length uintptr) int64 {
	m.ownGuard("vm: Munmap without its lock")
	end, ok := pageEnd(addr, length)
	if addr%pageSize != 0 || length == 0 || !ok || addr < m.userMin || end > m.max {
		return -EINVAL
	}
	if !m.replace(addr, end, 0, 0, 0, noEntry, true) {
		return -ENOMEM
	}
	m.unmapPages(addr, end)
	m.dropObjects(addr, end)
	m.replace(addr, end, 0, 0, 0, noEntry, false)
	return 0
}

// unmapPages removes the pages of [start, end), entry by entry, each
// from its entry's PV list.
//
//go:nosplit
func (m *Map) unmapPages(start, end uintptr) {
	i, j := m.span(start, end)
	for k := range m.entries {
		if k < i {
			continue
		}
		if k >= j {
			break
		}
		e := &m.entries[k]
		m.Pmap.RemovePV(max(start, e.Start), min(end, e.End), &e.PV)
	}
}

// anyObject reports whether an entry over an object overlaps [start,
// end).
//
//go:nosplit
func (m *Map) anyObject(start, end uintptr) bool {
	i, j := m.span(start, end)
	for k := range m.entries {
		if k >= j {
			break
		}
		if k >= i && m.entries[k].Obj != 0 {
			return true
		}
	}
	return false
}

// dropObjects drops the object references of the entries wholly inside
// [start, end), whose pages unmapPages removed, before replace removes
// the entries: an object's last reference frees its pages.
//
//go:nosplit
func (m *Map) dropObjects(start, end uintptr) {
	for k := range m.entries {
		if k == m.n {
			break
		}
		if e := &m.entries[k]; e.Start >= start && e.End <= end && e.Obj != 0 {
			objUnref(e.Obj, m.Pmap.Active()) // its pages were last mapped here, if anywhere
			e.Obj, e.Off = 0, 0
		}
	}
}

// Madvise handles MADV_DONTNEED and MADV_FREE by dropping the pages:
// private pages read as zero when next touched, shared memory's come back
// from its object (as Linux repopulates shmem), and MADV_FREE of shared
// memory is EINVAL. MADV_REMOVE punches a hole in shared anonymous
// memory (its pages leave every map and their object; a file's pages are
// its caller's to punch, under the file's range lock: removePages), up
// to the first entry Linux refuses (RemoveStop: EINVAL on private
// memory, EACCES on a private or read-only mapping of an object). MADV_DONTFORK and MADV_WIPEONFORK (the latter
// on private memory only, as on Linux) mark the range's entries, which
// Fork leaves out of the child or gives it without pages; MADV_DOFORK
// and MADV_KEEPONFORK clear the marks. Other advice Linux knows is
// accepted and ignored, as it only tunes placement; unknown advice is
// EINVAL, as on Linux, and a range with a hole is
// ENOMEM once its mapped parts took the advice. The caller holds m's own
// lock (see Mmap).
//
//go:nosplit
func (m *Map) Madvise(addr, length uintptr, advice int) int64 {
	m.ownGuard("vm: Madvise without its lock")
	end, ok := m.AdviceRange(addr, length)
	if !ok || !knownAdvice(advice) {
		return -EINVAL
	}
	if length == 0 {
		return 0 // Linux's order: an empty range does nothing, whatever the advice
	}
	switch {
	case advice == MadvWipeOnFork && m.anyObject(addr, end):
		return -EINVAL // as Linux: wiping is for private anonymous memory only
	case advice == MadvDontFork || advice == MadvDoFork || advice == MadvWipeOnFork || advice == MadvKeepOnFork:
		c := change{}
		switch advice {
		case MadvDontFork:
			c.set = ForkSkip
		case MadvDoFork:
			c.clear = ForkSkip
		case MadvWipeOnFork:
			c.set = ForkWipe
		default:
			c.clear = ForkWipe
		}
		if !m.edit(addr, end, &c) {
			return -ENOMEM
		}
	case advice == MadvFree && m.anyObject(addr, end):
		return -EINVAL // as Linux: MADV_FREE is for private anonymous memory only
	case advice == MadvRemove:
		stop, err := m.RemoveStop(addr, end)
		m.removePages(addr, stop)
		if err != 0 {
			return err
		}
	case advice == MadvDontNeed || advice == MadvFree:
		m.unmapPages(addr, end) // shared memory keeps its pages in its object
	}
	if length != 0 && m.firstHole(addr, end) < end {
		return -ENOMEM // as Linux: the mapped parts took the advice, the holes make it fail
	}
	return 0
}

// AdviceRange returns the end of the pages madvise's [addr, addr+length)
// covers, and false (EINVAL) for a range Linux refuses: addr not
// page-aligned, the end past the address space or wrapping. m's bounds
// never change, so any caller may ask.
//
//go:nosplit
func (m *Map) AdviceRange(addr, length uintptr) (uintptr, bool) {
	end, ok := pageEnd(addr, length)
	if addr%pageSize != 0 || !ok || length != 0 && (addr < m.userMin || end > m.max) {
		return 0, false
	}
	return end, true
}

// RemoveStop returns where MADV_REMOVE of [start, end) stops, end if it
// does not, and its error then: at the first entry that is not shared
// and writable, as Linux's madvise_remove, which punches the entries
// before it and fails on it: private anonymous memory (no object: no
// holes to punch) is EINVAL, a private file mapping or a read-only one
// EACCES (a hole is a write to the file). proc punches files' holes up
// to the same point. The caller holds the guard, or reads a copy of
// the entries.
//
//go:nosplit
func (m *Map) RemoveStop(start, end uintptr) (uintptr, int64) {
	i, j := m.span(start, end)
	for k := range m.entries {
		if k >= j {
			break
		}
		if k < i {
			continue
		}
		e := &m.entries[k]
		if err := RemoveError(e); err != 0 {
			return max(start, e.Start), err
		}
	}
	return end, 0
}

// RemoveError is MADV_REMOVE's error for entry e, 0 if e may be punched
// (RemoveStop). Linux 6.1 (Debian's, which the tests compare with) asks
// for a shared mapping that is writable now, as here; 6.7 and later ask
// only that it may be made writable (VM_MAYWRITE: NoWrite here), so a
// PROT_READ mapping of a file open for writing punches there.
//
//go:nosplit
func RemoveError(e *Entry) int64 {
	switch {
	case e.Obj == 0:
		return -EINVAL
	case e.Flags&CopyOnWrite != 0 || e.Prot&ProtWrite == 0:
		return -EACCES
	}
	return 0
}

// firstHole returns where the first unmapped page of [start, end) is,
// end if every page is mapped.
//
//go:nosplit
func (m *Map) firstHole(start, end uintptr) uintptr {
	i, j := m.span(start, end)
	at := start
	for k := range m.entries {
		if k >= j {
			break
		}
		if k >= i {
			if m.entries[k].Start > at {
				return at
			}
			at = m.entries[k].End
		}
	}
	return min(at, end)
}

// removePages punches a hole in the shared anonymous objects behind
// [start, end) (MADV_REMOVE): each of their pages there leaves every map
// that maps it (the P→V walk of its PV list, each map's lock taken under
// the MP lock, each map shot down), then its object, and its frame goes
// once every CPU has flushed; the range reads as zero after. A file's
// object is left alone while the file holds it: read() and write() copy
// its pages outside the MP lock, under the file's range lock, which its
// caller takes before it punches them (PunchFile); an orphan is punched
// here. One function: the nosplit chain below it (a
// page's removal) is deep. The caller holds the guard.
//
//go:nosplit
func (m *Map) removePages(start, end uintptr) {
	m.guard("vm: MADV_REMOVE without the MP lock")
	i, j := m.span(start, end)
	for k := range m.entries {
		if k >= j {
			break
		}
		if k < i {
			continue
		}
		e := &m.entries[k]
		o := objectAt(e.Obj)
		if o.file && !o.orphan {
			continue
		}
		for va := max(start, e.Start); va < min(end, e.End); va += pageSize {
			s := o.slot(e.Off+uint64(va-e.Start)/pageSize, false)
			if s == nil || *s == 0 {
				continue
			}
			o.drop(e.Obj, s, m)
		}
	}
}

// drop takes o's page in slot s (object tag) out of every map that maps
// it (the P→V walk of its PV list: each map's lock taken under the MP
// lock, but self's, which the caller holds; each map shot down), then out
// of o, and frees its frame once those maps' CPUs have flushed. One
// function, its frame small: the nosplit chain below it is deep. The
// caller holds the MP lock.
//
//go:nosplit
func (o *Object) drop(tag uint32, s *uint64, self *Map) {
	pa := *s
	waiters := uint64(0)
	for {
		pm, at := pmap.FirstMapping(pa)
		if pm == 0 {
			break
		}
		x := mapAt(pm - unsafe.Offsetof(Map{}.Pmap))
		if x != self {
			x.Lock()
		}
		n := x.lookup(at)
		fatal.Assert(n >= 0, "vm: a page mapped outside its map's entries")
		x.Pmap.RemovePage(at, &x.entries[uint(n)%uint(len(x.entries))].PV)
		x.Shootdown()
		waiters |= x.Pmap.Active()
		if x != self {
			x.Unlock()
		}
	}
	atomic.StoreUint64(s, 0)
	o.pages--
	fatal.Assert(pmap.Release(pa, uintptr(tag)), "vm: object: a removed page still mapped")
	pmap.FreeAfterShootdown(pa, waiters)
}

// Mprotect sets the protection of [addr, addr+length) to prot, keeping
// its pages, by Linux's rules and in Linux's order: addr page-aligned and
// prot only PROT_READ/WRITE/EXEC/SEM (EINVAL; PROT_GROWSDOWN/GROWSUP are
// EINVAL too, as no entry grows), every page of the range mapped
// (ENOMEM: as on Linux, what lies before the first hole changes
// first), a length of 0 a no-op. PROT_NONE pages stay present but supervisor-only, so
// their contents survive and ring 3 faults on them; pages that gain write
// access stay read-only until a write faults (copyOnWrite makes a page no
// other map shares writable in place), so copy-on-write sharing holds.
// Only a process's map (a user pmap) has it: the kernel's own Go program
// never calls mprotect, and a supervisor page cannot be made inaccessible
// to it, so its map returns ENOSYS. The caller holds m's own lock (see
// Mmap).
//
//go:nosplit
func (m *Map) Mprotect(addr, length uintptr, prot int) int64 {
	m.ownGuard("vm: Mprotect without its lock")
	if !m.Pmap.IsUser() {
		return -ENOSYS
	}
	// Linux's order: both grow flags, alignment, an empty range, a
	// wrapping one, unknown bits, then the range's mapping.
	grows := prot & (protGrowsDown | protGrowsUp)
	prot &^= grows
	if grows == protGrowsDown|protGrowsUp || addr%pageSize != 0 {
		return -EINVAL
	}
	if length == 0 {
		return 0
	}
	end, ok := pageEnd(addr, length)
	if !ok || end <= addr {
		return -ENOMEM
	}
	if prot&^(ProtRead|ProtWrite|ProtExec|protSem) != 0 {
		return -EINVAL
	}
	if addr < m.userMin || end > m.max {
		return -ENOMEM
	}
	// As Linux: nothing mapped in the range is ENOMEM; a grow flag over
	// an entry is EINVAL, as no entry grows (PROT_GROWSDOWN whatever lies
	// before it, PROT_GROWSUP from a mapped start); then the range up to
	// its first hole changes and the call fails, a hole at its start
	// changing nothing.
	if m.free(addr, end) {
		return -ENOMEM
	}
	if grows == protGrowsDown {
		return -EINVAL
	}
	hole := m.firstHole(addr, end)
	if hole == addr {
		return -ENOMEM
	}
	if grows != 0 {
		return -EINVAL
	}
	// Linux stops at the first hole (ENOMEM) or, asked for PROT_WRITE,
	// at the first entry that may never be writable (EACCES), whichever
	// comes first, having changed what lies before it.
	p := uint8(prot & 7)
	stop, err := hole, int64(0)
	if hole < end {
		err = -ENOMEM
	}
	if p&ProtWrite != 0 {
		if w := m.firstNoWrite(addr, hole); w < hole {
			stop, err = w, -EACCES
		}
	}
	if stop == addr {
		return err
	}
	// Clip the entries at the range's ends, give those inside prot, and
	// merge what may merge again: each entry keeps its memory (private,
	// or its object), so a range over several is not one entry after.
	if !m.edit(addr, stop, &change{setProt: true, prot: p}) {
		return -ENOMEM
	}
	flags := m.pageFlags(p)
	if !readable(p) {
		flags &^= pmap.User | pmap.Writable
	}
	m.Pmap.Reprotect(addr, stop, flags)
	m.Shootdown()
	return err
}

// firstNoWrite returns where the first entry marked NoWrite in [start,
// end) begins (clipped to start), end if none is.
//
//go:nosplit
func (m *Map) firstNoWrite(start, end uintptr) uintptr {
	i, j := m.span(start, end)
	for k := range m.entries {
		if k >= j {
			break
		}
		if k >= i && m.entries[k].Flags&NoWrite != 0 {
			return max(start, m.entries[k].Start)
		}
	}
	return end
}

// readable reports whether pages of protection prot may be read: on
// x86-64 write and execute access imply read, so Linux makes a
// PROT_WRITE or PROT_EXEC page readable too.
//
//go:nosplit
func readable(prot uint8) bool { return prot&(ProtRead|ProtWrite|ProtExec) != 0 }

// pageEnd returns the page-aligned end of [addr, addr+length), and false
// when rounding the length up, or adding it, wraps around (Linux's
// PAGE_ALIGN checks in munmap and madvise: EINVAL).
//
//go:nosplit
func pageEnd(addr, length uintptr) (uintptr, bool) {
	n := (length + pageSize - 1) &^ (pageSize - 1)
	end := addr + n
	return end, (length == 0 || n != 0) && end >= addr
}

// knownAdvice reports whether Linux (6.x, x86-64) knows madvise advice a:
// MADV_NORMAL to MADV_COLLAPSE (0-25, but for the unused 5-7), and
// MADV_HWPOISON/MADV_SOFT_OFFLINE (100, 101).
//
//go:nosplit
func knownAdvice(a int) bool {
	return a >= 0 && a <= 25 && (a < 5 || a > 7) || a == 100 || a == 101
}

// mergeable reports whether entry b may join entry a, which it follows:
// adjacent, the same protection, and the same memory — both private, or
// the same object at consecutive indices.
//
//go:nosplit
func mergeable(a, b *Entry) bool {
	return a.End == b.Start && a.Prot == b.Prot && a.Obj == b.Obj && a.Flags == b.Flags &&
		(a.Obj == 0 || a.Off+uint64(a.End-a.Start)/pageSize == b.Off)
}

// ent returns entry i, the index masked: replace indexes without bounds
// checks, whose panic path is deeper than its nosplit chains allow.
//
//go:nosplit
func (m *Map) ent(i int) *Entry { return &m.entries[uint(i)%uint(len(m.entries))] }

// move copies the n entries from src to dst (overlapping, as copy does)
// through ent.
//
//go:nosplit
func (m *Map) move(dst, src, n int) {
	if dst <= src {
		for x := 0; x < n; x++ {
			*m.ent(dst + x) = *m.ent(src + x)
		}
		return
	}
	for x := n - 1; x >= 0; x-- {
		*m.ent(dst + x) = *m.ent(src + x)
	}
}

// noEntry is replace's flags for a range left unmapped.
const noEntry = 0xff

// replace makes [start, end) unmapped (flags noEntry) or one entry with
// prot and flags over object obj from index off (0: private memory), merged
// with neighbours (and pieces of split entries) it is mergeable with. It
// counts the entries the result needs before it changes anything, and
// check stops there: false means the table would overflow, and nothing
// changed. It edits only entries: the caller removes the pages of
// [start, end) first (unmapPages), so the entries it edits hold PVs only
// outside the range, which follow their pages into the pieces and merged
// entries; and it drops the object references of the entries wholly
// inside the range first (dropObjects). An entry it cuts in two gets a
// second reference; a merge drops one.
//
//go:nosplit
func (m *Map) replace(start, end uintptr, prot uint8, obj uint32, off uint64, flags uint8, check bool) bool {
	i, j := m.span(start, end)
	// Entries [lo, hi) give way to at most three: [ls, start), the piece
	// of a split entry or a neighbour to merge with; the new entry;
	// [end, re), likewise. An empty side has ls == start or re == end.
	lo, hi := i, j
	insert := flags != noEntry
	newEntry := Entry{Start: start, End: end, Prot: prot, Obj: obj, Off: off, Flags: flags}
	var left, right Entry // the sides as entries of their own, before merging
	left.Start, left.End, right.Start, right.End = start, start, end, end
	splitLeft := i < j && m.ent(i).Start < start
	splitRight := i < j && m.ent(j-1).End > end
	if splitLeft {
		left = *m.ent(i)
		left.End = start
	} else if insert && i > 0 && mergeable(m.ent(i-1), &newEntry) {
		lo, left = i-1, *m.ent(i - 1)
	}
	if splitRight {
		right = *m.ent(j - 1)
		right.Start = end
		if right.Obj != 0 {
			right.Off += uint64(end-m.ent(j-1).Start) / pageSize
		}
	} else if insert && j < m.n && mergeable(&newEntry, m.ent(j)) {
		hi, right = j+1, *m.ent(j)
	}
	// A side stays an entry of its own unless it merges with the new one.
	leftAlone := left.Start < start && (!insert || !mergeable(&left, &newEntry))
	rightAlone := right.End > end && (!insert || !mergeable(&newEntry, &right))
	k := 0
	if leftAlone {
		k++
	}
	if insert {
		k++
	}
	if rightAlone {
		k++
	}
	n := m.n - (hi - lo) + k
	if n > MaxEntries {
		return false
	}
	if check {
		return true
	}
	// The sides' PVs, before the copy below overwrites their entries.
	left.PV, right.PV = pmap.PVList{}, pmap.PVList{}
	if lo < i || splitLeft {
		left.PV = m.ent(lo).PV
	}
	cut := splitRight && splitLeft && j-1 == i // one entry cut in two
	switch {
	case cut:
		right.PV = left.PV.Split(end)
		objRef(right.Obj)
	case splitRight || hi > j:
		right.PV = m.ent(hi - 1).PV
	}
	for x := range len(m.entries) { // the entries inside the range lost their pages
		if x >= j {
			break
		}
		if x >= i && !(x == i && splitLeft) && !(x == j-1 && splitRight) {
			fatal.Assert(m.ent(x).PV.Len() == 0 && m.ent(x).Obj == 0,
				"vm: replacing an entry that still has pages or an object (unmapPages, dropObjects)")
		}
	}
	m.move(lo+k, hi, m.n-hi)
	m.n = n
	if leftAlone {
		*m.ent(lo) = left
		left.PV = pmap.PVList{}
		lo++
	}
	if insert {
		// The new entry takes in the sides that merge with it; a merged
		// side's reference to the same object goes with its entry.
		e := &newEntry
		e.PV = left.PV
		if !leftAlone && left.Start < start {
			e.Start, e.Off = left.Start, left.Off
			objDrop(left.Obj)
		}
		if !rightAlone && right.End > end {
			e.End = right.End
			e.PV.Append(&right.PV)
			objDrop(right.Obj)
		}
		*m.ent(lo) = *e
		lo++
	}
	if rightAlone {
		*m.ent(lo) = right
	}
	return true
}

// change is an edit of the entries' attributes over a range (edit): a
// new protection (mprotect), fork flags set and cleared (madvise).
type change struct {
	setProt    bool
	prot       uint8
	set, clear uint8
}

// of returns the protection and flags entry e has after c.
//
//go:nosplit
func (c *change) of(e *Entry) (prot, flags uint8) {
	prot = e.Prot
	if c.setProt {
		prot = c.prot
	}
	return prot, e.Flags&^c.clear | c.set
}

// edit applies c to the mapped parts of [start, end): the entries there
// are clipped at its ends, changed, and merged again with what they may
// merge with. False, with nothing changed, when the result would not fit
// the table (changeCount).
//
//go:nosplit
func (m *Map) edit(start, end uintptr, c *change) bool {
	i, j := m.span(start, end)
	if i == j || start >= end {
		return true
	}
	if m.changeCount(i, j, start, end, c) > MaxEntries {
		return false
	}
	if m.entries[i].Start < start {
		m.clip(i, start)
		i, j = i+1, j+1
	}
	if m.entries[j-1].End > end {
		m.clip(j-1, end)
	}
	for k := range m.entries {
		if k >= j {
			break
		}
		if k >= i {
			e := &m.entries[k]
			e.Prot, e.Flags = c.of(e)
		}
	}
	m.mergeAround(i-1, j+1)
	return true
}

// changeCount returns how many entries the map would have after entries
// [i, j), which overlap [start, end), took change c there: the pieces of
// the entries cut at start and end, less the merges that follow (as
// Linux merges before it splits, a change that merges needs no free
// slot).
//
//go:nosplit
func (m *Map) changeCount(i, j int, start, end uintptr, c *change) int {
	n := m.n
	var w window
	if i > 0 {
		e := &m.entries[i-1]
		w.add(e.Start, e.End, e.Prot, e.Flags, e.Obj, e.Off)
	}
	for k := range m.entries {
		if k >= j {
			break
		}
		if k < i {
			continue
		}
		e := &m.entries[k]
		s, t := max(e.Start, start), min(e.End, end)
		off := e.Off + uint64(s-e.Start)/pageSize
		if e.Start < s { // the piece before start stays as it was
			n++
			if w.add(e.Start, s, e.Prot, e.Flags, e.Obj, e.Off) {
				n--
			}
		}
		p, fl := c.of(e)
		if w.add(s, t, p, fl, e.Obj, off) {
			n--
		}
		if t < e.End { // and the piece after end
			n++
			if w.add(t, e.End, e.Prot, e.Flags, e.Obj, off+uint64(t-s)/pageSize) {
				n--
			}
		}
	}
	if j < m.n {
		e := &m.entries[j]
		if w.add(e.Start, e.End, e.Prot, e.Flags, e.Obj, e.Off) {
			n--
		}
	}
	return n
}

// window is changeCount's last piece: where it ends, and what a piece
// after it must have to merge with it (mergeable's rule).
type window struct {
	end         uintptr
	prot, flags uint8
	obj         uint32
	offEnd      uint64
	ok          bool
}

// add appends the piece [start, end) and reports whether it merges with
// the last one.
//
//go:nosplit
func (w *window) add(start, end uintptr, prot, flags uint8, obj uint32, off uint64) bool {
	merged := w.ok && w.end == start && w.prot == prot && w.flags == flags && w.obj == obj && (obj == 0 || w.offEnd == off)
	w.end, w.prot, w.flags, w.obj, w.offEnd, w.ok = end, prot, flags, obj, off+uint64(end-start)/pageSize, true
	return merged
}

// clip cuts entry k at va, inside it: [Start, va) stays at k, [va, End)
// becomes entry k+1, with the PVs at or above va and, over an object, a
// reference of its own. The caller made sure the table has a free slot.
//
//go:nosplit
func (m *Map) clip(k int, va uintptr) {
	fatal.Assert(m.n < len(m.entries) && k < m.n, "vm: clip with no free slot")
	copy(m.entries[k+2:m.n+1], m.entries[k+1:m.n])
	m.n++
	e := &m.entries[k]
	hi := *e
	hi.Start, hi.PV = va, e.PV.Split(va)
	if hi.Obj != 0 {
		hi.Off += uint64(va-e.Start) / pageSize
		objRef(hi.Obj)
	}
	e.End = va
	m.entries[k+1] = hi
}

// mergeAround merges mergeable neighbours among entries [lo, hi): the
// PVs join, a second reference to the same object goes.
//
//go:nosplit
func (m *Map) mergeAround(lo, hi int) {
	for k := max(lo, 0); k+1 < min(hi, m.n); {
		a, b := &m.entries[k], &m.entries[k+1]
		if !mergeable(a, b) {
			k++
			continue
		}
		a.End = b.End
		a.PV.Append(&b.PV)
		objDrop(b.Obj)
		copy(m.entries[k+1:m.n-1], m.entries[k+2:m.n])
		m.n--
		hi--
	}
}

// Fault resolves a page fault at va. write and exec describe the access.
// It returns true when the page is now mapped, false when the access is
// not allowed (the caller delivers SIGSEGV) or memory ran out. The caller
// holds the guard.
//
//go:nosplit
func (m *Map) Fault(va uintptr, write, exec bool) bool {
	m.guard("vm: Fault without its locks")
	i := m.lookup(va)
	if uint(i) >= uint(len(m.entries)) {
		return false
	}
	prot := m.entries[i].Prot
	if !readable(prot) || write && prot&ProtWrite == 0 || exec && prot&ProtExec == 0 {
		return false
	}
	page := va &^ (pageSize - 1)
	if m.Pmap.IsUser() && mm.Phys.FreePages() < userReserve() {
		m.OutOfMemory++ // the rest is the kernel's: a process cannot starve it
		return false
	}
	e := &m.entries[i]
	fl := m.Pmap.Flags(page)
	if fl&pmap.Present == 0 && e.Obj == 0 { // demand-zero
		return m.zeroFill(page, e)
	}
	if fl&pmap.Present == 0 { // the object's page at this index, new or not
		flags, ok := m.objectFlags(e, page, prot)
		if !ok {
			return false
		}
		pa := objPage(e.Obj, e.Off+uint64(page-e.Start)/pageSize)
		if pa == 0 || !m.Pmap.EnterPV(page, pa, flags, &e.PV) {
			m.OutOfMemory++ // a page the object got stays with it
			return false
		}
		m.Faults++
		if !write {
			m.faultAround(e, page, flags&^pmap.Writable)
		}
		if !write || e.Flags&CopyOnWrite == 0 {
			return true
		}
		fl = flags | pmap.Present | pmap.Managed // a private copy, below
	}
	if write && fl&pmap.Writable == 0 && fl&pmap.Managed != 0 {
		if e.Obj != 0 && e.Flags&CopyOnWrite == 0 { // shared memory is never copied: write where it is
			m.Pmap.Upgrade(page, m.pageFlags(prot))
			return true
		}
		return m.copyOnWrite(page, prot, &e.PV)
	}
	// Present: another CPU filled it between this CPU's fault and its
	// turn at the lock (the access is retried), unless the access is one
	// the page does not allow.
	fatal.Assert(!m.Pmap.IsUser() || fl&pmap.User != 0,
		"vm: pages-in-entries: a supervisor-only page in an entry ring 3 may access")
	return (!write || fl&pmap.Writable != 0) && (!exec || fl&pmap.NoExec == 0)
}

// aroundPages is how many pages a read fault of an object's page maps at
// once: those of the aligned 64 KiB around it (Linux's
// fault_around_bytes), so a program's text and data fault a sixteenth as
// often.
const aroundPages = 16

// faultAround maps with flags (read-only: a write faults as it would
// have) the pages of e's object in the aligned window of aroundPages
// around page, within e, that the object holds and m does not map yet;
// holes stay holes, and a page it cannot map ends it quietly. The caller
// holds the guard.
//
//go:nosplit
func (m *Map) faultAround(e *Entry, page uintptr, flags uint64) {
	o := objectAt(e.Obj)
	lo := max(page&^(aroundPages*pageSize-1), e.Start)
	hi := min(page&^(aroundPages*pageSize-1)+aroundPages*pageSize, e.End)
	for va := lo; va < hi; va += pageSize {
		idx := e.Off + uint64(va-e.Start)/pageSize
		if va == page || o.file && idx >= o.size || m.Pmap.Flags(va)&pmap.Present != 0 {
			continue
		}
		s := o.slot(idx, false)
		if s == nil || *s == 0 {
			continue
		}
		if !m.Pmap.EnterPV(va, *s, flags, &e.PV) {
			return
		}
		m.AroundPages++
	}
}

// objectFlags returns the page-table flags for page, in entry e over an
// object: read-only in a copy-on-write entry (a write then copies the
// page). False, counting it, for a page past the end of a file's object:
// a bus error. The caller holds the guard.
//
//go:nosplit
func (m *Map) objectFlags(e *Entry, page uintptr, prot uint8) (uint64, bool) {
	if o := objectAt(e.Obj); o.file && e.Off+uint64(page-e.Start)/pageSize >= o.size {
		m.BusErrors++
		return 0, false
	}
	flags := m.pageFlags(prot)
	if e.Flags&CopyOnWrite != 0 {
		flags &^= pmap.Writable
	}
	return flags, true
}

// userReserve is how many free frames a process's fault leaves for the
// kernel (its own Go heap, page tables, PV entries): a sixteenth of
// memory, at least 4 MiB.
//
//go:nosplit
func userReserve() uint64 { return max(mm.Phys.TotalPages()/16, 1024) }

// copyOnWrite serves a write to the present read-only page at page, in a
// writable entry (prot) with PV list l: a page only this mapping has
// becomes writable where it is; a page fork shared gets copied, and the
// writer's mapping moves to the copy. Other CPUs drop the old
// translation before the trap returns. The caller holds the guard.
//
//go:nosplit
func (m *Map) copyOnWrite(page uintptr, prot uint8, l *pmap.PVList) bool {
	pa, _ := m.Pmap.Extract(page)
	pa &^= pageSize - 1
	if pmap.Mappings(pa) == 1 {
		m.Pmap.Upgrade(page, m.pageFlags(prot))
		return true
	}
	cp := mm.Phys.AllocDirty() // the copy fills it all
	if cp == 0 {
		m.OutOfMemory++
		return false
	}
	*(*[pageSize]byte)(mm.Direct(cp)) = *(*[pageSize]byte)(mm.Direct(pa))
	if !m.Pmap.Remap(page, cp, m.pageFlags(prot), l) {
		mm.Phys.Free(cp)
		m.OutOfMemory++
		return false
	}
	m.CopyFaults++
	m.Shootdown()
	return true
}

// Fork makes child, an empty map, a copy of m: the same entries, and
// every private page m has shared copy-on-write (read-only in both, each
// with a PV in both; a write copies it, copyOnWrite); the pages of
// shared memory stay shared, with m's permissions, the child's entries
// over the same objects. Entries marked ForkSkip are left out, those
// marked ForkWipe come without pages. False when mm runs out
// (child holds a part; Destroy frees it). m's downgraded translations
// are shot down on other CPUs before the trap returns. The caller holds
// the guard.
//
//go:nosplit
func (m *Map) Fork(child *Map) bool {
	m.guard("vm: Fork without its locks")
	child.guard("vm: Fork without the child's lock")
	fatal.Assert(child.n == 0, "vm: Fork into a map with entries")
	for k := range m.entries {
		if k == m.n {
			break
		}
		e := &m.entries[k]
		if e.Flags&ForkSkip != 0 {
			continue // MADV_DONTFORK: the child has nothing there
		}
		c := &child.entries[uint(child.n)%uint(len(child.entries))]
		*c = Entry{Start: e.Start, End: e.End, Prot: e.Prot, Obj: e.Obj, Off: e.Off, Flags: e.Flags}
		objRef(e.Obj)
		child.n++
		if e.Flags&ForkWipe != 0 {
			continue // MADV_WIPEONFORK: the child's pages read as zero
		}
		if !m.Pmap.ShareRange(&e.PV, &child.Pmap, &c.PV, e.Start, e.End, e.Obj == 0 || e.Flags&CopyOnWrite != 0) {
			m.Shootdown() // the pages shared so far are read-only in m already
			return false
		}
	}
	m.Shootdown()
	return true
}

// EnterPage maps frame pa at va, inside an entry, with flags: a page the
// caller filled (an executable's, loaded at exec). False when va is in no
// entry or mm has no frame. The caller holds the guard.
//
//go:nosplit
func (m *Map) EnterPage(va uintptr, pa uint64, flags uint64) bool {
	m.guard("vm: EnterPage without its locks")
	i := m.lookup(va)
	if uint(i) >= uint(len(m.entries)) {
		return false
	}
	return m.Pmap.EnterPV(va&^(pageSize-1), pa, flags, &m.entries[i].PV)
}

// Present reports whether every page of [va, va+n) is present in the
// kernel's map with the access allowed, faulting none in: for code that
// holds no MP lock (a lwkt.TrapCallLocal body checking the Go memory it
// was handed; Touch makes it present, under the lock). Only the kernel's
// map, whose tables are never freed: a walk racing a change reads the
// old entry or the new one, and the memory the caller was handed stays
// mapped while it holds it.
//
//go:nosplit
func (m *Map) Present(va, n uintptr, write bool) bool {
	fatal.Assert(!m.Pmap.IsUser(), "vm: Present of a process's map")
	end := va + n
	if end < va {
		return false
	}
	for p := va &^ (pageSize - 1); p < end; p += pageSize {
		fl := m.Pmap.Flags(p)
		if fl&pmap.Present == 0 || write && fl&pmap.Writable == 0 {
			return false
		}
	}
	return true
}

// Destroy frees a process's map: every page by the PV shortcut (RemoveAll,
// then each entry's list, no page-table walk and no flush), then the page
// tables in bulk. Nothing may run in m. The caller holds the guard.
//
//go:nosplit
func (m *Map) Destroy() {
	m.guard("vm: Destroy without its locks")
	if Unload != nil && m.Pmap.Active() != 0 {
		Unload(m)
	}
	fatal.Assert(m.Pmap.Active() == 0, "vm: Destroy of a map a CPU holds")
	m.Pmap.RemoveAll()
	for k := range m.entries {
		if k == m.n {
			break
		}
		e := &m.entries[k]
		m.Pmap.RemoveDying(e.Start, e.End, &e.PV)
		objUnref(e.Obj, 0) // no CPU runs m
	}
	m.n = 0
	m.Pmap.Destroy()
	if m.prevLive != 0 {
		mapAt(m.prevLive).nextLive = m.nextLive
	} else {
		live = m.nextLive
	}
	if m.nextLive != 0 {
		mapAt(m.nextLive).prevLive = m.prevLive
	}
	m.nextLive, m.prevLive = 0, 0
}

// CheckAllPV checks the PV bookkeeping of every live map (CheckPV) and
// that the PVs in use are exactly theirs: every managed page has one PV
// and no PV outlives its mapping. It returns the number of maps. The
// caller holds the guard.
//
//go:nosplit
func CheckAllPV() int {
	guard("vm: CheckAllPV without the lock")
	for a := live; a != 0; a = mapAt(a).nextLive { // no fault may run meanwhile
		mapAt(a).Lock()
	}
	Kernel.CheckPV()
	total := Kernel.Pmap.CountManaged(Kernel.userMin, Kernel.max)
	n := 1
	for a := live; a != 0; a = mapAt(a).nextLive {
		m := mapAt(a)
		m.CheckPV()
		total += m.Pmap.CountManaged(m.userMin, m.max)
		n++
	}
	inUse, _ := pmap.PVStats()
	held, _ := ObjectPages()
	fatal.Assert(inUse == total+held+loans, "vm: pv: PVs in use that no map's page, object or loan has")
	for a := live; a != 0; a = mapAt(a).nextLive {
		mapAt(a).Unlock()
	}
	return n
}

// CheckPV checks m's PV bookkeeping: each entry's list is exactly its
// managed pages (pmap.CheckList), and no managed page lies outside every
// entry. A broken invariant throws. The caller holds the guard.
//
//go:nosplit
func (m *Map) CheckPV() {
	m.guard("vm: CheckPV without its locks")
	var listed uint64
	for k := range m.entries {
		if k == m.n {
			break
		}
		e := &m.entries[k]
		m.Pmap.CheckList(&e.PV, e.Start, e.End)
		listed += e.PV.Len()
	}
	fatal.Assert(m.Pmap.CountManaged(m.userMin, m.max) == listed, "vm: pv: managed pages outside every map entry")
}

// pageFlags returns the page-table flags of a page with protection prot:
// user access in a process's map.
//
//go:nosplit
func (m *Map) pageFlags(prot uint8) uint64 {
	flags := uint64(0)
	if prot&ProtWrite != 0 {
		flags |= pmap.Writable
	}
	if prot&ProtExec == 0 && pmap.NXEnabled {
		flags |= pmap.NoExec
	}
	if m.Pmap.IsUser() {
		flags |= pmap.User
	}
	return flags
}

// zeroFill maps a zeroed frame at page, not present, in entry e (private
// memory): a demand-zero fault.
//
//go:nosplit
func (m *Map) zeroFill(page uintptr, e *Entry) bool {
	pa := mm.Phys.Alloc()
	if pa == 0 {
		m.OutOfMemory++
		return false
	}
	if !m.Pmap.EnterPV(page, pa, m.pageFlags(e.Prot), &e.PV) { // no frame for a table or the PV
		mm.Phys.Free(pa)
		m.OutOfMemory++
		return false
	}
	m.Faults++
	return true
}

// Touch makes [va, va+n) of the kernel's map present for a kernel access
// on behalf of a system call, faulting pages in as the hardware would.
// Addresses outside the map's range (the kernel's direct map, Go image
// and static data) are present or not at all. It returns false if any
// page is not accessible. The kernel's map has demand-zero faults only
// (no objects, and it is never forked, so nothing is copied on write):
// Touch fills a page itself (zeroFill), not through Fault, which keeps
// the copy-on-write path out of the trap path's nosplit chains (signal
// delivery, the deepest, touches the stack it writes). The caller holds
// the guard.
//
//go:nosplit
func (m *Map) Touch(va, n uintptr, write bool) bool {
	m.guard("vm: Touch without its locks")
	fatal.Assert(!m.Pmap.IsUser(), "vm: Touch of a process's map")
	if n == 0 {
		return true
	}
	end := va + n
	if end < va || va < upperHalf && end > UserMax+pageSize {
		return false // wraps, or meets the non-canonical hole
	}
	for p := va &^ (pageSize - 1); p < end; p += pageSize {
		if p < m.userMin || p >= m.max { // present or not at all
			if _, ok := m.Pmap.Extract(p); !ok || p < pageSize {
				return false
			}
			continue
		}
		if fl := m.Pmap.Flags(p); fl&pmap.Present != 0 {
			if write && fl&pmap.Writable == 0 {
				return false
			}
			continue
		}
		i := m.lookup(p)
		if uint(i) >= uint(len(m.entries)) {
			return false
		}
		e := &m.entries[i]
		if !readable(e.Prot) || write && e.Prot&ProtWrite == 0 {
			return false
		}
		fatal.Assert(e.Obj == 0, "vm: an object in the kernel's map")
		if !m.zeroFill(p, e) {
			return false
		}
	}
	return true
}

// SelfTest checks sorted-disjoint and no-user-below on m; a broken
// invariant throws, so the error, kept for the kernel's list of
// self-tests, is always nil. The caller holds the guard: the test is
// nosplit so that it can run under the MP lock.
//
//go:nosplit
func (m *Map) SelfTest() error {
	m.guard("vm: SelfTest without its locks")
	for i := 0; i < m.n; i++ {
		e := &m.entries[i]
		fatal.Assert(e.Start < e.End && e.Start%pageSize == 0 && e.End%pageSize == 0,
			"vm: sorted-disjoint: a map entry empty or not page-aligned")
		fatal.Assert(i == 0 || m.entries[i-1].End <= e.Start,
			"vm: sorted-disjoint: map entries out of order or overlapping")
		fatal.Assert(e.Start >= m.userMin, "vm: no-user-below: a map entry below the lowest user address")
	}
	return nil
}
