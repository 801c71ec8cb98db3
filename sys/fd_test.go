package sys

// File descriptors: the console (reads only: a console write would reach
// the UART's I/O ports), eventfds, epoll and fcntl.

import (
	"syscall"
	"testing"

	"gofly/drivers/uart"
	"gofly/lwkt"
)

const efdNonblock = syscall.O_NONBLOCK

func newEventfd(t *testing.T, initval uintptr) uintptr {
	t.Helper()
	fd := call(syscall.SYS_EVENTFD2, initval, efdNonblock|syscall.O_CLOEXEC)
	if fd < 3 {
		t.Fatalf("eventfd2 = %s", show(fd))
	}
	return uintptr(fd)
}

func newEpoll(t *testing.T) uintptr {
	t.Helper()
	fd := call(syscall.SYS_EPOLL_CREATE1, syscall.EPOLL_CLOEXEC)
	if fd < 3 {
		t.Fatalf("epoll_create1 = %s", show(fd))
	}
	return uintptr(fd)
}

// epollEvent writes a packed struct epoll_event (12 bytes) and returns it.
func epollEvent(events uint32, data uint64) uintptr {
	ev := kalloc(12)
	put32(ev, events)
	put32(ev+4, uint32(data))
	put32(ev+8, uint32(data>>32))
	return ev
}

func eventAt(evs uintptr, i int) (uint32, uint64) {
	e := evs + uintptr(i)*12
	return get32(e), uint64(get32(e+4)) | uint64(get32(e+8))<<32
}

func eventfdWrite(v uint64, fd uintptr) int64 {
	b := kalloc(8)
	put64(b, v)
	return call(syscall.SYS_WRITE, fd, b, 8)
}

func TestEventfd(t *testing.T) {
	setup(t)
	want(t, "eventfd2(blocking)", call(syscall.SYS_EVENTFD2, 0, 0), errno(syscall.EINVAL))
	want(t, "eventfd2(CLOEXEC only)", call(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC), errno(syscall.EINVAL))
	want(t, "eventfd2(SEMAPHORE)", call(syscall.SYS_EVENTFD2, 0, efdNonblock|1), errno(syscall.EINVAL))

	fd := newEventfd(t, 0)
	if fd != 3 {
		t.Errorf("first eventfd is fd %d, want 3 (lowest free)", fd)
	}
	buf := kalloc(16)
	want(t, "read(empty eventfd)", call(syscall.SYS_READ, fd, buf, 8), errno(syscall.EAGAIN))
	want(t, "write(eventfd, 5)", eventfdWrite(5, fd), 8)
	want(t, "write(eventfd, 7)", eventfdWrite(7, fd), 8)
	want(t, "read(eventfd)", call(syscall.SYS_READ, fd, buf, 16), 8)
	if get64(buf) != 12 {
		t.Errorf("eventfd read %d, want 12 (5+7)", get64(buf))
	}
	want(t, "second read(eventfd)", call(syscall.SYS_READ, fd, buf, 8), errno(syscall.EAGAIN))

	want(t, "read(eventfd, 7 bytes)", call(syscall.SYS_READ, fd, buf, 7), errno(syscall.EINVAL))
	want(t, "write(eventfd, 7 bytes)", call(syscall.SYS_WRITE, fd, buf, 7), errno(syscall.EINVAL))
	want(t, "write(eventfd, 2^64-1)", eventfdWrite(^uint64(0), fd), errno(syscall.EINVAL))
	want(t, "write(eventfd, max)", eventfdWrite(^uint64(0)-1, fd), 8)
	want(t, "write(eventfd) past max", eventfdWrite(1, fd), errno(syscall.EAGAIN))
	want(t, "read(eventfd, NULL)", call(syscall.SYS_READ, fd, 0, 8), errno(syscall.EFAULT))
	want(t, "write(eventfd, hole)", call(syscall.SYS_WRITE, fd, hole, 8), errno(syscall.EFAULT))
	want(t, "read(full eventfd)", call(syscall.SYS_READ, fd, buf, 8), 8)
	if get64(buf) != ^uint64(0)-1 {
		t.Errorf("eventfd read %#x, want 2^64-2", get64(buf))
	}

	fd2 := newEventfd(t, 42)
	want(t, "read(eventfd with initval)", call(syscall.SYS_READ, fd2, buf, 8), 8)
	if get64(buf) != 42 {
		t.Errorf("initval read back as %d", get64(buf))
	}
}

func TestFcntl(t *testing.T) {
	setup(t)
	fd := newEventfd(t, 0)
	want(t, "fcntl(GETFD) of a CLOEXEC eventfd", call(syscall.SYS_FCNTL, fd, syscall.F_GETFD), syscall.FD_CLOEXEC)
	want(t, "fcntl(SETFD, 0)", call(syscall.SYS_FCNTL, fd, syscall.F_SETFD, 0), 0)
	want(t, "fcntl(GETFD)", call(syscall.SYS_FCNTL, fd, syscall.F_GETFD), 0)
	want(t, "fcntl(GETFL) of an eventfd", call(syscall.SYS_FCNTL, fd, syscall.F_GETFL), syscall.O_RDWR|syscall.O_NONBLOCK)

	want(t, "fcntl(0, GETFL)", call(syscall.SYS_FCNTL, 0, syscall.F_GETFL), syscall.O_RDWR)
	want(t, "fcntl(0, GETFD)", call(syscall.SYS_FCNTL, 0, syscall.F_GETFD), 0)
	want(t, "fcntl(0, SETFL, O_NONBLOCK)", call(syscall.SYS_FCNTL, 0, syscall.F_SETFL, syscall.O_RDWR|syscall.O_NONBLOCK), 0)
	want(t, "fcntl(0, GETFL) after", call(syscall.SYS_FCNTL, 0, syscall.F_GETFL), syscall.O_RDWR|syscall.O_NONBLOCK)
	want(t, "fcntl(0, SETFL, 0)", call(syscall.SYS_FCNTL, 0, syscall.F_SETFL, syscall.O_RDWR), 0)
	want(t, "fcntl(0, GETFL) cleared", call(syscall.SYS_FCNTL, 0, syscall.F_GETFL), syscall.O_RDWR)

	want(t, "fcntl(bad fd)", call(syscall.SYS_FCNTL, 40, syscall.F_GETFL), errno(syscall.EBADF))
	want(t, "fcntl(fd 64)", call(syscall.SYS_FCNTL, MaxFiles, syscall.F_GETFL), errno(syscall.EBADF))
	want(t, "fcntl(fd -1)", call(syscall.SYS_FCNTL, ^uintptr(0), syscall.F_GETFL), errno(syscall.EBADF))
	want(t, "fcntl(unknown cmd)", call(syscall.SYS_FCNTL, 0, 1234), errno(syscall.EINVAL))
	want(t, "fcntl(F_DUPFD)", call(syscall.SYS_FCNTL, 0, syscall.F_DUPFD, 0), errno(syscall.EINVAL))
}

func TestCloseThenUseIsEBADF(t *testing.T) {
	setup(t)
	fd := newEventfd(t, 1)
	want(t, "close", call(syscall.SYS_CLOSE, fd), 0)
	want(t, "close again", call(syscall.SYS_CLOSE, fd), errno(syscall.EBADF))
	want(t, "read after close", call(syscall.SYS_READ, fd, kalloc(8), 8), errno(syscall.EBADF))
	want(t, "write after close", eventfdWrite(1, fd), errno(syscall.EBADF))
	want(t, "fcntl after close", call(syscall.SYS_FCNTL, fd, syscall.F_GETFL), errno(syscall.EBADF))
	want(t, "close(-1)", call(syscall.SYS_CLOSE, minusOne), errno(syscall.EBADF))
	want(t, "close(64)", call(syscall.SYS_CLOSE, MaxFiles), errno(syscall.EBADF))
	// The slot is reused, lowest first, and starts fresh.
	if fd2 := call(syscall.SYS_EPOLL_CREATE1, 0); fd2 != int64(fd) {
		t.Errorf("next descriptor %s, want the freed %d", show(fd2), fd)
	}
	want(t, "write(epoll fd)", eventfdWrite(1, fd), errno(syscall.EINVAL))
	want(t, "read(epoll fd)", call(syscall.SYS_READ, fd, kalloc(8), 8), errno(syscall.EINVAL))
}

func TestDescriptorTableFull(t *testing.T) {
	setup(t)
	for i := 3; i < MaxFiles; i++ {
		newEventfd(t, 0)
	}
	want(t, "eventfd2 in a full table", call(syscall.SYS_EVENTFD2, 0, efdNonblock), errno(syscall.EMFILE))
	want(t, "epoll_create1 in a full table", call(syscall.SYS_EPOLL_CREATE1, 0), errno(syscall.EMFILE))
	want(t, "close(10)", call(syscall.SYS_CLOSE, 10), 0)
	want(t, "eventfd2 after a close", call(syscall.SYS_EVENTFD2, 0, efdNonblock), 10)
}

func TestConsoleRead(t *testing.T) {
	setup(t)
	for _, b := range []byte("hello") {
		uart.Rx.Put(b)
	}
	buf := kalloc(16)
	want(t, "read(0, 3)", call(syscall.SYS_READ, 0, buf, 3), 3)
	if s := string(mem(buf, 3)); s != "hel" {
		t.Errorf("read %q, want %q", s, "hel")
	}
	want(t, "read(0, 16)", call(syscall.SYS_READ, 0, buf, 16), 2)
	if s := string(mem(buf, 2)); s != "lo" {
		t.Errorf("read %q, want %q", s, "lo")
	}
	want(t, "read(0, 0)", call(syscall.SYS_READ, 0, buf, 0), 0)
	want(t, "read(0, NULL)", call(syscall.SYS_READ, 0, 0, 4), errno(syscall.EFAULT))
	uart.Rx.Put('x')
	want(t, "read(0, hole)", call(syscall.SYS_READ, 0, hole, 4), errno(syscall.EFAULT))
	if uart.Rx.Len() != 1 {
		t.Error("a failed read consumed console input")
	}
	want(t, "read(2)", call(syscall.SYS_READ, 2, buf, 4), 1)
	want(t, "read(bad fd)", call(syscall.SYS_READ, 30, buf, 4), errno(syscall.EBADF))
	want(t, "write(bad fd)", call(syscall.SYS_WRITE, 30, buf, 4), errno(syscall.EBADF))
	want(t, "write(console, NULL)", call(syscall.SYS_WRITE, 1, 0, 4), errno(syscall.EFAULT))
}

func TestConsoleReadNonblockingEmptyIsEAGAIN(t *testing.T) {
	setup(t)
	want(t, "fcntl(0, SETFL, O_NONBLOCK)", call(syscall.SYS_FCNTL, 0, syscall.F_SETFL, syscall.O_NONBLOCK), 0)
	want(t, "read(0) with no input", call(syscall.SYS_READ, 0, kalloc(8), 8), errno(syscall.EAGAIN))
	if lwkt.CurrentThread().Wait != lwkt.WaitNone {
		t.Error("a non-blocking read blocked")
	}
}

func TestConsoleReadBlocksUntilInput(t *testing.T) {
	setup(t)
	defer unblock()
	buf := kalloc(8)
	want(t, "read(0) with no input", call(syscall.SYS_READ, 0, buf, 8), 0)
	if !blockedHere(lwkt.WaitRead, 0) {
		t.Fatal("a blocking console read did not block on fd 0")
	}
	th := lwkt.CurrentThread()
	if th.WaitArg[0] != buf || th.WaitArg[1] != 8 {
		t.Errorf("wait args %#x %d, want %#x 8", th.WaitArg[0], th.WaitArg[1], buf)
	}
	ConsoleInput() // nothing arrived yet
	if !blockedHere(lwkt.WaitRead, 0) {
		t.Fatal("ConsoleInput with no input woke the reader")
	}
	for _, b := range []byte("ok\n") {
		uart.Rx.Put(b)
	}
	ConsoleInput()
	if th.Wait != lwkt.WaitNone {
		t.Fatal("ConsoleInput did not wake the reader")
	}
	if th.Frame.RAX != 3 || string(mem(buf, 3)) != "ok\n" {
		t.Errorf("woken read returned %d with %q, want 3 with \"ok\\n\"", int64(th.Frame.RAX), mem(buf, 3))
	}
}

func TestEpollCtl(t *testing.T) {
	setup(t)
	ep, efd := newEpoll(t), newEventfd(t, 0)
	ev := epollEvent(syscall.EPOLLIN, 7)
	want(t, "epoll_ctl(ADD)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd, ev), 0)
	want(t, "epoll_ctl(ADD) twice", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd, ev), errno(syscall.EEXIST))
	want(t, "epoll_ctl(MOD)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_MOD, efd, ev), 0)
	want(t, "epoll_ctl(DEL)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_DEL, efd, 0), 0)
	want(t, "epoll_ctl(DEL) unknown", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_DEL, efd, 0), errno(syscall.ENOENT))
	want(t, "epoll_ctl(MOD) unknown", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_MOD, efd, ev), errno(syscall.ENOENT))
	want(t, "epoll_ctl(op 4)", call(syscall.SYS_EPOLL_CTL, ep, 4, efd, ev), errno(syscall.EINVAL))
	want(t, "epoll_ctl(bad epfd)", call(syscall.SYS_EPOLL_CTL, 50, syscall.EPOLL_CTL_ADD, efd, ev), errno(syscall.EBADF))
	want(t, "epoll_ctl(bad fd)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, 50, ev), errno(syscall.EBADF))
	want(t, "epoll_ctl(epfd not epoll)", call(syscall.SYS_EPOLL_CTL, efd, syscall.EPOLL_CTL_ADD, 0, ev), errno(syscall.EINVAL))
	want(t, "epoll_ctl(watch itself)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, ep, ev), errno(syscall.EINVAL))
	want(t, "epoll_ctl(ADD, NULL event)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd, 0), errno(syscall.EFAULT))
	want(t, "epoll_ctl(ADD, event in the hole)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd, hole-8), errno(syscall.EFAULT))

	// The table of watches holds maxWatches.
	for i := 0; i < maxWatches; i++ {
		fd := newEventfd(t, 0)
		want(t, "epoll_ctl(ADD) #"+itoa(int64(i)), call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, fd, ev), 0)
	}
	want(t, "epoll_ctl(ADD) past maxWatches", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd, ev), errno(syscall.ENOMEM))
}

func TestEpollPwaitReportsEventfd(t *testing.T) {
	setup(t)
	ep, efd := newEpoll(t), newEventfd(t, 0)
	const data = 0x1122_3344_5566_7788
	want(t, "epoll_ctl(ADD)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd,
		epollEvent(syscall.EPOLLIN|syscall.EPOLLRDHUP|-syscall.EPOLLET, data)), 0)
	evs := kalloc(4 * 12)
	want(t, "epoll_pwait(nothing ready, timeout 0)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, 0, 8), 0)

	want(t, "write(eventfd)", eventfdWrite(1, efd), 8)
	want(t, "epoll_pwait(ready)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, 0, 8), 1)
	if e, d := eventAt(evs, 0); e != syscall.EPOLLIN || d != data {
		t.Errorf("event {%#x, %#x}, want {EPOLLIN, %#x}", e, d, uint64(data))
	}
	// Level-triggered here: still ready until read.
	want(t, "epoll_pwait(still ready)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, minusOne, 0, 8), 1)
	want(t, "read(eventfd)", call(syscall.SYS_READ, efd, kalloc(8), 8), 8)
	want(t, "read(eventfd) again", call(syscall.SYS_READ, efd, kalloc(8), 8), errno(syscall.EAGAIN))
	want(t, "epoll_pwait(drained, timeout 0)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, 0, 8), 0)

	// MOD changes the data reported.
	want(t, "epoll_ctl(MOD)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_MOD, efd, epollEvent(syscall.EPOLLIN, 99)), 0)
	eventfdWrite(3, efd)
	want(t, "epoll_pwait after MOD", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, 0, 8), 1)
	if _, d := eventAt(evs, 0); d != 99 {
		t.Errorf("data %d after MOD, want 99", d)
	}
	// A watch without EPOLLIN reports nothing.
	want(t, "epoll_ctl(MOD, no EPOLLIN)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_MOD, efd, epollEvent(syscall.EPOLLOUT, 5)), 0)
	want(t, "epoll_pwait(no EPOLLIN watched)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, 0, 8), 0)
}

func TestEpollPwaitMaxEventsAndConsole(t *testing.T) {
	setup(t)
	ep := newEpoll(t)
	var fds []uintptr
	for i := 0; i < 3; i++ {
		fd := newEventfd(t, 1) // ready from the start
		fds = append(fds, fd)
		want(t, "epoll_ctl(ADD)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, fd, epollEvent(syscall.EPOLLIN, uint64(100+i))), 0)
	}
	want(t, "epoll_ctl(ADD console)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, 0, epollEvent(syscall.EPOLLIN, 1)), 0)
	evs := kalloc(8 * 12)
	put32(evs+2*12, 0xFFFF_FFFF) // the slot past maxevents
	want(t, "epoll_pwait(maxevents 2)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 2, 0, 0, 8), 2)
	if get32(evs+2*12) != 0xFFFF_FFFF {
		t.Error("epoll_pwait wrote past maxevents")
	}
	want(t, "epoll_pwait(all, no console input)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 8, 0, 0, 8), 3)
	uart.Rx.Put('z')
	want(t, "epoll_pwait(console ready)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 8, 0, 0, 8), 4)
	seen := map[uint64]bool{}
	for i := 0; i < 4; i++ {
		_, d := eventAt(evs, i)
		seen[d] = true
	}
	for _, d := range []uint64{100, 101, 102, 1} {
		if !seen[d] {
			t.Errorf("no event with data %d", d)
		}
	}
	// A watched descriptor that was closed reports nothing.
	call(syscall.SYS_CLOSE, fds[0])
	want(t, "epoll_pwait(after close)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 8, 0, 0, 8), 3)

	want(t, "epoll_pwait(maxevents 0)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 0, 0, 0, 8), errno(syscall.EINVAL))
	want(t, "epoll_pwait(maxevents -1)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, ^uintptr(0), 0, 0, 8), errno(syscall.EINVAL))
	want(t, "epoll_pwait(bad epfd)", call(syscall.SYS_EPOLL_PWAIT, 50, evs, 8, 0, 0, 8), errno(syscall.EBADF))
	want(t, "epoll_pwait(not epoll)", call(syscall.SYS_EPOLL_PWAIT, 0, evs, 8, 0, 0, 8), errno(syscall.EINVAL))
	want(t, "epoll_pwait(NULL events)", call(syscall.SYS_EPOLL_PWAIT, ep, 0, 8, 0, 0, 8), errno(syscall.EFAULT))
	want(t, "epoll_pwait(events run into the hole)", call(syscall.SYS_EPOLL_PWAIT, ep, hole-12, 2, 0, 0, 8), errno(syscall.EFAULT))
}

func TestEpollPwaitBlocksAndWakes(t *testing.T) {
	setup(t)
	defer unblock()
	ep, efd := newEpoll(t), newEventfd(t, 0)
	want(t, "epoll_ctl(ADD)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd, epollEvent(syscall.EPOLLIN, 77)), 0)
	evs := kalloc(4 * 12)
	th := lwkt.CurrentThread()

	// timeout -1 (MOVL'd by the runtime: R10 = 0xFFFFFFFF): no deadline.
	want(t, "epoll_pwait(-1)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, minusOne, 0, 8), 0)
	if !blockedHere(lwkt.WaitEpoll, ep) || th.Deadline != 0 {
		t.Fatalf("epoll_pwait(-1) did not block without deadline (wait %v, deadline %d)", th.Wait, th.Deadline)
	}
	if th.WaitArg[0] != evs || th.WaitArg[1] != 4 {
		t.Errorf("wait args %#x %d, want %#x 4", th.WaitArg[0], th.WaitArg[1], evs)
	}
	// A write to the watched eventfd completes the wait.
	want(t, "write(eventfd)", eventfdWrite(1, efd), 8)
	if th.Wait != lwkt.WaitNone {
		t.Fatal("the eventfd write did not wake the epoll waiter")
	}
	if th.Frame.RAX != 1 {
		t.Errorf("woken epoll_pwait returned %d, want 1", int64(th.Frame.RAX))
	}
	if e, d := eventAt(evs, 0); e != syscall.EPOLLIN || d != 77 {
		t.Errorf("woken epoll_pwait event {%#x, %d}, want {EPOLLIN, 77}", e, d)
	}
	call(syscall.SYS_READ, efd, kalloc(8), 8)
	unblock()

	// A positive timeout becomes a deadline (Nanotime is 0 on the host);
	// the timer tick then ends the wait with 0 events.
	want(t, "epoll_pwait(250 ms)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 250, 0, 8), 0)
	if !blockedHere(lwkt.WaitEpoll, ep) || th.Deadline != 250e6 {
		t.Fatalf("epoll_pwait(250) wait %v deadline %d, want epoll and 250e6", th.Wait, th.Deadline)
	}
	lwkt.Tick(249e6)
	if !blockedHere(lwkt.WaitEpoll, ep) {
		t.Fatal("woken before the deadline")
	}
	th.Frame.RAX = 12345
	lwkt.Tick(250e6)
	if th.Wait != lwkt.WaitNone || th.Frame.RAX != 0 {
		t.Errorf("after the deadline: wait %v RAX %d, want none and 0", th.Wait, int64(th.Frame.RAX))
	}
	unblock()

	// Closing the epoll fd under a waiter fails the wait with EBADF at the
	// next wake-up.
	want(t, "epoll_pwait(-1)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, minusOne, 0, 8), 0)
	want(t, "close(epfd)", call(syscall.SYS_CLOSE, ep), 0)
	eventfdWrite(1, efd)
	if th.Wait != lwkt.WaitNone || int64(th.Frame.RAX) != errno(syscall.EBADF) {
		t.Errorf("waiter on a closed epoll: wait %v RAX %s, want EBADF", th.Wait, show(int64(th.Frame.RAX)))
	}
}

func TestConsoleInputWakesEpollWaiter(t *testing.T) {
	setup(t)
	defer unblock()
	ep := newEpoll(t)
	want(t, "epoll_ctl(ADD console)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, 0, epollEvent(syscall.EPOLLIN, 5)), 0)
	evs := kalloc(12)
	want(t, "epoll_pwait(-1)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 1, minusOne, 0, 8), 0)
	th := lwkt.CurrentThread()
	if !blockedHere(lwkt.WaitEpoll, ep) {
		t.Fatal("not blocked")
	}
	uart.Rx.Put('a')
	ConsoleInput()
	if th.Wait != lwkt.WaitNone || th.Frame.RAX != 1 {
		t.Fatalf("console input: wait %v RAX %d, want a completed wait with 1 event", th.Wait, int64(th.Frame.RAX))
	}
	if _, d := eventAt(evs, 0); d != 5 {
		t.Errorf("event data %d, want 5", d)
	}
	if uart.Rx.Len() != 1 {
		t.Error("epoll consumed console input")
	}
}
