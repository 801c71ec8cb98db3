package sys

// Dispatch: numbers, counters, the simple identity and system-information
// calls, and the allocation-free rule.

import (
	"bytes"
	"syscall"
	"testing"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/lwkt"
	"gofly/mm"
)

// The numbers in calls and the errno values must be Linux's; the syscall
// package's tables for linux/amd64 are an independent copy.
func TestNumbersMatchLinux(t *testing.T) {
	linux := map[string]int{
		"read": syscall.SYS_READ, "write": syscall.SYS_WRITE, "close": syscall.SYS_CLOSE,
		"mmap": syscall.SYS_MMAP, "munmap": syscall.SYS_MUNMAP, "rt_sigaction": syscall.SYS_RT_SIGACTION,
		"rt_sigprocmask": syscall.SYS_RT_SIGPROCMASK, "rt_sigreturn": syscall.SYS_RT_SIGRETURN,
		"sched_yield": syscall.SYS_SCHED_YIELD, "madvise": syscall.SYS_MADVISE,
		"nanosleep": syscall.SYS_NANOSLEEP, "getpid": syscall.SYS_GETPID, "clone": syscall.SYS_CLONE,
		"exit": syscall.SYS_EXIT, "uname": syscall.SYS_UNAME, "fcntl": syscall.SYS_FCNTL,
		"getuid": syscall.SYS_GETUID, "getgid": syscall.SYS_GETGID, "geteuid": syscall.SYS_GETEUID,
		"getegid": syscall.SYS_GETEGID, "getppid": syscall.SYS_GETPPID,
		"sigaltstack": syscall.SYS_SIGALTSTACK, "prctl": syscall.SYS_PRCTL,
		"arch_prctl": syscall.SYS_ARCH_PRCTL, "gettid": syscall.SYS_GETTID, "futex": syscall.SYS_FUTEX,
		"sched_getaffinity": syscall.SYS_SCHED_GETAFFINITY, "sched_setaffinity": syscall.SYS_SCHED_SETAFFINITY, "clock_gettime": syscall.SYS_CLOCK_GETTIME,
		"exit_group": syscall.SYS_EXIT_GROUP, "epoll_ctl": syscall.SYS_EPOLL_CTL,
		"tgkill": syscall.SYS_TGKILL, "openat": syscall.SYS_OPENAT, "epoll_pwait": syscall.SYS_EPOLL_PWAIT,
		"eventfd2": syscall.SYS_EVENTFD2, "epoll_create1": syscall.SYS_EPOLL_CREATE1,
		"prlimit64":    syscall.SYS_PRLIMIT64,
		"getrandom":    318,      // not in the frozen syscall tables
		"gofly_switch": NrSwitch, // Gofly's own, above Linux's numbers (mseal, 462, is the last in x/sys)
	}
	served := 0
	for nr, c := range calls {
		if c.fn == nil {
			if c.name != "" {
				t.Errorf("calls[%d] is named %q but has no handler", nr, c.name)
			}
			continue
		}
		served++
		if want, ok := linux[c.name]; !ok {
			t.Errorf("calls[%d] is %q, which this test does not know", nr, c.name)
		} else if nr != want {
			t.Errorf("%s is number %d, Linux uses %d", c.name, nr, want)
		}
		if Names[nr] != c.name {
			t.Errorf("Names[%d] = %q, want %q", nr, Names[nr], c.name)
		}
	}
	if served != len(linux) {
		t.Errorf("%d calls are served, this test knows %d", served, len(linux))
	}
	if len(Names) != served {
		t.Errorf("Names has %d entries, %d calls are served", len(Names), served)
	}
	errs := []struct {
		got  int64
		want syscall.Errno
	}{
		{EPERM, syscall.EPERM}, {ENOENT, syscall.ENOENT}, {ESRCH, syscall.ESRCH},
		{EINTR, syscall.EINTR}, {EBADF, syscall.EBADF}, {EAGAIN, syscall.EAGAIN},
		{ENOMEM, syscall.ENOMEM}, {EFAULT, syscall.EFAULT}, {EEXIST, syscall.EEXIST},
		{EINVAL, syscall.EINVAL}, {EMFILE, syscall.EMFILE}, {ESPIPE, syscall.ESPIPE},
		{ENOSYS, syscall.ENOSYS}, {ETIMEDOUT, syscall.ETIMEDOUT},
	}
	for _, e := range errs {
		if e.got != int64(e.want) {
			t.Errorf("errno %d, Linux's %v is %d", e.got, e.want, int64(e.want))
		}
	}
}

func TestUnknownNumberIsENOSYSAndCounted(t *testing.T) {
	setup(t)
	for _, nr := range []uintptr{syscall.SYS_IOCTL, 511, 512, 1 << 40} {
		before, counted := Unknown(), uint64(0)
		if nr < MaxNr {
			counted = Count(int(nr))
		}
		want(t, "unknown "+itoa(int64(nr)), call(nr, 1, 2, 3), errno(syscall.ENOSYS))
		if Unknown() != before+1 {
			t.Errorf("nr %d: Unknown() = %d, want %d", nr, Unknown(), before+1)
		}
		if LastUnknown() != uint64(nr) {
			t.Errorf("nr %d: LastUnknown() = %d", nr, LastUnknown())
		}
		if nr < MaxNr && Count(int(nr)) != counted+1 {
			t.Errorf("nr %d: Count = %d, want %d", nr, Count(int(nr)), counted+1)
		}
	}
}

func TestCountsEveryCall(t *testing.T) {
	setup(t)
	before, unknown0 := Count(syscall.SYS_GETPID), Unknown()
	for i := 0; i < 5; i++ {
		call(syscall.SYS_GETPID)
	}
	if got := Count(syscall.SYS_GETPID); got != before+5 {
		t.Errorf("Count(getpid) = %d after 5 calls from %d", got, before)
	}
	if Unknown() != unknown0 {
		t.Errorf("a known call counted as unknown")
	}
}

func TestIdentityCalls(t *testing.T) {
	setup(t)
	want(t, "getpid", call(syscall.SYS_GETPID), 1)
	for _, nr := range []uintptr{syscall.SYS_GETPPID, syscall.SYS_GETUID, syscall.SYS_GETGID,
		syscall.SYS_GETEUID, syscall.SYS_GETEGID} {
		want(t, Names[int(nr)], call(nr), 0)
	}
	want(t, "gettid", call(syscall.SYS_GETTID), int64(lwkt.CurrentThread().ID))
	want(t, "openat", call(syscall.SYS_OPENAT, ^uintptr(99), kalloc(8), 0), errno(syscall.ENOENT))
}

func TestPrctl(t *testing.T) {
	setup(t)
	const prSetVMA = 0x53564d41
	want(t, "prctl(PR_SET_VMA)", call(syscall.SYS_PRCTL, prSetVMA, 0, 0, 0), 0)
	want(t, "prctl(PR_SET_NAME)", call(syscall.SYS_PRCTL, syscall.PR_SET_NAME, kalloc(16)), errno(syscall.EINVAL))
}

func TestUname(t *testing.T) {
	setup(t)
	buf := kalloc(6 * 65)
	copy(mem(buf, 6*65), bytes.Repeat([]byte{0xAA}, 6*65))
	want(t, "uname", call(syscall.SYS_UNAME, buf), 0)
	field := func(i uintptr) string {
		b := mem(buf+i*65, 65)
		if n := bytes.IndexByte(b, 0); n >= 0 {
			return string(b[:n])
		}
		t.Errorf("uname field %d not NUL-terminated", i)
		return string(b)
	}
	if s := field(0); s != "Gofly" {
		t.Errorf("sysname %q, want Gofly", s)
	}
	if s := field(4); s != "x86_64" {
		t.Errorf("machine %q, want x86_64", s)
	}
	if s := field(2); s == "" {
		t.Error("release is empty")
	}
	if s := field(5); s != "" {
		t.Errorf("domainname %q, want empty (the old contents must be cleared)", s)
	}
	want(t, "uname(NULL)", call(syscall.SYS_UNAME, 0), errno(syscall.EFAULT))
	want(t, "uname(into the hole)", call(syscall.SYS_UNAME, hole-100), errno(syscall.EFAULT))
}

func TestGetrandom(t *testing.T) {
	setup(t)
	a, b := kalloc(64), kalloc(64)
	want(t, "getrandom", call(318, a, 64, 0), 64)
	want(t, "getrandom", call(318, b, 64, 0), 64)
	if bytes.Equal(mem(a, 64), mem(b, 64)) {
		t.Error("two getrandom calls returned the same bytes")
	}
	if bytes.Equal(mem(a, 64), make([]byte, 64)) {
		t.Error("getrandom returned zeros")
	}
	// The length is honoured exactly: the byte after the buffer is kept.
	c := kalloc(16)
	mem(c, 16)[5] = 0xEE
	want(t, "getrandom(5)", call(318, c, 5, 0), 5)
	if mem(c, 16)[5] != 0xEE {
		t.Error("getrandom(5) wrote a sixth byte")
	}
	want(t, "getrandom(NULL)", call(318, 0, 8, 0), errno(syscall.EFAULT))
	want(t, "getrandom(into the hole)", call(318, hole-4, 8, 0), errno(syscall.EFAULT))
}

func TestSchedGetaffinity(t *testing.T) {
	setup(t)
	m := kalloc(16)
	put64(m+8, 0xdead)
	want(t, "sched_getaffinity(len 8)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 8, m), 8)
	if get64(m) != 1 {
		t.Errorf("mask %#x with one CPU, want 1", get64(m))
	}
	if get64(m+8) != 0xdead {
		t.Error("sched_getaffinity wrote past 8 bytes")
	}
	want(t, "sched_getaffinity(len 1024)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 1024, m), 8)
	want(t, "sched_getaffinity(own tid)", call(syscall.SYS_SCHED_GETAFFINITY, uintptr(lwkt.CurrentThread().ID), 8, m), 8)
	want(t, "sched_getaffinity(no such tid)", call(syscall.SYS_SCHED_GETAFFINITY, 99999, 8, m), errno(syscall.ESRCH))
	want(t, "sched_getaffinity(len 4)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 4, m), errno(syscall.EINVAL))
	want(t, "sched_getaffinity(len 0)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 0, m), errno(syscall.EINVAL))
	want(t, "sched_getaffinity(NULL)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 8, 0), errno(syscall.EFAULT))
}

func TestPrlimit64(t *testing.T) {
	setup(t)
	old, nw := kalloc(16), kalloc(16)
	want(t, "prlimit64(NOFILE) get", call(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, 0, old), 0)
	if get64(old) != MaxFiles || get64(old+8) != MaxFiles {
		t.Errorf("NOFILE = {%d, %d}, want {%d, %d}", get64(old), get64(old+8), MaxFiles, MaxFiles)
	}
	want(t, "prlimit64(STACK) get", call(syscall.SYS_PRLIMIT64, 1, syscall.RLIMIT_STACK, 0, old), 0)
	if get64(old) != ^uint64(0) || get64(old+8) != ^uint64(0) {
		t.Errorf("STACK = {%#x, %#x}, want RLIM_INFINITY", get64(old), get64(old+8))
	}

	// What the os package does at start-up: raise the soft limit to the hard.
	put64(nw, MaxFiles)
	put64(nw+8, MaxFiles)
	want(t, "prlimit64(NOFILE) set to max", call(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, nw, old), 0)
	if get64(old) != MaxFiles {
		t.Errorf("old NOFILE %d, want %d", get64(old), MaxFiles)
	}
	put64(nw, MaxFiles+1)
	want(t, "prlimit64(NOFILE) cur above max", call(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, nw, 0), errno(syscall.EINVAL))
	put64(nw, 16)
	put64(nw+8, MaxFiles+1)
	want(t, "prlimit64(NOFILE) max above MaxFiles", call(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, nw, 0), errno(syscall.EPERM))

	want(t, "prlimit64(pid 2)", call(syscall.SYS_PRLIMIT64, 2, syscall.RLIMIT_NOFILE, 0, old), errno(syscall.ESRCH))
	want(t, "prlimit64(resource 16)", call(syscall.SYS_PRLIMIT64, 0, 16, 0, old), errno(syscall.EINVAL))
	want(t, "prlimit64(resource -1)", call(syscall.SYS_PRLIMIT64, 0, ^uintptr(0), 0, old), errno(syscall.EINVAL))
	want(t, "prlimit64(new NULL, old bad)", call(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, 0, hole), errno(syscall.EFAULT))
	want(t, "prlimit64(new bad)", call(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, hole, 0), errno(syscall.EFAULT))
	want(t, "prlimit64(nothing)", call(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, 0, 0), 0)
}

func TestClockGettime(t *testing.T) {
	setup(t)
	// The timer is never calibrated on the host, so Nanotime is 0 and the
	// realtime clock reads exactly WallBase.
	WallBase = 1_700_000_123_456_789_012
	ts := kalloc(24)
	put64(ts+16, 0x5a5a)
	for _, clk := range []uintptr{0, 5} { // REALTIME, REALTIME_COARSE
		want(t, "clock_gettime(realtime)", call(syscall.SYS_CLOCK_GETTIME, clk, ts), 0)
		if get64(ts) != 1_700_000_123 || get64(ts+8) != 456_789_012 {
			t.Errorf("clock %d: {%d, %d}, want {1700000123, 456789012}", clk, get64(ts), get64(ts+8))
		}
	}
	for _, clk := range []uintptr{1, 4, 6, 7} { // MONOTONIC, _RAW, _COARSE, BOOTTIME
		put64(ts, 99)
		put64(ts+8, 99)
		want(t, "clock_gettime(monotonic "+itoa(int64(clk))+")", call(syscall.SYS_CLOCK_GETTIME, clk, ts), 0)
		if get64(ts) != 0 || get64(ts+8) != 0 {
			t.Errorf("clock %d: {%d, %d}, want the uncalibrated {0, 0}", clk, get64(ts), get64(ts+8))
		}
	}
	if get64(ts+16) != 0x5a5a {
		t.Error("clock_gettime wrote past the 16-byte timespec")
	}
	for _, clk := range []uintptr{2, 3, 8, 12, ^uintptr(0)} {
		want(t, "clock_gettime(clock "+itoa(int64(clk))+")", call(syscall.SYS_CLOCK_GETTIME, clk, ts), errno(syscall.EINVAL))
	}
	want(t, "clock_gettime(NULL)", call(syscall.SYS_CLOCK_GETTIME, 1, 0), errno(syscall.EFAULT))
	want(t, "clock_gettime(page 1)", call(syscall.SYS_CLOCK_GETTIME, 1, 0x1000), errno(syscall.EFAULT))
	want(t, "clock_gettime(straddling the hole)", call(syscall.SYS_CLOCK_GETTIME, 1, hole-8), errno(syscall.EFAULT))
	want(t, "clock_gettime(last 16 bytes before the hole)", call(syscall.SYS_CLOCK_GETTIME, 1, hole-16), 0)
}

func TestArchPrctlArgumentErrors(t *testing.T) {
	setup(t)
	// SET_FS and GET_FS with a good pointer touch the FS-base MSR, which the
	// host forbids; the error paths stop before it.
	const getFS = 0x1003
	want(t, "arch_prctl(GET_FS, NULL)", call(syscall.SYS_ARCH_PRCTL, getFS, 0), errno(syscall.EFAULT))
	want(t, "arch_prctl(GET_FS, hole)", call(syscall.SYS_ARCH_PRCTL, getFS, hole), errno(syscall.EFAULT))
	want(t, "arch_prctl(ARCH_GET_GS)", call(syscall.SYS_ARCH_PRCTL, 0x1004, kalloc(8)), errno(syscall.EINVAL))
	want(t, "arch_prctl(0)", call(syscall.SYS_ARCH_PRCTL, 0, 0), errno(syscall.EINVAL))
}

func TestCloneRejectsWhatItCannotDo(t *testing.T) {
	setup(t)
	// Go's runtime flags (os_linux.go cloneFlags) pass this check and go on
	// to read the FS-base MSR, so only rejections can run on the host.
	for _, flags := range []uintptr{
		0,                // fork
		syscall.CLONE_VM, // no CLONE_THREAD
		syscall.CLONE_THREAD | syscall.CLONE_SIGHAND, // no CLONE_VM
		syscall.CLONE_VM | syscall.CLONE_THREAD | syscall.CLONE_SIGHAND | syscall.CLONE_VFORK,
		syscall.CLONE_VM | syscall.CLONE_THREAD | syscall.CLONE_SIGHAND | syscall.CLONE_CHILD_CLEARTID,
		syscall.CLONE_VM | syscall.CLONE_THREAD | syscall.CLONE_SIGHAND | syscall.CLONE_NEWNS,
	} {
		want(t, "clone("+itoa(int64(flags))+")", call(syscall.SYS_CLONE, flags, kalloc(64), 0, 0, 0), errno(syscall.EINVAL))
	}
}

func TestTgkill(t *testing.T) {
	setup(t)
	me := uintptr(lwkt.CurrentThread().ID)
	th := lwkt.CurrentThread()
	want(t, "tgkill(me, 0)", call(syscall.SYS_TGKILL, 1, me, 0), 0)
	if th.SigPending.Load() != 0 {
		t.Errorf("signal 0 set pending %#x", th.SigPending.Load())
	}
	want(t, "tgkill(me, SIGURG)", call(syscall.SYS_TGKILL, 1, me, SIGURG), 0)
	if th.SigPending.Load() != 1<<(SIGURG-1) {
		t.Errorf("pending %#x, want SIGURG's bit %#x", th.SigPending.Load(), 1<<(SIGURG-1))
	}
	want(t, "tgkill(me, 64)", call(syscall.SYS_TGKILL, 1, me, 64), 0)
	if th.SigPending.Load()>>63 != 1 {
		t.Errorf("signal 64 not pending: %#x", th.SigPending.Load())
	}
	want(t, "tgkill(me, 65)", call(syscall.SYS_TGKILL, 1, me, 65), errno(syscall.EINVAL))
	want(t, "tgkill(me, -1)", call(syscall.SYS_TGKILL, 1, me, ^uintptr(0)), errno(syscall.EINVAL))
	want(t, "tgkill(no such thread)", call(syscall.SYS_TGKILL, 1, 99999, SIGURG), errno(syscall.ESRCH))
}

func TestSchedYield(t *testing.T) {
	setup(t)
	want(t, "sched_yield", call(syscall.SYS_SCHED_YIELD), 0)
}

// Every *_nosplit.go path runs without a heap: a system call must not
// allocate. The frame lives outside the Go heap, as the kernel's trap frame
// does: Dispatch's indirect call through calls lets the pointer escape.
func TestDispatchAllocatesNothing(t *testing.T) {
	setup(t)
	ts, buf := kalloc(16), kalloc(64)
	f := (*amd64.Frame)(mm.Ptr(uint64(kalloc(unsafe.Sizeof(amd64.Frame{})))))
	cases := []struct {
		name string
		f    amd64.Frame
	}{
		{"clock_gettime", frameFor(syscall.SYS_CLOCK_GETTIME, 1, ts)},
		{"getrandom", frameFor(318, buf, 64, 0)},
		{"uname", frameFor(syscall.SYS_UNAME, kalloc(6*65))},
		{"rt_sigprocmask", frameFor(syscall.SYS_RT_SIGPROCMASK, 0, 0, buf, 8)},
		{"fcntl", frameFor(syscall.SYS_FCNTL, 0, syscall.F_GETFL)},
		{"unknown", frameFor(400)},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(50, func() {
			*f = c.f
			Dispatch(f, fpu)
		}); n != 0 {
			t.Errorf("%s allocates %v times per call", c.name, n)
		}
	}
}

// TestSchedSetaffinity: Linux's rules (kernel/sched/core.c): the mask is
// read first (EFAULT before ESRCH), a short one is zero-extended, a mask
// with no online CPU is EINVAL, and sched_getaffinity then reports it.
func TestSchedSetaffinity(t *testing.T) {
	setup(t)
	defer lwkt.SetAffinity(lwkt.Current(), 0)
	m := kalloc(16)
	put64(m, 1)
	want(t, "sched_setaffinity(cpu 0)", call(syscall.SYS_SCHED_SETAFFINITY, 0, 8, m), 0)
	if a := lwkt.Affinity(lwkt.Current()); a != 1 {
		t.Errorf("affinity %#x after setting cpu 0, want 1", a)
	}
	want(t, "sched_setaffinity(len 1)", call(syscall.SYS_SCHED_SETAFFINITY, 0, 1, m), 0)
	put64(m, 0xff00) // no online CPU in the first byte, and len 1 drops the rest
	want(t, "sched_setaffinity(len 1, no CPU)", call(syscall.SYS_SCHED_SETAFFINITY, 0, 1, m), errno(syscall.EINVAL))
	want(t, "sched_setaffinity(offline CPUs only)", call(syscall.SYS_SCHED_SETAFFINITY, 0, 8, m), errno(syscall.EINVAL))
	want(t, "sched_setaffinity(len 0)", call(syscall.SYS_SCHED_SETAFFINITY, 0, 0, m), errno(syscall.EINVAL))
	want(t, "sched_setaffinity(NULL)", call(syscall.SYS_SCHED_SETAFFINITY, 99999, 8, 0), errno(syscall.EFAULT))
	put64(m, ^uint64(0))
	want(t, "sched_setaffinity(no such tid)", call(syscall.SYS_SCHED_SETAFFINITY, 99999, 8, m), errno(syscall.ESRCH))
	want(t, "sched_setaffinity(all)", call(syscall.SYS_SCHED_SETAFFINITY, 0, 128, m), 0)
	want(t, "sched_getaffinity after", call(syscall.SYS_SCHED_GETAFFINITY, 0, 8, m), 8)
	if get64(m) != lwkt.OnlineMask() {
		t.Errorf("sched_getaffinity = %#x after setting every CPU, want the online ones %#x", get64(m), lwkt.OnlineMask())
	}
}
