// Package proc owns processes: static Linux programs in ring 3, each in
// its own address space (issue 10).
//
// Where system calls are served: each user thread has a task goroutine
// (gVisor's model, shared/design/syscall-service.md). Thread.run's loop calls
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
// This far (process.go, syscalls.go, futex.go): a process is one address
// space with threads (clone with CLONE_VM|CLONE_THREAD, a goroutine each)
// and the calls a static Go program makes: memory (mmap, munmap, madvise,
// mincore on the process's vm.Map; mmap of a file maps its VM object, vnode.go's
// mmapFile; a fault past a mapped file's end is SIGBUS with BUS_ADRERR;
// demand-zero faults served by the trap path
// without ending the switch), futex, clone, exit, exit_group, nanosleep,
// the clocks (clock_gettime with the CPU-time clocks counting ring-3
// time, clock_getres, gettimeofday, time), interval timers (timer.go:
// setitimer, getitimer, alarm, timer_create and the other timer_ calls,
// on real clocks and CPU clocks, which the threads check at their
// switch's end), signals (signal.go: handlers, masks and alternate
// stacks; delivery through an rt_sigframe and rt_sigreturn as Linux does
// it, faults to their handler with Linux's si_code, blocking calls
// interrupted with EINTR or restarted for SA_RESTART), a descriptor table (files.go:
// a terminal at 0-2, tty.go; eventfd and epoll, which the runtime's
// netpoller needs for its timers; close, fcntl; poll.go: select,
// pselect6, poll, ppoll), the file calls on the tree at / (vnode.go:
// openat with O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_DIRECTORY/O_CLOEXEC,
// read, write, pread64, pwrite64, lseek, fstat, newfstatat, getdents64,
// mkdirat, unlinkat, ftruncate, fsync, linkat (hard links), the chown
// family (owners kept): an open file description keeps
// its offset, shared by dup and fork; a regular file's read and write
// copy straight between the process and the file's VM object pages
// under CCMS range locks, no buffer between; the working directory is
// /, the process root, the permission bits kept but not checked),
// arch_prctl,
// sched_getaffinity, prlimit64, uname, getrandom; and the process tree
// (tree.go): fork (clone without CLONE_VM, or fork) copies the address
// space copy-on-write at the page level (vm.Map.Fork: each private page
// gains a read-only mapping and a PV in the child; the first write copies
// a page still shared and makes a page left alone writable in place;
// MAP_SHARED memory stays shared, its object's pages mapped in both), the
// descriptors and signal state; wait4 reaps ended children (their status
// and ring-3 time); execve maps a program (Program: a file of the tree
// at /, package vfs; its segments map the file's VM object privately,
// as Linux's loader maps the page cache) into a new space, ends the other threads, closes
// close-on-exec descriptors and resets handlers. At most MaxProcs
// processes live at once (EAGAIN past it). vfork (clone with
// CLONE_VM|CLONE_VFORK, or vfork) lends the child the parent's space
// (Space's references) while the parent's thread waits for its execve
// or end. pipe.go: pipes (a queue of bytes copied into a ring and of
// pages lent by large writes, xio page lists made by vm.Map.Loan,
// copy-on-write, held back for a while from a writer that wrote its
// lent pages again; shared between processes by descriptor counts: end of
// file when no writer is left, EPIPE and SIGPIPE when no reader is, the
// lent pages given back with the last reader), dup/dup2/dup3; with
// those, Go's os/exec works. vnode.go: the file calls over package vfs.
//
// Credentials (cred.go): each process has real, effective and saved user
// and group IDs and supplementary groups, set by setuid, setgid,
// setreuid, setregid, setresuid, setresgid and setgroups by Linux's
// rules (privileged: effective user ID 0), inherited by fork, kept by
// execve and given in the auxiliary vector. Files are not checked
// against them (the permission bits are kept, not enforced), and a file
// made is root's.
//
// The vDSO (vdso.go, vdso_amd64.s): every address space maps, below its
// stack, a clock page and an ELF shared object exporting
// __vdso_clock_gettime, __vdso_gettimeofday and __vdso_time (LINUX_2.6),
// found through AT_SYSINFO_EHDR, which read the TSC as the kernel's clock
// does; clocks it does not serve go to the system call.
//
// Sockets (socket.go): stream sockets whose connections are two pipes,
// TCP on the loopback (bind, listen, connect, accept4, the names,
// shutdown, setsockopt/getsockopt, sendto/recvfrom) and AF_UNIX
// socketpair, named AF_UNIX stream sockets (unixsock.go: a blocking
// connect waits for room in a full queue) and datagram sockets
// (dgram.go: UDP, named AF_UNIX ones, socketpair(SOCK_DGRAM)).
//
// Terminals and sessions (tty.go, session.go): a TTY is Linux's line
// discipline (n_tty) with its termios — canonical lines with erase, kill
// and end of file, or raw bytes by VMIN and VTIME; echo; the interrupt,
// quit and suspend characters as signals to the foreground process
// group — and the terminal ioctls (termios, window size, foreground
// group, controlling terminal, FIONREAD, flushes). The shell's run makes
// each program a session leader with the console's TTY as its
// controlling terminal and its group the foreground one; children
// inherit the group, setpgid and setsid move them, kill reaches a group;
// when the leader ends, the terminal hangs up (SIGHUP and SIGCONT to the
// foreground group). A background group's read is EIO; the terminal's
// stop signals are discarded, as Linux discards them for an orphaned
// group (every group the shell starts is one). SIGSTOP stops a process
// and SIGCONT continues it (stop.go); wait4 reports both with WUNTRACED
// and WCONTINUED.
//
// Bad actors: a process's page faults leave the kernel a reserve of
// frames (vm), and one that runs out is killed with SIGKILL, as by
// Linux's OOM killer; forks past MaxProcs fail; a kernel buffer a call
// fills is bounded (copies go a chunk at a time); a panic while serving a
// call kills the process, not the kernel. user/probe and user/fuzz (random
// calls and arguments) exercise them in the boot tests. An exception goes
// to the handler of Linux's signal for it, or kills the process with that
// signal. Kill sends a process a signal from outside (the shell's Ctrl-C
// and kill). Shell: run, procs, vm, pmap, kill.
//
// Locks, in order: Process.mu (threads, the end, children, descriptors,
// signal state and pending signals, the eventfds' counts; a parent's
// before its child's, in wait4); then procs (the process table, and each
// process's group, session and controlling terminal), then a TTY's mu
// (held across its copies); futexTable.mu, a pipe's mu (held across its
// copies and loans, which take the locks below in their TrapCalls), or
// pollMu (the readiness broadcast, taken last). A Space's map and page tables are guarded by the MP lock and
// the map's own lock, taken in that order by the TrapCall bodies and the
// trap path's fault service; a demand-zero fault takes the map's lock
// alone (vm.FaultFresh), and so do the memory calls and user copies when
// they can (a TrapCallLocal body first; vm.Map.Alone for the calls,
// pages present with the access for the copies), falling back to
// TrapCall. Process.spaceMu keeps a process's Space from
// being swapped (execve) or released (its end) under a reader.
//
// Address spaces:
//
//   - elf.go: Parse checks an executable the way execve must (ELF64,
//     x86-64, ET_EXEC, no interpreter, loadable segments inside the user
//     half, file bytes inside the file, congruent offsets) and returns its
//     entry and segments; anything else is ENOEXEC with the reason.
//   - space.go, space_nosplit.go: Space is a vm.Map over a user pmap
//     (pmap.InitUser over the kernel's upper half). Load makes a map
//     entry per segment and maps every page with the segment's
//     permissions — U, W only if PF_W, NX unless PF_X — copying file
//     bytes and leaving the rest of memsz zero (bss); CopyIn and CopyOut
//     move system-call data through the process's tables, EFAULT for
//     what the process could not access itself; Destroy gives every
//     frame back (pmap.Destroy).
//   - stack.go: the initial stack as Linux builds it (argc, argv, envp,
//     the auxiliary vector with AT_PHDR, AT_ENTRY, AT_PAGESZ, AT_RANDOM,
//     AT_EXECFN…, strings at the top, sp 16-byte aligned; E2BIG past a
//     quarter of the stack limit); Space.SetupStack makes the 8 MiB stack
//     entry and writes the pages the initial stack occupies, and
//     ReadStack decodes one back for checks.
//
// Invariants:
//   - space-owned: a Space's pages and tables are its alone; Destroy runs
//     after the process's last thread has stopped, and first has every
//     CPU still holding its root (CR3 is kept lazily after a trap) load
//     the kernel's (vm.Map.Destroy, sys's unloadMap).
//   - load-exact: after Load, each file byte of each segment reads back
//     through the Space's tables (Space.Read, the self-check the shell's
//     load command runs), and memsz beyond filesz reads zero.
package proc
