package proc

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/klog"
	"gofly/sys"
	"gofly/vfs"
	"gofly/vm"
)

// Exit is how a process ended: its exit status, or the signal that
// killed it (Signal != 0) with what the CPU reported, if a fault did.
type Exit struct {
	Status int
	Signal syscall.Signal
	Fault  string // the exception behind Signal: what, where
}

// String is the line the shell prints.
func (e Exit) String() string {
	switch {
	case e.Signal != 0 && e.Fault != "":
		return fmt.Sprintf("killed by %s (%s): %s", unix.SignalName(e.Signal), e.Signal, e.Fault)
	case e.Signal != 0:
		return fmt.Sprintf("killed by %s (%s)", unix.SignalName(e.Signal), e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.Status)
}

// nextID hands out process and thread ids, one space as on Linux.
var nextID atomic.Int32

func init() { nextID.Store(1) } // 1 is the kernel's own program (sys getpid)

// procs is the table of live processes, by PID: New adds a process, Run
// removes it before freeing its address space.
var procs struct {
	sync.Mutex
	m map[int]*Process
}

// Procs returns the live processes, by PID.
func Procs() []*Process {
	procs.Lock()
	defer procs.Unlock()
	out := make([]*Process, 0, len(procs.m))
	for _, p := range procs.m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Process) int { return a.PID - b.PID })
	return out
}

// Find returns the live process pid.
func Find(pid int) (*Process, bool) {
	procs.Lock()
	defer procs.Unlock()
	p, ok := procs.m[pid]
	return p, ok
}

// WaitStatus is e as wait4 reports it: the status in bits 8-15, or the
// killing signal in the low bits.
func (e Exit) WaitStatus() int {
	if e.Signal != 0 {
		return int(e.Signal)
	}
	return e.Status << 8
}

// Process is one program in its own address space, with one or more
// threads. Run is called once, by the goroutine that runs its first
// thread; Kill from anywhere.
type Process struct {
	Name string
	PID  int

	// pgid and sid are the process group and session; ctty the
	// controlling terminal (nil: none); execed says the process has
	// called execve (setpgid by its parent is EACCES then). Guarded by
	// procs (session.go).
	pgid, sid int
	ctty      *TTY
	execed    bool

	started time.Time
	space   *Space

	// spaceMu keeps space alive for a reader outside the process (the
	// shell's statistics): Run takes it to release the space, and execve
	// to replace it; dead says Run has.
	spaceMu sync.RWMutex
	dead    bool

	// exitSignal is what the process's end sends its parent (clone's
	// low byte; SIGCHLD for fork and vfork; 0: nothing). Set before Run.
	exitSignal int

	// vforkDone is closed when a vfork child (which borrows its parent's
	// space) execs or ends: the parent's thread goes on.
	vforkDone chan struct{}
	vforkOnce sync.Once

	// mu guards threads, exit and the fields below it, and the state of
	// the files in fds. Lock order: mu, then futexes.mu or pollMu.
	mu       sync.Mutex
	parent   *Process
	children map[int]*Process // live and ended (zombies until wait4)
	// childChanged is closed (and replaced) when a child ends.
	childChanged chan struct{}
	threads      map[int]*Thread
	cycles       uint64 // ring-3 cycles of the threads that have exited
	// children's usage: the ring-3 cycles and the largest peak resident
	// pages of the children wait4 has reaped and of theirs, as
	// getrusage(RUSAGE_CHILDREN) reports them; peak is the process's own
	// once its space is gone.
	childCycles, childPeak, peak uint64
	exit                         *Exit
	fds                          map[int]*fdEntry
	cwd                          *vfs.Vnode // the working directory; nil: the root
	umask                        uint32     // the file-mode creation mask (umask(2))
	groups                       []uint32   // the supplementary groups (setgroups(2))
	cred                         creds      // the user and group IDs (cred.go)
	keepCaps                     bool       // prctl's PR_SET_KEEPCAPS
	actions                      [nSig][sigactionSize]byte
	timers                       timers        // timer.go
	dying                        chan struct{} // closed when the process starts to end
	stopState                                  // stop.go
	wg                           sync.WaitGroup

	futexes futexTable
}

// Thread is one user thread: its context and its task goroutine.
type Thread struct {
	p       *Process
	TID     int
	ctx     *sys.UserContext
	sigmask uint64   // guarded by p.mu
	alt     [24]byte // sigaltstack's stack_t; guarded by p.mu

	// clearTID is CLONE_CHILD_CLEARTID's address: zeroed and woken
	// (futex) when the thread exits. Its own goroutine's.
	clearTID uint64
	// restart is the number (plus one) of the system call a signal just
	// interrupted, if Linux would restart it for an SA_RESTART handler
	// (0: none). Its own goroutine's.
	restart uint64

	// quit is closed when another thread's execve ends this one;
	// stopped when its task loop has returned.
	quit, stopped chan struct{}

	// pending are the signals sent to the thread and not yet taken;
	// sigWake, when set, is the blocking call's cancelled channel, which
	// the next signal it can take, or its or its process's end, closes.
	// Guarded by p.mu.
	pending uint64
	info    [nSig][]sigInfo // each pending signal's siginfos, in order
	sigWake chan struct{}
}

// New loads the static executable file (named name) into a new address
// space with argv and envp, ready to Run. It leads a new session and
// process group; tty becomes the session's controlling terminal (and the
// group its foreground one), a session that had it hung up first, and
// its descriptors 0, 1 and 2 one open file of it.
func New(name string, file *vfs.Vnode, argv, envp []string, tty *TTY) (*Process, error) {
	if e := executable(file); e != 0 {
		return nil, e
	}
	space, entry, sp, err := loadImage(name, file, argv, envp, creds{})
	if err != nil {
		return nil, err
	}
	p, err := newProcess(name, space, nil)
	if err != nil {
		space.release()
		return nil, err
	}
	procs.Lock()
	p.sid, p.pgid = p.PID, p.PID
	procs.Unlock()
	// One open file, as a login's 0, 1 and 2 are.
	f, st := tty.takeFor(p), new(atomic.Bool)
	p.fds = map[int]*fdEntry{0: {f: f, nonblock: st}, 1: {f: f, nonblock: st}, 2: {f: f, nonblock: st}}
	t := p.newThread(p.PID)
	t.ctx.Regs.RIP, t.ctx.Regs.RSP = entry, sp
	return p, nil
}

// loadImage builds a new address space holding the static executable
// file (at path name) and its initial stack for argv and envp (and the
// IDs of c in its auxiliary vector); it returns the space, the entry and
// the stack pointer.
func loadImage(name string, file *vfs.Vnode, argv, envp []string, c creds) (*Space, uint64, uint64, error) {
	img, err := ParseAt(file, file.Stat().Size)
	if err != nil {
		return nil, 0, 0, err
	}
	space, err := NewSpace()
	if err != nil {
		return nil, 0, 0, err
	}
	fail := func(err error) (*Space, uint64, uint64, error) {
		space.Destroy()
		return nil, 0, 0, err
	}
	if err := space.Load(img, file); err != nil {
		return fail(err)
	}
	space.setExe(name, img, file)
	var random [16]byte
	if n, err := unix.Getrandom(random[:], 0); err != nil || n != len(random) {
		return fail(fmt.Errorf("getrandom: %d bytes, %v", n, err))
	}
	sp, err := space.setupStack(img, argv, envp, random, c)
	if err != nil {
		return fail(err)
	}
	return space, img.Entry, sp, nil
}

// MaxProcs bounds the live processes: a fork past it is EAGAIN (what a
// fork bomb meets).
const MaxProcs = 64

// errTooMany is a process past MaxProcs.
var errTooMany = errors.New("too many processes")

// newProcess makes a process with space and no thread and enters it in
// the process table, as parent's child (nil: the shell's).
func newProcess(name string, space *Space, parent *Process) (*Process, error) {
	p := &Process{Name: name, started: time.Now(), space: space, parent: parent, umask: defaultUmask,
		threads: map[int]*Thread{}, children: map[int]*Process{}, dying: make(chan struct{}),
		childChanged: make(chan struct{})}
	p.futexes.init()
	if parent != nil {
		// The handlers before the table has the child: a group's signal
		// may reach it at once.
		parent.mu.Lock()
		p.actions = parent.actions
		parent.mu.Unlock()
	}
	procs.Lock()
	defer procs.Unlock()
	if len(procs.m) >= MaxProcs {
		return nil, errTooMany
	}
	p.PID = int(nextID.Add(1))
	if parent != nil {
		p.pgid, p.sid, p.ctty = parent.pgid, parent.sid, parent.ctty
	}
	if procs.m == nil {
		procs.m = map[int]*Process{}
	}
	procs.m[p.PID] = p
	return p, nil
}

// newThread adds a thread with id tid and a fresh context to p.
func (p *Process) newThread(tid int) *Thread {
	t := &Thread{p: p, TID: tid, ctx: newContext(p.space), quit: make(chan struct{}), stopped: make(chan struct{})}
	p.mu.Lock()
	p.threads[tid] = t
	p.mu.Unlock()
	return t
}

// newContext is a thread's context in space: registers zero, the FPU as
// after FNINIT with every SSE exception masked (MXCSR 0x1F80), as Linux
// starts a program.
func newContext(space *Space) *sys.UserContext {
	c := new(sys.UserContext)
	c.Root = space.m.Pmap.Root()
	c.Map = uintptr(unsafe.Pointer(&space.m))
	f := c.UserFPU()
	f[0], f[1] = 0x7F, 0x03                       // FCW 0x037F
	f[24], f[25], f[26], f[27] = 0x80, 0x1F, 0, 0 // MXCSR
	return c
}

// Kill sends the process signal sig: its handler runs, or its default
// action ends the process. Threads in ring 3 come back at their next
// interrupt, a tick at most; blocked ones at once.
func (p *Process) Kill(sig syscall.Signal) { p.send(int(sig), nil, nil, kernelInfo) }

// end makes e the process's end, unless it already has one, and calls
// every thread back.
func (p *Process) end(e Exit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exit != nil {
		return
	}
	p.exit = &e
	close(p.dying)
	p.stopTimers()
	for _, t := range p.threads {
		t.ctx.Interrupt.Store(1)
		t.cancelLocked()
	}
}

// Run runs the process's first thread on this goroutine (the others on
// their own) until the process ends and its last thread has stopped,
// then frees everything it had.
func (p *Process) Run() Exit {
	p.mu.Lock()
	t := p.threads[p.PID]
	p.mu.Unlock()
	p.wg.Add(1)
	t.run()
	p.wg.Wait()
	p.closeAll(false)
	procs.Lock()
	leads, ctty := p.sid == p.PID, p.ctty
	procs.Unlock()
	if leads && ctty != nil { // the controlling process: its terminal hangs up
		ctty.detach(p.PID, true)
	}
	p.spaceMu.Lock()
	p.mu.Lock()
	p.peak = p.space.Peak()
	p.mu.Unlock()
	p.space.release()
	p.dead = true
	p.spaceMu.Unlock()
	p.vforked()
	procs.Lock() // after the space is gone: wait4 reaps what has ended entirely
	delete(procs.m, p.PID)
	procs.Unlock()
	if p.parent != nil {
		e := *p.exit
		code, status := cldExited, e.Status
		if e.Signal != 0 {
			code, status = cldKilled, int(e.Signal)
		}
		p.autoReap()
		p.tellParent(p.exitSignal, code, status)
		p.parent.childEnded()
	}
	return *p.exit
}

// run is a thread's task loop: switch to ring 3 until the process ends,
// serving each system call and fault that brings the thread back.
func (t *Thread) run() {
	p := t.p
	defer func() {
		if e := recover(); e != nil {
			// A kernel bug serving this process: it goes, the kernel stays.
			klog.Puts(fmt.Sprintf("proc: pid %d: panic serving system call %d: %v\n", p.PID, t.ctx.Regs.RAX, e))
			p.end(Exit{Signal: syscall.SIGKILL, Fault: fmt.Sprintf("kernel bug serving system call %d: %v", t.ctx.Regs.RAX, e)})
		}
		close(t.stopped)
		p.wg.Done()
	}()
	for {
		t.ctx.Interrupt.Store(0)
		// Two one-case selects, not one of two cases: each is a lock-free
		// look at its channel, where a select of two locks both.
		select {
		case <-p.dying:
			return
		default:
		}
		select {
		case <-t.quit: // another thread's execve
			p.mu.Lock()
			delete(p.threads, t.TID)
			p.cycles += t.ctx.Cycles.Load()
			p.mu.Unlock()
			return
		default:
		}
		if t.p.timers.cpuArmed.Load() != 0 || t.ctx.Deadline != 0 {
			t.checkCPUTimers()
		}
		if !t.waitWhileStopped() || !t.deliverPending() {
			return
		}
		_, _, errno := syscall.Syscall(sys.NrSwitch, uintptr(unsafe.Pointer(t.ctx)), 0, 0)
		runtime.KeepAlive(t.ctx)
		if errno != 0 {
			p.end(Exit{Signal: syscall.SIGKILL, Fault: fmt.Sprintf("the switch to ring 3 failed: %v", errno)})
			return
		}
		switch v := t.ctx.Vector; {
		case v == amd64.VectorSyscall:
			if !t.syscall() {
				return
			}
		case v < 32:
			if !t.faulted(v) {
				return
			}
		}
	}
}

// faulted takes exception v: its signal's handler, if it has one and t
// does not block it (Linux forces the default action otherwise, which
// for every one of these ends the process, as does running out of
// memory); false if the process ended.
func (t *Thread) faulted(v uint64) bool {
	p := t.p
	sig, code := faultSignal(v, t.ctx.Error, t.ctx.BusError)
	p.mu.Lock()
	a := p.actionOf(int(sig))
	blocked := t.sigmask&(1<<(sig-1)) != 0
	p.mu.Unlock()
	if t.ctx.OutOfMemory || a.handler < 2 || blocked {
		p.end(t.fault(v))
		return false
	}
	addr := uint64(0)
	if v == amd64.VectorPF {
		addr = t.ctx.CR2
	}
	return t.deliver(int(sig), code, addr)
}

// exitThread ends thread t with status (exit(2)): the process ends with
// it when it was the last one.
func (t *Thread) exitThread(status int) {
	p := t.p
	if t.clearTID != 0 && p.space.CopyOut(t.clearTID, make([]byte, 4)) == nil {
		p.futexes.wake(t.clearTID, 1, ^uint32(0))
	}
	p.mu.Lock()
	delete(p.threads, t.TID)
	p.cycles += t.ctx.Cycles.Load()
	last := len(p.threads) == 0
	p.mu.Unlock()
	if last {
		p.end(Exit{Status: status})
	}
}

// fault returns the end of a process whose thread took exception v: the
// signal Linux sends for it (arch/x86/kernel/traps.c). There are no
// handlers yet, and every one of these kills by default.
func (t *Thread) fault(v uint64) Exit {
	c := t.ctx
	sig, _ := faultSignal(v, c.Error, c.BusError)
	what := amd64.ExceptionNames[v&31]
	if v == amd64.VectorPF && c.OutOfMemory {
		// Linux's OOM killer: no frame is left for the process (the
		// kernel keeps its reserve), and it goes.
		return Exit{Signal: syscall.SIGKILL, Fault: fmt.Sprintf("out of memory: no frame for its page at %#x", c.CR2)}
	}
	if v == amd64.VectorPF && c.BusError {
		what = fmt.Sprintf("%s at %#x (%s, past the end of the mapped file)", what, c.CR2, pfError(c.Error))
	} else if v == amd64.VectorPF {
		what = fmt.Sprintf("%s at %#x (%s)", what, c.CR2, pfError(c.Error))
	} else if c.Error != 0 {
		what = fmt.Sprintf("%s, error %#x", what, c.Error)
	}
	return Exit{Signal: sig, Fault: fmt.Sprintf("%s, ip %#x sp %#x", what, c.Regs.RIP, c.Regs.RSP)}
}

// pfError spells a page fault's error code.
func pfError(e uint64) string {
	s := "read"
	switch {
	case e&16 != 0:
		s = "instruction fetch"
	case e&2 != 0:
		s = "write"
	}
	if e&1 != 0 {
		return s + ", protection"
	}
	return s + ", not mapped"
}

// Info is a process as the shell's procs command lists it.
type Info struct {
	PID, PPID        int
	Name, State      string
	Threads          int
	Resident, Tables uint64        // pages mapped and page-table pages
	UserTime         time.Duration // in ring 3, all threads
	Age              time.Duration
	// Memory calls and copies served in its address space, and how
	// many of each without the MP lock.
	MemCalls, MemLocal, Copies, CopiesLocal uint64
}

// userCycles returns the ring-3 cycles of p's threads, ended and live.
func (p *Process) userCycles() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.userCyclesLocked()
}

// userCyclesLocked is userCycles with p.mu held.
func (p *Process) userCyclesLocked() uint64 {
	c := p.cycles
	for _, t := range p.threads {
		c += t.ctx.Cycles.Load()
	}
	return c
}

// Info returns p's state now.
func (p *Process) Info() Info {
	p.mu.Lock()
	in := Info{PID: p.PID, PPID: 1, Name: p.Name, State: "running", Threads: len(p.threads), Age: time.Since(p.started)}
	if p.parent != nil {
		in.PPID = p.parent.PID
	}
	switch {
	case p.exit != nil:
		in.State = "exiting"
	case p.stopped:
		in.State = "stopped"
	}
	p.mu.Unlock()
	in.UserTime = time.Duration(timer.CyclesToNs(p.userCycles()))
	p.spaceMu.RLock()
	if !p.dead {
		in.Resident, in.Tables = p.space.Resident(), p.space.Tables()
		in.MemCalls, in.MemLocal, in.Copies, in.CopiesLocal = p.space.Calls()
	}
	p.spaceMu.RUnlock()
	return in
}

// MapEntry is one entry of a process's map with the pages present in it.
type MapEntry struct {
	vm.Entry
	Resident uint64
}

// Map returns p's map entries, read under the MP lock.
func (p *Process) Map() []MapEntry {
	p.spaceMu.RLock()
	defer p.spaceMu.RUnlock()
	if p.dead {
		return nil
	}
	return p.space.Entries()
}
