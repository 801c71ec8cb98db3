package vm

// The address map serves system calls and page faults in trap context:
// nosplit and allocation-free.

import (
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
	MapFixed          = 0x10
	MapAnonymous      = 0x20
	MapFixedNoReplace = 0x100000
)

// madvise advice values that discard pages.
const (
	MadvDontNeed = 4
	MadvFree     = 8
)

// Errno values returned (negated) by the system-call layer.
const (
	ENOMEM = 12
	EINVAL = 22
	EEXIST = 17
	ENODEV = 19
)

const (
	pageSize = mm.PageSize
	// UserMax is the top of the canonical lower half.
	UserMax = 0x7FFF_FFFF_F000
	// MmapBase is where first-fit placement starts.
	MmapBase = 0x6000_0000_0000
	// MaxEntries bounds the map.
	MaxEntries = 1024
)

// Entry is one mapped range [Start, End).
type Entry struct {
	Start, End uintptr
	Prot       uint8
}

// Map is an address space: its map entries and its page tables, as
// DragonFly's vmspace holds a vm_map and its pmap. Holding the Pmap by
// value keeps Init free of pointer stores, which code below the runtime
// must not make.
type Map struct {
	entries [MaxEntries]Entry
	n       int
	Pmap    pmap.Pmap
	userMin uintptr
	Faults  uint64 // demand-zero faults served
	// OutOfMemory counts faults that failed for want of a page frame or
	// page table, so the fault path can tell them from access violations.
	OutOfMemory uint64
}

// Kernel is the kernel's (and the Go runtime's) address space.
var Kernel Map

// Init empties m; mmap will use addresses from userMin up. The caller has
// initialised m.Pmap.
//
//go:nosplit
func (m *Map) Init(userMin uintptr) {
	m.userMin = userMin
	m.n = 0
}

// UserMin returns the lowest address mmap may use.
//
//go:nosplit
func (m *Map) UserMin() uintptr { return m.userMin }

// Len returns the number of entries.
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

// free reports whether [start, end) overlaps no entry.
//
//go:nosplit
func (m *Map) free(start, end uintptr) bool {
	for i := 0; i < m.n; i++ {
		e := &m.entries[i]
		if start < e.End && e.Start < end {
			return false
		}
	}
	return true
}

// findSpace returns the lowest free range of n bytes at or above MmapBase.
//
//go:nosplit
func (m *Map) findSpace(n uintptr) uintptr {
	at := uintptr(MmapBase)
	if at < m.userMin {
		at = m.userMin
	}
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
	if at+n > UserMax || at+n < at {
		return 0
	}
	return at
}

// Mmap maps length bytes of anonymous memory and returns the address or a
// negated errno.
//
//go:nosplit
func (m *Map) Mmap(addr, length uintptr, prot, flags int) int64 {
	if flags&MapAnonymous == 0 {
		return -ENODEV // there are no files to map
	}
	if length == 0 || flags&(MapShared|MapPrivate) == 0 {
		return -EINVAL
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
	inRange := addr >= m.userMin && addr+n <= UserMax && addr+n > addr
	switch {
	case flags&MapFixedNoReplace != 0:
		if !inRange {
			return -EINVAL
		}
		if !m.free(addr, addr+n) {
			return -EEXIST
		}
	case flags&MapFixed != 0:
		if !inRange {
			return -EINVAL
		}
		if msg := m.unmap(addr, addr+n); msg != "" {
			return -ENOMEM
		}
	default:
		if addr == 0 || !inRange || !m.free(addr, addr+n) {
			addr = m.findSpace(n)
			if addr == 0 {
				return -ENOMEM
			}
		}
	}
	if !m.insert(Entry{addr, addr + n, uint8(prot & 7)}) {
		return -ENOMEM
	}
	return int64(addr)
}

// Munmap removes [addr, addr+length) and frees its pages.
//
//go:nosplit
func (m *Map) Munmap(addr, length uintptr) int64 {
	if addr%pageSize != 0 || length == 0 {
		return -EINVAL
	}
	end := (addr + length + pageSize - 1) &^ (pageSize - 1)
	if addr < m.userMin || end > UserMax || end < addr {
		return -EINVAL
	}
	if m.unmap(addr, end) != "" {
		return -ENOMEM
	}
	return 0
}

// Madvise handles MADV_DONTNEED and MADV_FREE by dropping the pages (they
// read as zero when next touched); other advice is accepted and ignored,
// as it only tunes placement.
//
//go:nosplit
func (m *Map) Madvise(addr, length uintptr, advice int) int64 {
	if addr%pageSize != 0 {
		return -EINVAL
	}
	end := (addr + length + pageSize - 1) &^ (pageSize - 1)
	if end < addr || length != 0 && (addr < m.userMin || end > UserMax) {
		return -EINVAL
	}
	if advice == MadvDontNeed || advice == MadvFree {
		if m.Pmap.Remove(addr, end) != "" {
			return -EINVAL
		}
	}
	return 0
}

// unmap punches [start, end) out of the map and the pmap. It returns a
// constant message when the table overflows or a frame cannot be freed.
//
//go:nosplit
func (m *Map) unmap(start, end uintptr) string {
	if msg := m.Pmap.Remove(start, end); msg != "" {
		return msg
	}
	for i := 0; i < m.n; {
		e := m.entries[i]
		if e.End <= start || e.Start >= end {
			i++
			continue
		}
		switch {
		case e.Start < start && e.End > end: // split in two
			if m.n == MaxEntries {
				return "vm: map table full"
			}
			m.entries[i].End = start
			copy(m.entries[i+2:m.n+1], m.entries[i+1:m.n])
			m.entries[i+1] = Entry{end, e.End, e.Prot}
			m.n++
			return ""
		case e.Start < start:
			m.entries[i].End = start
			i++
		case e.End > end:
			m.entries[i].Start = end
			i++
		default: // wholly covered
			copy(m.entries[i:m.n-1], m.entries[i+1:m.n])
			m.n--
		}
	}
	return ""
}

// insert adds e, which overlaps no entry, merging it with neighbours of
// the same protection.
//
//go:nosplit
func (m *Map) insert(e Entry) bool {
	i := 0
	for i < m.n && m.entries[i].Start < e.Start {
		i++
	}
	if i > 0 && m.entries[i-1].End == e.Start && m.entries[i-1].Prot == e.Prot {
		m.entries[i-1].End = e.End
		if i < m.n && m.entries[i].Start == e.End && m.entries[i].Prot == e.Prot {
			m.entries[i-1].End = m.entries[i].End
			copy(m.entries[i:m.n-1], m.entries[i+1:m.n])
			m.n--
		}
		return true
	}
	if i < m.n && m.entries[i].Start == e.End && m.entries[i].Prot == e.Prot {
		m.entries[i].Start = e.Start
		return true
	}
	if m.n == MaxEntries {
		return false
	}
	copy(m.entries[i+1:m.n+1], m.entries[i:m.n])
	m.entries[i] = e
	m.n++
	return true
}

// Fault resolves a page fault at va. write and exec describe the access.
// It returns true when the page is now mapped, false when the access is
// not allowed (the caller delivers SIGSEGV) or memory ran out.
//
//go:nosplit
func (m *Map) Fault(va uintptr, write, exec bool) bool {
	i := m.lookup(va)
	if uint(i) >= uint(len(m.entries)) {
		return false
	}
	prot := m.entries[i].Prot
	if prot&ProtRead == 0 || write && prot&ProtWrite == 0 || exec && prot&ProtExec == 0 {
		return false
	}
	page := va &^ (pageSize - 1)
	if fl := m.Pmap.Flags(page); fl&pmap.Present != 0 {
		// Present: another CPU filled it between this CPU's fault and
		// its turn at the lock (the access is retried), unless the
		// access is one the page does not allow.
		return !write || fl&pmap.Writable != 0
	}
	pa := mm.Phys.Alloc()
	if pa == 0 {
		m.OutOfMemory++
		return false
	}
	flags := uint64(0)
	if prot&ProtWrite != 0 {
		flags |= pmap.Writable
	}
	if prot&ProtExec == 0 && pmap.NXEnabled {
		flags |= pmap.NoExec
	}
	if !m.Pmap.Enter(page, pa, flags) { // no frame for a page table
		mm.Phys.Free(pa)
		m.OutOfMemory++
		return false
	}
	m.Faults++
	return true
}

// Touch makes [va, va+n) present for a kernel access on behalf of a system
// call, faulting pages in as the hardware would. Addresses in the direct
// map (the Go image and static data) are always present. It returns false
// if any page is not accessible.
//
//go:nosplit
func (m *Map) Touch(va, n uintptr, write bool) bool {
	if n == 0 {
		return true
	}
	end := va + n
	if end < va || end > UserMax {
		return false
	}
	for p := va &^ (pageSize - 1); p < end; p += pageSize {
		if p < m.userMin { // direct map: present or not at all
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
		if !m.Fault(p, write, false) {
			return false
		}
	}
	return true
}
