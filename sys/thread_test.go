package sys

// futex and nanosleep: timeout decoding, blocking and waking. On the host
// there is no Schedule, so a blocked call leaves the current thread
// blocked in place; the tests inspect it and then forget the wait.

import (
	"syscall"
	"testing"

	"gofly/lwkt"
)

const (
	futexWaitPrivate = futexWait | futexPrivate
	futexWakePrivate = futexWake | futexPrivate
)

func timespec(sec, nsec int64) uintptr {
	ts := kalloc(16)
	put64(ts, uint64(sec))
	put64(ts+8, uint64(nsec))
	return ts
}

func TestRelativeTimeoutDecoding(t *testing.T) {
	setup(t)
	bad := []struct{ sec, nsec int64 }{
		{-1, 0}, {0, -1}, {0, 1e9}, {1, 1e9 + 5}, {-5, -5}, {0, 1 << 62},
	}
	for _, b := range bad {
		ts := timespec(b.sec, b.nsec)
		what := "{" + itoa(b.sec) + ", " + itoa(b.nsec) + "}"
		want(t, "nanosleep("+what+")", call(syscall.SYS_NANOSLEEP, ts, 0), errno(syscall.EINVAL))
		w := kalloc(4)
		want(t, "futex(WAIT, "+what+")", call(syscall.SYS_FUTEX, w, futexWaitPrivate, 0, ts), errno(syscall.EINVAL))
		if lwkt.CurrentThread().Wait != lwkt.WaitNone {
			unblock()
			t.Errorf("%s blocked", what)
		}
	}
	want(t, "nanosleep(NULL)", call(syscall.SYS_NANOSLEEP, 0, 0), errno(syscall.EFAULT))
	want(t, "nanosleep(hole)", call(syscall.SYS_NANOSLEEP, hole-8, 0), errno(syscall.EFAULT))
	want(t, "futex(WAIT, timeout in the hole)", call(syscall.SYS_FUTEX, kalloc(4), futexWaitPrivate, 0, hole), errno(syscall.EFAULT))
}

func TestNanosleep(t *testing.T) {
	setup(t)
	defer unblock()
	want(t, "nanosleep({0, 0})", call(syscall.SYS_NANOSLEEP, timespec(0, 0), 0), 0)
	if lwkt.CurrentThread().Wait != lwkt.WaitNone {
		t.Fatal("a zero sleep blocked; it should only yield")
	}
	th := lwkt.CurrentThread()
	want(t, "nanosleep({2, 999999999})", call(syscall.SYS_NANOSLEEP, timespec(2, 999_999_999), 0), 0)
	if !blockedHere(lwkt.WaitSleep, 0) {
		t.Fatal("nanosleep did not block")
	}
	if th.Deadline != 2_999_999_999 {
		t.Errorf("deadline %d, want 2999999999 (Nanotime is 0 on the host)", th.Deadline)
	}
	th.Frame.RAX = 777
	lwkt.Tick(2_999_999_999)
	if th.Wait != lwkt.WaitNone || th.Frame.RAX != 0 {
		t.Errorf("at the deadline: wait %v RAX %d, want woken with 0", th.Wait, int64(th.Frame.RAX))
	}
	unblock()
	// Huge timeouts are clamped rather than overflowing into the past.
	want(t, "nanosleep({maxInt64, 0})", call(syscall.SYS_NANOSLEEP, timespec(1<<63-1, 0), 0), 0)
	if th.Deadline <= 0 || th.Deadline < (1<<32)*1e9 {
		t.Errorf("deadline %d for an endless sleep", th.Deadline)
	}
}

func TestFutexWaitValueMismatchIsEAGAIN(t *testing.T) {
	setup(t)
	w := kalloc(8)
	put32(w, 5)
	want(t, "futex(WAIT, val 4 != 5)", call(syscall.SYS_FUTEX, w, futexWaitPrivate, 4, 0), errno(syscall.EAGAIN))
	// Only the low 32 bits of the value argument count.
	want(t, "futex(WAIT, val 1<<32|4)", call(syscall.SYS_FUTEX, w, futexWaitPrivate, 1<<32|4, 0), errno(syscall.EAGAIN))
	if lwkt.CurrentThread().Wait != lwkt.WaitNone {
		unblock()
		t.Error("a mismatching futex wait blocked")
	}
	want(t, "futex(WAIT, NULL)", call(syscall.SYS_FUTEX, 0, futexWaitPrivate, 0, 0), errno(syscall.EFAULT))
	want(t, "futex(WAIT, hole)", call(syscall.SYS_FUTEX, hole, futexWaitPrivate, 0, 0), errno(syscall.EFAULT))
}

func TestFutexWaitThenWake(t *testing.T) {
	setup(t)
	defer unblock()
	w := kalloc(8)
	put32(w, 0xCAFE)
	th := lwkt.CurrentThread()
	want(t, "futex(WAIT, match)", call(syscall.SYS_FUTEX, w, futexWaitPrivate, 1<<32|0xCAFE, 0), 0)
	if !blockedHere(lwkt.WaitFutex, w) {
		t.Fatalf("futex WAIT did not block on %#x (wait %v key %#x)", w, th.Wait, th.WaitKey)
	}
	if th.Deadline != 0 {
		t.Errorf("a wait without timeout has deadline %d", th.Deadline)
	}
	want(t, "futex(WAKE) of another address", call(syscall.SYS_FUTEX, w+4, futexWakePrivate, 1, 0), 0)
	if !blockedHere(lwkt.WaitFutex, w) {
		t.Fatal("the waiter was woken by a wake of another address")
	}
	th.Frame.RAX = 999
	// A count of 0 still wakes one waiter on Linux (futex_wake tests the
	// count after each wake).
	want(t, "futex(WAKE, 0)", call(syscall.SYS_FUTEX, w, futexWakePrivate, 0, 0), 1)
	if th.Wait != lwkt.WaitNone || th.Frame.RAX != 0 {
		t.Errorf("after WAKE: wait %v RAX %d, want woken with 0", th.Wait, int64(th.Frame.RAX))
	}
	want(t, "futex(WAKE) with nobody waiting", call(syscall.SYS_FUTEX, w, futexWakePrivate, 1, 0), 0)
}

func TestFutexWakeCountsWaiters(t *testing.T) {
	setup(t)
	defer unblock()
	w := kalloc(8)
	want(t, "futex(WAIT)", call(syscall.SYS_FUTEX, w, futexWait, 0, 0), 0) // shared op too
	want(t, "futex(WAKE, INT_MAX)", call(syscall.SYS_FUTEX, w, futexWake, 0x7FFF_FFFF, 0), 1)
}

func TestFutexWaitTimeout(t *testing.T) {
	setup(t)
	defer unblock()
	w := kalloc(8)
	th := lwkt.CurrentThread()
	// FUTEX_CLOCK_REALTIME changes the clock, not the op.
	want(t, "futex(WAIT, 1.5 s)", call(syscall.SYS_FUTEX, w, futexWaitPrivate|futexClockRealtime, 0, timespec(1, 5e8)), 0)
	if !blockedHere(lwkt.WaitFutex, w) || th.Deadline != 1_500_000_000 {
		t.Fatalf("wait %v deadline %d, want a futex wait until 1.5e9", th.Wait, th.Deadline)
	}
	lwkt.Tick(1_499_999_999)
	if !blockedHere(lwkt.WaitFutex, w) {
		t.Fatal("woken before the deadline")
	}
	lwkt.Tick(1_500_000_000)
	if th.Wait != lwkt.WaitNone || int64(th.Frame.RAX) != errno(syscall.ETIMEDOUT) {
		t.Errorf("at the deadline: wait %v RAX %s, want ETIMEDOUT", th.Wait, show(int64(th.Frame.RAX)))
	}
}

func TestFutexUnknownOpIsENOSYS(t *testing.T) {
	setup(t)
	w := kalloc(8)
	for _, op := range []uintptr{
		2,          // FUTEX_FD
		3,          // FUTEX_REQUEUE
		4,          // FUTEX_CMP_REQUEUE
		5,          // FUTEX_WAKE_OP
		9 | 128,    // FUTEX_WAIT_BITSET_PRIVATE
		10 | 128,   // FUTEX_WAKE_BITSET_PRIVATE
		6,          // FUTEX_LOCK_PI
		1<<32 | 64, // garbage
	} {
		want(t, "futex(op "+itoa(int64(op))+")", call(syscall.SYS_FUTEX, w, op, 0, 0), errno(syscall.ENOSYS))
	}
	if lwkt.CurrentThread().Wait != lwkt.WaitNone {
		unblock()
		t.Error("an unknown futex op blocked")
	}
}
