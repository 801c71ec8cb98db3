// Package pmap owns the hardware page tables: the four-level x86-64 tables
// of an address space, and the operations the VM layer asks of them —
// Enter, Remove, Protect and Extract — the names and roles of DragonFly's
// pmap_enter, pmap_remove, pmap_protect and pmap_extract.
//
// The kernel's address space (vm.Kernel's Pmap) is the first Pmap. It
// adopts the tables the boot stub built (0–4 GiB in 2 MiB pages, page 0
// absent, mapped twice by one PDPT: at 0, the identity map the boot and
// the processors' start-up need, which DropLow unmaps once they are up,
// and at amd64.Alias, the direct map mm.Direct uses) and extends both
// over any RAM above 4 GiB.
//
// Invariants (a broken one ends in fatal.Throw):
//   - table-frames: every page-table page is a frame from mm.Phys, reached
//     through the direct map; a non-leaf entry is present with W set (and,
//     in a user address space, U), so permissions are decided by the leaf
//     alone (Enter, Remove and Protect throw on one without W).
//   - user-space: a process's Pmap (InitUser) owns the tables and pages of
//     its lower half (PML4 slots below KernelHalf) and shares the kernel's
//     tables above, which it never changes; Destroy frees all it owns, in
//     bulk, once no CPU has it loaded.
//   - resident: Resident counts the 4 KiB leaves Enter made; Remove throws
//     on a present leaf the count does not cover.
//   - page0: virtual page 0 is never mapped (nil dereferences must fault).
//   - pv: a leaf has the Managed bit exactly when it has one PV, which is
//     on its page's list once and on its map entry's list (CheckList);
//     no PV outlives its leaf, except on a dying pmap, whose leaves are
//     stale and never loaded again.
//   - tlb: an entry that was present is flushed (INVLPG) from this CPU's
//     TLB when it is removed or its permissions are lowered. Other CPUs are
//     flushed by a shootdown that the system-call layer requests and the
//     trap path completes before it returns (to the CPUs running a
//     process's address space only, Active, vm.Map.Shootdown).
//   - pcid: where the CPU has PCIDs, a CR3 load keeps a tag's
//     translations only if no invalidation of its address space happened
//     since the CPU last loaded it (Pmap.gen, bumped before Active is read)
//     and the CPU flushed no kernel translation meanwhile (those are
//     cached under every tag); a tag changes owner only by a load that
//     flushes it (pcid_nosplit.go, checked against a model of tagged TLBs
//     in pcid_test.go).
//   - frames-after-flush: a frame removed from a process's address space
//     that another CPU runs, page or page table, waits on this CPU's
//     deferred list (FreeAfterShootdown) until that shootdown has
//     completed (FreeDeferred, after lwkt.Flush). The kernel's own frames
//     go at once: no frame freed can be handed out again before the
//     flush (Alloc needs the lock, which the trap path keeps until
//     then), and Alloc zeroes it, so a stale write through another CPU's
//     TLB reaches no new owner.
//
// PV entries (pv_nosplit.go), as the NetBSD design mail proposes
// (seeds/004, shared/design/pmap.md §3–4 option A): a managed mapping —
// every page a vm.Map entry maps, in the kernel's map and the processes'
// — has one PV entry, on its page's list (who maps this frame) and on its
// map entry's PVList (which the caller passes to EnterPV and RemovePV);
// its leaf carries the Managed software bit. No global hash. RemoveAll
// marks a dying address space: RemoveDying then walks the entry's list
// alone (unlink, free the frame with its last mapping, a batch of PVs
// under one hold of the PV lock and their frames in one call to mm),
// touching no page table and flushing nothing, and Destroy frees the
// tables in bulk without reading their leaves. An anonymous page's frame belongs to its
// mappings: it is freed with the last one. PVs come from this package's
// own slab of frames, which it keeps (PVStats).
//
// A process's page tables are freed when RemovePV empties them, with the
// directories that leaves empty above them (prune); a dying address
// space's go in bulk (Destroy). The kernel's own pmap keeps its tables.
//
// Runs below the Go runtime (from the page-fault handler): nosplit, no
// allocation.
//
// Concurrency: a Pmap is shared by every CPU running in its address
// space. The kernel's is guarded by the MP lock (lwkt/mp_nosplit.go),
// which the trap path holds; a process's by its own lock (TryLock, which
// package vm spins on), taken after the MP lock when both are held. Every
// operation asserts its pmap's guard (Pmap.guard). The PV slab and every
// page's PV list have their own spin lock, pvLock, a leaf held for one
// list walk; mm's Free has mm's. So RemovePV, which unlinks PVs from
// pages other address spaces map too and frees frames, needs only its
// pmap's lock, as long as the frames it may defer fit in place
// (DeferRoom: the bookkeeping frames beyond come from mm's Alloc, which
// needs the MP lock). What takes frames from mm (Enter, EnterPV, Remap,
// ShareRange, Hold) or relies on no mapping being added meanwhile
// (Mappings, FirstMapping, Release) asserts the MP lock too; EnterFresh
// maps a frame nobody else can see and takes nothing from mm. Checks go through
// Held, which the kernel sets before a second CPU starts (nil, as on the
// host, checks nothing). Init runs before the Pmap is shared. Extract and
// Flags only read; Resident and Tables may be read without the lock, for
// statistics.
package pmap
