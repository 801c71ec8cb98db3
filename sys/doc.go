// Package sys serves the Linux system calls that the Go runtime makes: the
// boundary between the runtime and the kernel. Gofly hosts an unmodified Go
// runtime by answering the calls a Linux kernel would (see
// shared/design/runtime-hosting.md for the list and its traps): memory
// (mmap, munmap, madvise), threads (clone, futex, nanosleep, sched_yield,
// exit), time (clock_gettime), the netpoller's epoll and eventfd, signals
// (rt_sigaction, rt_sigprocmask, sigaltstack, tgkill, rt_sigreturn) and the
// console as file descriptors 0, 1 and 2.
//
// Every call is counted by number; an unknown call returns ENOSYS and is
// counted as such (the `syscalls` shell command lists both).
//
// Invariants:
//   - user-access: the kernel touches a user buffer only after vm.Touch
//     made it present, so a system call never page-faults in trap context.
//   - one-outcome: a call either returns now (f.RAX set) or blocks the
//     thread, whose result Wakeup or the deadline sets later.
//
// Runs below the Go runtime (the runtime calls in before its own init):
// nosplit, allocation-free, state in fixed arrays. Interrupts are off.
package sys
