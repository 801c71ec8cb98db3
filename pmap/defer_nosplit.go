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
// trap path does before it releases the MP lock (lwkt.Flush, then
// FreeDeferred). A frame of an address space no other CPU runs goes at
// once: no TLB can hold it.

// Shootdown asks that the CPUs in mask flush their TLBs before the trap
// returns; the kernel sets it to lwkt.RequestShootdownOf (pmap sits below
// lwkt). nil (the host): frames go back at once.
var Shootdown func(mask uint64)

// deferList is one CPU's frames waiting for its shootdown: a chain of
// bookkeeping frames, each with the next one's address in word 0 and up
// to deferPerFrame frames after it. Only its CPU touches it, under the MP
// lock.
type deferList struct {
	head   uint64 // the newest bookkeeping frame, 0: none
	n      int    // frames in it
	frames uint64 // frames waiting, in every bookkeeping frame
}

const deferPerFrame = mm.PageSize/8 - 1

var deferred [amd64.MaxCPUs]deferList

// FreeAfterShootdown gives frame pa back to mm once the CPUs in mask
// (this one aside) have flushed, at once if there are none. Should mm
// have no frame for the bookkeeping, pa goes at once too: the MP lock,
// which the caller holds until the flush and which every way to the
// frame's next owner needs, still keeps it from one. The caller holds the
// MP lock.
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
	if d.head == 0 || d.n == deferPerFrame {
		b := mm.Phys.Alloc()
		if b == 0 {
			mm.Phys.Free(pa)
			return
		}
		*(*uint64)(mm.Ptr(b)) = d.head
		d.head, d.n = b, 0
	}
	d.n++
	(*[deferPerFrame + 1]uint64)(mm.Ptr(d.head))[uint(d.n)%(deferPerFrame+1)] = pa
	d.frames++
	Shootdown(mask)
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
// removals asked for has completed (lwkt.Flush). The caller holds the MP
// lock if any frame waits.
//
//go:nosplit
func FreeDeferred() {
	d := &deferred[cpuIndex()%amd64.MaxCPUs]
	if d.head == 0 {
		return
	}
	guard("pmap: FreeDeferred without the MP lock")
	for b := d.head; b != 0; {
		w := (*[deferPerFrame + 1]uint64)(mm.Ptr(b))
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
