// Package vm owns the address map: which ranges of the address space the
// Go runtime has mapped with mmap, with what protection, and the
// demand-zero page faults that fill them (DragonFly's vm_map and
// vm_fault, reduced to anonymous private memory).
//
// Layout: the direct map of physical memory occupies [0, UserMin); mmap
// hands out addresses in [UserMin, UserMax), first fit from MmapBase when
// the caller gives no usable hint.
//
// Invariants:
//   - sorted-disjoint: entries are sorted by start, do not overlap, and are
//     page-aligned with start < end (checked by SelfTest).
//   - pages-in-entries: a page is present in the pmap only inside an entry
//     whose protection allows reading (faults never fill PROT_NONE).
//   - no-user-below: nothing is mapped below UserMin by this package, so
//     the direct map and page 0 are never touched.
//
// Runs below the Go runtime (system calls and the page-fault handler):
// nosplit, allocation-free, the entry table a fixed array. Callers hold
// interrupts off.
package vm
