package proc

import (
	"unsafe"

	"gofly/lwkt"
	"gofly/mm"
	"gofly/xio"
)

// lentPages is the kernel's memory for page lists of lent pages: their
// bytes through the direct map, their holds given back by vm.Unloan.
type lentPages struct{}

func (lentPages) Bytes(pa uint64) []byte {
	return unsafe.Slice((*byte)(mm.Direct(pa)), xio.PageSize)
}

func (lentPages) Release(pas []uint64) {
	c := loanArgs{pages: uintptr(unsafe.Pointer(&pas[0])), n: len(pas)}
	lwkt.TrapCall(spaceUnloan, uintptr(unsafe.Pointer(&c)))
}

// Loan lends up to n (≤ xio.MaxPages) whole pages of s from va, which is
// page-aligned, copy-on-write (vm.Map.Loan): a list of what it could lend,
// or nil when the first page cannot be (shared memory, PROT_NONE, not
// mapped, or memory short), which the caller then copies instead.
func (s *Space) Loan(va uint64, n int) *xio.List {
	var pages [xio.MaxPages]uint64
	c := loanArgs{s: s, va: uintptr(va), pages: uintptr(unsafe.Pointer(&pages[0])), n: min(n, xio.MaxPages)}
	lwkt.TrapCall(spaceLoan, uintptr(unsafe.Pointer(&c)))
	if c.k == 0 {
		return nil
	}
	l := new(xio.List)
	if err := l.Init(lentPages{}, pages[:c.k], 0, c.k*xio.PageSize); err != nil {
		panic(err) // whole pages, at most MaxPages: Init cannot refuse them
	}
	return l
}
