package lwkt

// Scheduling runs in trap context and during early boot: every function is
// nosplit and allocation-free; thread links are indices, not pointers.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/fatal"
	"gofly/lwkt/ipiq"
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
	// and the run-queue links: owner (Block, under the MP lock too).
	ID    int32
	state State
	pri   uint8
	gd    uint8 // owning CPU; fixed at allocation

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
}

// Globaldata is one CPU's scheduler (DragonFly's globaldata). Guard: its
// CPU only (owner-cpu), interrupts off; no lock. Other CPUs read the
// counters and online for display, and online once at placement.
type Globaldata struct {
	cpu          int
	cur          int32
	idle         int32
	head, tail   int32 // run queue, highest priority first
	Switches     uint64
	IdleCycles   uint64
	TokenWaits   uint64 // times a runnable thread could not get its tokens back
	resched      bool
	nextDeadline int64  // earliest Deadline of a blocked thread; 0 = none
	trapRSP      uint64 // RSP of the thread interrupted by the current trap
	online       bool   // the CPU runs its scheduler
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
	p := uintptrOf(&t.fpu[0])
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

// alloc takes a free slot for CPU cpu and gives it a thread ID.
//
//go:nosplit
func alloc(cpu int, pri uint8) int32 {
	for i := range threads {
		t := &threads[i]
		if t.state == Free {
			*t = Thread{}
			t.ID = nextID
			nextID++
			t.gd = uint8(cpu)
			t.pri = pri
			t.next, t.prev = -1, -1
			t.state = Blocked // not yet runnable; caller decides
			return int32(i)
		}
	}
	return -1
}

// Clone creates a thread, placed on the online CPUs in turn, that resumes from parent frame f with RAX = 0,
// the given stack pointer and FS base, and the parent's FPU state taken
// from fpu. It returns the new thread's ID, or -1 when the table is full.
//
//go:nosplit
func Clone(f *amd64.Frame, fpu uintptr, sp, fsbase uint64) int32 {
	g := mycpu()
	target := placeThread()
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
	copyFPU(t.fpuArea(), fpu)
	if target == g.cpu {
		makeRunnable(g, i)
	} else {
		post(target, ipiq.Msg{Fn: idRun, Arg1: uintptr(i)})
	}
	return t.ID
}

// Exit frees the current thread; Schedule then picks another.
//
//go:nosplit
func Exit() {
	g := mycpu()
	account(g, g.cur)
	ExitTokens(g.cur) // a thread that exits holding tokens lets them go
	threads[g.cur].state = Free
	g.resched = true
}

// Block parks the current thread until Wakeup or, when deadline is
// non-zero, until the monotonic clock passes it, when its system call
// returns timeoutRet. The caller returns to the trap path, whose Schedule
// switches away.
//
//go:nosplit
func Block(kind WaitKind, key uintptr, deadline int64, timeoutRet uint64) {
	g := mycpu()
	t := &threads[g.cur]
	fatal.Assert(kind != WaitNone && g.cur != g.idle && t.state == Running,
		"lwkt: block: no wait kind, or the idle or a non-running thread blocks")
	t.state = Blocked
	t.Wait = kind
	t.WaitKey = key
	t.Deadline = deadline
	t.TimeoutRet = timeoutRet
	if deadline != 0 && (g.nextDeadline == 0 || deadline < g.nextDeadline) {
		g.nextDeadline = deadline
	}
	g.resched = true
}

// Wakeup ends thread i's wait with its system call returning ret, and
// reports whether it did: a thread that is not waiting, or whose wait
// another waker already ended, is left alone (one-wake). The caller holds
// the MP lock, under which the waiter is claimed: its wait kind is cleared
// and its result set here, on whichever CPU wakes it, so no second waker
// can find it. Only putting it on its run queue is left to its owner CPU
// (owner-cpu): at once when that is this CPU, by IPI message otherwise.
//
//go:nosplit
func Wakeup(i int32, ret uint64) bool {
	t := &threads[i]
	if t.Wait == WaitNone {
		return false
	}
	fatal.Assert(t.state == Blocked, "lwkt: wakeup: a waiting thread is not blocked")
	t.Wait = WaitNone
	t.Deadline = 0
	t.Frame.RAX = ret
	if int(t.gd) != amd64.CPU() {
		post(int(t.gd), ipiq.Msg{Fn: idRun, Arg1: uintptr(i)})
	} else {
		makeRunnable(&gds[t.gd], i)
	}
	return true
}

// Yield puts the current thread behind its equal-priority peers.
//
//go:nosplit
func Yield() {
	g := mycpu()
	threads[g.cur].ticks = Quantum
	g.resched = true
}

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

// FindID returns the slot of the live thread with ID id, or -1.
//
//go:nosplit
func FindID(id int32) int32 {
	for i := range threads {
		if threads[i].state != Free && threads[i].ID == id {
			return int32(i)
		}
	}
	return -1
}

//go:nosplit
func makeRunnable(g *Globaldata, i int32) {
	t := &threads[i]
	t.state = Runnable
	// Insert behind every thread of equal or higher priority.
	at := g.tail
	for at >= 0 && threads[at].pri < t.pri {
		at = threads[at].prev
	}
	t.prev = at
	if at < 0 {
		t.next = g.head
		g.head = i
	} else {
		t.next = threads[at].next
		threads[at].next = i
	}
	if t.next < 0 {
		g.tail = i
	} else {
		threads[t.next].prev = i
	}
	if g.cur == g.idle || t.pri > threads[g.cur].pri {
		g.resched = true
	}
}

//go:nosplit
func dequeue(g *Globaldata) int32 {
	i := g.head
	if i < 0 {
		return -1
	}
	t := &threads[i]
	g.head = t.next
	if g.head < 0 {
		g.tail = -1
	} else {
		threads[g.head].prev = -1
	}
	t.next, t.prev = -1, -1
	return i
}

//go:nosplit
func account(g *Globaldata, i int32) {
	t := &threads[i]
	now := amd64.Rdtsc()
	d := now - t.since
	t.Cycles += d
	t.since = now
	if i == g.idle {
		g.IdleCycles += d
	}
}

// Tick is called from the timer interrupt with the monotonic time: it
// wakes threads whose deadline passed and ends the current quantum.
//
//go:nosplit
func Tick(now int64) {
	g := mycpu()
	if g.nextDeadline != 0 && now >= g.nextDeadline {
		g.nextDeadline = 0
		for i := range threads {
			t := &threads[i]
			if t.Wait == WaitNone || t.Deadline == 0 || int(t.gd) != g.cpu {
				continue // owner-cpu: only this CPU's threads
			}
			if now >= t.Deadline {
				Wakeup(int32(i), t.TimeoutRet)
			} else if g.nextDeadline == 0 || t.Deadline < g.nextDeadline {
				g.nextDeadline = t.Deadline
			}
		}
	}
	cur := &threads[g.cur]
	cur.ticks++
	if g.head >= 0 && (cur.ticks >= Quantum || g.cur == g.idle) {
		g.resched = true // the idle case: a thread waited for its tokens
	}
}

// Schedule switches this CPU to the best runnable thread if the current
// one blocked, exited, used up its quantum or was outranked. f is the frame
// the trap path will resume, rewritten on a switch; *fpu says where the
// trap path saved the FPU state and will restore it from: always the
// current thread's own FXSAVE area, so a switch only repoints it.
//
//go:nosplit
func Schedule(f *amd64.Frame, fpu *uintptr) {
	g := mycpu()
	if !g.resched {
		return
	}
	g.resched = false
	if IPIs.Pending(g.cpu) { // passive messages run at a thread switch too
		IPIs.Process(g.cpu)
	}
	cur := g.cur
	ct := &threads[cur]
	if ct.state == Running && cur != g.idle {
		if g.head < 0 || threads[g.head].pri < ct.pri ||
			(threads[g.head].pri == ct.pri && ct.ticks < Quantum) {
			return // nothing better to run
		}
		makeRunnable(g, cur)
	}
	if cur != g.idle && ct.state != Free {
		RelAllTokens(cur) // tokens serialise only while their holder runs
	}
	next := pickNext(g)
	if next == cur {
		if cur != g.idle {
			ct.state = Running
		}
		return
	}
	switchTo(g, cur, next, f, fpu)
}

// pickNext dequeues the best runnable thread that can get back every
// token it held when it was switched out; a thread that cannot goes back
// behind its equals. With none, the CPU idles and retries at its next tick.
//
//go:nosplit
func pickNext(g *Globaldata) int32 {
	for tries := 0; tries < MaxThreads; tries++ {
		i := dequeue(g)
		if i < 0 {
			break
		}
		if TokenCount(i) == 0 || GetAllTokens(i) {
			return i
		}
		g.TokenWaits++
		makeRunnable(g, i)
		if threads[g.head].ID == threads[i].ID { // only it is left
			break
		}
	}
	return g.idle
}

//go:nosplit
func switchTo(g *Globaldata, cur, next int32, f *amd64.Frame, fpu *uintptr) {
	ct, nt := &threads[cur], &threads[next]
	if ct.state != Free {
		account(g, cur)
		ct.Frame = *f
		ct.FSBase = amd64.Rdmsr(amd64.MSRFSBase)
	}
	*f = nt.Frame
	*fpu = nt.fpuArea() // the FPU state stays in each thread's own area
	amd64.Wrmsr(amd64.MSRFSBase, nt.FSBase)
	if next != g.idle {
		nt.state = Running
	}
	nt.ticks = 0
	nt.since = amd64.Rdtsc()
	nt.Switches++
	g.Switches++
	g.cur = next
}

//go:nosplit
func copyFPU(dst, src uintptr) {
	*(*[512]byte)(ptr(dst)) = *(*[512]byte)(ptr(src))
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

// Idle returns the slot of CPU 0's idle thread.
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
