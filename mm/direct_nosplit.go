package mm

import "unsafe"

// Ptr turns an address into a pointer: the kernel's one such conversion.
// Mostly pa is a physical address, reached through the direct map
// (virtual == physical for all RAM); that memory is not Go memory: the
// garbage collector ignores pointers outside its arenas, so such a pointer
// may sit in a Go variable, but it must never be freed or resliced into the
// heap. Below the runtime it also turns back the address of a Go object
// passed as an integer (lwkt.TrapCall's argument), which the caller keeps
// alive and in place. Reinterpreting the integer's bits, rather than
// converting it, keeps the conversion in this one audited place.
//
//go:nosplit
func Ptr(pa uint64) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&pa))
}
