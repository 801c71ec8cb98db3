package proc

import (
	"encoding/binary"
	"math"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
)

// Interval timers, as Linux's setitimer(2), alarm(2) and timer_create(2)
// families: a process's three itimers (ITIMER_REAL's SIGALRM on the wall
// clock; ITIMER_VIRTUAL's SIGVTALRM and ITIMER_PROF's SIGPROF on its CPU
// time) and its POSIX timers, on a real clock (CLOCK_REALTIME,
// CLOCK_MONOTONIC, CLOCK_BOOTTIME) or a CPU clock (the process's, or the
// calling thread's, as Go's profiler creates one per thread with
// SIGEV_THREAD_ID).
//
// A real clock's timer is a Go timer (time.AfterFunc) that sends the
// signal. A CPU clock advances only while a thread runs in ring 3, so
// its timers are checked by the threads themselves: each time a thread's
// switch call returns (checkCPUTimers, before it takes its signals), and
// the trap path ends the switch at the first interrupt once the thread
// has run to its Deadline (sys.UserContext): the earliest expiry of a
// timer on its own clock, or, for the process's clock, a share of what
// is left split between its threads (at least a scheduler tick). So a
// CPU timer fires within about a tick of each running thread past its
// expiry, as Linux's tick-driven ones do. CPU time here is ring-3 time:
// ITIMER_PROF counts what ITIMER_VIRTUAL does.
//
// Timers belong to the process and are guarded by p.mu; fork's child
// has none; execve deletes the POSIX ones and keeps the itimers, as
// Linux does; the process's end stops them all.

// Linux's sigevent notification kinds (x/sys has no names for them).
const (
	sigevSignal   = 0 // SIGEV_SIGNAL
	sigevNone     = 1 // SIGEV_NONE
	sigevThread   = 2 // SIGEV_THREAD: a C library's, a signal to the kernel
	sigevThreadID = 4 // SIGEV_THREAD_ID: the signal goes to one thread
)

// maxTimers bounds a process's POSIX timers (Linux's bound is
// RLIMIT_SIGPENDING, in the thousands); timer_create beyond it is
// EAGAIN.
const maxTimers = 4096

// ptimer is one timer, an itimer or a POSIX one. Guarded by p.mu.
type ptimer struct {
	id     int32
	clock  int32   // the clock id; a CPU clock's thread in thread
	thread *Thread // CLOCK_THREAD_CPUTIME_ID's thread
	notify int32
	sig    int
	target *Thread // SIGEV_THREAD_ID's thread
	value  uint64  // sigev_value
	code   int32   // the signal's si_code: SI_TIMER, or SI_KERNEL for an itimer

	// expiry is the clock's reading (ns) at which the timer fires, 0
	// when disarmed; interval its period after that (0: once).
	expiry, interval uint64
	// overrun counts the expiries since its signal was queued, beyond
	// the first; lastOverrun is what the last delivery reported
	// (timer_getoverrun). queued says its signal is pending.
	overrun, lastOverrun int
	queued               bool
	// real is a real clock's Go timer; gen counts its arms, so a stale
	// callback does nothing.
	real *time.Timer
	gen  uint64
}

// timers is a process's set. Guarded by p.mu.
type timers struct {
	itimer [3]*ptimer // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
	posix  map[int32]*ptimer
	nextID int32
	// cpuArmed counts the armed timers on CPU clocks: the threads check
	// them only when there are some (read without p.mu).
	cpuArmed atomic.Int32
}

func (tm *ptimer) cpuClock() bool {
	return tm.clock == unix.CLOCK_PROCESS_CPUTIME_ID || tm.clock == unix.CLOCK_THREAD_CPUTIME_ID
}

// delivered returns the overrun the signal just taken reports, and
// starts counting again; p.mu held.
func (tm *ptimer) delivered() int {
	tm.lastOverrun, tm.overrun, tm.queued = tm.overrun, 0, false
	return tm.lastOverrun
}

// now returns tm's clock's reading in nanoseconds; p.mu held.
func (p *Process) clockNow(tm *ptimer) uint64 {
	switch tm.clock {
	case unix.CLOCK_PROCESS_CPUTIME_ID:
		return timer.CyclesToNs(p.userCyclesLocked())
	case unix.CLOCK_THREAD_CPUTIME_ID:
		return timer.CyclesToNs(tm.thread.ctx.Cycles.Load())
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(tm.clock, &ts); err != nil {
		panic("proc: a timer's clock cannot be read: " + err.Error())
	}
	return uint64(ts.Nano())
}

// arm sets tm to fire at expiry (0: disarm) and every interval after;
// p.mu held.
func (p *Process) arm(tm *ptimer, expiry, interval uint64) {
	was := tm.expiry != 0
	tm.expiry, tm.interval = expiry, interval
	tm.gen++
	if tm.real != nil {
		tm.real.Stop()
		tm.real = nil
	}
	if !tm.cpuClock() {
		if expiry != 0 {
			p.armReal(tm)
		}
		return
	}
	switch {
	case was && expiry == 0:
		p.timers.cpuArmed.Add(-1)
	case !was && expiry != 0:
		p.timers.cpuArmed.Add(1)
	}
	if expiry != 0 {
		// The threads whose time the clock counts recompute their
		// deadlines at their next interrupt.
		for _, t := range p.threads {
			if tm.thread == nil || tm.thread == t {
				t.ctx.Interrupt.Store(1)
			}
		}
	}
}

// armReal starts tm's Go timer for its expiry; p.mu held.
func (p *Process) armReal(tm *ptimer) {
	now := p.clockNow(tm)
	d := time.Duration(0)
	if tm.expiry > now {
		d = time.Duration(tm.expiry - now)
	}
	gen := tm.gen
	tm.real = time.AfterFunc(d, func() { p.fireReal(tm, gen) })
}

// fireReal is a real clock's expiry: the signal, and the next period.
func (p *Process) fireReal(tm *ptimer, gen uint64) {
	p.mu.Lock()
	if tm.gen != gen || tm.expiry == 0 || p.exit != nil {
		p.mu.Unlock()
		return
	}
	s := p.expire(tm, p.clockNow(tm))
	if tm.expiry != 0 {
		p.armReal(tm)
	}
	p.mu.Unlock()
	s.send(p, nil)
}

// pendingSignal is a timer's signal, sent once p.mu is let go.
type pendingSignal struct {
	sig    int
	to     *Thread
	info   sigInfo
	queued bool
}

func (s pendingSignal) send(p *Process, prefer *Thread) {
	if s.queued {
		p.send(s.sig, s.to, prefer, s.info)
	}
}

// expire is tm's clock reading now past its expiry: the next expiry (or
// none) and the signal to send, unless the last one is still pending
// (one more overrun then); p.mu held.
func (p *Process) expire(tm *ptimer, now uint64) pendingSignal {
	missed := uint64(0)
	if tm.interval == 0 {
		tm.expiry = 0
		if tm.cpuClock() {
			p.timers.cpuArmed.Add(-1)
		}
	} else {
		missed = (now - tm.expiry) / tm.interval
		tm.expiry += (missed + 1) * tm.interval
	}
	if tm.notify == sigevNone {
		return pendingSignal{}
	}
	if tm.queued {
		tm.overrun = satAdd(tm.overrun, int(missed)+1)
		return pendingSignal{}
	}
	tm.overrun = satAdd(0, int(missed))
	s := pendingSignal{sig: tm.sig, queued: true, info: sigInfo{code: tm.code}}
	if tm.code == siTimer {
		tm.queued = true
		s.info = sigInfo{code: siTimer, word: uint32(tm.id), value: tm.value, timer: tm}
	}
	if tm.notify == sigevThreadID {
		s.to = tm.target
	}
	return s
}

// satAdd adds without passing DELAYTIMER_MAX (INT_MAX), where Linux
// stops counting overruns.
func satAdd(a, b int) int { return int(min(int64(a)+int64(b), math.MaxInt32)) }

// checkCPUTimers fires t's process's CPU timers whose clocks have passed
// their expiries and sets t's Deadline for the next (0: none it runs
// toward). Called by t's goroutine between switches.
func (t *Thread) checkCPUTimers() {
	p := t.p
	p.mu.Lock()
	if p.timers.cpuArmed.Load() == 0 {
		t.ctx.Deadline = 0
		p.mu.Unlock()
		return
	}
	procNow := timer.CyclesToNs(p.userCyclesLocked())
	own := t.ctx.Cycles.Load()
	deadline := uint64(0)
	var sends []pendingSignal
	check := func(tm *ptimer) {
		if tm == nil || tm.expiry == 0 || !tm.cpuClock() {
			return
		}
		if tm.thread != nil && p.threads[tm.thread.TID] != tm.thread {
			return // its thread is gone: its clock stands still
		}
		now := procNow
		if tm.thread != nil {
			now = timer.CyclesToNs(tm.thread.ctx.Cycles.Load())
		}
		if now >= tm.expiry {
			sends = append(sends, p.expire(tm, now))
			if tm.expiry == 0 {
				return
			}
		}
		left := tm.expiry - now
		switch tm.thread {
		case nil: // the process's clock: this thread's share of what is left
			left = max(left/uint64(len(p.threads)), uint64(time.Second)/timer.TickHz())
		case t:
		default:
			return
		}
		if d := own + timer.NsToCycles(left); deadline == 0 || d < deadline {
			deadline = d
		}
	}
	for _, tm := range p.timers.itimer {
		check(tm)
	}
	for _, tm := range p.timers.posix {
		check(tm)
	}
	t.ctx.Deadline = deadline
	p.mu.Unlock()
	for _, s := range sends {
		s.send(p, t)
	}
}

// stopTimers disarms every timer (the process ends); p.mu held.
func (p *Process) stopTimers() {
	for _, tm := range p.timers.itimer {
		if tm != nil {
			p.arm(tm, 0, 0)
		}
	}
	p.deletePosixTimers()
}

// deletePosixTimers disarms and forgets the POSIX timers (execve, the
// process's end); p.mu held.
func (p *Process) deletePosixTimers() {
	for _, tm := range p.timers.posix {
		p.deleteTimer(tm)
	}
}

// itimerSignals are each itimer's signal.
var itimerSignals = [3]int{int(syscall.SIGALRM), int(syscall.SIGVTALRM), int(syscall.SIGPROF)}

// itimerLocked returns itimer which, made on first use; p.mu held.
func (p *Process) itimerLocked(which int) *ptimer {
	if p.timers.itimer[which] == nil {
		clock := int32(unix.CLOCK_PROCESS_CPUTIME_ID)
		if which == unix.ITIMER_REAL {
			clock = unix.CLOCK_MONOTONIC
		}
		p.timers.itimer[which] = &ptimer{id: -1, clock: clock, sig: itimerSignals[which], code: siKernel}
	}
	return p.timers.itimer[which]
}

// remaining returns what is left of tm (ns) and its interval; an armed
// timer reads at least 1 ns; p.mu held.
func (p *Process) remaining(tm *ptimer) (left, interval uint64) {
	if tm.expiry == 0 {
		return 0, tm.interval
	}
	if now := p.clockNow(tm); tm.expiry > now {
		return tm.expiry - now, tm.interval
	}
	return 1, tm.interval
}

// readPeriod reads a struct itimerval (unit 1e6: microseconds) or
// itimerspec (1e9: nanoseconds) at va, an interval then a value, each
// two 64-bit words, and returns them in nanoseconds: EFAULT if it cannot
// be read, EINVAL for a negative time or a fraction of a second out of
// range.
func (p *Process) readPeriod(va uint64, unit int64) (interval, value uint64, e syscall.Errno) {
	b, err := p.space.CopyIn(va, 32)
	if err != nil {
		return 0, 0, syscall.EFAULT
	}
	i, e := duration(b, unit)
	if e != 0 {
		return 0, 0, e
	}
	v, e := duration(b[16:], unit)
	return uint64(i), uint64(v), e
}

// sysSetitimer is setitimer(2): value NULL disarms, as Linux takes it;
// microseconds out of [0, 1e6) or negative seconds are EINVAL.
func sysSetitimer(t *Thread, r *amd64.Frame) int64 {
	which := int(int32(r.RDI))
	if which < 0 || which > unix.ITIMER_PROF {
		return errno(syscall.EINVAL)
	}
	var value, interval uint64
	if r.RSI != 0 {
		var e syscall.Errno
		if interval, value, e = t.p.readPeriod(r.RSI, 1e6); e != 0 {
			return errno(e)
		}
	}
	p := t.p
	p.mu.Lock()
	tm := p.itimerLocked(which)
	oldLeft, oldInterval := p.remaining(tm)
	expiry := uint64(0)
	if value != 0 {
		expiry = p.clockNow(tm) + value
	}
	p.arm(tm, expiry, interval)
	p.mu.Unlock()
	if r.RDX != 0 && t.p.space.CopyOut(r.RDX, timevalPair(oldInterval, oldLeft)) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// sysGetitimer is getitimer(2).
func sysGetitimer(t *Thread, r *amd64.Frame) int64 {
	which := int(int32(r.RDI))
	if which < 0 || which > unix.ITIMER_PROF {
		return errno(syscall.EINVAL)
	}
	p := t.p
	p.mu.Lock()
	left, interval := p.remaining(p.itimerLocked(which))
	p.mu.Unlock()
	if t.p.space.CopyOut(r.RSI, timevalPair(interval, left)) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// sysAlarm is alarm(2): ITIMER_REAL once, in seconds; it returns the
// seconds the last one had left, rounded to the nearest (an armed one
// at least 1).
func sysAlarm(t *Thread, r *amd64.Frame) int64 {
	secs := uint64(uint32(r.RDI))
	p := t.p
	p.mu.Lock()
	tm := p.itimerLocked(unix.ITIMER_REAL)
	left, _ := p.remaining(tm)
	expiry := uint64(0)
	if secs != 0 {
		expiry = p.clockNow(tm) + secs*1e9
	}
	p.arm(tm, expiry, 0)
	p.mu.Unlock()
	old := int64((left + 5e8) / 1e9)
	if left != 0 && old == 0 {
		old = 1
	}
	return old
}

// timevalPair is a struct itimerval: interval, then value.
func timevalPair(interval, value uint64) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint64(b, interval/1e9)
	binary.LittleEndian.PutUint64(b[8:], interval%1e9/1e3)
	// An armed timer with less than a microsecond left reads 1 µs, as
	// on Linux.
	if value != 0 && value < 1e3 {
		value = 1e3
	}
	binary.LittleEndian.PutUint64(b[16:], value/1e9)
	binary.LittleEndian.PutUint64(b[24:], value%1e9/1e3)
	return b
}

// timespecPair is a struct itimerspec: interval, then value.
func timespecPair(interval, value uint64) []byte {
	return append(timespecBytes(int64(interval/1e9), int64(interval%1e9)), timespecBytes(int64(value/1e9), int64(value%1e9))...)
}

// sysTimerCreate is timer_create(2). sevp NULL is SIGEV_SIGNAL with
// SIGALRM and the timer's id as its value. The CPU clocks of other
// threads and processes (the encoded negative ids) are EINVAL here.
func sysTimerCreate(t *Thread, r *amd64.Frame) int64 {
	clock := int32(r.RDI)
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME,
		unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID:
	case unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_MONOTONIC_COARSE:
		return errno(syscall.EOPNOTSUPP) // clocks without timers, as on Linux
	default:
		return errno(syscall.EINVAL)
	}
	p := t.p
	tm := &ptimer{clock: clock, notify: sigevSignal, sig: int(syscall.SIGALRM), code: siTimer}
	if clock == unix.CLOCK_THREAD_CPUTIME_ID {
		tm.thread = t
	}
	if r.RSI != 0 {
		b, err := p.space.CopyIn(r.RSI, 64) // struct sigevent, whole as Linux reads it
		if err != nil {
			return errno(syscall.EFAULT)
		}
		tm.value = binary.LittleEndian.Uint64(b)
		tm.sig = int(int32(binary.LittleEndian.Uint32(b[8:])))
		tm.notify = int32(binary.LittleEndian.Uint32(b[12:]))
		tid := int(int32(binary.LittleEndian.Uint32(b[16:])))
		switch tm.notify {
		case sigevSignal | sigevThreadID:
			p.mu.Lock()
			tm.target = p.threads[tid]
			p.mu.Unlock()
			if tm.target == nil {
				return errno(syscall.EINVAL)
			}
			fallthrough
		case sigevSignal, sigevThread:
			if tm.sig <= 0 || tm.sig >= nSig {
				return errno(syscall.EINVAL)
			}
			if tm.notify == sigevThread {
				tm.notify = sigevSignal
			}
		case sigevNone:
		default:
			return errno(syscall.EINVAL)
		}
	}
	p.mu.Lock()
	if len(p.timers.posix) >= maxTimers {
		p.mu.Unlock()
		return errno(syscall.EAGAIN)
	}
	if p.timers.posix == nil {
		p.timers.posix = map[int32]*ptimer{}
	}
	for p.timers.posix[p.timers.nextID] != nil {
		p.timers.nextID = (p.timers.nextID + 1) & math.MaxInt32
	}
	tm.id = p.timers.nextID
	p.timers.nextID = (p.timers.nextID + 1) & math.MaxInt32
	if r.RSI == 0 {
		tm.value = uint64(tm.id)
	}
	p.timers.posix[tm.id] = tm
	p.mu.Unlock()
	b := binary.LittleEndian.AppendUint32(nil, uint32(tm.id))
	if p.space.CopyOut(r.RDX, b) != nil {
		p.mu.Lock()
		delete(p.timers.posix, tm.id)
		p.mu.Unlock()
		return errno(syscall.EFAULT)
	}
	return 0
}

// posixTimer returns the process's timer id; p.mu held.
func (p *Process) posixTimer(id uint64) *ptimer {
	if int64(id) < 0 || id > math.MaxInt32 {
		return nil
	}
	return p.timers.posix[int32(id)]
}

// withTimer calls f with the process's POSIX timer id, p.mu held, and
// returns what f does; EINVAL when there is no such timer.
func (p *Process) withTimer(id uint64, f func(*ptimer) int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	tm := p.posixTimer(id)
	if tm == nil {
		return errno(syscall.EINVAL)
	}
	return f(tm)
}

// sysTimerSettime is timer_settime(2): flags TIMER_ABSTIME (1) takes
// the value as the clock's reading; a zero value disarms.
func sysTimerSettime(t *Thread, r *amd64.Frame) int64 {
	const timerAbstime = 1
	p := t.p
	if r.RSI&^timerAbstime != 0 {
		return errno(syscall.EINVAL)
	}
	if r.RDX == 0 {
		return errno(syscall.EINVAL)
	}
	interval, value, e := p.readPeriod(r.RDX, 1e9)
	if e != 0 {
		return errno(e)
	}
	var old []byte
	if ret := p.withTimer(r.RDI, func(tm *ptimer) int64 {
		left, every := p.remaining(tm)
		old = timespecPair(every, left)
		expiry := uint64(0)
		if value != 0 {
			expiry = p.clockNow(tm) + value
			if r.RSI&timerAbstime != 0 {
				expiry = max(value, 1) // a time already past fires at once
			}
		}
		p.arm(tm, expiry, interval)
		return 0
	}); ret != 0 {
		return ret
	}
	if r.R10 != 0 && p.space.CopyOut(r.R10, old) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// sysTimerGettime is timer_gettime(2).
func sysTimerGettime(t *Thread, r *amd64.Frame) int64 {
	p := t.p
	var cur []byte
	if ret := p.withTimer(r.RDI, func(tm *ptimer) int64 {
		left, every := p.remaining(tm)
		cur = timespecPair(every, left)
		return 0
	}); ret != 0 {
		return ret
	}
	if p.space.CopyOut(r.RSI, cur) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// sysTimerGetoverrun is timer_getoverrun(2): the overruns its last
// delivered signal counted.
func sysTimerGetoverrun(t *Thread, r *amd64.Frame) int64 {
	return t.p.withTimer(r.RDI, func(tm *ptimer) int64 { return int64(tm.lastOverrun) })
}

// sysTimerDelete is timer_delete(2): a signal of it still pending goes
// too, as Linux's sigqueue_free takes it back (deleteTimer).
func sysTimerDelete(t *Thread, r *amd64.Frame) int64 {
	p := t.p
	return p.withTimer(r.RDI, func(tm *ptimer) int64 { p.deleteTimer(tm); return 0 })
}

// deleteTimer disarms and forgets POSIX timer tm, and takes back its
// signal if it is pending; p.mu held.
func (p *Process) deleteTimer(tm *ptimer) {
	p.arm(tm, 0, 0)
	delete(p.timers.posix, tm.id)
	if !tm.queued {
		return
	}
	for _, th := range p.threads {
		q := slices.DeleteFunc(th.info[tm.sig], func(i sigInfo) bool { return i.timer == tm })
		th.info[tm.sig] = q
		if len(q) == 0 {
			th.pending &^= 1 << (tm.sig - 1)
		}
	}
}
