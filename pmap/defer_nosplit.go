package pmap

// Frames that wait for a shootdown: trap context, nosplit and
// allocation-free.

import (
	"gofly/arch/amd64"
	"gofly/fatal"
	"gofly/mm"
)

// A frame a removal takes out of an address space goes back to mm only
// once every CPU that may still cache it has flushed (DragonFly's
// pmap_inval, gVisor's Unmap handing the frames back): one that other
// CPUs run (Active) waits on this CPU's deferred list until the
// shootdown the removal asks for (Shootdown) has completed, which the
// trap path does before it returns (lwkt.Flush, then FreeDeferred). A
// frame of an address space no other CPU runs goes at once: no TLB can
// hold it.

// Shootdown asks that the CPUs in mask flush their TLBs before the trap
// returns; the kernel sets it to lwkt.RequestShootdownOf (pmap sits below
// lwkt). nil (the host): frames go back at once.
var Shootdown func(mask uint64)

// deferList is one CPU's frames waiting for its shootdown: the first
// DeferNear in place, the rest in a chain of bookkeeping frames, each
// with the next one's address in word 0 and up to deferPerFrame frames
// after it. A removal without the MP lock may defer only what fits in
// place (DeferRoom): the chain's frames come from mm's Alloc, which needs
// the lock. Only its CPU touches it, interrupts off.
type deferList struct {
	near   [DeferNear]uint64
	nn     int    // frames in near
	head   uint64 // the newest bookkeeping frame, 0: none
	n      int    // frames in it
	frames uint64 // frames waiting, in near and every bookkeeping frame
}

// DeferNear is how many frames each CPU's deferred list holds in place.
const DeferNear = 1024

const deferPerFrame = mm.PageSize/8 - 1

// DeferRoom returns how many more frames this CPU may defer without the
// MP lock: a memory call that needs no more than that may run without
// it.
//
//go:nosplit
func DeferRoom() int { return DeferNear - deferred[cpuIndex()%amd64.MaxCPUs].nn }

var deferred [amd64.MaxCPUs]deferList

// FreeAfterShootdown gives frame pa back to mm once the CPUs in mask
// (this one aside) have flushed, at once if there are none. Without the
// MP lock the frame must fit in place (DeferRoom). Under it, should mm
// have no frame for the bookkeeping, pa goes at once: the MP lock, which
// the caller holds until the flush and which mm's Alloc, the only way to
// the frame's next owner, needs, still keeps it from one.
//
//go:nosplit
func FreeAfterShootdown(pa uint64, mask uint64) {
	me := cpuIndex()
	mask &^= 1 << me
	if mask == 0 || Shootdown == nil {
		mm.Phys.Free(pa)
		return
	}
	d := &deferred[me%amd64.MaxCPUs] // masked: no bounds-check panic path in these chains
	Shootdown(mask)
	if d.nn < DeferNear {
		d.near[uint(d.nn)%DeferNear] = pa
		d.nn++
		d.frames++
		return
	}
	fatal.Assert(Held == nil || Held(), "pmap: a frame deferred past DeferRoom without the MP lock")
	if d.head == 0 || d.n == deferPerFrame {
		b := mm.Phys.Alloc()
		if b == 0 {
			mm.Phys.Free(pa)
			return
		}
		*(*uint64)(mm.Direct(b)) = d.head
		d.head, d.n = b, 0
	}
	d.n++
	(*[deferPerFrame + 1]uint64)(mm.Direct(d.head))[uint(d.n)%(deferPerFrame+1)] = pa
	d.frames++
}

// waiters returns the CPUs a frame p no longer maps waits for
// (FreeAfterShootdown): those running p; none for the kernel's own
// address space, whose removals every CPU flushes before the MP lock
// goes (the tlb invariant).
//
//go:nosplit
func (p *Pmap) waiters() uint64 {
	if !p.user {
		return 0
	}
	return p.Active()
}

// FreeDeferred gives back the frames this CPU's removals deferred, and
// their bookkeeping: the trap path calls it after the shootdown those
// removals asked for has completed (lwkt.Flush).
//
//go:nosplit
func FreeDeferred() {
	d := &deferred[cpuIndex()%amd64.MaxCPUs]
	for k := range d.near {
		if k >= d.nn {
			break
		}
		mm.Phys.Free(d.near[k])
		d.frames--
	}
	d.nn = 0
	for b := d.head; b != 0; {
		w := (*[deferPerFrame + 1]uint64)(mm.Direct(b))
		for k := 1; k <= d.n && k <= deferPerFrame; k++ {
			mm.Phys.Free(w[k])
			d.frames--
		}
		next := w[0]
		mm.Phys.Free(b)
		b, d.n = next, deferPerFrame // the older frames are full
	}
	fatal.Assert(d.frames == 0, "pmap: deferred frames miscounted")
	d.head, d.n = 0, 0
}

// Deferred returns the frames waiting on this CPU (statistics, tests).
//
//go:nosplit
func Deferred() uint64 { return deferred[cpuIndex()].frames }

// cpuIndex is this CPU's index; 0 on the host (Held nil), which has no
// per-CPU block to read it from.
//
//go:nosplit
func cpuIndex() uint {
	if Held == nil {
		return 0
	}
	return uint(amd64.CPU()) % amd64.MaxCPUs
}
