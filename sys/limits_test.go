package sys

// Counts, lengths and pointer ranges from the caller: sizes that could
// overflow, arguments Linux declares narrower than a register, and lengths
// Linux checks against the address space but uses only in part. Each test
// gives Linux's answer and its source.

import (
	"bytes"
	"syscall"
	"testing"

	"gofly/drivers/power"
	"gofly/drivers/uart"
	"gofly/vm"
)

// fs/eventpoll.c do_epoll_wait: "if (maxevents <= 0 || maxevents >
// EP_MAX_EVENTS) return -EINVAL;", EP_MAX_EVENTS = INT_MAX / sizeof(struct
// epoll_event), before access_ok(events, maxevents * sizeof(...)); and
// maxevents is an int, so only the register's low half counts.
func TestEpollPwaitMaxevents(t *testing.T) {
	setup(t)
	ep := newEpoll(t)
	for i := 0; i < 3; i++ {
		fd := newEventfd(t, 1) // ready from the start
		want(t, "epoll_ctl(ADD)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, fd, epollEvent(syscall.EPOLLIN, uint64(i))), 0)
	}
	// Room for no event: maxevents*12 once wrapped to 8 and three events
	// went into the hole.
	evs := hole - 8
	before := snapshot(hole, 64)
	for _, max := range []uintptr{
		0x1555_5555_5555_5556,    // *12 wraps to 8 in 64 bits; int: 0x55555556
		0x1555_5556,              // *12 wraps to 8 in 32 bits
		maxEpollEvents + 1,       // one past EP_MAX_EVENTS
		0x8000_0000,              // int: negative
		1<<32 | 0xFFFF_FFFF,      // int: -1
		1 << 32,                  // int: 0
		^uintptr(0) &^ (1 << 31), // int: INT_MAX
	} {
		want(t, "epoll_pwait(maxevents "+itoa(int64(max))+")", call(syscall.SYS_EPOLL_PWAIT, ep, evs, max, 0, 0, 8), errno(syscall.EINVAL))
	}
	if !bytes.Equal(snapshot(hole, 64), before) {
		t.Error("epoll_pwait wrote into the hole")
	}
	// The low half is the count: 1<<32|2 is 2.
	evs = kalloc(8 * 12)
	put32(evs+2*12, 0xFFFF_FFFF)
	want(t, "epoll_pwait(maxevents 1<<32|2)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 1<<32|2, 0, 0, 8), 2)
	if get32(evs+2*12) != 0xFFFF_FFFF {
		t.Error("epoll_pwait(maxevents 1<<32|2) wrote a third event")
	}
	// EP_MAX_EVENTS itself is accepted: access_ok passes, and only the
	// events delivered are written.
	near := hole - 4096 // 341 events' room, not EP_MAX_EVENTS'
	want(t, "epoll_pwait(maxevents EP_MAX_EVENTS)", call(syscall.SYS_EPOLL_PWAIT, ep, near, maxEpollEvents, 0, 0, 8), 3)
	want(t, "epoll_pwait(array past the address space)", call(syscall.SYS_EPOLL_PWAIT, ep, vm.UserMax-12*1000, 1001, 0, 0, 8), errno(syscall.EFAULT))
}

// fs/eventpoll.c do_epoll_pwait -> set_user_sigmask: with a mask,
// "if (sigsetsize != sizeof(sigset_t)) return -EINVAL;", then EFAULT if it
// cannot be read; without one, sigsetsize is ignored.
func TestEpollPwaitSigmask(t *testing.T) {
	setup(t)
	ep, evs, mask := newEpoll(t), kalloc(4*12), kalloc(8)
	want(t, "epoll_pwait(mask, 8)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, mask, 8), 0)
	want(t, "epoll_pwait(NULL, 99)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, 0, 99), 0)
	want(t, "epoll_pwait(mask, 16)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, mask, 16), errno(syscall.EINVAL))
	want(t, "epoll_pwait(mask, 1<<32|8)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, mask, 1<<32|8), errno(syscall.EINVAL))
	want(t, "epoll_pwait(mask in the hole, 8)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, hole-4, 8), errno(syscall.EFAULT))
	// The mask comes first: a bad mask size beats a bad descriptor.
	want(t, "epoll_pwait(bad fd, mask, 16)", call(syscall.SYS_EPOLL_PWAIT, 50, evs, 4, 0, mask, 16), errno(syscall.EINVAL))
}

// fs/eventfd.c: SYSCALL_DEFINE2(eventfd2, unsigned int, count, int, flags).
func TestEventfd2InitvalIsUnsignedInt(t *testing.T) {
	setup(t)
	fd := newEventfd(t, 1<<32|5)
	buf := kalloc(8)
	want(t, "read(eventfd)", call(syscall.SYS_READ, fd, buf, 8), 8)
	if get64(buf) != 5 {
		t.Errorf("eventfd2(1<<32|5) counter %#x, want 5", get64(buf))
	}
}

// fs/read_write.c vfs_read and vfs_write: access_ok(buf, count) for the
// whole count, EFAULT before the file sees it; the file then uses what it
// needs (fs/eventfd.c: 8 bytes).
func TestReadWriteCountPastTheAddressSpace(t *testing.T) {
	setup(t)
	fd, buf := newEventfd(t, 1), kalloc(8)
	want(t, "read(eventfd, count 1<<63)", call(syscall.SYS_READ, fd, buf, 1<<63), errno(syscall.EFAULT))
	want(t, "write(eventfd, count wraps)", call(syscall.SYS_WRITE, fd, buf, -buf), errno(syscall.EFAULT))
	want(t, "write(eventfd, count to UserMax)", call(syscall.SYS_WRITE, fd, buf, vm.UserMax-buf), 8)
	want(t, "read(eventfd, count to UserMax)", call(syscall.SYS_READ, fd, buf, vm.UserMax-buf), 8)
	want(t, "read(console, count 1<<63)", call(syscall.SYS_READ, 0, buf, 1<<63), errno(syscall.EFAULT))
}

// A console read returns at most what Rx holds, and Linux (n_tty_read)
// writes only the bytes it returns: a large count over a buffer whose end
// is unmapped is no fault.
func TestConsoleReadLargeCount(t *testing.T) {
	setup(t)
	for _, b := range []byte("hi") {
		uart.Rx.Put(b)
	}
	buf := hole - uart.RingSize
	want(t, "read(0, 4 KiB before the hole, 1 MiB)", call(syscall.SYS_READ, 0, buf, 1<<20), 2)
	if s := string(mem(buf, 2)); s != "hi" {
		t.Errorf("read %q, want %q", s, "hi")
	}
}

// access_ok(p, 0) holds for any p, NULL included: empty transfers succeed
// (getrandom(NULL, 0, GRND_NONBLOCK) is the usual "is the pool ready?"
// probe).
func TestZeroLengthAtNULL(t *testing.T) {
	setup(t)
	want(t, "write(1, NULL, 0)", call(syscall.SYS_WRITE, 1, 0, 0), 0)
	want(t, "getrandom(NULL, 0, GRND_NONBLOCK)", call(318, 0, 0, grndNonblock), 0)
	want(t, "read(0, NULL, 0)", call(syscall.SYS_READ, 0, 0, 0), 0)
}

// drivers/char/random.c getrandom: unknown flags and GRND_INSECURE with
// GRND_RANDOM are EINVAL; flags is an unsigned int.
func TestGetrandomFlags(t *testing.T) {
	setup(t)
	buf := kalloc(8)
	for _, fl := range []uintptr{0, grndNonblock, grndRandom, grndInsecure, grndNonblock | grndRandom, grndNonblock | grndInsecure, 1 << 32} {
		want(t, "getrandom(flags "+itoa(int64(fl))+")", call(318, buf, 8, fl), 8)
	}
	for _, fl := range []uintptr{grndInsecure | grndRandom, grndInsecure | grndRandom | grndNonblock, 8, 1<<32 | 8} {
		want(t, "getrandom(flags "+itoa(int64(fl))+")", call(318, buf, 8, fl), errno(syscall.EINVAL))
	}
}

// getrandom(2), "Maximum number of bytes returned": 32Mi-1 from the
// urandom source, 512 from the random source; the count is cut before the
// buffer is checked.
func TestGetrandomCapsLongRequests(t *testing.T) {
	setup(t)
	buf := kallocPages(maxGetrandom/pageSz + 1)
	want(t, "getrandom(1<<40)", call(318, buf, 1<<40, 0), maxGetrandom)
	b := mem(buf, maxGetrandom+1)
	if b[maxGetrandom] != 0 {
		t.Error("getrandom wrote past the count it returned")
	}
	if bytes.Equal(b[maxGetrandom-64:maxGetrandom], make([]byte, 64)) {
		t.Error("getrandom left the end of its count unwritten")
	}
	want(t, "getrandom(4096, GRND_RANDOM)", call(318, buf, 4096, grndRandom), 512)
	want(t, "getrandom(-1, GRND_RANDOM)", call(318, buf, ^uintptr(0), grndRandom), 512)
}

// kernel/sched/core.c sched_getaffinity: len is an unsigned int, checked
// as "(len * BITS_PER_BYTE) < nr_cpu_ids" in unsigned int arithmetic.
func TestSchedGetaffinityLenIsUnsignedInt(t *testing.T) {
	setup(t)
	m := kalloc(8)
	want(t, "sched_getaffinity(len 1<<32|8)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 1<<32|8, m), 8)
	want(t, "sched_getaffinity(len 1<<32)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 1<<32, m), errno(syscall.EINVAL))
	want(t, "sched_getaffinity(len 1<<29)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 1<<29, m), errno(syscall.EINVAL)) // len*8 wraps to 0
}

// include/linux/sched/signal.h __on_sig_stack: "sp > t->sas_ss_sp &&
// sp - t->sas_ss_sp <= t->sas_ss_size", a subtraction, so a stack whose
// sp+size wraps still contains the addresses above sp.
func TestAltStackWhoseEndWraps(t *testing.T) {
	setup(t)
	newSigWorld(t, saOnStack|saRestorer|saSiginfo)
	kalloc(16 << 10) // so a frame below the stack would still be mapped
	stk := kalloc(64 << 10)
	want(t, "sigaltstack(size wraps)", call(syscall.SYS_SIGALTSTACK, stackT(stk, 0, ^uint64(8192-1)), 0), 0)
	f := faultFrame()
	f.RSP = uint64(stk + 32<<10) // a fault inside the handler, on the stack
	rsp := uintptr(f.RSP)
	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Fatal("Deliver refused")
	}
	if uintptr(f.RSP) >= rsp-128 || uintptr(f.RSP) < stk {
		t.Errorf("nested frame at %#x, want below %#x-128 on the stack at %#x", f.RSP, rsp, stk)
	}
}

// The QEMU status tells a Go panic (the runtime exits with 2) from another
// failed exit; a signal death exits with 128+signal.
func TestExitStatusCodes(t *testing.T) {
	for _, c := range []struct {
		status int
		code   uint8
	}{
		{1, power.CodeExit},
		{2, power.CodePanic},
		{3, power.CodeExit},
		{128 + SIGSEGV, power.CodeExit},
		{255, power.CodeExit},
	} {
		if got := failCode(c.status); got != c.code {
			t.Errorf("exit status %d: code %d, want %d", c.status, got, c.code)
		}
	}
}

// Pointer ranges that wrap past the top of the address space are EFAULT
// for every call that takes a pointer (access_ok). A regression guard:
// vm.Touch has always refused them.
func TestWrappingPointersAreEFAULT(t *testing.T) {
	setup(t)
	top := ^uintptr(0) - 3 // any access of 4 bytes or more wraps
	ep, efd := newEpoll(t), newEventfd(t, 0)
	for _, c := range []struct {
		name string
		nr   uintptr
		args []uintptr
	}{
		{"clock_gettime", syscall.SYS_CLOCK_GETTIME, []uintptr{1, top}},
		{"nanosleep", syscall.SYS_NANOSLEEP, []uintptr{top, 0}},
		{"futex timeout", syscall.SYS_FUTEX, []uintptr{kalloc(4), futexWaitPrivate, 0, top}},
		{"rt_sigaction act", syscall.SYS_RT_SIGACTION, []uintptr{SIGSEGV, top, 0, 8}},
		{"rt_sigaction oact", syscall.SYS_RT_SIGACTION, []uintptr{SIGSEGV, 0, top, 8}},
		{"rt_sigprocmask", syscall.SYS_RT_SIGPROCMASK, []uintptr{0, top, 0, 8}},
		{"sigaltstack", syscall.SYS_SIGALTSTACK, []uintptr{top, 0}},
		{"prlimit64", syscall.SYS_PRLIMIT64, []uintptr{0, syscall.RLIMIT_NOFILE, 0, top}},
		{"uname", syscall.SYS_UNAME, []uintptr{top}},
		{"sched_getaffinity", syscall.SYS_SCHED_GETAFFINITY, []uintptr{0, 8, top}},
		{"epoll_ctl", syscall.SYS_EPOLL_CTL, []uintptr{ep, syscall.EPOLL_CTL_ADD, efd, top}},
		{"epoll_pwait", syscall.SYS_EPOLL_PWAIT, []uintptr{ep, top, 1, 0, 0, 8}},
		{"getrandom", 318, []uintptr{top, 8, 0}},
		{"read", syscall.SYS_READ, []uintptr{efd, top, 8}},
		{"write", syscall.SYS_WRITE, []uintptr{efd, top, 8}},
	} {
		want(t, c.name, call(c.nr, c.args...), errno(syscall.EFAULT))
	}
}
