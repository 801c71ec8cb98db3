// Package kernel is Gofly's core: it takes the machine from the boot stub,
// prepares it for the Go runtime, and serves every trap afterwards. A Go
// program becomes a Gofly kernel by importing this package and calling
// Start from main; the linker flags in the Makefile make entry (in
// entry_amd64.s) the image's entry point.
//
// Boot sequence: QEMU's multiboot loader puts the stub (boot/boot.S) at
// 1 MiB and the Go image's segments at 2 MiB (cmd/mkimage made them one
// image; the image is linked at that memory's address in the direct map,
// amd64.Alias + 2 MiB); the stub enters long mode and jumps to entry, which sets up a boot stack,
// TLS and the per-CPU GS base and calls early. early builds the page
// allocator, descriptor tables, SYSCALL path, timers and the first two
// threads, and returns a Linux-style initial stack; entry then jumps to the
// runtime's own _rt0_amd64_linux with interrupts on. From then on the
// runtime's system calls land in trap (via syscallEntry) and are served by
// package sys.
//
// Trap path: every IDT vector and SYSCALL saves an amd64.Frame and the FPU
// state on the per-CPU trap stack, calls trap, lets lwkt.Schedule swap in
// another thread's state if needed, and resumes with IRETQ.
//
// Ring 3: the kernel lies in the upper half (its image and the direct map
// at amd64.Alias, its Go heap at vm.KernelMin), which every address space
// shares supervisor-only; a process's page tables hold the lower half. So
// a crossing writes no CR3: a CPU keeps the process's tables after a trap
// from ring 3, while kernel code runs, until it enters ring 3 in another
// address space (sys/ring3_nosplit.go, which also unloads a dying one),
// with its PCID where the CPU has them (setupCPU turns CR4.PCIDE on;
// pmap/pcid_nosplit.go decides when a load may keep a tag's entries).
// The kernel's own tables keep the boot's identity map of the lower half
// only until the processors are up (Start drops it: pmap.DropLow), so a
// stray kernel access to a low address faults on every address space. Entry (entry_amd64.s) takes the
// kernel's GS base (by the GS base's sign, so an NMI inside the SWAPGS
// windows is right too) and a readable FS base and calls trap; trap hands a ring-3 frame to
// sys.LeaveUser before anything else reads it and, at its end, lets
// sys.EnterUser turn a thread marked for ring 3 into its user frame; the
// exit loads the user FS base and, if it is another, CR3, and swaps GS
// back.
//
// Faults: demand-paging faults are resolved by package vm; a nil-page fault
// in Go code becomes SIGSEGV and hence a recoverable Go panic; any other
// exception prints a register report and, when it happened in a Go
// thread, redirects that thread into reportFault, which decodes the
// instruction with x86asm and prints the Go stack before stopping.
//
// Failures below the runtime: a broken invariant calls fatal.Throw, whose
// handler here (throw_nosplit.go) stops the other CPUs by NMI, prints the
// message, CPU, thread, call site and the registers of the trap being
// served, and ends QEMU with power.CodeThrow. An exception raised by the
// trap path itself (cpuLocal.frame already set) is reported at once
// without the MP lock, never resumed. The fault command provokes each
// (faults_nosplit.go).
//
// Invariants:
//   - below-runtime: *_nosplit.go files and the assembly never allocate,
//     grow a stack, store Go pointers or call splittable Go code (checked
//     by `make worlds`: -gcflags=-d=wb,-m, then cmd/worlds on the ELF).
//   - user-frames: trap's body (dispatch, exceptions, scheduling, signal
//     delivery) only ever sees kernel frames; a ring-3 frame exists only
//     between the entry and LeaveUser, and between EnterUser and the exit.
//   - one-trap-stack: the trap path never enables interrupts, so the
//     trap stack holds at most one frame (exceptions use the fault stack);
//     cpuLocal.frame is set exactly while a trap is served.
//   - guarded-memory: after Start begins, every change to mm, pmap and vm
//     asserts its lock: the MP lock (their Held hooks are
//     lwkt.HoldsMPLock), or for what a process's map may do alone, the
//     map's own (vm/doc.go); Go code reaches them through system calls,
//     lwkt.TrapCall or lwkt.TrapCallLocal.
//
// SMP: Start reads the MADT and starts every other processor through the
// real-mode trampoline (smp.go); each runs apInit and becomes its own idle
// thread. Per-CPU state (cpuLocal: index, trap stack, FPU area) is reached
// through GS. Every trap but an IPI, a process's page fault (which tries
// its map's lock first), a process's system call, the switch back to
// ring 3 (sys.Switch) and a TrapCallLocal runs under lwkt's MP lock;
// cpuLocal is written only by its own CPU. Its FPU area is the running
// thread's own, or while the thread is in ring 3 its context's user
// image (sys.EnterUser): no image is copied across ring 3.
//
//go:generate go run gen_vectors.go
package kernel
