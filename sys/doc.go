// Package sys serves the Linux system calls that the Go runtime makes: the
// boundary between the runtime and the kernel. Gofly hosts an unmodified Go
// runtime by answering the calls a Linux kernel would (see
// shared/design/runtime-hosting.md for the list and its traps): memory
// (mmap, munmap, madvise), threads (clone, futex, nanosleep, sched_yield,
// exit), time (clock_gettime), the netpoller's epoll and eventfd, signals
// (rt_sigaction, rt_sigprocmask, sigaltstack, tgkill, rt_sigreturn) and the
// console as file descriptors 0, 1 and 2.
//
// The system calls served are one table, calls in dispatch_nosplit.go:
// number, Linux name and handler. Every call is counted by number; an
// unknown call returns ENOSYS and is counted as such (the `syscalls` shell
// command lists both, named from the table).
//
// Invariants:
//   - user-access: the kernel touches a user buffer only after vm.Touch
//     made it present, so a system call never page-faults in trap context.
//     A call that may use only part of a buffer checks the whole of it as
//     Linux's access_ok does (accessOK) and touches only what it uses.
//   - linux-sizes: counts and lengths are taken at the width Linux declares
//     them (an int or unsigned int argument is the register's low half)
//     and bounded as Linux bounds them before any size is computed, so no
//     size wraps.
//   - one-outcome: a call either returns now (f.RAX set) or blocks the
//     thread, whose result Wakeup or the deadline sets later.
//
// Runs below the Go runtime (the runtime calls in before its own init):
// nosplit, allocation-free, state in fixed arrays. Interrupts are off.
package sys
