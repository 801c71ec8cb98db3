package mm

import "unsafe"

// Ptr returns a pointer to physical address pa through the direct map
// (virtual == physical for all RAM). The memory is not Go memory: the
// garbage collector ignores pointers outside its arenas, so such a pointer
// may sit in a Go variable, but it must never be freed or resliced into the
// heap. Reinterpreting the integer's bits, rather than converting it,
// keeps the conversion in this one audited place.
//
//go:nosplit
func Ptr(pa uint64) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&pa))
}
