package lwkt

import "unsafe"

// ptr turns the address of kernel static memory back into a pointer; see
// mm.Ptr for why the bits are reinterpreted rather than converted.
//
//go:nosplit
func ptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

//go:nosplit
func uintptrOf(p *byte) uintptr { return uintptr(unsafe.Pointer(p)) }
