package objcache

// The slab carves fixed-size objects out of pages: below the runtime
// (nosplit, no allocation). Its page headers live in the pages themselves.

import (
	"unsafe"

	"gofly/fatal"
)

// PageSize is the size of the pages a Slab's page source hands out; a page
// address is PageSize-aligned.
const PageSize = 4096

// slabPage is the header at the start of every page a Slab holds: the page's
// own free list and its links in the slab's partial list. Protected by
// Slab.lock.
type slabPage struct {
	free  uintptr // first free object of this page; each free object's first word links the next; 0 ends
	next  uintptr // partial list (pages with a free object); 0 ends
	prev  uintptr
	nfree uint32 // free objects in this page
	_     uint32
}

// slabHeader is where the first object of a page starts.
const slabHeader = unsafe.Sizeof(slabPage{})

// MaxObjectSize is the largest object a Slab carves (one per page).
const MaxObjectSize = PageSize - int(slabHeader)

// Slab is a page-backed allocator of fixed-size objects: the memory behind
// a FrameCache. It gives out unconstructed memory; FrameCache adds ctor and dtor. A
// page goes back to its source as soon as all its objects are free
// (invariant slab-empty-page: no page with every object free is kept).
//
// Lock order: Slab.lock is a leaf, and the page source is called with it
// released (mm takes its own guard).
type Slab struct {
	lock      spinlock
	size      uintptr // object size, a multiple of 8
	perPage   uint32  // objects per page
	pageAlloc uintptr // funcval: func() uintptr, a zeroed or dirty page, 0 when none
	pageFree  uintptr // funcval: func(uintptr)

	// Protected by lock.
	partial uintptr // pages with at least one free object
	pages   int64   // pages held
	inUse   int64   // objects handed out
}

// alloc returns an object's memory, 0 when the page source has none. Its
// contents are undefined.
//
//go:nosplit
func (s *Slab) alloc() uintptr {
	s.lock.lock()
	if s.partial == 0 {
		s.lock.unlock()
		pg := callAlloc(s.pageAlloc)
		if pg == 0 {
			return 0
		}
		fatal.Assert(pg&(PageSize-1) == 0, "objcache: page source returned an unaligned page")
		s.carve(pg)
		s.lock.lock()
		s.pages++
		s.insert(pg)
	}
	pg := s.partial
	p := (*slabPage)(ptr(pg))
	obj := p.free
	p.free = *(*uintptr)(ptr(obj))
	p.nfree--
	if p.nfree == 0 {
		s.remove(pg)
	}
	s.inUse++
	s.lock.unlock()
	return obj
}

// free gives back obj, which alloc returned. The page goes back to the
// page source when it was the page's last object in use.
//
//go:nosplit
func (s *Slab) free(obj uintptr) {
	pg := obj &^ (PageSize - 1)
	fatal.Assert(obj >= pg+slabHeader && (obj-pg-slabHeader)%s.size == 0, "objcache: slab free of an address it never gave out")
	p := (*slabPage)(ptr(pg))
	s.lock.lock()
	*(*uintptr)(ptr(obj)) = p.free
	p.free = obj
	p.nfree++
	if p.nfree == 1 {
		s.insert(pg)
	}
	s.inUse--
	if p.nfree < s.perPage {
		s.lock.unlock()
		return
	}
	s.remove(pg)
	s.pages--
	s.lock.unlock()
	callFree(s.pageFree, pg)
}

// carve builds a fresh page's header and free list; the page is not yet
// shared, so no lock.
//
//go:nosplit
func (s *Slab) carve(pg uintptr) {
	p := (*slabPage)(ptr(pg))
	p.free, p.next, p.prev, p.nfree = 0, 0, 0, s.perPage
	for i := uintptr(s.perPage); i > 0; i-- {
		obj := pg + slabHeader + (i-1)*s.size
		*(*uintptr)(ptr(obj)) = p.free
		p.free = obj
	}
}

// insert puts pg at the head of the partial list. Caller holds lock.
//
//go:nosplit
func (s *Slab) insert(pg uintptr) {
	p := (*slabPage)(ptr(pg))
	p.prev, p.next = 0, s.partial
	if s.partial != 0 {
		(*slabPage)(ptr(s.partial)).prev = pg
	}
	s.partial = pg
}

// remove unlinks pg from the partial list. Caller holds lock.
//
//go:nosplit
func (s *Slab) remove(pg uintptr) {
	p := (*slabPage)(ptr(pg))
	if p.prev != 0 {
		(*slabPage)(ptr(p.prev)).next = p.next
	} else {
		s.partial = p.next
	}
	if p.next != 0 {
		(*slabPage)(ptr(p.next)).prev = p.prev
	}
	p.next, p.prev = 0, 0
}
