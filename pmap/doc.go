// Package pmap owns the hardware page tables: the four-level x86-64 tables
// of an address space, and the operations the VM layer asks of them —
// Enter, Remove, Protect and Extract — the names and roles of DragonFly's
// pmap_enter, pmap_remove, pmap_protect and pmap_extract.
//
// The kernel's address space (vm.Kernel's Pmap) is the first Pmap. It
// adopts the tables the boot stub built (identity map of 0–4 GiB in 2 MiB pages, page 0
// absent) and extends the direct map over any RAM above 4 GiB.
//
// Invariants:
//   - table-frames: every page-table page is a frame from mm.Phys, reached
//     through the direct map; a non-leaf entry is present with W set, so
//     permissions are decided by the leaf alone.
//   - page0: virtual page 0 is never mapped (nil dereferences must fault).
//   - tlb: an entry that was present is flushed (INVLPG) when it is removed
//     or its permissions are lowered.
//
// Page-table pages are not freed when they empty; as in the NetBSD design
// mail (seeds/004), tearing down tables is deferred to the destruction of
// the whole address space, which the kernel's own pmap never undergoes.
//
// Runs below the Go runtime (from the page-fault handler): nosplit, no
// allocation. Callers hold interrupts off; one CPU until SMP, when TLB
// shootdowns will travel as cpusync IPIs.
package pmap
