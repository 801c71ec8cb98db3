// Package mm owns physical memory: the page frames the firmware reports as
// usable, minus what the kernel image, the boot modules and the allocator's
// own bitmap occupy. Every other frame is handed out one 4 KiB page at a
// time by Alloc and taken back by Free.
//
// Invariants:
//   - bitmap-truth: a frame is free exactly when its bit is set; FreePages
//     equals the number of set bits (checked by SelfTest).
//   - zeroed: Alloc returns a page full of zeros (page tables and
//     demand-zero user pages rely on it).
//   - no-double-free: freeing a free frame is a kernel bug; Free reports
//     it and the caller stops the machine.
//
// The allocator runs below the Go runtime (it feeds the runtime's mmap from
// the page-fault handler), so it is nosplit, never allocates, and keeps its
// bitmap in physical memory it carves out of the first usable range large
// enough. Physical memory is reached through the kernel's direct map
// (virtual == physical).
//
// Concurrency: callers hold interrupts off (the trap path always does);
// there is a single CPU until SMP brings a per-CPU page cache.
package mm
