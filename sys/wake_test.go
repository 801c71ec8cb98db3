package sys

import (
	"syscall"
	"testing"

	"gofly/lwkt"
)

// TestEpollAddOfReadyWakesWaiter: a watch added while its descriptor is
// already ready completes a waiting epoll_pwait at once, as on Linux.
// Before, epoll_ctl woke nobody and the waiter slept until its timeout
// (forever with -1).
func TestEpollAddOfReadyWakesWaiter(t *testing.T) {
	setup(t)
	defer unblock()
	ep, efd := newEpoll(t), newEventfd(t, 1) // readable from the start
	evs := kalloc(4 * 12)
	th := lwkt.CurrentThread()
	want(t, "epoll_pwait(-1)", call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, minusOne, 0, 8), 0)
	if !blockedHere(lwkt.WaitEpoll, ep) {
		t.Fatal("epoll_pwait on an empty set did not block")
	}
	// The test's one thread plays both the waiter and the thread that
	// adds the watch: the call runs on its own frame, the waiter's result
	// lands in th.Frame.
	th.Frame.RAX = 12345
	if r := call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd, epollEvent(syscall.EPOLLIN, 5)); r != 0 {
		t.Fatalf("epoll_ctl(ADD) = %d", r)
	}
	if th.Wait != lwkt.WaitNone {
		t.Fatal("adding a ready watch left the epoll waiter asleep")
	}
	if th.Frame.RAX != 1 {
		t.Errorf("woken epoll_pwait returned %d, want 1", int64(th.Frame.RAX))
	}
	if e, d := eventAt(evs, 0); e != syscall.EPOLLIN || d != 5 {
		t.Errorf("event {%#x, %d}, want {EPOLLIN, 5}", e, d)
	}
}

// TestEpollWaiterBufferUnmapped: an epoll waiter whose event buffer was
// unmapped while it slept is woken with EFAULT; the wake-up must not write
// to the unmapped page (in the kernel, a fault inside the trap path stops
// the machine).
func TestEpollWaiterBufferUnmapped(t *testing.T) {
	setup(t)
	defer unblock()
	ep, efd := newEpoll(t), newEventfd(t, 0)
	want(t, "epoll_ctl(ADD)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, efd, epollEvent(syscall.EPOLLIN, 9)), 0)
	rw := uintptr(syscall.PROT_READ | syscall.PROT_WRITE)
	buf := mmapCall(0, 4096, rw, anonPrivate, minusOne)
	if buf < 0 {
		t.Fatalf("mmap: %d", buf)
	}
	th := lwkt.CurrentThread()
	want(t, "epoll_pwait(-1)", call(syscall.SYS_EPOLL_PWAIT, ep, uintptr(buf), 4, minusOne, 0, 8), 0)
	if r := call(syscall.SYS_MUNMAP, uintptr(buf), 4096); r != 0 {
		t.Fatalf("munmap: %d", r)
	}
	if r := eventfdWrite(1, efd); r != 8 {
		t.Fatalf("write(eventfd): %d", r)
	}
	if th.Wait != lwkt.WaitNone || int64(th.Frame.RAX) != errno(syscall.EFAULT) {
		t.Errorf("waiter: wait %v, result %d; want woken with EFAULT", th.Wait, int64(th.Frame.RAX))
	}
}
