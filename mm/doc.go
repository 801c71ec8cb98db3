// Package mm owns physical memory: the page frames the firmware reports as
// usable, minus what the kernel image, the boot modules and the allocator's
// own bitmap occupy. Every other frame is handed out one 4 KiB page at a
// time by Alloc and taken back by Free.
//
// Invariants (a broken one ends in fatal.Throw, never in an error):
//   - bitmap-truth: a frame is free exactly when its bit is set; the free
//     count equals the number of set bits (checked by SelfTest; Alloc
//     throws when the count promises a frame no bit shows).
//   - one-owner: a frame Alloc returned is its caller's alone until it is
//     freed; the guard below keeps two CPUs from taking the same bit.
//   - zeroed: Alloc returns a page full of zeros (page tables and
//     demand-zero user pages rely on it).
//   - no-double-free: freeing a free frame, or one Init never managed, is a
//     kernel bug (frames come back from page tables, never from a system
//     call's argument): Free throws.
//
// Alloc hands out the lowest free frame (address-ordered first fit: Free
// lowers the search's start to the freed word). Memory a machine has
// freed is reused before memory it never touched, so the frames in use
// stay packed at the bottom and hot. Under a hypervisor this matters
// more than cache: a guest frame's first touch costs the host a fault
// (under this machine's QEMU, about 5 ms per fresh 2 MiB), and a
// roving next-fit search, which walked into untouched memory whenever
// the frames behind it were freed, made a copy-on-write fault cost
// 17 µs instead of 7.
//
// The allocator runs below the Go runtime (it feeds the runtime's mmap from
// the page-fault handler), so it is nosplit, never allocates, and keeps its
// bitmap in physical memory it carves out of the first usable range large
// enough. Physical memory is reached through the kernel's direct map
// (Direct: physical address pa at DirectBase+pa, the upper-half alias of
// physical memory, mapped in every address space).
//
// Concurrency: the bitmap and the free count are guarded by the
// allocator's own spin lock, held for one search or one bit. Alloc (and
// AllocDirty, SelfTest) also need the MP lock (lwkt/mp_nosplit.go),
// asserted through Held: the reclaim it may run walks caches the MP lock
// guards, and a frame the kernel's own address space gave back is safe
// from a new owner only because every Alloc waits for the lock its
// remover keeps until the other CPUs have flushed (pmap, tlb). Free needs
// the spin lock alone, so a process's memory call can give frames back
// without the MP lock. The kernel sets Held before a second CPU starts
// (nil, as on the host, checks nothing). Init runs on one CPU before any
// other starts; FreePages and TotalPages may be read without a lock, for
// statistics. Go code that takes the MP lock must hold it only across
// nosplit code such as SelfTest: splittable code could fault or make a
// system call, whose trap would wait for the lock its own CPU holds.
package mm
