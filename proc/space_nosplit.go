package proc

// The page-table halves of Space: TrapCall bodies, below the runtime
// with the MP lock held. Each touches the Go memory it was handed first
// (a fresh heap page would fault inside the trap path).

import (
	"unsafe"

	"gofly/mm"
	"gofly/pmap"
	"gofly/vm"
)

// newArgs is spaceNew's argument block.
type newArgs struct {
	pm *pmap.Pmap
	ok bool
}

// spaceNew gives the Pmap at a.pm a fresh root as a user address space
// over the kernel's upper half; it returns 0 when mm has no frame.
//
//go:nosplit
func spaceNew(arg uintptr) uintptr {
	a := (*newArgs)(mm.Ptr(uint64(arg)))
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(newArgs{}), true) || !vm.Kernel.Touch(uintptr(unsafe.Pointer(a.pm)), unsafe.Sizeof(pmap.Pmap{}), true) {
		return 0
	}
	root := mm.Phys.Alloc()
	if root == 0 {
		return 0
	}
	a.pm.InitUser(root, &vm.Kernel.Pmap)
	a.ok = true
	return 1
}

// pageArgs is loadPage's argument block: copy n bytes from src to offset
// off of the page at va, mapping it with flags if it is not mapped yet
// (if it is, a segment before shared it: widen its permissions).
type pageArgs struct {
	pm       *pmap.Pmap
	va, src  uintptr
	off, n   uintptr
	flags    uint64
	newFrame bool
}

// loadPage is one page of Load; 0 when mm has no frame.
//
//go:nosplit
func loadPage(arg uintptr) uintptr {
	if !vm.Kernel.Touch(arg, unsafe.Sizeof(pageArgs{}), true) {
		return 0
	}
	a := (*pageArgs)(mm.Ptr(uint64(arg)))
	pa, ok := a.pm.Extract(a.va)
	if ok {
		old := a.pm.Flags(a.va)
		f := (old | a.flags) &^ pmap.NoExec
		if old&pmap.NoExec != 0 && a.flags&pmap.NoExec != 0 {
			f |= pmap.NoExec
		}
		a.pm.Protect(a.va, a.va+pageSize, f)
	} else {
		pa = mm.Phys.Alloc()
		if pa == 0 {
			return 0
		}
		if !a.pm.Enter(a.va, pa, a.flags) {
			mm.Phys.Free(pa)
			return 0
		}
		a.newFrame = true
	}
	if a.n > 0 {
		dst := unsafe.Slice((*byte)(mm.Ptr(pa+uint64(a.off))), a.n)
		copy(dst, unsafe.Slice((*byte)(mm.Ptr(uint64(a.src))), a.n))
	}
	return 1
}

// spaceDestroy frees everything the Pmap at arg owns.
//
//go:nosplit
func spaceDestroy(arg uintptr) uintptr {
	(*pmap.Pmap)(mm.Ptr(uint64(arg))).Destroy()
	return 0
}
