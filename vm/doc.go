// Package vm owns the address map: which ranges of an address space (the
// kernel's Go program's, or a process's) are mapped, with what
// protection, over what memory, and the page faults that fill them
// (DragonFly's vm_map, vm_object and vm_fault, reduced to anonymous
// memory and a RAM file system's files). Private memory has no object:
// its pages belong to their mappings and are copied on write after fork,
// page by page. Shared memory (MAP_SHARED|MAP_ANONYMOUS) is an Object's
// pages by index (object_nosplit.go), which every entry over it maps, in
// one address space or several after fork. A file's bytes are an Object
// too (file.go: the vnode holds a reference, read() and write() reach the
// pages through the direct map): MAP_SHARED of the file maps its pages,
// MAP_PRIVATE maps them read-only (an entry marked CopyOnWrite) and a
// write copies the page into one of the entry's own. A file's Object
// knows its size in pages: a fault past it is a bus error (BusErrors,
// SIGBUS), and ResizeFile takes the pages it cuts out of every map first
// (the P→V walk, Object.drop).
//
// Layout: a process's mmap hands out addresses in [UserMin, UserMax),
// first fit from MmapBase when the caller gives no usable hint; the
// kernel's, in [KernelMin, KernelMax) in the upper half, first fit from
// KernelMin (the Go runtime's hints, in the lower half, are refused, and
// it takes what it is given). The kernel's direct map and Go image lie
// outside its map's range: present, never faulted in.
//
// Invariants (a broken one ends in fatal.Throw; a bad argument from a
// system call is an errno):
//   - sorted-disjoint: entries are sorted by start, do not overlap, and are
//     page-aligned with start < end (checked by SelfTest, and on the
//     entries each edit passes).
//   - merged: no two adjacent entries are mergeable (the same protection
//     over the same memory: both private, or one object at consecutive
//     indices).
//   - pages-in-entries: a page is present in the pmap only inside an
//     entry, with the entry's protection or less (a copy-on-write page is
//     read-only); a page of a PROT_NONE entry (mprotect keeps them) is
//     supervisor-only, and faults never fill one.
//   - object-refs: an object's reference count is the number of entries
//     over it, in every map, and a file's own; its pages go with the last (an object holds
//     each page with pmap.Hold, so unmapping its last mapping keeps it).
//   - no-user-below: nothing is mapped below a map's lowest address by
//     this package, so the direct map and page 0 are never touched.
//   - refused-unchanged: a call that returns an errno has changed no entry
//     and dropped no page; what can fail (a full entry table) is checked
//     before anything changes. The exception is Linux's: mprotect and
//     madvise over a hole change the mapped part (mprotect up to the
//     hole) and then return ENOMEM.
//   - pv-with-entry: every page a map entry maps has its PV entry on that
//     entry's list (pmap's per-map-entry PV tracking): a call removes the
//     pages of a range entry by entry before it edits the entries, and a
//     clipped entry's list splits at the cut, merged entries' lists join
//     (CheckPV; CheckAllPV over every live map also checks that the PVs
//     in use are exactly the managed pages and the objects' holds).
//
// Loans (loan_nosplit.go): a process's private pages lent to the kernel
// (a pipe's large write, package xio) keep a hold (pmap.Hold, LoanTag)
// and become read-only, so the owner's next write copies them
// (copyOnWrite counts the hold as a second PV); CheckAllPV counts the
// holds with the objects'.
//
// A process's map (over a user pmap) is on the list of live maps from
// Init to Destroy, which frees it by the PV shortcut (pmap.RemoveAll, each
// entry's list, the tables in bulk). The self-test (selftest.go) runs
// random mmap (private and shared)/munmap/madvise/mprotect/fault/fork/
// exit operations on maps per CPU and checks the bookkeeping after each.
//
// Runs below the Go runtime (system calls and the page-fault handler):
// nosplit, allocation-free, the entry table a fixed array.
//
// Concurrency: a Map is shared by every CPU. The kernel's is guarded by
// the MP lock (lwkt/mp_nosplit.go), which the trap path holds. A
// process's map has its own lock too (Lock, its Pmap's): Fault, Fork,
// Touch and SelfTest need both, in that order (they take frames from mm
// and walk pages other maps share), and assert them through Held, which
// the kernel sets before a second CPU starts (nil, as on the host,
// checks nothing). So that faults and memory calls in different address
// spaces run in parallel, two things take the map's lock alone:
// FaultFresh, a process's demand-zero fault, whose frames come from a
// per-CPU stock refilled under the MP lock (Refill), handing on to Fault
// whatever would need more; and Mmap, Munmap, Madvise and Mprotect when
// Alone allows it: a map with no object (objects are the MP lock's), a
// call that makes none, no page to unmap that another address space maps
// too (so a page with two mappings loses one only under the MP lock,
// which copy-on-write relies on), and no more frames to free than this
// CPU's deferred list holds in place, as a removal takes no frame from
// mm then (pages' PV lists have pmap's pvLock, mm's Free its own lock). What
// they do that needs the MP lock asserts it. Two maps' locks are held
// together only under the MP lock (fork, CheckAllPV, MADV_REMOVE). Init runs before the Map is shared; Len and
// the fault counters may be read without the lock, for statistics. Pages
// a call removes may stay in other CPUs' TLBs until the shootdown the
// caller requests (see package pmap, tlb).
package vm
