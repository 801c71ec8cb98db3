package proc

// The page-table halves of Space: TrapCall bodies, below the runtime
// with the MP lock held; each takes the map's lock too (vm.Map.Lock), as
// the demand-zero fault path takes it alone. Each touches the Go memory
// it was handed first (a fresh heap page would fault inside the trap
// path). The memory calls and the copies try a TrapCallLocal body first,
// under the map's lock alone, which does nothing and says so when the
// call needs the MP lock (vm.Map.Alone) or a page made present; the
// caller then runs the TrapCall one.

import (
	"unsafe"

	"gofly/mm"
	"gofly/pmap"
	"gofly/vm"
)

// spaceNew makes the Space at arg a user address space over the kernel's
// upper half with an empty map; it returns 0 when mm has no frame.
//
//go:nosplit
func spaceNew(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(Space{}), true) {
		return 0
	}
	s := (*Space)(mm.Ptr(uint64(arg)))
	root := mm.Phys.Alloc()
	if root == 0 {
		return 0
	}
	s.m.Pmap.InitUser(root, &vm.Kernel.Pmap)
	s.m.Init(userMin)
	return 1
}

// pageArgs is loadPage's argument block: copy n bytes from src to offset
// off of the page at va, mapping it with flags if it is not mapped yet
// (if it is, a segment before shared it: widen its permissions).
type pageArgs struct {
	m       *vm.Map
	va, src uintptr
	off, n  uintptr
	flags   uint64
}

// loadPage is one page of Load; 0 when mm has no frame.
//
//go:nosplit
func loadPage(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(pageArgs{}), true) {
		return 0
	}
	a := (*pageArgs)(mm.Ptr(uint64(arg)))
	a.m.Lock()
	r := loadLocked(a)
	a.m.Unlock()
	return r
}

//go:nosplit
func loadLocked(a *pageArgs) uintptr {
	pm := &a.m.Pmap
	pa, ok := pm.Extract(a.va)
	if ok {
		old := pm.Flags(a.va)
		f := (old | a.flags) &^ pmap.NoExec
		if old&pmap.NoExec != 0 && a.flags&pmap.NoExec != 0 {
			f |= pmap.NoExec
		}
		pm.Protect(a.va, a.va+pageSize, f)
	} else {
		pa = mm.Phys.Alloc()
		if pa == 0 {
			return 0
		}
		if !a.m.EnterPage(a.va, pa, a.flags) {
			mm.Phys.Free(pa)
			return 0
		}
	}
	if a.n > 0 {
		dst := unsafe.Slice((*byte)(mm.Direct(pa+uint64(a.off))), a.n)
		copy(dst, unsafe.Slice((*byte)(mm.Ptr(uint64(a.src))), a.n))
	}
	return 1
}

// spaceDestroy frees everything the Space at arg owns: its pages by the
// PV shortcut, then its tables in bulk (vm.Map.Destroy).
//
//go:nosplit
func spaceDestroy(arg uintptr) uintptr {
	m := &(*Space)(mm.Ptr(uint64(arg))).m
	m.Lock()
	m.Destroy()
	m.Unlock()
	return 0
}

// Memory calls (memArgs.op).
const (
	memMmap = iota
	memMunmap
	memMadvise
	memMprotect
	memMmapObject
)

// memArgs is spaceMem's argument block: op on s's map with addr, length
// and the call's other arguments a, b; ret is the call's result.
type memArgs struct {
	s            *Space
	op           int
	addr, length uintptr
	a, b         int
	obj          uint32 // memMmapObject's object, from page index off
	off          uint64
	ret          int64
}

// spaceMem runs a memory call in a space's map, under the MP lock.
//
//go:nosplit
func spaceMem(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(memArgs{}), true) {
		return 0
	}
	c := (*memArgs)(mm.Ptr(uint64(arg)))
	m := &c.s.m
	m.Lock()
	memLocked(m, c)
	m.Unlock()
	return 1
}

// spaceMemLocal runs a memory call in a space's map without the MP lock
// (lwkt.TrapCallLocal) if the map allows it (vm.Map.Alone); 0, having
// done nothing, if not.
//
//go:nosplit
func spaceMemLocal(arg uintptr) uintptr {
	if !vm.Kernel.Present(arg, unsafe.Sizeof(memArgs{}), true) {
		return 0
	}
	c := (*memArgs)(mm.Ptr(uint64(arg)))
	if !c.lockAlone() {
		return 0
	}
	memLocked(&c.s.m, c)
	c.s.m.Unlock()
	return 1
}

// lockAlone takes c's map's lock and keeps it if c may run under it
// alone (vm.Map.Alone). A function of its own: spaceMemLocal's frame
// stays small enough for the deepest memory call below it.
//
//go:nosplit
func (c *memArgs) lockAlone() bool {
	m := &c.s.m
	m.Lock()
	objects := c.op == memMmap && c.b&vm.MapShared != 0 || c.op == memMmapObject || c.op == memMadvise && c.a == vm.MadvRemove
	if m.Alone(c.addr, c.length, c.frees(), objects) {
		return true
	}
	m.Unlock()
	return false
}

// frees reports whether c may free pages: munmap, an mmap over what is
// mapped, madvise advice that drops pages.
//
//go:nosplit
func (c *memArgs) frees() bool {
	switch c.op {
	case memMunmap:
		return true
	case memMmap, memMmapObject:
		return c.b&vm.MapFixed != 0 && c.b&vm.MapFixedNoReplace == 0
	case memMadvise:
		return c.a == vm.MadvDontNeed || c.a == vm.MadvFree || c.a == vm.MadvRemove
	}
	return false
}

// memLocked runs c in m, whose lock the caller holds. Pages it removes
// may be cached by CPUs running the process's other threads: those
// flush before the trap ends, and the frames wait for it
// (pmap.FreeAfterShootdown).
//
//go:nosplit
func memLocked(m *vm.Map, c *memArgs) {
	resident, tables := m.Pmap.Resident(), m.Pmap.Tables()
	switch c.op {
	case memMmap:
		c.ret = m.Mmap(c.addr, c.length, c.a, c.b)
	case memMmapObject:
		c.ret = m.MmapObject(c.addr, c.length, c.a, c.b, c.obj, c.off)
	case memMunmap:
		c.ret = m.Munmap(c.addr, c.length)
	case memMadvise:
		c.ret = m.Madvise(c.addr, c.length, c.a)
	case memMprotect:
		c.ret = m.Mprotect(c.addr, c.length, c.a)
	}
	if m.Pmap.Resident() < resident || m.Pmap.Tables() < tables { // mprotect shoots down itself
		m.Shootdown()
	}
}

// copyArgs is spaceCopy's argument block: n bytes between the Go buffer
// at buf and user address va of s, out: towards the user.
type copyArgs struct {
	s       *Space
	va, buf uintptr
	n       uintptr
	out     bool
	// frames, when set, is the address of an array of frames that are
	// the kernel's side instead of a buffer, buf the offset into them.
	frames uintptr
	done   uintptr // out: bytes copied (copyPages), up to a bad page
}

// kernelSide returns the kernel's buffer at c.buf and how many bytes of it
// are contiguous (up to n).
//
//go:nosplit
func (c *copyArgs) kernelSide(buf, n uintptr) (uintptr, uintptr) {
	if c.frames == 0 {
		return buf, n
	}
	f := *(*uint64)(mm.Ptr(uint64(c.frames + buf/pageSize*8)))
	return mm.DirectVA(f) + buf%pageSize, min(n, pageSize-buf%pageSize)
}

// kernelOK reports whether the kernel's side of c is present (a buffer
// with the access, or the frames' array; the frames are in the direct
// map), making it so first when touch says to.
//
//go:nosplit
func (c *copyArgs) kernelOK(touch bool) bool {
	a, n := c.buf, c.n
	if c.frames != 0 { // the array's words from the one for byte buf on
		a, n = c.frames+c.buf/pageSize*8, (c.buf%pageSize+c.n+pageSize-1)/pageSize*8
	}
	if touch {
		return vm.Kernel.Touch(a, n, !c.out)
	}
	return vm.Kernel.Present(a, n, !c.out || c.frames != 0)
}

// spaceCopy copies between a process's memory and a kernel buffer, page
// by page through the process's tables and the direct map, filling
// absent pages and breaking copy-on-write as the process's own access
// would; 0 when a page may not be accessed so (nothing is copied past
// it).
//
//go:nosplit
func spaceCopy(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(copyArgs{}), true) {
		return 0
	}
	c := (*copyArgs)(mm.Ptr(uint64(arg)))
	if !c.kernelOK(true) {
		return 0
	}
	m := &c.s.m
	m.Lock()
	r := copyPages(m, c, true)
	m.Unlock()
	return r
}

// spaceCopyLocal is spaceCopy without the MP lock (lwkt.TrapCallLocal),
// under the map's lock alone: it copies if every page is present with
// the access and says copyDone; copyFault if a page may not be accessed
// so; copyRetry, having copied part or nothing, if a page must be
// faulted in (or the kernel buffer made present) first, which needs the
// MP lock (spaceCopy then copies it all again).
//
//go:nosplit
func spaceCopyLocal(arg uintptr) uintptr {
	if !vm.Kernel.Present(arg, unsafe.Sizeof(copyArgs{}), true) {
		return copyRetry
	}
	c := (*copyArgs)(mm.Ptr(uint64(arg)))
	if !c.kernelOK(false) {
		return copyRetry
	}
	m := &c.s.m
	m.Lock()
	r := copyPages(m, c, false)
	m.Unlock()
	return r
}

// spaceCopy's and spaceCopyLocal's results (copyPages).
const (
	copyFault = iota
	copyDone
	copyRetry
)

// copyPage copies k bytes between user memory at physical address pa
// and the kernel buffer at buf; out: towards the user.
//
//go:nosplit
func copyPage(pa uint64, buf, k uintptr, out bool) {
	user := unsafe.Slice((*byte)(mm.Direct(pa)), k)
	kern := unsafe.Slice((*byte)(mm.Ptr(uint64(buf))), k)
	if out {
		copy(user, kern)
	} else {
		copy(kern, user)
	}
}

// copyPages copies c page by page through m's tables and the direct
// map. A page absent, or copy-on-write for a copy out, is faulted in as
// the process's own access would (fault: the caller holds the MP lock
// too), or ends the copy with copyRetry; one the access may not use
// ends it with copyFault. c.done says how many bytes it copied. The
// caller holds m's lock.
//
//go:nosplit
func copyPages(m *vm.Map, c *copyArgs, fault bool) uintptr {
	va, buf, n := c.va, c.buf, c.n
	c.done = 0
	for n > 0 {
		page := va &^ (pageSize - 1)
		fl := m.Pmap.Flags(page)
		if fl&pmap.Present == 0 || c.out && fl&pmap.Writable == 0 { // absent, or copy-on-write
			if !fault {
				return copyRetry
			}
			if !m.Fault(page, c.out, false) {
				return copyFault
			}
			fl = m.Pmap.Flags(page)
		}
		if fl&pmap.User == 0 || c.out && fl&pmap.Writable == 0 {
			return copyFault
		}
		pa, _ := m.Pmap.Extract(page)
		kb, k := c.kernelSide(buf, min(n, pageSize-(va-page)))
		copyPage(pa+uint64(va-page), kb, k, c.out)
		va, buf, n = va+k, buf+k, n-k
		c.done += k
	}
	return copyDone
}

// statArgs is spaceStat's argument block: out holds vm.MaxEntries
// MapEntry values; n is how many spaceStat filled.
type statArgs struct {
	s   *Space
	out uintptr
	n   int
}

// spaceStat copies a space's map entries, with the pages present in each,
// into a.out.
//
//go:nosplit
func spaceStat(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(statArgs{}), true) {
		return 0
	}
	a := (*statArgs)(mm.Ptr(uint64(arg)))
	if !vm.Kernel.Touch(a.out, vm.MaxEntries*unsafe.Sizeof(MapEntry{}), true) {
		return 0
	}
	out := (*[vm.MaxEntries]MapEntry)(mm.Ptr(uint64(a.out)))
	m := &a.s.m
	m.Lock()
	n := m.Len()
	for i := range out {
		if i == n {
			break
		}
		e := m.At(i)
		out[i] = MapEntry{Entry: e, Resident: m.Pmap.Count(e.Start, e.End)}
	}
	a.n = n
	m.Unlock()
	return 1
}

// forkArgs is spaceFork's argument block.
type forkArgs struct{ parent, child *Space }

// spaceFork copies a space into a new one, copy-on-write; 0 when mm ran
// out.
//
//go:nosplit
func spaceFork(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(forkArgs{}), true) {
		return 0
	}
	a := (*forkArgs)(mm.Ptr(uint64(arg)))
	if !vm.Kernel.Touch(uintptr(unsafe.Pointer(a.child)), unsafe.Sizeof(Space{}), true) {
		return 0
	}
	a.parent.m.Lock()
	a.child.m.Lock()
	ok := a.parent.m.Fork(&a.child.m)
	a.child.m.Unlock()
	a.parent.m.Unlock()
	if !ok {
		return 0
	}
	return 1
}

// loanArgs is spaceLoan's and spaceUnloan's argument block: pages points
// at n frames; k is how many spaceLoan lent, or how many of them
// spaceUnloan freed.
type loanArgs struct {
	s     *Space
	va    uintptr
	pages uintptr
	n, k  int
}

// spaceLoan lends up to c.n pages of a process from c.va on
// (vm.Map.Loan), their frames into c.pages: k says how many.
//
//go:nosplit
func spaceLoan(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(loanArgs{}), true) {
		return 0
	}
	c := (*loanArgs)(mm.Ptr(uint64(arg)))
	if !vm.Kernel.Touch(c.pages, uintptr(c.n)*8, true) {
		return 0
	}
	m := &c.s.m
	m.Lock()
	c.k = m.Loan(c.va, unsafe.Slice((*uint64)(mm.Ptr(uint64(c.pages))), c.n))
	m.Unlock()
	return 0
}

// spaceUnloan gives back the loans of c.n frames at c.pages (vm.Unloan),
// and says in c.k how many it freed.
//
//go:nosplit
func spaceUnloan(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(loanArgs{}), true) {
		return 0
	}
	c := (*loanArgs)(mm.Ptr(uint64(arg)))
	if !vm.Kernel.Touch(c.pages, uintptr(c.n)*8, false) {
		return 0
	}
	c.k = vm.Unloan(unsafe.Slice((*uint64)(mm.Ptr(uint64(c.pages))), c.n))
	return 0
}

// residentArgs is spaceResident's argument block: a byte per page of the
// n pages from va into the Go buffer at out, 1 where s maps the page.
type residentArgs struct {
	s          *Space
	va, n, out uintptr
}

// spaceResident fills a residentArgs under s's map lock (mincore's
// pages present in the tables); 0 when the buffer cannot be made
// present.
//
//go:nosplit
func spaceResident(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(residentArgs{}), true) {
		return 0
	}
	a := (*residentArgs)(mm.Ptr(uint64(arg)))
	if !vm.Kernel.Touch(a.out, a.n, true) {
		return 0
	}
	m := &a.s.m
	m.Lock()
	for i := uintptr(0); i < a.n; i++ {
		b := byte(0)
		if m.Pmap.Flags(a.va+i*pageSize)&pmap.Present != 0 {
			b = 1
		}
		*(*byte)(mm.Ptr(uint64(a.out + i))) = b
	}
	m.Unlock()
	return 1
}
