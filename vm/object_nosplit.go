package vm

// VM objects, below the runtime: nosplit, allocation-free, a fixed table.

import (
	"sync/atomic"
	"unsafe"

	"gofly/fatal"
	"gofly/mm"
	"gofly/pmap"
)

// An Object holds pages by index: those of shared anonymous memory
// (MAP_SHARED | MAP_ANONYMOUS), as DragonFly's anonymous (swap-backed)
// vm_object does, and a file's (FileObject: a RAM file system's vnode
// holds one reference, its pages are the file's only copy): every map entry over it, in one address space or in
// several after fork, maps the same frame at the same index, and a page
// outlives its mappings (MADV_DONTNEED, a munmap of one piece) until the
// object goes with its last entry. Private anonymous memory has no
// object: its pages belong to their mappings, copy-on-write page by page
// after fork (see Map.Fork). An object holds each of its pages through
// pmap.Hold, a PV with no pmap on the page's list, so the page's last
// mapping going does not free its frame.
//
// Guarded by the MP lock: only Fault and FilePage under it fill an
// object (FaultFresh hands faults in object entries on), and entries are
// made, clipped, merged and dropped under it.
type Object struct {
	refs   int32  // map entries over the object, and a file's own; 0: the slot is free
	pages  uint64 // resident pages
	tables uint64 // frames of the page index
	root   uint64 // the page index's top table (objLevels of 512), 0: none yet
	// file: a file's object, whose pages at index size and above lie past
	// the file's end (a fault there is a bus error, as on Linux).
	file bool
	size uint64
	// orphan: a file's object the file has let go of (removed and
	// closed) while maps still hold it: no read() or write() reaches
	// its pages any more, and MADV_REMOVE punches it as shared memory.
	orphan bool
}

// MaxObjects bounds the objects alive at once, in every address space and
// file: a shared mapping beyond it is ENOMEM, a file ENOSPC.
const MaxObjects = 4096

// objLevels tables of 512 entries index an object's pages (Object.free
// walks exactly three): 2^27 pages, 512 GiB, the largest shared mapping.
const (
	objLevels   = 3
	objMaxPages = 1 << (9 * objLevels)
)

// objects[0] is never used: an entry's Obj 0 means no object.
var objects [MaxObjects]Object

//go:nosplit
func objectAt(i uint32) *Object {
	fatal.Assert(i != 0 && i < MaxObjects && objects[i].refs > 0, "vm: object: a map entry over a dead or missing object")
	return &objects[i%MaxObjects]
}

// newObject returns a fresh object with one reference, 0 when the table
// is full.
//
//go:nosplit
func newObject() uint32 {
	guard("vm: object made without the MP lock")
	for i := range objects {
		if i > 0 && objects[i].refs == 0 {
			objects[i] = Object{refs: 1}
			return uint32(i)
		}
	}
	return 0
}

// objRef adds a reference to object i (an entry split in two, a fork's
// copy).
//
//go:nosplit
func objRef(i uint32) {
	if i != 0 {
		guard("vm: object referenced without the MP lock")
		objectAt(i).refs++
	}
}

// objDrop drops a reference to object i that is not its last (two
// entries merged into one).
//
//go:nosplit
func objDrop(i uint32) {
	if i != 0 {
		guard("vm: object dropped without the MP lock")
		o := objectAt(i)
		fatal.Assert(o.refs > 1, "vm: object: a merge dropped the last reference")
		o.refs--
	}
}

// objUnref drops a reference to object i; the last frees its pages that
// no mapping has left, and its index tables, once the CPUs in waiters
// (those running the map that last mapped them) have flushed.
//
//go:nosplit
func objUnref(i uint32, waiters uint64) {
	if i == 0 {
		return
	}
	guard("vm: object dropped without the MP lock")
	o := objectAt(i)
	o.refs--
	if o.refs > 0 {
		return
	}
	if o.root != 0 {
		o.free(i, waiters)
	}
	fatal.Assert(o.pages == 0 && o.tables == 0, "vm: object: pages or tables left after its teardown")
	*o = Object{}
}

// free frees every page of o (object tag) and its index tables: nothing
// maps the pages any more (entries unmap their pages before they drop
// their object). Three loops for the three levels: no recursion below
// the runtime.
//
//go:nosplit
func (o *Object) free(tag uint32, waiters uint64) {
	top := (*[512]uint64)(mm.Direct(o.root))
	for a := range top {
		if top[a] == 0 {
			continue
		}
		mid := (*[512]uint64)(mm.Direct(top[a]))
		for b := range mid {
			if mid[b] == 0 {
				continue
			}
			leaf := (*[512]uint64)(mm.Direct(mid[b]))
			for c := range leaf {
				if leaf[c] == 0 {
					continue
				}
				fatal.Assert(pmap.Release(leaf[c], uintptr(tag)), "vm: object: a page still mapped when its object dies")
				pmap.FreeAfterShootdown(leaf[c], waiters)
				o.pages--
			}
			mm.Phys.Free(mid[b])
			o.tables--
		}
		mm.Phys.Free(top[a])
		o.tables--
	}
	mm.Phys.Free(o.root)
	o.tables--
	o.root = 0
}

// slot returns the index's entry for page idx, making the tables on the
// way when grow is set; nil when they are absent (or mm has no frame).
// A table is published by an atomic store once zeroed (mm's Alloc), as a
// page is (objPage), and read by atomic loads: a file's reads walk the
// index without the MP lock (frames).
//
//go:nosplit
func (o *Object) slot(idx uint64, grow bool) *uint64 {
	fatal.Assert(idx < objMaxPages, "vm: object: a page index past the object's reach")
	p := &o.root
	for l := objLevels - 1; ; l-- {
		if atomic.LoadUint64(p) == 0 {
			if !grow {
				return nil
			}
			t := mm.Phys.Alloc()
			if t == 0 {
				return nil
			}
			atomic.StoreUint64(p, t)
			o.tables++
		}
		p = &(*[512]uint64)(mm.Direct(atomic.LoadUint64(p)))[(idx>>(9*uint(l)))%512]
		if l == 0 {
			return p
		}
	}
}

// page returns object i's frame at index idx, allocating a zeroed one
// (held by the object) when it has none; 0 when mm has no frame.
//
//go:nosplit
func objPage(i uint32, idx uint64) uint64 {
	o := objectAt(i)
	s := o.slot(idx, true)
	if s == nil {
		return 0
	}
	if *s != 0 {
		return *s
	}
	pa := mm.Phys.Alloc()
	if pa == 0 {
		return 0
	}
	if !pmap.Hold(pa, uintptr(i)) {
		mm.Phys.Free(pa)
		return 0
	}
	atomic.StoreUint64(s, pa) // zeroed: a lock-free reader (frames) sees zeros or nothing
	o.pages++
	return pa
}

// frames fills out with the frames of o's pages idx, idx+1, …, 0 for
// holes, without the MP lock: slot's atomic loads of an index whose tables
// and pages are published zeroed (slot, objPage) and freed only with o.
// The caller keeps o alive and its pages there (see FileFrames).
//
//go:nosplit
func (o *Object) frames(idx uint64, out []uint64) {
	for i := range out {
		out[i] = 0
		if s := o.slot(idx+uint64(i), false); s != nil {
			out[i] = atomic.LoadUint64(s)
		}
	}
}

// ObjectPages returns the pages every object holds (CheckAllPV: each has
// a hold on its page's list) and the frames of their page indexes. The
// caller holds the MP lock.
//
//go:nosplit
func ObjectPages() (pages, tables uint64) {
	for i := range objects {
		pages += objects[i].pages
		tables += objects[i].tables
	}
	return pages, tables
}

// File objects' calls (fileArgs.op), TrapCall bodies: below the runtime,
// MP lock held.
const (
	fileNew     = iota // a fresh object with one reference: ret its number, 0 when the table is full
	filePage           // the page at idx: ret its frame, 0 for a hole (alloc: a fresh zeroed one, fresh set; 0 when memory is short)
	fileResize         // the file has idx pages: free those at idx and above, unmapped from every map first; ret how many
	fileExtend         // the file has at least idx pages (a write's end): raise the size, free nothing
	filePages          // the frames of pages idx to idx+n into out, 0 for holes (all of them for an object gone)
	fileRelease        // drop the file's reference, and the object with its pages if it was the last
	filePunch          // free pages idx to idx+n, unmapped from every map first, leaving holes; ret how many
)

// fileArgs is fileCall's argument block.
type fileArgs struct {
	op    int
	obj   uint32
	idx   uint64
	alloc bool
	fresh bool // out: filePage made the page
	ret   uint64
	n     uint64  // filePages, filePunch: how many
	out   uintptr // filePages: where their frames go (n words)
}

// fileCall serves the file objects' calls (file.go).
//
//go:nosplit
func fileCall(arg uintptr) uintptr {
	if !Kernel.Touch(arg, unsafe.Sizeof(fileArgs{}), true) {
		return 0
	}
	a := (*fileArgs)(mm.Ptr(uint64(arg)))
	guard("vm: a file object's call without the MP lock")
	switch a.op {
	case fileNew:
		if a.ret = uint64(newObject()); a.ret != 0 {
			objects[a.ret%MaxObjects].file = true
		}
	case filePage:
		o := objectAt(a.obj)
		if s := o.slot(a.idx, false); s != nil && *s != 0 {
			a.ret = *s
		} else if a.alloc && mm.Phys.FreePages() >= userReserve() {
			a.ret = objPage(a.obj, a.idx) // a file's pages leave the kernel its reserve, as a process's do
			a.fresh = a.ret != 0
		}
	case fileResize:
		o := objectAt(a.obj)
		before := o.pages
		o.size = a.idx
		o.truncate(a.obj, a.idx)
		a.ret = before - o.pages
	case filePages:
		if !Kernel.Touch(a.out, uintptr(a.n)*8, true) {
			return 0
		}
		out := unsafe.Slice((*uint64)(mm.Ptr(uint64(a.out))), a.n)
		for i := range out {
			out[i] = 0
		}
		if a.obj == 0 || a.obj >= MaxObjects || objects[a.obj].refs == 0 {
			break // gone since the caller looked (mincore's map entries): holes
		}
		o := &objects[a.obj]
		for i := range out {
			if s := o.slot(a.idx+uint64(i), false); s != nil {
				out[i] = *s
			}
		}
	case fileExtend:
		if o := objectAt(a.obj); a.idx > o.size {
			o.size = a.idx
		}
	case fileRelease:
		releaseFile(a.obj)
	case filePunch:
		o := objectAt(a.obj)
		for i := uint64(0); i < a.n; i++ {
			if s := o.slot(a.idx+i, false); s != nil && *s != 0 {
				o.drop(a.obj, s, nil)
				a.ret++
			}
		}
	}
	return 1
}

// releaseFile drops the file's reference to its object obj: the object
// goes with it, or, still mapped, is an orphan from now on.
//
//go:nosplit
func releaseFile(obj uint32) {
	o := objectAt(obj)
	objUnref(obj, 0)
	if o.refs > 0 {
		o.orphan = true
	}
}

// truncate frees o's pages (object tag) at index from and above, each
// first unmapped from every map that maps it (drop) and freed
// once their CPUs have flushed. Index tables stay until the object goes.
// Three loops for the three levels: no recursion below the runtime.
//
//go:nosplit
func (o *Object) truncate(tag uint32, from uint64) {
	if o.root == 0 {
		return
	}
	top := (*[512]uint64)(mm.Direct(o.root))
	for a := range top {
		if top[a] == 0 || uint64(a+1)<<18 <= from {
			continue
		}
		mid := (*[512]uint64)(mm.Direct(top[a]))
		for b := range mid {
			if mid[b] == 0 || uint64(a)<<18+uint64(b+1)<<9 <= from {
				continue
			}
			leaf := (*[512]uint64)(mm.Direct(mid[b]))
			for c := range leaf {
				if leaf[c] == 0 || uint64(a)<<18+uint64(b)<<9+uint64(c) < from {
					continue
				}
				o.drop(tag, &leaf[c], nil)
			}
		}
	}
}
