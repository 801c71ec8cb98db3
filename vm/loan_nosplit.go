package vm

import (
	"gofly/fatal"
	"gofly/mm"
	"gofly/pmap"
)

// Loans: a process's private pages handed to the kernel by reference (an
// XIO page list: a pipe's write), copy-on-write at the page level, so the
// writer neither copies nor waits for the reader (the XIO mail's "no
// longer stall memory modifications to I/O buffers"). A loaned page has a
// hold (pmap.Hold with LoanTag) beside its mappings, and every writable
// mapping of it becomes read-only: the owner's next write to it faults,
// and copyOnWrite, seeing two PVs, gives the writer a copy while the loan
// keeps the original. Unloan drops the hold; the frame goes back to mm
// with the last of its PVs. A hold is a PV, so CountShared counts it:
// no memory call unmaps a loaned page without the MP lock (Alone), which
// Unloan holds, and which such a call keeps until its shootdown is done:
// a frame whose loan was its last PV is in no TLB.

// LoanTag names a loan's hold on its page's PV list (object holds are
// object numbers, below MaxObjects).
const LoanTag = 1 << 62

// loans counts the holds loans have (CheckAllPV). Under the MP lock.
var loans uint64

// Loans returns how many pages are out on loan. The caller holds the MP
// lock.
//
//go:nosplit
func Loans() uint64 { return loans }

// Loan lends the pages of [va, va+n·PageSize), va page-aligned, filling
// out[:k] with their frames, each held once; it stops at the first page
// that cannot be lent: outside the process's private readable memory
// (shared memory and PROT_NONE are copied by the caller instead, or give
// it EFAULT), not faultable, or no frame for its hold. Every page lent
// stays mapped in m, read-only; m's downgraded translations are shot down
// before the trap returns. The caller holds the guard (m's lock and the
// MP lock).
//
//go:nosplit
func (m *Map) Loan(va uintptr, out []uint64) (k int) {
	m.guard("vm: Loan without its locks")
	fatal.Assert(va&(pageSize-1) == 0, "vm: Loan of an unaligned address")
	downgraded := false
	for ; k < len(out); k, va = k+1, va+pageSize {
		i := m.lookup(va)
		if uint(i) >= uint(len(m.entries)) {
			break
		}
		e := &m.entries[i]
		if e.Obj != 0 || e.Prot&ProtRead == 0 {
			break
		}
		fl := m.Pmap.Flags(va)
		if fl&pmap.Present == 0 {
			if !m.Fault(va, false, false) {
				break
			}
			fl = m.Pmap.Flags(va)
		}
		if fl&pmap.Managed == 0 || fl&pmap.User == 0 {
			break
		}
		pa, _ := m.Pmap.Extract(va)
		pa &^= pageSize - 1
		if !pmap.Hold(pa, LoanTag) {
			break
		}
		loans++
		if fl&pmap.Writable != 0 {
			m.Pmap.Protect(va, va+pageSize, fl&^pmap.Writable)
			downgraded = true
		}
		out[k] = pa
	}
	if downgraded {
		m.Shootdown()
	}
	return k
}

// Unloan drops one loan's hold on each frame of pages, and frees a frame
// whose hold was its last PV; it returns how many it freed: pages the
// lender no longer mapped (it wrote them, and got copies, or unmapped
// them). The caller holds the MP lock.
//
//go:nosplit
func Unloan(pages []uint64) (freed int) {
	guard("vm: Unloan without the MP lock")
	for _, pa := range pages {
		fatal.Assert(loans > 0, "vm: Unloan of more pages than are lent")
		loans--
		if pmap.Release(pa, LoanTag) {
			mm.Phys.Free(pa)
			freed++
		}
	}
	return freed
}
