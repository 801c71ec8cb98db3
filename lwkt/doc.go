// Package lwkt owns threads and their scheduling, after DragonFly BSD's
// Light Weight Kernel Threads (sys/kern/lwkt_thread.c).
//
// Vocabulary: a Thread is a saved register set (trap frame, FPU image, FS
// base) plus scheduling state. Every thread of the Go runtime (each M,
// created by clone) is an LWKT thread. A Globaldata (DragonFly's
// globaldata, one per CPU) owns a run queue, the current thread and an idle
// thread; a thread belongs to the CPU in its gd and only that CPU touches
// it. This issue runs one CPU; the per-CPU shape is there so that a later
// SMP issue adds CPUs and IPI messages without changing a thread's owner
// rules.
//
// Switching: the kernel has one trap stack per CPU and never blocks on it.
// Every trap and system call saves the interrupted thread's registers in a
// Frame at the top of that stack; Schedule, called last on the way out,
// switches threads by copying the outgoing thread's Frame, FPU image and
// FS base into its Thread and the incoming one's into their place. The
// IRETQ at the end of the trap path then resumes the incoming thread. An
// idle CPU runs its idle thread, which halts with interrupts on.
//
// Invariants:
//   - owner-cpu: a thread runs only on the CPU in its gd (checked by
//     SelfTest).
//   - runq-state: a thread is on its run queue exactly when its state is
//     Runnable; the current thread is Running and not on the queue (unlike
//     DragonFly, where the running thread stays on the queue).
//   - blocked-why: a Blocked thread has a wait kind; a deadline, if any, is
//     in the future or it is about to be woken by Tick.
//
// Locking: everything is touched with interrupts off (trap context), so on
// one CPU no lock is needed. Code above the runtime that reads thread state
// (ps) takes a snapshot with interrupts off.
//
// Priorities are DragonFly's numbers (higher wins): idle 0, user 6 … the
// Go runtime's threads all run at TDPRI_KERN_DAEMON (12); the run queue is
// kept sorted and equal priorities round-robin each quantum.
package lwkt
