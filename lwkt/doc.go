// Package lwkt owns threads and their scheduling, after DragonFly BSD's
// Light Weight Kernel Threads (sys/kern/lwkt_thread.c, lwkt_ipiq.c,
// lwkt_token.c).
//
// Vocabulary: a Thread is a saved register set (trap frame, FPU image, FS
// base) plus scheduling state. Every thread of the Go runtime (each M,
// created by clone) is an LWKT thread. A Globaldata (DragonFly's
// globaldata, one per CPU) owns a run queue, the current thread and an idle
// thread. A thread belongs to the CPU in its gd and only that CPU touches
// its scheduling state; other CPUs reach it by IPI message (package ipiq,
// the queues in IPIs): a wakeup or a new thread for another CPU becomes a
// message to it.
//
// Balancing (balance_nosplit.go) is the layer DragonFly keeps above LWKT
// (usched_dfly): new threads go to the least loaded CPU, a woken thread
// to an idle CPU when its own is busy, a CPU gone idle pulls a queued
// thread from the busiest, and each tick a CPU two threads busier than
// another pushes one to it; sched_setaffinity confines a thread. A thread
// changes CPU only while fully saved and on no queue (migrate-safe): its
// owner gives it away, or its waker moves it under the MP lock, and a run
// message hands it to the new owner.
//
// Switching: the kernel has one trap stack per CPU and never blocks on it.
// Every trap and system call saves the interrupted thread's registers in a
// Frame at the top of that stack; Schedule, called last on the way out,
// switches threads by copying the outgoing thread's Frame, FPU image and
// FS base into its Thread and the incoming one's into their place. The
// IRETQ at the end of the trap path then resumes the incoming thread. An
// idle CPU runs its idle thread, which halts with interrupts on.
//
// Go code and the CPU (shared/design/two-worlds.md): a goroutine does not
// own a CPU or an LWKT thread. The Go scheduler may preempt it at any call
// with a stack-check prologue (sysmon, a stop-the-world) and resume it on
// another M, so on another thread and CPU, whatever interrupts or counts
// the kernel had set for it. So anything that needs "this CPU" or "this
// thread" — interrupts off, a critical section, a per-CPU access, a token,
// sending an IPI message, the MP lock — spans only nosplit,
// non-allocating code with no call into preemptible Go. Go code gets it in
// one way: TrapCall(fn, arg), which runs fn in the trap path (interrupts
// off, MP lock held, this CPU's trap stack) while the goroutine sits in
// one INT instruction; fn is a //go:nosplit function of a *_nosplit.go
// file, which `make worlds` checks at every call. Go code owns no tokens
// (it could not keep them): it uses sync.Mutex. runtime.LockOSThread plus
// gettid gives a goroutine a stable thread identity (ports), not a CPU.
// There is no critical-section count: trap context is always
// interrupts-off, which is stronger, and Go code cannot hold one.
//
// Tokens (token_nosplit.go): serialising tokens are held only while their
// thread runs. Schedule releases every token of a thread it switches out
// and runs a thread only once it has all of its tokens back. Their holders
// are below-runtime code (IPI handlers, which run without the MP lock).
//
// Waits: a blocked thread's Wait (its kind) is non-zero exactly while it
// waits and nobody has ended the wait. Block sets it, Wakeup and the
// deadline in Tick clear it (claim), all under the MP lock, which is how a
// waiter is claimed exactly once; the run message to its owner CPU follows,
// marked by runMsg until it has run. live (MP lock) says a slot is
// allocated, so that other CPUs never read the owner-written state.
//
// Split: sched_nosplit.go holds the scheduling decisions as pure functions
// of one *Globaldata (run queue, quantum, priorities, the tokens rule:
// pickNext walks the queue once and runs the first thread that gets all
// its tokens back, as lwkt_switch does); thread_nosplit.go wraps them for
// the running CPU and does the switch itself (frame, FPU area, FS base).
// Host tests drive the pure part on fake CPUs under -race.
//
// Invariants:
//   - owner-cpu: a thread runs only on the CPU in its gd; other CPUs send
//     it messages (checked by SelfTest, which runs on each CPU by cpusync).
//   - migrate-safe: gd changes only while the thread is fully saved, on no
//     run queue, holds no token and has a run message to the new owner on
//     its way (Blocked, runMsg set); the message is sent only after the
//     old owner saved its registers (balance_nosplit.go).
//   - runq-state: a thread is on its CPU's run queue exactly when its
//     state is Runnable; the current thread is Running and not on the
//     queue (unlike DragonFly, where the running thread stays queued).
//   - blocked-why: a Blocked thread either has a wait kind, or its wait
//     was ended and a run message for it is in flight (or it is idle).
//   - one-wake: Wakeup returns true for at most one waker per wait, and a
//     run message names a Blocked thread with no wait kind (thrown
//     otherwise).
//   - token-exclusive, token-release-on-block: see token_nosplit.go.
//
// Locking, outermost first:
//
//	interrupts off (every trap path; TrapCall for Go code)
//	  MP lock (GetMPLock; HoldsMPLock asserts it): shared kernel state,
//	  |  thread-table allocation, every thread's Wait/WaitKey/Deadline and
//	  |  a waiting thread's Frame; held by one CPU's trap path at a time;
//	  |  a CPU spinning for it drains its IPI queues
//	  |  +- a process's map lock (package vm): after the MP lock, or alone
//	  |  |  in a demand-zero fault and in what vm.Map.Alone allows of a
//	  |  |  memory call (TrapCallLocal); two only under the MP lock
//	  |  |  +- pmap's pvLock (the PV slab, every page's PV list)
//	  |  |     +- mm's allocator lock (the bitmap)
//	  +- per-CPU Globaldata: no lock, only its CPU touches it (but load,
//	  |  incoming and the migration counts: atomics any CPU reads)
//	  +- IPI queues: lock-free single-producer/single-consumer
//	  +- tokens: lock-free, atomics only
//
// IPI handlers never take the MP lock. Messages for other CPUs that arise
// deep in a system call are queued per CPU and sent by Flush at the top of
// the trap path (mp_nosplit.go says why). Every spin (the MP lock, a full
// IPI queue, cpusync) warns after a second and throws after ten, naming
// what it waits for and the holder (spin_nosplit.go).
//
// Priorities are DragonFly's numbers (higher wins): idle 0, user 6 … the
// Go runtime's threads all run at TDPRI_KERN_DAEMON (12); the run queue is
// kept sorted and equal priorities round-robin each quantum.
//
// Below the runtime: every *_nosplit.go file (trap context, no g).
package lwkt
