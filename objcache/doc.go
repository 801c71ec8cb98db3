// Package objcache owns per-CPU object caches for memory that lives below
// the Go runtime, after DragonFly BSD's sys/kern/kern_objcache.c (itself
// after the magazine layer of Bonwick and Adams' slab allocator), and
// per-P caches of Go objects above it (Cache[T], gocache.go: its own
// design comment says how it differs).
//
// Memory pressure: mm's Alloc, finding no free frame, calls ReclaimAll
// (reclaim_nosplit.go; the kernel installs it with mm.SetReclaim), which
// reclaims every registered FrameCache on the calling CPU, and tries
// again. The self-test fills a cache, takes every frame and checks the
// cache's pages came back.
//
// What it owns: a FrameCache (cache.go, cache_nosplit.go) is a fixed-size
// table of magazines, each a stack of up to Capacity constructed objects'
// addresses. Each CPU owns two of them, loaded and previous (cpuCache);
// the depot holds the rest, every one either full or empty, on two lists.
// Behind the depot a Slab (slab_nosplit.go) carves fixed-size objects out
// of pages from a page source (mm's frames, in the kernel) and gives a page
// back as soon as none of its objects is in use. Objects are uintptr
// addresses of memory the Go heap does not own; they refer to nothing the
// collector must see.
//
// Objects stay constructed while cached: Ctor runs when the Slab hands out
// fresh memory, Dtor only when the memory goes back to it (a Put with no
// room anywhere, or Reclaim). Get never zeroes an object.
//
// Invariants (a test can quote each; Check reports the first broken one,
// host tests run it after every sequence; the kernel's self-test runs it
// after its storm and after its reclaim):
//   - cpu-owned: a CPU's loaded and previous magazines, and its counters,
//     are read and written only by that CPU, inside its critical section
//     (Check and Stats read them at quiescence).
//   - rounds-bounded: 0 ≤ rounds ≤ capacity in every magazine.
//   - depot-whole: the depot's full list holds only magazines with
//     rounds == capacity, its empty list only ones with rounds == 0; nfull
//     and nempty count them.
//   - magazine-conservation: each magazine is in exactly one place — one
//     CPU's loaded or previous, or one depot list, or (during Reclaim) the
//     reclaiming CPU's private list.
//   - one-owner: an object is handed out by at most one Get until it is
//     Put back; a cached object is in exactly one magazine slot. Checked on
//     the host by marking each object's state in its own memory with
//     atomics (harness_test.go).
//   - limit: live, the count of constructed objects (handed out + cached),
//     never exceeds Limit: live is raised before the ctor runs and lowered
//     only after the dtor ran.
//   - ctor-dtor: ctors - dtors == live at quiescence; Misses == ctors,
//     Destroyed + Reclaimed == dtors.
//   - slab-empty-page: the Slab holds no page all of whose objects are
//     free.
//
// Critical sections and locks, in the order they are taken:
//
//	the caller's critical section (the trap path, or lwkt.TrapCall:
//	interrupts off, on CPU cpu, no g) — Get, Put, Reclaim run wholly in it
//	  cpu's loaded and previous magazines, cpu's counters: no lock, no atomic
//	  depot.lock (spinlock: one CAS): the depot lists, live, peak, contested
//	    (nothing is taken under it)
//	  Slab.lock (spinlock): the partial-page list, page headers, counts;
//	    taken only with depot.lock released
//	  the ctor, the dtor and the page source: called with no lock of the
//	    package held (the page source may take mm's guard)
//
// So the depot lock and the slab lock are leaves and never nest. The CPU
// index is passed explicitly: the caller guarantees it is the CPU it runs
// on and stays on until the call returns (host tests play CPUs from
// goroutines, each the only user of its index, which is the same
// guarantee). Nothing here blocks: where DragonFly sleeps for an object
// (M_WAITOK), Get returns 0.
//
// Which paths need which lock, in the kernel. The kernel's page source
// (kpage_nosplit.go: KernelPageAlloc, KernelPageFree) takes and gives mm
// frames with mm.Phys.Alloc, which needs the MP lock (mm.Held asserts it
// and throws), and Free, whose slab bookkeeping is the lock's too. Every path of a FrameCache that can reach the page
// source therefore runs only where the MP lock is held — a TrapCall body
// or the trap path (page faults, system calls):
//   - Get that misses everywhere (both magazines empty, no full depot
//     magazine, live below Limit): slab → a fresh page when no slab page
//     has a free object;
//   - Put that finds no room (both magazines full, no empty depot
//     magazine): destroy → slab → the page goes back when it empties;
//   - Reclaim: always (it destroys).
//
// IPI handlers (lwkt.Cpusync, ipiq) run without the MP lock, on their own
// CPU with interrupts off: there a FrameCache is used only through TryGet
// and TryPut, which take and give cached objects (magazines and depot
// trades) and report failure instead of constructing or destroying, so
// they never reach the page source. (The self-test's storm once relied
// on the limit to keep handlers' Gets off the backing; mm's reclaim path
// can empty a cache at any time, so the handlers use TryGet.) sysref's
// release handler files records with TryPut, or defers them.
//
// Nosplit depth. The linker bounds nosplit chains (792 bytes) but does not
// follow the calls through funcvals (ctor, dtor, page source) nor IPI
// handlers reached through ipiq's table; those run on the CPU's 64 KiB
// trap stack. Counted by hand from the frame sizes (-S): the deepest,
// drainCall → Reclaim → purge → destroy → Slab.free → callFree →
// KernelPageFree → mm.Free → guard → fatal.Assert → fatal.Throw, is about
// 500 bytes before fatal's handler; handlers reach no page source
// (TryGet, TryPut).
//
// Registry: Register (registry.go) lists a FrameCache for the shell's
// objcache command and for ReclaimAll (a static array it reads below the
// runtime); RegisterGo lists a Cache[T] for the shell and GoReclaimer.
// The kernel's caches register from init functions: the self-tests'
// (selftest-64, bench-64, pressure-64, go-bench-64, go-pressure-64) and
// each SYSREF class's (sysref.Class.InitFrames).
//
// Below the runtime: lock_nosplit.go, slab_nosplit.go, cache_nosplit.go,
// kpage_nosplit.go, selftest_nosplit.go —
// every function nosplit, no allocation, no Go pointer stores (checked by
// `make worlds`' -d=wb -m rule, and on the host by AllocsPerRun). cache.go
// (Init, Stats, Check) runs above the runtime: Init once before the first
// Get, Stats and Check for the shell and self-tests.
//
// Where the memory comes from, and why there are no function values:
//   - The magazines are fixed arrays inside the FrameCache (MaxMagazines of
//     MagRounds rounds, 25 KiB), and the FrameCache holds no Go pointer but its
//     name; in the kernel it is a package variable, in static memory. So
//     the depot can never fail to find room for a magazine it is handed,
//     a depot trade is two index swaps, and no path allocates. The cost:
//     the number of magazines, hence the most objects a FrameCache can cache,
//     is fixed when the kernel is built; Config.Capacity and
//     Config.DepotMagazines only lower it. Carving magazines out of the
//     page source instead (DragonFly kmallocs them) is the path to
//     run-time magazine sizing, which this slice does not need.
//   - Ctor, Dtor and the page source are kept as funcval addresses in
//     uintptr fields, as package fatal keeps its handler, and called
//     through them: storing a func value would be a Go pointer store, and
//     an interface would need a method table the nosplit rule cannot
//     check. They must be top-level //go:nosplit functions of *_nosplit.go
//     files (a closure's funcval is on the heap, and the integer would not
//     keep it alive).
//   - The Slab keeps its bookkeeping in a header at the start of each page
//     and links free objects through their first word, so it needs no
//     memory of its own.
//
// Differences from DragonFly's kern_objcache.c, and why:
//   - The caller enters the critical section, not Get and Put: below the
//     Go runtime the only way to hold a CPU is to be in the trap path, so
//     the caller is already there; Get and Put take the CPU index.
//   - One backing, a slab over pages, instead of an alloc/free pair of
//     function pointers with an argument: the kernel's users are
//     fixed-size records (threads, map entries, PV entries, messages).
//   - Get never sleeps and never drops its critical section for the
//     backing allocator: it returns 0 (DragonFly's M_NULLOK behaviour).
//     So there is no waiting count and no wakeup.
//   - Limit counts constructed objects exactly (live ≤ Limit); DragonFly
//     pads the limit by two magazines per CPU. A CPU at the limit can fail
//     while objects sit cached in other CPUs' magazines (TestFailures
//     shows it). mm's pressure path reclaims only the CPU that ran out
//     (and the depot): the other CPUs' magazines stay theirs.
//   - Put with both magazines full and no empty magazine in the depot
//     destroys the object, as DragonFly does; the depot is pre-filled with
//     DepotMagazines empty magazines and never grows.
//   - Reclaim is live (DragonFly's objcache_reclaim is compiled out; its
//     reclaimlist stops at the first cache that freed anything): it purges
//     the calling CPU's two magazines and every full magazine in the
//     depot, taking the full list away under the lock and purging it
//     with the lock released. Other CPUs' magazines are theirs: only
//     Reclaim on each CPU reaches them (the self-test does so). The
//     dtors run inside the caller's critical section, one per object;
//     DragonFly briefly leaves its critical section every 16 objects,
//     which a trap-path caller cannot do.
//   - Statistics are per CPU and lock-free (Gets, Hits, Misses, Fails,
//     Puts, Destroyed, DepotGets, DepotPuts, Reclaimed) plus the depot's
//     live, peak and lock contention and the slab's pages.
//   - No magazine resizing and no working-set reaping (DragonFly disabled
//     its resizing timer; illumos kmem has both).
//   - Counters and magazines of two CPUs never share a cache line within
//     the FrameCache (cpuCache is 128 bytes), but Go does not align a package
//     variable to 64 bytes, so the first and last CPU's lines may touch
//     the FrameCache's neighbours.
package objcache
