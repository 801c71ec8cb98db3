package lwkt

// Scheduling runs in trap context and during early boot: every function is
// nosplit and allocation-free; thread links are indices, not pointers.
// This file holds the thread table and the entry points the trap path and
// the system calls use: they find this CPU's Globaldata (GS) and, in
// Schedule, move register state (the frame, the FPU pointer, the FS base
// MSR). The decisions and run-queue moves behind them, given a Globaldata,
// are in sched_nosplit.go.

import (
	"sync/atomic"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/mm"
)

// MaxThreads bounds the thread table.
const MaxThreads = 128

// State is a thread's scheduling state.
type State uint8

const (
	Free State = iota
	Runnable
	Running
	Blocked
)

var stateNames = [...]string{"free", "runnable", "running", "blocked"}

func (s State) String() string { return stateNames[s] }

// WaitKind says why a Blocked thread waits.
type WaitKind uint8

const (
	WaitNone WaitKind = iota
	WaitFutex
	WaitSleep
	WaitEpoll
	WaitRead
)

var waitNames = [...]string{"", "futex", "sleep", "epoll", "read"}

func (w WaitKind) String() string { return waitNames[w] }

// Priorities (DragonFly sys/thread.h).
const (
	PriIdle       = 0
	PriKernDaemon = 12
)

// Quantum is how many timer ticks a thread runs before an equal-priority
// peer gets the CPU.
const Quantum = 10

// Thread is one kernel-scheduled thread. Its fields are guarded by
// groups, as marked: "owner" means only the CPU in gd touches them (in its
// trap path or IPI handlers, interrupts off); "MP lock" means any CPU's
// trap path holding the MP lock.
type Thread struct {
	// Owner while the thread runs or is runnable; MP lock while it waits
	// (a waker sets Frame.RAX); a new thread's are set before it is
	// published.
	Frame  amd64.Frame
	fpu    [512 + amd64.FPUAlign]byte
	FSBase uint64

	// ID is set at allocation (MP lock) and read-only after. state, pri
	// and the run-queue links: owner (Block, under the MP lock too). live:
	// MP lock; it says whether the slot is taken (alloc sets it, Exit
	// clears it, as it frees state), so that code scanning every slot
	// under the MP lock (alloc, FindID) need not read state, which the
	// owner CPU writes without the lock.
	ID    int32
	state State
	pri   uint8
	live  bool

	// gd is the owning CPU. It changes only while the thread is fully
	// saved and on no run queue, with a run message to the new owner
	// following (migrate-safe, balance_nosplit.go): by its owner when it
	// gives a queued thread away, or by the CPU that ends its wait, under
	// the MP lock. Atomic, because other CPUs read it to skip threads that
	// are not theirs (the self-check, the deadline scan, ps).
	gd atomic.Uint32

	// affinity is the set of CPUs the thread may run on (0: any), from
	// sched_setaffinity; placement and balancing honour it. Atomic: any
	// CPU's balancer reads it.
	affinity atomic.Uint64

	// Migrations counts the thread's moves to another CPU (owner, or the
	// waker under the MP lock; read for display).
	Migrations uint64

	// runMsg: a run message for the thread is on its way to its CPU
	// (blocked-why: a Blocked thread with no wait kind has one, unless it
	// is idle). Set, under the MP lock, by the CPU that posts the message
	// (Wakeup, Clone); cleared by the owner when the message runs
	// (makeRunnable); read by the owner's self-check.
	runMsg bool

	// The wait: MP lock (Block, Wakeup, Tick, the Find functions).
	Wait       WaitKind
	WaitKey    uintptr // futex address, epoll fd, ...
	WaitArg    [3]uintptr
	Deadline   int64  // monotonic ns; 0 = none
	TimeoutRet uint64 // RAX value when the deadline passes

	next, prev int32 // run-queue links (indices; -1 = none)

	// Accounting: owner; other CPUs read it for display only.
	Cycles   uint64 // TSC cycles spent running
	Switches uint64 // times switched in
	since    uint64 // TSC when last switched in
	ticks    int    // timer ticks in the current quantum

	// Signal state, owned by the system-call layer (MP lock), but
	// SigPending, set atomically by tgkill on any CPU.
	SigMask    uint64
	SigPending atomic.Uint64 // set by tgkill on any CPU, taken by the owner

	AltSP    uint64
	AltSize  uint64
	AltFlags uint32

	// The thread's SYSREF record (package sys's thread class) and its
	// sysid: MP lock. Set by the system-call layer once the thread exists
	// (clone, or its pass over the threads made before sysids were
	// seeded); the thread's own reference goes when it exits.
	Sysref uintptr
	SysID  uint64

	// UserCtx is the address of the sys.UserContext this thread runs in
	// ring 3 while its goroutine waits in the switch call; 0 when it runs
	// only kernel code. Owner: set by that call and cleared when the call
	// returns (sys/ring3_nosplit.go), on the CPU running the thread.
	UserCtx uintptr
}

// Globaldata is one CPU's scheduler (DragonFly's globaldata). Guard: its
// CPU only (owner-cpu), interrupts off; no lock. Other CPUs read the
// counters and online for display, and online once at placement.
type Globaldata struct {
	cpu          int
	cur          int32
	idle         int32
	head, tail   int32 // run queue, highest priority first
	nq           int32 // threads on the run queue
	Switches     uint64
	IdleCycles   uint64
	TokenWaits   uint64 // times a runnable thread could not get its tokens back
	PullAsks     uint64 // times this CPU, idle, asked another for a thread
	resched      bool
	pushNow      bool   // a thread was queued behind a running one: push at the trap's end
	nextDeadline int64  // earliest Deadline of a blocked thread; 0 = none
	trapRSP      uint64 // RSP of the thread interrupted by the current trap
	online       bool   // the CPU runs its scheduler

	// The balancer's view (balance_nosplit.go), read by every CPU. load:
	// the run queue plus a running non-idle thread, published by the
	// owner whenever either changes. incoming: run messages on their way
	// here (added by the sender, taken by remoteRun), so that two CPUs
	// placing threads at once do not both pick the same idle CPU.
	// MigrIn/MigrOut count migrations (display).
	load, incoming  atomic.Int32
	MigrIn, MigrOut atomic.Uint64

	// Ticks counts the timer ticks the CPU took (its owner adds, in
	// Tick; any CPU reads). An idle CPU takes none (tickless idle).
	Ticks atomic.Uint64

	// tickless: the CPU idles with its periodic tick stopped (its owner
	// sets it in the idle loop and clears it at its next trap); senders
	// of passive messages raise an IPI for it, as no tick will drain them.
	tickless atomic.Bool
}

var (
	threads [MaxThreads]Thread
	gds     [amd64.MaxCPUs]Globaldata
	nextID  int32 = 1
)

// Thread returns the thread in slot i.
//
//go:nosplit
func Get(i int32) *Thread { return &threads[i] }

// mycpu returns the running CPU's Globaldata.
//
//go:nosplit
func mycpu() *Globaldata { return &gds[amd64.CPU()] }

// CurrentFPU returns the FXSAVE area of this CPU's running thread, where
// the trap path saves and restores the FPU state.
//
//go:nosplit
func CurrentFPU() uintptr { return threads[mycpu().cur].fpuArea() }

// Current returns the slot of this CPU's running thread.
//
//go:nosplit
func Current() int32 { return mycpu().cur }

// CurrentThread returns this CPU's running thread.
//
//go:nosplit
func CurrentThread() *Thread { return &threads[mycpu().cur] }

//go:nosplit
func (t *Thread) fpuArea() uintptr {
	p := uintptr(unsafe.Pointer(&t.fpu[0]))
	return (p + amd64.FPUAlign - 1) &^ (amd64.FPUAlign - 1)
}

// Init makes the running code thread 1 of CPU 0 and creates the idle
// thread, which starts at idlePC on the stack ending at idleSP with FS base
// idleFS (a valid TLS block: the trap path reads FS:-8 whichever thread it
// interrupted).
//
//go:nosplit
func Init(idlePC, idleSP uintptr, idleFS uint64) {
	g := &gds[0]
	g.cpu = 0
	g.head, g.tail = -1, -1
	for i := range threads {
		threads[i].next, threads[i].prev = -1, -1
	}
	g.idle = alloc(0, PriIdle)
	g.online = true
	nOnline.Add(1)
	idle := &threads[g.idle]
	idle.Frame.RIP = uint64(idlePC)
	idle.Frame.RSP = uint64(idleSP)
	idle.Frame.CS = amd64.KernelCS
	idle.Frame.SS = amd64.KernelDS
	idle.Frame.RFLAGS = amd64.FlagIF | 2
	idle.FSBase = idleFS
	amd64.Fxsave(idle.fpuArea()) // any valid FXSAVE image will do
	idle.state = Blocked         // never on the run queue

	g.cur = alloc(0, PriKernDaemon)
	threads[g.cur].state = Running
	threads[g.cur].since = amd64.Rdtsc()
	publish(g)
}

// PrepareAP gives application processor cpu its Globaldata and idle
// thread (FS base idleFS). CPU 0 calls it, with interrupts off, before it
// starts the AP, so that only CPU 0 ever allocates thread slots. Until the
// scheduler places Go threads on other CPUs, an AP only idles and takes its
// timer tick. It returns false when the thread table is full.
//
//go:nosplit
func PrepareAP(cpu int, idleFS uint64) bool {
	g := &gds[cpu]
	g.cpu = cpu
	g.head, g.tail = -1, -1
	g.idle = alloc(cpu, PriIdle)
	if g.idle < 0 {
		return false
	}
	threads[g.idle].FSBase = idleFS
	g.cur = g.idle
	return true
}

// StartAP runs on application processor cpu once it is in long mode: the
// running code becomes its idle thread.
//
//go:nosplit
func StartAP(cpu int) {
	g := &gds[cpu]
	threads[g.idle].since = amd64.Rdtsc()
	g.online = true
	nOnline.Add(1)
}

// alloc takes a free slot for CPU cpu and gives it a thread ID. The
// caller holds the MP lock (or runs before the other CPUs start).
//
//go:nosplit
func alloc(cpu int, pri uint8) int32 {
	for i := range threads {
		t := &threads[i]
		if !t.live {
			*t = Thread{}
			t.ID = nextID
			nextID++
			t.live = true
			t.gd.Store(uint32(cpu))
			t.pri = pri
			t.next, t.prev = -1, -1
			t.state = Blocked // not yet runnable; caller decides
			return int32(i)
		}
	}
	return -1
}

// Clone creates a thread that resumes from parent frame f with RAX = 0,
// the given stack pointer and FS base, and the parent's FPU state taken
// from fpu, on the least loaded CPU its parent's affinity allows
// (placeThread). It returns the new thread's ID, or -1 when the table is
// full.
//
//go:nosplit
func Clone(f *amd64.Frame, fpu uintptr, sp, fsbase uint64) int32 {
	g := mycpu()
	aff := threads[g.cur].affinity.Load()
	target := placeThread(aff)
	i := alloc(target, threads[g.cur].pri)
	if i < 0 {
		return -1
	}
	t := &threads[i]
	t.Frame = *f
	t.Frame.RAX = 0
	t.Frame.RSP = sp
	t.FSBase = fsbase
	t.SigMask = threads[g.cur].SigMask
	t.affinity.Store(aff)
	copyFPU(t.fpuArea(), fpu)
	if target == g.cpu {
		makeRunnable(g, i)
	} else {
		t.runMsg = true
		sendRun(target, i, false)
	}
	return t.ID
}

// Exit frees the current thread; Schedule then picks another.
//
//go:nosplit
func Exit() { exit(mycpu()) }

// Block parks the current thread until Wakeup or, when deadline is
// non-zero, until the monotonic clock passes it, when its system call
// returns timeoutRet. The caller returns to the trap path, whose Schedule
// switches away.
//
//go:nosplit
func Block(kind WaitKind, key uintptr, deadline int64, timeoutRet uint64) {
	block(mycpu(), kind, key, deadline, timeoutRet)
}

// Wakeup ends thread i's wait with its system call returning ret, and
// reports whether it did: a thread that is not waiting, or whose wait
// another waker already ended, is left alone (one-wake). The caller holds
// the MP lock, under which the waiter is claimed: its wait kind is cleared
// and its result set here, on whichever CPU wakes it, so no second waker
// can find it. The claimed thread is fully saved and on no queue, so this
// is where it may move (wakeCPU: to an idle CPU when its own is busy);
// putting it on its run queue is left to its (new) owner CPU (owner-cpu):
// at once when that is this CPU, by IPI message otherwise.
//
//go:nosplit
func Wakeup(i int32, ret uint64) bool {
	t := &threads[i]
	if !claim(t, ret) {
		return false
	}
	own := int(t.gd.Load())
	l := &scratch[amd64.CPU()] // not on the stack: nosplit chains are short
	readLoads(l)
	target := own
	if !noBalance.Load() || !allowed(t.affinity.Load(), own) {
		target = wakeCPU(own, t.affinity.Load(), l)
	}
	if target != amd64.CPU() {
		t.runMsg = true // before gd: see sendRun
	}
	if target != own {
		t.gd.Store(uint32(target))
		t.Migrations++
		gds[own].MigrOut.Add(1)
	}
	if target != amd64.CPU() {
		sendRun(target, i, target != own)
	} else {
		if target != own {
			gds[target].MigrIn.Add(1)
		}
		makeRunnable(&gds[target], i)
	}
	return true
}

// Yield puts the current thread behind its equal-priority peers.
//
//go:nosplit
func Yield() { yield(mycpu()) }

// FindBlocked returns the slot of the next thread after slot from (-1 to
// start) waiting with kind and key, or -1. The caller holds the MP lock,
// which guards every thread's Wait and WaitKey.
//
//go:nosplit
func FindBlocked(from int32, kind WaitKind, key uintptr) int32 {
	for i := from + 1; i < MaxThreads; i++ {
		t := &threads[i]
		if t.Wait == kind && t.WaitKey == key {
			return i
		}
	}
	return -1
}

// NextLive returns the slot of the next live thread after slot from (-1
// to start), or -1. The caller holds the MP lock.
//
//go:nosplit
func NextLive(from int32) int32 {
	for i := from + 1; i < MaxThreads; i++ {
		if threads[i].live {
			return i
		}
	}
	return -1
}

// FindID returns the slot of the live thread with ID id, or -1. The caller
// holds the MP lock.
//
//go:nosplit
func FindID(id int32) int32 {
	for i := range threads {
		if threads[i].live && threads[i].ID == id {
			return int32(i)
		}
	}
	return -1
}

// Tick is called from the timer interrupt with the monotonic time: it
// wakes threads whose deadline passed and ends the current quantum.
//
//go:nosplit
func Tick(now int64) { tick(mycpu(), now) }

// Unfinished reports whether the end of the trap path must run Flush and
// Schedule again: each can make work for the other (a message drained
// while a send waits makes a thread runnable; a CPU gone idle posts a
// pull request). The loop ends: Schedule posts only when it switches to
// idle from another thread, at most once per trap. (The loop is the trap
// path's own, not a function here: the linker's 792-byte bound has no
// room for another frame above Flush.)
//
//go:nosplit
func Unfinished() bool {
	g := mycpu()
	return outboxes[g.cpu].n != 0 || g.resched
}

// Schedule switches this CPU to the best runnable thread if the current
// one blocked, exited, used up its quantum or was outranked (reschedule
// decides, in sched_nosplit.go). f is the frame the trap path will resume,
// rewritten on a switch; *fpu says where the trap path saved the FPU state
// and will restore it from: always the current thread's own FXSAVE area,
// so a switch only repoints it. A CPU that goes idle asks a busy one for
// a queued thread (requestPull).
//
//go:nosplit
func Schedule(f *amd64.Frame, fpu *uintptr) {
	g := mycpu()
	if from := schedule(g); from >= 0 {
		switchFrames(&threads[from], &threads[g.cur], f, fpu)
	}
}

// switchFrames moves the register state of a switch from thread ct to
// thread nt: the live frame f and FS base are saved into ct, unless it
// exited, and nt's are loaded; the FPU state stays in each thread's own
// area, so only *fpu is repointed.
//
//go:nosplit
func switchFrames(ct, nt *Thread, f *amd64.Frame, fpu *uintptr) {
	if ct.state != Free {
		ct.Frame = *f
		ct.FSBase = amd64.Rdmsr(amd64.MSRFSBase)
	}
	*f = nt.Frame
	*fpu = nt.fpuArea()
	amd64.Wrmsr(amd64.MSRFSBase, nt.FSBase)
}

//go:nosplit
func copyFPU(dst, src uintptr) {
	*(*[512]byte)(mm.Ptr(uint64(dst))) = *(*[512]byte)(mm.Ptr(uint64(src)))
}

// FindAnyBlocked returns the slot of the next thread after slot from (-1
// to start) waiting with kind, whatever its key, or -1. The caller holds
// the MP lock.
//
//go:nosplit
func FindAnyBlocked(from int32, kind WaitKind) int32 {
	for i := from + 1; i < MaxThreads; i++ {
		if threads[i].Wait == kind {
			return i
		}
	}
	return -1
}

// EnterTickless is called by the idle loop, interrupts off, before it
// halts, with the monotonic time now: when this CPU has nothing to run,
// nothing on its way and no deadline within keep ns, it marks the CPU
// tickless and returns how long the one-shot timer that replaces its tick
// must wait (the earliest deadline of its waiting threads; 0: none), and
// true. Passive messages already queued are the caller's to raise (the
// senders raise their own from now on).
//
//go:nosplit
func EnterTickless(now, keep int64) (ns uint64, ok bool) {
	g := mycpu()
	if g.cur != g.idle || g.head >= 0 || g.incoming.Load() != 0 || g.resched {
		return 0, false
	}
	if d := g.nextDeadline; d != 0 {
		if d-now <= keep {
			return 0, false
		}
		ns = uint64(d - now)
	}
	g.tickless.Store(true)
	return ns, true
}

// ExitTickless is called at the top of every trap: it reports whether this
// CPU was tickless, in which case the caller restarts its periodic tick.
//
//go:nosplit
func ExitTickless() bool {
	g := mycpu()
	return g.tickless.Load() && g.tickless.Swap(false)
}

// Idle returns the slot of this CPU's idle thread.
//
//go:nosplit
func Idle() int32 { return mycpu().idle }

// CurrentFrameRSP returns the stack pointer the current thread trapped
// with; the trap path records it on entry.
//
//go:nosplit
func CurrentFrameRSP() uint64 { return mycpu().trapRSP }

// SetTrapFrame records the frame of the trap being served.
//
//go:nosplit
func SetTrapFrame(rsp uint64) { mycpu().trapRSP = rsp }
