package objcache

// The kernel's page source: a FrameCache's slab takes and gives 4 KiB frames
// from mm.Phys. Below the runtime (nosplit, no allocation).
//
// mm.Phys.Alloc needs the MP lock (mm.Held asserts it, and throws), so
// these run only where the MP lock is held: a TrapCall body or the trap
// path. IPI handlers run without it, so a handler may use only a FrameCache's
// paths that never reach the page source (doc.go, Which paths need which
// lock).

import "gofly/mm"

// KernelPageAlloc returns a zeroed frame from mm, by its address in the
// direct map, or 0 when memory is exhausted. The caller holds the MP
// lock. Use it as Config.PageAlloc.
//
//go:nosplit
func KernelPageAlloc() uintptr {
	pa := mm.Phys.Alloc()
	if pa == 0 {
		return 0
	}
	return mm.DirectVA(pa)
}

// KernelPageFree gives frame page (its direct-map address) back to mm.
// The caller holds the MP lock. Use it as Config.PageFree.
//
//go:nosplit
func KernelPageFree(page uintptr) { mm.Phys.Free(mm.PhysOf(page)) }
