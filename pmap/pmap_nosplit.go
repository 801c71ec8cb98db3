package pmap

// Page-table code runs from the page-fault handler and system calls below
// the runtime: nosplit and allocation-free throughout.

import (
	"gofly/arch/amd64"
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
	root     uint64 // physical address of the PML4
	resident uint64 // 4 KiB leaf pages entered and not yet removed
	tables   uint64 // page-table pages allocated
	invlpg   bool   // flush TLB entries (false only in host tests)
}

// NXEnabled records whether EFER.NXE is on; NoExec is only legal then.
var NXEnabled bool

// Init makes p use the PML4 at root. flush says whether changes must be
// flushed from this CPU's TLB (p is the live address space).
//
//go:nosplit
func (p *Pmap) Init(root uint64, flush bool) {
	p.root = root
	p.invlpg = flush
}

// Root returns the physical address of the PML4.
//
//go:nosplit
func (p *Pmap) Root() uint64 { return p.root }

// Resident returns the number of 4 KiB pages mapped by Enter.
//
//go:nosplit
func (p *Pmap) Resident() uint64 { return p.resident }

// Tables returns the number of page-table pages allocated since Init.
//
//go:nosplit
func (p *Pmap) Tables() uint64 { return p.tables }

//go:nosplit
func entry(table uint64, i uintptr) *uint64 {
	return (*uint64)(mm.Ptr(table + uint64(i)*8))
}

//go:nosplit
func index(va uintptr, level uint) uintptr {
	return (va >> (12 + 9*level)) & 511
}

// walk returns the entry for va at level (0 = PT, 1 = PD), creating the
// tables above it when create is set. It returns nil if a table is missing
// (and create is clear or memory is exhausted) or a large page is in the
// way.
//
//go:nosplit
func (p *Pmap) walk(va uintptr, level uint, create bool) *uint64 {
	table := p.root
	for l := uint(3); l > level; l-- {
		e := entry(table, index(va, l))
		if *e&Present == 0 {
			if !create {
				return nil
			}
			pa := mm.Phys.Alloc()
			if pa == 0 {
				return nil
			}
			p.tables++
			*e = pa | Present | Writable
		} else if *e&Large != 0 {
			return nil
		}
		table = *e & addrMask
	}
	return entry(table, index(va, level))
}

// Enter maps the 4 KiB page at va to frame pa with flags (Present is
// implied). It returns false when a page table could not be allocated, va is
// page 0, or a large page covers va.
//
//go:nosplit
func (p *Pmap) Enter(va uintptr, pa uint64, flags uint64) bool {
	if va < pageSize {
		return false
	}
	e := p.walk(va, 0, true)
	if e == nil {
		return false
	}
	old := *e
	*e = pa&addrMask | flags&flagsMask | Present
	if old&Present == 0 {
		p.resident++
	} else if p.invlpg {
		amd64.Invlpg(va)
	}
	return true
}

// EnterLarge maps the 2 MiB page at va (2 MiB aligned) to pa, for the
// direct map. It refuses the first 2 MiB (page0) and a range already
// mapped by a page table.
//
//go:nosplit
func (p *Pmap) EnterLarge(va uintptr, pa uint64, flags uint64) bool {
	if va < largeSize {
		return false
	}
	e := p.walk(va, 1, true)
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
// mm.Phys. It skips absent tables, so sparse ranges cost little. It returns
// a constant message if a frame could not be freed (a kernel bug), or "".
//
//go:nosplit
func (p *Pmap) Remove(va, end uintptr) string {
	return p.visit(va, end, 0, true)
}

// Protect replaces the flags of every mapped 4 KiB page in [va, end).
//
//go:nosplit
func (p *Pmap) Protect(va, end uintptr, flags uint64) {
	p.visit(va, end, flags|Present, false)
}

// visit walks the leaf entries of [va, end), removing them (remove) or
// setting their flags to flags.
//
//go:nosplit
func (p *Pmap) visit(va, end uintptr, flags uint64, remove bool) string {
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
			table = e & addrMask
		}
		if l > 0 {
			span := uintptr(1) << (12 + 9*l)
			next := (va + span) &^ (span - 1)
			if next <= va { // wrapped past the top of the address space
				return ""
			}
			va = next
			continue
		}
		e := entry(table, index(va, 0))
		if *e&Present != 0 {
			if remove {
				pa := *e & addrMask
				*e = 0
				p.resident--
				if msg := mm.Phys.Free(pa); msg != "" {
					return msg
				}
			} else {
				*e = *e&addrMask | flags&flagsMask
			}
			if p.invlpg {
				amd64.Invlpg(va)
			}
		}
		if va+pageSize < va { // the last page of the address space
			return ""
		}
		va += pageSize
	}
	return ""
}
