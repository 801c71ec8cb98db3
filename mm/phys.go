package mm

import "unsafe"

// SetReclaim installs fn as a's memory-pressure path: when Alloc finds no
// free frame it calls fn once (MP lock held, below the runtime) and
// tries again. fn gives back frames that caches hold and returns how many
// objects it destroyed. It must be a top-level //go:nosplit function of a
// *_nosplit.go file (kept as an integer, never a closure), must not call
// Alloc, and is set before other CPUs start.
func (a *Allocator) SetReclaim(fn func() uint64) {
	a.reclaim = *(*uintptr)(unsafe.Pointer(&fn))
}
