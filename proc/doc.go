// Package proc will own processes: static Linux programs in ring 3, each
// in its own address space (issue 10). This first piece builds an
// address space from a static ELF executable and tears it down:
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
