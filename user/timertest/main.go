// Command timertest checks interval timers from a Go program's side,
// each check with Linux's outcome (its host test runs the same checks
// under the host's Linux): setitimer's three timers and alarm, on the
// wall clock and on CPU time (which stands still while the process
// sleeps); POSIX timers (timer_create) on a real clock and on a
// thread's CPU clock delivered to that thread; Go's CPU profiler, which
// uses both, collecting samples; a child started by os/exec having no
// timer of its parent's; getrusage's times and sizes; and the errors
// Linux gives. With the argument
// "child" it prints its ITIMER_REAL's seconds left.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		it, err := unix.Getitimer(unix.ITIMER_REAL)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println(it.Value.Sec, it.Value.Usec, it.Interval.Sec, it.Interval.Usec)
		return
	}
	os.Exit(run(os.Stdout))
}

// spin burns CPU time in ring 3 for about d of the process's CPU clock.
func spin(d time.Duration) { spinOn(unix.CLOCK_PROCESS_CPUTIME_ID, d) }

// spinOn burns CPU time until clock has advanced d.
func spinOn(clock int32, d time.Duration) {
	start := cpuTime(clock)
	x := uint64(1)
	for cpuTime(clock)-start < d {
		for range 100000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink.Store(x)
}

// sink keeps the spin's work from being optimised away (atomic: spins
// run side by side).
var sink atomic.Uint64

func cpuTime(clock int32) time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(clock, &ts)
	return time.Duration(ts.Nano())
}

// got counts sig's arrivals over d.
func got(c chan os.Signal, d time.Duration) int {
	n := 0
	deadline := time.After(d)
	for {
		select {
		case <-c:
			n++
		case <-deadline:
			return n
		}
	}
}

// drain empties c.
func drain(c chan os.Signal) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// sigevent is Linux's struct sigevent (64 bytes), as timer_create reads
// it: the value, the signal, the notification and SIGEV_THREAD_ID's
// thread.
type sigevent struct {
	value  uint64
	signo  int32
	notify int32
	tid    int32
	_      [44]byte
}

const (
	sigevSignal   = 0
	sigevNone     = 1
	sigevThreadID = 4
)

func timerCreate(clock int, ev *sigevent) (int32, syscall.Errno) {
	var id int32
	_, _, e := syscall.Syscall(syscall.SYS_TIMER_CREATE, uintptr(clock), uintptr(unsafe.Pointer(ev)), uintptr(unsafe.Pointer(&id)))
	return id, e
}

func timerSettime(id int32, flags int, interval, value time.Duration) syscall.Errno {
	spec := unix.ItimerSpec{Interval: unix.NsecToTimespec(int64(interval)), Value: unix.NsecToTimespec(int64(value))}
	_, _, e := syscall.Syscall6(syscall.SYS_TIMER_SETTIME, uintptr(id), uintptr(flags), uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	return e
}

func timerGettime(id int32) (unix.ItimerSpec, syscall.Errno) {
	var spec unix.ItimerSpec
	_, _, e := syscall.Syscall(syscall.SYS_TIMER_GETTIME, uintptr(id), uintptr(unsafe.Pointer(&spec)), 0)
	return spec, e
}

func timerDelete(id int32) syscall.Errno {
	_, _, e := syscall.Syscall(syscall.SYS_TIMER_DELETE, uintptr(id), 0, 0)
	return e
}

func setitimer(which int, interval, value time.Duration) (unix.Itimerval, error) {
	var old unix.Itimerval
	it := unix.Itimerval{Interval: unix.NsecToTimeval(int64(interval)), Value: unix.NsecToTimeval(int64(value))}
	_, _, e := syscall.Syscall(syscall.SYS_SETITIMER, uintptr(which), uintptr(unsafe.Pointer(&it)), uintptr(unsafe.Pointer(&old)))
	if e != 0 {
		return old, e
	}
	return old, nil
}

func left(which int) time.Duration {
	it, err := unix.Getitimer(unix.ItimerWhich(which))
	if err != nil {
		return -1
	}
	return time.Duration(it.Value.Nano())
}

func run(w io.Writer) int {
	bad := 0
	check := func(what string, ok bool, got ...any) {
		if ok {
			fmt.Fprintf(w, "timertest: %s: ok\n", what)
			return
		}
		bad++
		fmt.Fprintf(w, "timertest: %s: FAIL %v\n", what, got)
	}
	alrm := make(chan os.Signal, 100)
	signal.Notify(alrm, syscall.SIGALRM)
	vtalrm := make(chan os.Signal, 100)
	signal.Notify(vtalrm, syscall.SIGVTALRM)
	usr1 := make(chan os.Signal, 100)
	signal.Notify(usr1, syscall.SIGUSR1)
	usr2 := make(chan os.Signal, 100)
	signal.Notify(usr2, syscall.SIGUSR2)

	// ITIMER_REAL: once, then periodic, then disarmed.
	_, err := setitimer(unix.ITIMER_REAL, 0, 50*time.Millisecond)
	l := left(unix.ITIMER_REAL)
	check("setitimer(ITIMER_REAL, 50 ms): getitimer reads between 0 and 50 ms left", err == nil && l > 0 && l <= 50*time.Millisecond, err, l)
	n := got(alrm, 1*time.Second)
	check("its SIGALRM comes once, and then nothing is left", n == 1 && left(unix.ITIMER_REAL) == 0, n, left(unix.ITIMER_REAL))
	_, err = setitimer(unix.ITIMER_REAL, 20*time.Millisecond, 20*time.Millisecond)
	n = got(alrm, 500*time.Millisecond)
	old, _ := setitimer(unix.ITIMER_REAL, 0, 0)
	check("every 20 ms: several SIGALRMs in 500 ms; the old value says 20 ms", err == nil && n >= 5 && old.Interval.Usec == 20000 && old.Interval.Sec == 0, err, n, old)
	time.Sleep(50 * time.Millisecond) // one taken before the disarm may still be on its way to the channel
	drain(alrm)
	n = got(alrm, 200*time.Millisecond)
	check("disarmed: no SIGALRM after", n == 0, n)

	// alarm.
	r1, _ := unix.Alarm(5)
	r2, _ := unix.Alarm(0)
	check("alarm(5) returns 0, alarm(0) after it 5", r1 == 0 && r2 == 5, r1, r2)

	// CPU time: ITIMER_VIRTUAL counts only what the process runs.
	_, err = setitimer(unix.ITIMER_VIRTUAL, 0, 100*time.Millisecond)
	n = got(vtalrm, 300*time.Millisecond) // asleep: the clock stands
	l = left(unix.ITIMER_VIRTUAL)
	check("ITIMER_VIRTUAL stands still while the process sleeps", err == nil && n == 0 && l > 50*time.Millisecond, err, n, l)
	spin(200 * time.Millisecond)
	n = got(vtalrm, 200*time.Millisecond)
	check("ITIMER_VIRTUAL's SIGVTALRM once the process has run 100 ms", n == 1 && left(unix.ITIMER_VIRTUAL) == 0, n, left(unix.ITIMER_VIRTUAL))

	// ITIMER_PROF (its SIGPROF stays in Go's runtime): it counts down
	// while the process runs.
	_, err = setitimer(unix.ITIMER_PROF, 0, 100*time.Second)
	before := left(unix.ITIMER_PROF)
	time.Sleep(200 * time.Millisecond)
	slept := left(unix.ITIMER_PROF)
	spin(200 * time.Millisecond)
	ran := left(unix.ITIMER_PROF)
	setitimer(unix.ITIMER_PROF, 0, 0)
	check("ITIMER_PROF counts down 200 ms of running, not 200 ms of sleep", err == nil && before-slept < 100*time.Millisecond &&
		slept-ran >= 150*time.Millisecond && slept-ran < 2*time.Second, err, before, slept, ran)

	// Go's CPU profiler: setitimer and a timer_create per thread.
	var prof bytes.Buffer
	err = pprof.StartCPUProfile(&prof)
	done := make(chan struct{})
	for range 2 {
		go func() { spin(500 * time.Millisecond); done <- struct{}{} }()
	}
	<-done
	<-done
	pprof.StopCPUProfile()
	samples, perr := cpuSamples(prof.Bytes())
	check("Go's CPU profiler takes samples (SIGPROF from CPU-time timers)", err == nil && perr == nil && samples >= 20, err, perr, samples)

	// A POSIX timer on CLOCK_MONOTONIC.
	id, e := timerCreate(unix.CLOCK_MONOTONIC, &sigevent{signo: int32(syscall.SIGUSR1), notify: sigevSignal})
	check("timer_create(CLOCK_MONOTONIC, SIGUSR1)", e == 0, e)
	e = timerSettime(id, 0, 10*time.Millisecond, 30*time.Millisecond)
	spec, e2 := timerGettime(id)
	check("timer_settime every 10 ms: timer_gettime reads the interval and at most 30 ms left", e == 0 && e2 == 0 &&
		spec.Interval.Nano() == 10e6 && spec.Value.Nano() > 0 && spec.Value.Nano() <= 30e6, e, e2, spec)
	n = got(usr1, 300*time.Millisecond)
	check("its SIGUSR1s come", n >= 5, n)
	e = timerDelete(id)
	time.Sleep(50 * time.Millisecond) // one taken before the delete may still be on its way to the channel
	drain(usr1)
	n = got(usr1, 100*time.Millisecond)
	check("timer_delete: no more, and a second delete is EINVAL", e == 0 && n == 0 && timerDelete(id) == syscall.EINVAL, e, n)
	id, e = timerCreate(unix.CLOCK_REALTIME, &sigevent{signo: int32(syscall.SIGUSR1), notify: sigevSignal})
	now := time.Now()
	e2 = timerSettime(id, 1 /* TIMER_ABSTIME */, 0, time.Duration(now.Add(50*time.Millisecond).UnixNano()))
	n = got(usr1, 500*time.Millisecond)
	check("TIMER_ABSTIME on CLOCK_REALTIME: one signal at the time given", e == 0 && e2 == 0 && n == 1, e, e2, n)
	timerDelete(id)

	// A thread's CPU clock, its signal to that thread.
	runtime.LockOSThread()
	id, e = timerCreate(unix.CLOCK_THREAD_CPUTIME_ID, &sigevent{signo: int32(syscall.SIGUSR2), notify: sigevThreadID, tid: int32(unix.Gettid())})
	e2 = timerSettime(id, 0, 0, 50*time.Millisecond)
	n = got(usr2, 200*time.Millisecond)
	spinOn(unix.CLOCK_THREAD_CPUTIME_ID, 100*time.Millisecond)
	m := got(usr2, 200*time.Millisecond)
	runtime.UnlockOSThread()
	check("CLOCK_THREAD_CPUTIME_ID with SIGEV_THREAD_ID: nothing while asleep, one signal once it has run 50 ms", e == 0 && e2 == 0 && n == 0 && m == 1, e, e2, n, m)
	timerDelete(id)
	id, e = timerCreate(unix.CLOCK_MONOTONIC, &sigevent{notify: sigevNone})
	e2 = timerSettime(id, 0, 0, 10*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	spec, _ = timerGettime(id)
	check("SIGEV_NONE: the timer runs out and sends nothing", e == 0 && e2 == 0 && spec.Value.Nano() == 0, e, e2, spec)
	timerDelete(id)

	// A child has none of its parent's timers.
	self, _ := os.Executable()
	setitimer(unix.ITIMER_REAL, 0, 100*time.Second)
	out, err := exec.Command(self, "child").Output()
	setitimer(unix.ITIMER_REAL, 0, 0)
	check("a child started by os/exec has no ITIMER_REAL", err == nil && strings.TrimSpace(string(out)) == "0 0 0 0", err, string(out))

	// getrusage: this process's time in ring 3 and its peak size; its
	// children's once reaped.
	var ru1, ru2, ruc, rut syscall.Rusage
	g1 := syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	spin(100 * time.Millisecond)
	g2 := syscall.Getrusage(syscall.RUSAGE_SELF, &ru2)
	grew := time.Duration(ru2.Utime.Nano() - ru1.Utime.Nano())
	check("getrusage(RUSAGE_SELF): ru_utime grows by the time run; ru_maxrss is some MiB", g1 == nil && g2 == nil &&
		grew >= 90*time.Millisecond && grew < 2*time.Second && ru2.Maxrss >= 1024 && ru2.Maxrss < 1<<30, g1, g2, grew, ru2.Maxrss)
	ec := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ruc)
	// The child runs for a moment: Linux may count all of it as system
	// time (it splits the run time by tick samples), Gofly as user time.
	check("getrusage(RUSAGE_CHILDREN): the reaped child's time and size", ec == nil && ruc.Utime.Nano()+ruc.Stime.Nano() > 0 && ruc.Maxrss > 0,
		ec, ruc.Utime, ruc.Stime, ruc.Maxrss)
	et := syscall.Getrusage(1 /* RUSAGE_THREAD */, &rut)
	check("getrusage(RUSAGE_THREAD): some time, no more than the process's", et == nil && rut.Utime.Nano() > 0 && rut.Utime.Nano() <= ru2.Utime.Nano()+1e7, et, rut.Utime, ru2.Utime)
	_, _, e = syscall.Syscall(syscall.SYS_GETRUSAGE, 5, uintptr(unsafe.Pointer(&rut)), 0)
	_, _, e2f := syscall.Syscall(syscall.SYS_GETRUSAGE, syscall.RUSAGE_SELF, 8, 0)
	check("getrusage of who 5 is EINVAL, to a bad address EFAULT", e == syscall.EINVAL && e2f == syscall.EFAULT, e, e2f)

	// Errors.
	_, err = setitimer(3, 0, time.Second)
	check("setitimer(3) is EINVAL", err == syscall.EINVAL, err)
	bad1 := unix.Itimerval{Value: unix.Timeval{Usec: 1000000}}
	_, _, e = syscall.Syscall(syscall.SYS_SETITIMER, unix.ITIMER_REAL, uintptr(unsafe.Pointer(&bad1)), 0)
	check("setitimer with 1,000,000 µs is EINVAL", e == syscall.EINVAL, e)
	_, _, e = syscall.Syscall(syscall.SYS_GETITIMER, unix.ITIMER_REAL, 8, 0)
	check("getitimer to a bad address is EFAULT", e == syscall.EFAULT, e)
	_, e = timerCreate(99, nil)
	check("timer_create on clock 99 is EINVAL", e == syscall.EINVAL, e)
	_, e = timerCreate(unix.CLOCK_MONOTONIC, &sigevent{notify: sigevSignal})
	check("timer_create with signal 0 is EINVAL", e == syscall.EINVAL, e)
	_, e = timerCreate(unix.CLOCK_MONOTONIC, &sigevent{signo: int32(syscall.SIGUSR1), notify: sigevThreadID, tid: 1 << 30})
	check("SIGEV_THREAD_ID to a thread not in the process is EINVAL", e == syscall.EINVAL, e)
	_, e = timerCreate(unix.CLOCK_MONOTONIC, &sigevent{signo: int32(syscall.SIGUSR1), notify: 99})
	check("an unknown sigev_notify is EINVAL", e == syscall.EINVAL, e)
	_, _, e = syscall.Syscall(syscall.SYS_TIMER_CREATE, unix.CLOCK_MONOTONIC, 8, uintptr(unsafe.Pointer(&id)))
	check("timer_create from a bad address is EFAULT", e == syscall.EFAULT, e)
	id, e = timerCreate(unix.CLOCK_MONOTONIC, nil)
	check("timer_create with no sigevent (SIGALRM)", e == 0, e)
	check("timer_settime with a negative time is EINVAL", timerSettime(id, 0, 0, -1) == syscall.EINVAL)
	_, _, e = syscall.Syscall6(syscall.SYS_TIMER_SETTIME, uintptr(id), 0, 0, 0, 0, 0)
	check("timer_settime with no value is EINVAL", e == syscall.EINVAL, e)
	_, _, e = syscall.Syscall(syscall.SYS_TIMER_GETTIME, uintptr(id), 8, 0)
	check("timer_gettime to a bad address is EFAULT", e == syscall.EFAULT, e)
	_, _, e = syscall.Syscall(syscall.SYS_TIMER_GETOVERRUN, uintptr(id), 0, 0)
	check("timer_getoverrun of a timer never fired is 0", e == 0, e)
	timerDelete(id)
	_, e = timerGettime(12345)
	check("timer_gettime of no timer is EINVAL", e == syscall.EINVAL, e)
	check("timer_settime of no timer is EINVAL", timerSettime(12345, 0, 0, time.Second) == syscall.EINVAL)
	if bad != 0 {
		return 1
	}
	return 0
}

// cpuSamples returns how many SIGPROF samples a CPU profile (a gzipped
// profile.proto) holds: the first value of each Sample (field 2 of the
// Profile message; its values are field 2 of the Sample, packed or not).
func cpuSamples(b []byte) (int, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return 0, err
	}
	total := 0
	err = fields(raw, func(num int, val []byte, _ uint64) error {
		if num != 2 || val == nil {
			return nil
		}
		first := true
		return fields(val, func(num int, vals []byte, v uint64) error {
			if num != 2 || !first {
				return nil
			}
			first = false
			if vals != nil { // packed
				var err error
				v, _, err = varint(vals)
				if err != nil {
					return err
				}
			}
			total += int(v)
			return nil
		})
	})
	return total, err
}

// fields calls f with each field of the protobuf message b: a varint's
// value in v, a length-delimited one's bytes in val (nil otherwise); the
// fixed-size ones are skipped.
func fields(b []byte, f func(num int, val []byte, v uint64) error) error {
	for len(b) > 0 {
		key, n, err := varint(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch key & 7 {
		case 0:
			v, n, err := varint(b)
			if err != nil {
				return err
			}
			if err := f(int(key>>3), nil, v); err != nil {
				return err
			}
			b = b[n:]
		case 1:
			b = b[min(8, len(b)):]
		case 5:
			b = b[min(4, len(b)):]
		case 2:
			l, n, err := varint(b)
			if err != nil || uint64(len(b)-n) < l {
				return fmt.Errorf("bad length")
			}
			if err := f(int(key>>3), b[n:n+int(l)], 0); err != nil {
				return err
			}
			b = b[n+int(l):]
		default:
			return fmt.Errorf("wire type %d", key&7)
		}
	}
	return nil
}

func varint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("bad varint")
}
