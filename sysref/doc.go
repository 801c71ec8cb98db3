// Package sysref is Gofly's SYSREF, after DragonFly BSD's kern_sysref.c
// and Dillon's syslink/sysreg mail (shared/seeds/000 and 002): every
// kernel resource embeds a small Record — a 64-bit sysid, a red-black
// tree node, a reference word and a class pointer — so it is
// reference-counted one way and findable by its sysid.
//
// The pure logic, all of it below the runtime, runs in host tests too:
//   - sysid_nosplit.go: the sysid generator, Sysids. Each CPU seeds a
//     counter with the boot timestamp shifted left by CPUBits, its CPU
//     number in the low bits, and steps it by the CPU count rounded up to
//     a power of two; the file gives the layout and the uniqueness proof.
//   - tree_nosplit.go: Tree, one CPU's index of the records whose sysids
//     it made: an intrusive red-black tree (CLRS ch. 13) linked by record
//     address; Insert, Delete, Lookup, LookupRef, Min, Next, Ceil. Walk
//     and Check (tree.go) run above the runtime.
//   - ref_nosplit.go: Ref, the reference-count state machine on one
//     atomic word: Free → Building → Active → Terminating → Dead → Free.
//   - record_nosplit.go: Record and the address/pointer conversions.
//
// The kernel's domain, on top of it:
//   - class.go: Class, a class descriptor (name, the FrameCache its
//     resources come from, terminate, a summary for the shell), and the
//     class registry with per-CPU counts (Stats: live, allocs,
//     terminates, releases, remote releases).
//   - domain_nosplit.go: Boot (seeds sysids from the wall clock for the
//     MADT's CPU count), Alloc, Activate, Get, Put, Lookup, and the IPI
//     handlers by which other CPUs reach a CPU's tree: a last Put on a
//     CPU that does not own the record sends the owner a passive message
//     (idUnindex), a Lookup of another CPU's id runs there by Cpusync
//     (idLookup), and a listing copies batches (idList, ListCall).
//   - show.go: ParseSysid and Find for `sysref show`; selftest.go: Walk
//     (every CPU's tree, batch by batch), the storm self-test, the bench.
//
// Classes today: thread (package sys: every thread's identity — sysid,
// tid, slot — while the thread's body stays in lwkt's table until
// processes bring threads from objcache), port (package msgport), and
// the self-test's selftest and bench. Tokens are not resources: each is
// embedded in what it guards, never allocated or freed, so it has
// nothing to count and no one to look it up.
//
// Invariants (labels are quoted by the tests that check them):
//   - sysid-unique: no two records ever get the same sysid — not across
//     CPUs, not within a boot, not across reboots while the boot stamp
//     advances (sysid_test.go). A record takes a fresh id on every
//     allocation, so an id names one incarnation only (DragonFly reuses
//     ids: shared/design/sysref-objcache.md §2).
//   - sysid-owner: id & (Fit-1) is the CPU that made id; that CPU's
//     Tree, and only it, indexes the record.
//   - rb-root, rb-red, rb-black-height, rb-order, rb-links: the tree
//     invariants listed on Tree, checked by Tree.Check (tree_test.go
//     after every step of a random sequence against a map).
//   - ref-lookup, ref-terminate-once, ref-no-resurrection,
//     ref-free-once: the state machine's rules, listed in ref_nosplit.go
//     and checked by ref_test.go's storm.
//   - indexed-until-released: a record stays in its tree from Alloc
//     until after its last Put (PutLast) and goes back to the cache only
//     after Tree.Delete and Ref.Release, so a lookup that finds it in the
//     tree finds a record whose state it can trust (no ABA on the word).
//
// Lock and critical-section order (none of these nests another):
//
//	MP lock (Alloc, Put: the class's cache may reach mm; terminate handlers)
//	  owning CPU's critical section guards that CPU's Tree, Sysids counter,
//	    deferred list and the classes' per-CPU counts (no lock inside:
//	    the tree is never touched from another CPU; IPI handlers run in
//	    the owner's critical section, without the MP lock)
//	Ref word                        atomic CAS, any CPU, no critical section
//
// Exceptions and rules:
//   - A lookup of a remote id goes to the owner by Cpusync; the
//     Tree.Delete after a PutLast on a CPU that does not own the record
//     goes to the owner as a passive IPI. Until it runs the record is
//     Dead: invisible to lookup, refusing references, and not yet
//     recyclable. The owner's handler has no MP lock, so it files the
//     record with FrameCache.TryPut, or on its deferred list (linked
//     through Record.left) until its next Alloc.
//   - PutTerminate makes its caller the terminate handler, holding the
//     base reference; it calls the class's terminate exactly once. During
//     termination Get gives temporary references (never visibility); only
//     Activate makes the record visible again (a revival, like DragonFly's
//     vget of a cached vnode); whoever drops the last reference gets
//     PutLast. Serialising terminate against a revival is the class's
//     business (DragonFly's class lock/unlock ops; no class here revives).
//   - Tree.Walk calls splittable code: in the kernel run it in batches,
//     one critical section per batch, resuming with Ceil.
//
// Every function in *_nosplit.go is nosplit, allocates nothing and stores
// no Go pointer (links are uintptr addresses, records live in memory the
// GC does not scan), so the same code runs in host tests on records in a
// Go slice or a []byte, and in the kernel on records in mm frames.
//
// Differences from DragonFly: ids are seeded from the boot time and never
// reused; there is a lookup API; no tree has a lock (DragonFly's
// sysref_array has a spinlock per CPU because its dtors run anywhere);
// the refcount phases are named states in one word instead of offsets of
// -0x40000000, with an extra Dead state for the unindex window.
package sysref
