package proc

import (
	"unsafe"

	"gofly/lwkt"
	"gofly/mm"
	"gofly/xio"
)

// lentPages is the kernel's memory for page lists of lent pages: their
// bytes through the direct map, their holds given back by vm.Unloan,
// which tells settled (when set) how many of the pages the lender still
// mapped and how many it had written (and so copied) or unmapped.
type lentPages struct {
	settled func(kept, broken int)
}

func (lentPages) Bytes(pa uint64) []byte {
	return unsafe.Slice((*byte)(mm.Direct(pa)), xio.PageSize)
}

func (l lentPages) Release(pas []uint64) {
	c := loanArgs{pages: uintptr(unsafe.Pointer(&pas[0])), n: len(pas)}
	lwkt.TrapCall(spaceUnloan, uintptr(unsafe.Pointer(&c)))
	if l.settled != nil {
		l.settled(len(pas)-c.k, c.k)
	}
}

// Loan lends up to n (≤ xio.MaxPages) whole pages of s from va, which is
// page-aligned, copy-on-write (vm.Map.Loan): a list of what it could lend,
// or nil when the first page cannot be (shared memory, PROT_NONE, not
// mapped, or memory short), which the caller then copies instead. The
// list's release calls settled (if not nil) with what became of the
// pages.
func (s *Space) Loan(va uint64, n int, settled func(kept, broken int)) *xio.List {
	var pages [xio.MaxPages]uint64
	c := loanArgs{s: s, va: uintptr(va), pages: uintptr(unsafe.Pointer(&pages[0])), n: min(n, xio.MaxPages)}
	lwkt.TrapCall(spaceLoan, uintptr(unsafe.Pointer(&c)))
	if c.k == 0 {
		return nil
	}
	l := new(xio.List)
	if err := l.Init(lentPages{settled}, pages[:c.k], 0, c.k*xio.PageSize); err != nil {
		panic(err) // whole pages, at most MaxPages: Init cannot refuse them
	}
	return l
}
