package objcache

// The memory-pressure path: mm's Alloc calls ReclaimAll when it finds no
// free frame (mm.Allocator.SetReclaim). Below the runtime: nosplit, MP
// lock held, on whichever CPU ran out.

import (
	"unsafe"

	"gofly/arch/amd64"
	"gofly/lwkt"
)

// ReclaimAll reclaims every registered cache on this CPU: its own two
// magazines and every full depot magazine go back to the slab, and the
// slab's emptied pages to the page source. Other CPUs' magazines stay
// theirs (at most two magazines per CPU and cache). It wakes
// GoReclaimer for the Go-heap caches, and returns the objects destroyed.
//
//go:nosplit
func ReclaimAll() uint64 {
	me := amd64.CPU()
	var n int64
	for i := 0; i < nRegistered && i < MaxRegistered; i++ {
		n += registered[i].Reclaim(me)
	}
	wakeGoReclaimer()
	return uint64(n)
}

// wakeGoReclaimer tells GoReclaimer, asleep in the futex on goPressure,
// that mm ran dry: the Go-heap caches are its to reclaim. MP lock held.
//
//go:nosplit
func wakeGoReclaimer() {
	goPressure.Add(1)
	key := uintptr(unsafe.Pointer(&goPressure))
	for i := lwkt.FindBlocked(-1, lwkt.WaitFutex, key); i >= 0; i = lwkt.FindBlocked(i, lwkt.WaitFutex, key) {
		lwkt.Wakeup(i, 0)
	}
}
