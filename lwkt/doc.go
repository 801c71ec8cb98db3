// Package lwkt owns threads and their scheduling, after DragonFly BSD's
// Light Weight Kernel Threads (sys/kern/lwkt_thread.c, lwkt_ipiq.c,
// lwkt_token.c).
//
// Vocabulary: a Thread is a saved register set (trap frame, FPU image, FS
// base) plus scheduling state. Every thread of the Go runtime (each M,
// created by clone) is an LWKT thread. A Globaldata (DragonFly's
// globaldata, one per CPU) owns a run queue, the current thread and an idle
// thread. A thread belongs to the CPU in its gd from creation (new threads
// are placed on the online CPUs in turn) and only that CPU touches its
// scheduling state; other CPUs reach it by IPI message (package ipiq, the
// queues in IPIs): a wakeup or a new thread for another CPU becomes a
// message to it.
//
// Switching: the kernel has one trap stack per CPU and never blocks on it.
// Every trap and system call saves the interrupted thread's registers in a
// Frame at the top of that stack; Schedule, called last on the way out,
// switches threads by copying the outgoing thread's Frame, FPU image and
// FS base into its Thread and the incoming one's into their place. The
// IRETQ at the end of the trap path then resumes the incoming thread. An
// idle CPU runs its idle thread, which halts with interrupts on.
//
// Critical sections (crit_nosplit.go): a per-thread count; while it is
// non-zero the thread is not preempted and its CPU's ticks and IPI
// messages wait for the outermost CritExit.
//
// Tokens (token_nosplit.go): serialising tokens are held only while their
// thread runs. Schedule releases every token of a thread it switches out
// and runs a thread only once it has all of its tokens back.
//
// Invariants:
//   - owner-cpu: a thread runs only on the CPU in its gd; other CPUs send
//     it messages (checked by SelfTest, which runs on each CPU by cpusync).
//   - runq-state: a thread is on its CPU's run queue exactly when its
//     state is Runnable; the current thread is Running and not on the
//     queue (unlike DragonFly, where the running thread stays queued).
//   - blocked-why: a Blocked thread has a wait kind; a deadline, if any, is
//     in the future or it is about to be woken by Tick.
//   - one-wake: a thread has at most one cross-CPU wakeup in flight
//     (wakePending), so no two wakers count it.
//   - crit-holds: a Running thread with a non-zero critical count is not
//     switched out, and its CPU runs no IPI message from an interrupt
//     until the count drops to zero (checked by the kernel's self-test).
//   - token-exclusive, token-release-on-block: see token_nosplit.go.
//
// Locking, outermost first:
//
//	interrupts off (every trap path; Critical in Go code)
//	  MP lock (GetMPLock): shared kernel state, thread-table allocation,
//	  |  futex and wait queues; held by one CPU's trap path at a time;
//	  |  a CPU spinning for it drains its IPI queues
//	  +- per-CPU Globaldata: no lock, only its CPU touches it
//	  +- IPI queues: lock-free single-producer/single-consumer
//	  +- tokens: lock-free, atomics only
//
// IPI handlers never take the MP lock. Messages for other CPUs that arise
// deep in a system call are queued per CPU and sent by Flush at the top of
// the trap path (mp_nosplit.go says why).
//
// Priorities are DragonFly's numbers (higher wins): idle 0, user 6 … the
// Go runtime's threads all run at TDPRI_KERN_DAEMON (12); the run queue is
// kept sorted and equal priorities round-robin each quantum.
//
// Below the runtime: every *_nosplit.go file (trap context, no g).
package lwkt
