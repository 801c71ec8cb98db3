package objcache

// The memory-pressure path: mm's Alloc calls ReclaimAll when it finds no
// free frame (mm.Allocator.SetReclaim). Below the runtime: nosplit, MP
// lock held, on whichever CPU ran out.

import "gofly/arch/amd64"

// ReclaimAll reclaims every registered cache on this CPU: its own two
// magazines and every full depot magazine go back to the slab, and the
// slab's emptied pages to the page source. Other CPUs' magazines stay
// theirs (at most two magazines per CPU and cache). It returns the
// objects destroyed.
//
//go:nosplit
func ReclaimAll() uint64 {
	me := amd64.CPU()
	var n int64
	for i := 0; i < nRegistered && i < MaxRegistered; i++ {
		n += registered[i].Reclaim(me)
	}
	return uint64(n)
}
