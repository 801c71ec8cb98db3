package vm

// The demand-zero fault of a process without the MP lock: trap context,
// nosplit and allocation-free.

import (
	"gofly/arch/amd64"
	"gofly/fatal"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/pmap"
)

// Lock takes m's own lock (a process's map), spinning with interrupts
// off; meanwhile it serves this CPU's IPI queues, as GetMPLock does, so a
// CPU that waits on this one finishes. Lock order: the MP lock, then one
// map's lock; two maps' locks only under the MP lock (a fork's parent and
// child, CheckAllPV), which a holder of one map's lock alone never takes.
//
//go:nosplit
func (m *Map) Lock() {
	fatal.Assert(m.Pmap.IsUser(), "vm: Lock of the kernel's map, which the MP lock guards")
	for !m.Pmap.TryLock() {
		if Held != nil { // in the kernel (the host has no IPIs, nor a CPU index)
			lwkt.IPIs.Process(amd64.CPU())
		}
		amd64.Pause()
	}
}

// Unlock releases m's lock.
//
//go:nosplit
func (m *Map) Unlock() { m.Pmap.Unlock() }

// Enter and Leave track the CPUs holding m's root in CR3 (pmap.Activate),
// which may cache its translations: the trap exit calls Enter before it
// loads m's root (Enter returns the CR3 value to load: pmap.Load), Leave
// once the CPU loads another (CR3 is kept lazily: package sys).
//
//go:nosplit
func (m *Map) Enter(cpu int) uint64 { return m.Pmap.Load(cpu) }

// Leave: see Enter.
//
//go:nosplit
func (m *Map) Leave(cpu int) { m.Pmap.Deactivate(cpu) }

// Shootdown asks that the CPUs holding m's root flush their TLBs
// before this trap returns (lwkt.RequestShootdownOf), after the caller
// removed or downgraded translations of m (pmap.Active says why the set
// it reads is enough). A process's map only: the kernel's own runs on
// every CPU. The caller holds the MP lock.
//
//go:nosplit
func (m *Map) Shootdown() {
	if !m.Pmap.IsUser() {
		lwkt.RequestShootdown()
		return
	}
	lwkt.RequestShootdownOf(m.Pmap.Active())
}

// stockSize is how many frames each CPU keeps for faults without the MP
// lock: one refill, under the lock, per stockSize demand-zero faults.
const stockSize = 32

// stock is one CPU's frames for FaultFresh, taken from mm under the MP
// lock (Refill) and not yet zeroed: the fault zeroes its frame before it
// takes the map's lock, outside every lock. Only its CPU touches it, with
// interrupts off.
type stock struct {
	n      int
	frames [stockSize]uint64
}

var stocks [amd64.MaxCPUs]stock

// Refill tops this CPU's stock up from mm, but not into the kernel's
// reserve (userReserve), which the stock could not give back. The caller
// holds the MP lock.
//
//go:nosplit
func Refill() {
	guard("vm: Refill without the MP lock")
	s := &stocks[uint(amd64.CPU())%amd64.MaxCPUs]
	for s.n < stockSize && mm.Phys.FreePages() > userReserve()+stockSize {
		pa := mm.Phys.AllocDirty()
		if pa == 0 {
			return
		}
		s.frames[uint(s.n)%stockSize] = pa
		s.n++
	}
}

// ReturnStock gives this CPU's stock back to mm (memory pressure: mm's
// reclaim) and returns how many frames it held; other CPUs keep theirs,
// which only they may touch. The caller holds the MP lock.
//
//go:nosplit
func ReturnStock() uint64 {
	guard("vm: ReturnStock without the MP lock")
	s := &stocks[uint(amd64.CPU())%amd64.MaxCPUs]
	n := uint64(s.n)
	for s.n > 0 {
		s.n--
		mm.Phys.Free(s.frames[uint(s.n)%stockSize])
	}
	return n
}

// Stocked returns the frames the CPUs' stocks hold (statistics: exact
// when no fault runs).
//
//go:nosplit
func Stocked() uint64 {
	n := uint64(0)
	for i := range stocks {
		n += uint64(stocks[i].n)
	}
	return n
}

// Outcomes of FaultFresh.
const (
	FaultServed  = iota // the page is mapped (or was: a spurious fault)
	FaultRefused        // the access is not allowed: SIGSEGV
	FaultSlow           // needs the MP lock: call Fault under it
)

// FaultFresh serves a process's demand-zero fault at va holding only m's
// lock, which it takes: the common fault, so that faults in different
// address spaces run side by side (DragonFly gave the VM its own tokens
// for the same reason). It hands on to the MP-locked Fault (FaultSlow)
// whatever needs more: a copy-on-write page (other address spaces map
// it), an empty stock, memory below the kernel's reserve, a page table
// or PV frame to allocate.
//
//go:nosplit
func (m *Map) FaultFresh(va uintptr, write, exec bool) int {
	s := &stocks[uint(amd64.CPU())%amd64.MaxCPUs]
	if s.n == 0 || mm.Phys.FreePages() < userReserve() {
		return FaultSlow
	}
	s.n--
	pa := s.frames[uint(s.n)%stockSize]
	mm.Zero(pa)
	m.Lock()
	r, used := m.faultFresh(va, write, exec, pa)
	m.Unlock()
	if !used {
		s.frames[uint(s.n)%stockSize] = pa // back, zeroed
		s.n++
	}
	return r
}

// faultFresh is FaultFresh's part under m's lock: pa is a zeroed frame
// that it maps at va if the page is absent (used).
//
//go:nosplit
func (m *Map) faultFresh(va uintptr, write, exec bool, pa uint64) (r int, used bool) {
	i := m.lookup(va)
	if uint(i) >= uint(len(m.entries)) {
		return FaultRefused, false
	}
	prot := m.entries[i].Prot
	if !readable(prot) || write && prot&ProtWrite == 0 || exec && prot&ProtExec == 0 {
		return FaultRefused, false
	}
	if m.entries[i].Obj != 0 {
		return FaultSlow, false // an object's pages are the MP lock's
	}
	page := va &^ (pageSize - 1)
	if fl := m.Pmap.Flags(page); fl&pmap.Present != 0 {
		if write && fl&pmap.Writable == 0 {
			return FaultSlow, false // copy-on-write: the page's other mappings are the MP lock's
		}
		fatal.Assert(fl&pmap.User != 0, "vm: pages-in-entries: a supervisor-only page in an entry ring 3 may access")
		if exec && fl&pmap.NoExec != 0 {
			return FaultRefused, false
		}
		return FaultServed, false // another thread of the process filled it first
	}
	if !m.Pmap.EnterFresh(page, pa, m.pageFlags(prot), &m.entries[i].PV) {
		return FaultSlow, false
	}
	m.Faults++
	m.FreshFaults++
	return FaultServed, true
}
