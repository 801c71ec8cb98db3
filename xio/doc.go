// Package xio owns page lists: data described as held physical pages (an
// offset into the first, a length) rather than a mapped buffer, so that it
// can pass between threads and address spaces without a copy or a
// mapping per transfer (DragonFly BSD's XIO, sys/kern/kern_xio.c; design
// note shared/design/ccms-xio.md §5). A pipe's large write lends the
// writer's pages to the reader through one (proc/pipe.go), and the reader
// copies from them once, through the direct map.
//
// A List is made from pages its maker has already held (vm.Map.Loan holds
// a process's pages) and gives them back with Release, exactly once. It
// is immutable in between: a copy names its bytes by an offset relative to
// the list (DragonFly's 2005 form), so readers keep their position
// themselves and a copy never changes the List.
//
// Invariants (design note §6, 7–9; checked by Check and the host tests):
//   - held: every page is held from Init until Release; after Release the
//     list is empty (no pages, no bytes) and its Err is ErrReleased.
//   - bounds: at most MaxPages pages; Off+Bytes ≤ pages·PageSize, Off
//     within the first page; a copy that reaches past Bytes fails with
//     ErrRange and touches no memory.
//   - init-clean: an Init that fails holds nothing on the list's behalf
//     (the caller keeps the holds it took and gives them back).
//
// Concurrency: a List has one owner at a time (the pipe's lock guards
// its queue); it has no lock of its own. Plain Go above the runtime: the
// page memory comes from a Pages, which the kernel backs with the direct
// map and the host tests with a fake.
package xio
