package mm

import "unsafe"

// DirectBase is where the direct map begins: physical address pa is at
// virtual address DirectBase+pa, supervisor-only, in every address space
// (the kernel's alias of physical memory in the upper half). The kernel
// sets it at boot, before any Direct; on the host it stays 0, where the
// tests' frames are host memory.
var DirectBase uint64

// Ptr turns an address into a pointer: the kernel's one such conversion
// (with Direct, the same for a direct-map address). The memory is not Go memory:
// the garbage collector ignores pointers outside its arenas, so such a
// pointer may sit in a Go variable, but it must never be freed or
// resliced into the heap. Below the runtime it also turns back the
// address of a Go object passed as an integer (lwkt.TrapCall's
// argument), which the caller keeps alive and in place. Reinterpreting
// the integer's bits, rather than converting it, keeps the conversion in
// this one audited place.
//
//go:nosplit
func Ptr(va uint64) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&va))
}

// Direct returns a pointer to physical address pa through the direct map.
//
//go:nosplit
func Direct(pa uint64) unsafe.Pointer {
	// An offset from nil rather than Ptr's reinterpreted word: inlined,
	// it takes no stack slot, which the trap path's nosplit chains have
	// no room for.
	return unsafe.Add(unsafe.Pointer(nil), DirectBase+pa)
}

// DirectVA returns pa's address in the direct map.
//
//go:nosplit
func DirectVA(pa uint64) uintptr { return uintptr(DirectBase + pa) }

// PhysOf returns the physical address of va, an address in the direct
// map.
//
//go:nosplit
func PhysOf(va uintptr) uint64 { return uint64(va) - DirectBase }
