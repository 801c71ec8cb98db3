// Package proc owns processes: static Linux programs in ring 3, each in
// its own address space (issue 10).
//
// Where system calls are served: each user thread has a task goroutine
// (gVisor's model, shared/design/syscall-service.md). run.go's loop calls
// the private system call sys.NrSwitch with the thread's UserContext; the
// trap path runs the thread in ring 3 until a system call or an exception
// (or an interrupt proc asked for), and the call returns with the reason.
// The goroutine then serves it as ordinary Go: allocating, blocking, with
// maps and goroutines, never in trap context. Chosen over DragonFly's
// system calls as messages because a call costs no switch and no queue,
// blocking and EINTR are the goroutine's own, and a fault is served on the
// same road; the price is an M (an lwkt thread) per user thread in ring 3,
// and syscall.Syscall's entersyscall means a stop-the-world never waits
// for ring 3. The goroutine is not locked to its M: inside the switch call
// it cannot change M anyway.
//
// This far: one thread per process; write to descriptors 1 and 2,
// exit and exit_group; every other call ENOSYS; an exception kills the
// process with Linux's signal (no handlers yet). Shell: run.
//
// Address spaces:
//
//   - elf.go: Parse checks an executable the way execve must (ELF64,
//     x86-64, ET_EXEC, no interpreter, loadable segments inside the user
//     half, file bytes inside the file, congruent offsets) and returns its
//     entry and segments; anything else is ENOEXEC with the reason.
//   - space.go, space_nosplit.go: Space is a user pmap (pmap.InitUser over
//     the kernel's upper half). Load maps every page of every segment
//     with the segment's permissions — U, W only if PF_W, NX unless PF_X
//     — copying file bytes and leaving the rest of memsz zero (bss);
//     Destroy gives every frame back (pmap.Destroy).
//   - stack.go: the initial stack as Linux builds it (argc, argv, envp,
//     the auxiliary vector with AT_PHDR, AT_ENTRY, AT_PAGESZ, AT_RANDOM,
//     AT_EXECFN…, strings at the top, sp 16-byte aligned; E2BIG past half
//     the stack); Space.SetupStack maps the stack and writes it, and
//     ReadStack decodes one back for checks.
//
// Invariants:
//   - space-owned: a Space's pages and tables are its alone; no CPU loads
//     its root yet (nothing runs in it), which is Destroy's precondition.
//   - load-exact: after Load, each file byte of each segment reads back
//     through the Space's tables (Space.Read, the self-check the shell's
//     load command runs), and memsz beyond filesz reads zero.
//
// Locks: a Space is used by one goroutine; its page-table work runs in
// lwkt.TrapCall bodies, under the MP lock that guards every pmap and mm.
package proc
