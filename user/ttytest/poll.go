package main

import (
	"errors"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// poll is poll(2) itself: x/sys/unix's Poll is ppoll.
func poll(fds []unix.PollFd, ms int) (int, error) {
	return eintr(func() (int, error) {
		n, _, e := unix.Syscall(unix.SYS_POLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)), uintptr(ms))
		if e != 0 {
			return -1, e
		}
		return int(n), nil
	})
}

// eintr calls f again while a signal interrupts it: poll, ppoll, select
// and pselect6 are never restarted, on Linux either, and a child's
// SIGCHLD or the runtime's own signals may come during a wait.
func eintr(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// pipe returns a new pipe's read and write ends.
func pipe() (r, w int, err error) {
	var p [2]int
	err = unix.Pipe2(p[:], unix.O_CLOEXEC)
	return p[0], p[1], err
}

// pollChecks: poll's timeout, events and revents on pipes, a regular
// file and the terminal; ppoll's timeout.
func pollChecks(check func(string, bool, ...any)) {
	r, w, err := pipe()
	if err != nil {
		check("pipe2", false, err)
		return
	}
	defer unix.Close(r)
	fds := []unix.PollFd{{Fd: int32(r), Events: unix.POLLIN}}
	t0 := time.Now()
	n, err := poll(fds, 100)
	el := time.Since(t0)
	check("poll: an empty pipe times out with 0 after 100 ms", err == nil && n == 0 && fds[0].Revents == 0 &&
		el >= 90*time.Millisecond && el < time.Second, n, err, fds, el)
	unix.Write(w, []byte{1})
	fds = []unix.PollFd{{Fd: -1, Events: unix.POLLIN}, {Fd: int32(r), Events: unix.POLLIN},
		{Fd: int32(w), Events: unix.POLLOUT}, {Fd: notOpen, Events: unix.POLLIN}}
	n, err = poll(fds, 1000)
	check("poll: POLLIN with a byte in, POLLOUT on the write end, POLLNVAL not open, a negative descriptor ignored",
		err == nil && n == 3 && fds[0].Revents == 0 && fds[1].Revents == unix.POLLIN && fds[2].Revents == unix.POLLOUT &&
			fds[3].Revents == unix.POLLNVAL, n, err, fds)
	unix.Close(w)
	fds = []unix.PollFd{{Fd: int32(r), Events: unix.POLLIN}}
	n, err = poll(fds, 0)
	check("poll: POLLHUP once the writer is gone", err == nil && n == 1 && fds[0].Revents == unix.POLLIN|unix.POLLHUP, n, err, fds)

	if self, err := os.Executable(); err == nil {
		if fd, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			fds = []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLOUT}}
			n, err = poll(fds, 0)
			check("poll: a regular file is readable and writable", err == nil && n == 1 && fds[0].Revents == unix.POLLIN|unix.POLLOUT, n, err, fds)
			unix.Close(fd)
		} else {
			check("poll: open a regular file", false, err)
		}
	} else {
		check("os.Executable", false, err)
	}
	fds = []unix.PollFd{{Fd: 0, Events: unix.POLLIN}, {Fd: 1, Events: unix.POLLOUT}}
	n, err = poll(fds, 0)
	check("poll: the terminal is writable, not readable with nothing typed", err == nil && n == 1 &&
		fds[0].Revents == 0 && fds[1].Revents == unix.POLLOUT, n, err, fds)

	r2, w2, err := pipe()
	if err != nil {
		check("pipe2", false, err)
		return
	}
	defer unix.Close(r2)
	defer unix.Close(w2)
	fds = []unix.PollFd{{Fd: int32(r2), Events: unix.POLLIN}}
	t0 = time.Now()
	n, err = eintr(func() (int, error) { return unix.Ppoll(fds, &unix.Timespec{Nsec: 50e6}, nil) })
	el = time.Since(t0)
	unix.Write(w2, []byte{1})
	n2, err2 := eintr(func() (int, error) { return unix.Ppoll(fds, &unix.Timespec{Sec: 1}, nil) })
	check("ppoll: an empty pipe times out with 0 after 50 ms, then with a byte in is 1", err == nil && n == 0 &&
		el >= 45*time.Millisecond && el < time.Second && err2 == nil && n2 == 1 && fds[0].Revents == unix.POLLIN, n, err, el, n2, err2, fds)
}

// selectChecks: select(2)'s sets, timeout, time left and errors, and
// pselect6's.
func selectChecks(check func(string, bool, ...any)) {
	ra, wa, err := pipe()
	if err != nil {
		check("pipe2", false, err)
		return
	}
	defer unix.Close(ra)
	defer unix.Close(wa)
	rb, wb, err := pipe()
	if err != nil {
		check("pipe2", false, err)
		return
	}
	defer unix.Close(rb)
	defer unix.Close(wb)
	unix.Write(wa, []byte{1})
	nfd := max(ra, rb) + 1

	var rs, want unix.FdSet
	rs.Set(ra)
	rs.Set(rb)
	want.Set(ra)
	tv := syscall.Timeval{Sec: 1}
	n, err := eintr(func() (int, error) { return syscall.Select(nfd, (*syscall.FdSet)(&rs), nil, nil, &tv) })
	left := time.Duration(tv.Nano())
	check("select: of two read ends the one with a byte, its bit alone left set; the time left written back",
		err == nil && n == 1 && rs == want && left > 0 && left <= time.Second, n, err, rs, tv)

	var es unix.FdSet
	rs.Zero()
	rs.Set(rb)
	es.Set(rb)
	tv = syscall.Timeval{Usec: 50e3}
	t0 := time.Now()
	n, err = eintr(func() (int, error) {
		return syscall.Select(nfd, (*syscall.FdSet)(&rs), nil, (*syscall.FdSet)(&es), &tv)
	})
	el := time.Since(t0)
	check("select: nothing ready times out with 0 after 50 ms, the sets cleared, no time left", err == nil && n == 0 &&
		rs == unix.FdSet{} && es == unix.FdSet{} && tv == syscall.Timeval{} && el >= 45*time.Millisecond && el < time.Second, n, err, rs, es, tv, el)

	// A descriptor just closed: Linux ignores the bits past its
	// descriptor table's size, where notOpen may be.
	rc, wc, err := pipe()
	if err == nil {
		unix.Close(rc)
		unix.Close(wc)
		rs.Zero()
		rs.Set(ra)
		rs.Set(wc)
		tv = syscall.Timeval{Sec: 1}
		_, err = syscall.Select(max(nfd, wc+1), (*syscall.FdSet)(&rs), nil, nil, &tv)
		check("select: a descriptor not open is EBADF", errors.Is(err, syscall.EBADF), err)
	} else {
		check("pipe2", false, err)
	}

	rs.Zero()
	rs.Set(ra)
	rs.Set(rb)
	n, err = eintr(func() (int, error) { return unix.Pselect(nfd, &rs, nil, nil, &unix.Timespec{Sec: 1}, nil) })
	rs2 := unix.FdSet{}
	rs2.Set(rb)
	t0 = time.Now()
	n2, err2 := eintr(func() (int, error) { return unix.Pselect(nfd, &rs2, nil, nil, &unix.Timespec{Nsec: 50e6}, nil) })
	el = time.Since(t0)
	check("pselect6: the ready read end alone is 1; nothing ready times out with 0 after 50 ms, the set cleared",
		err == nil && n == 1 && rs == want && err2 == nil && n2 == 0 && rs2 == unix.FdSet{} &&
			el >= 45*time.Millisecond && el < time.Second, n, err, rs, n2, err2, rs2, el)
}

// fdFlagChecks: FIONBIO sets and clears O_NONBLOCK, a flag of the open
// file that a duplicate shares; FIOCLEX and FIONCLEX set and clear
// FD_CLOEXEC, a flag of the descriptor alone.
func fdFlagChecks(check func(string, bool, ...any)) {
	r, w, err := pipe()
	if err != nil {
		check("pipe2", false, err)
		return
	}
	defer unix.Close(r)
	defer unix.Close(w)
	e1 := unix.IoctlSetPointerInt(r, fionbio, 1)
	_, rerr := unix.Read(r, make([]byte, 1))
	fl1, _ := unix.FcntlInt(uintptr(r), unix.F_GETFL, 0)
	e2 := unix.IoctlSetPointerInt(r, fionbio, 0)
	fl2, _ := unix.FcntlInt(uintptr(r), unix.F_GETFL, 0)
	check("FIONBIO 1: O_NONBLOCK, a read of an empty pipe EAGAIN; FIONBIO 0 clears it", e1 == nil && e2 == nil &&
		errors.Is(rerr, syscall.EAGAIN) && fl1&unix.O_NONBLOCK != 0 && fl2&unix.O_NONBLOCK == 0, e1, rerr, fl1, e2, fl2)

	if d, err := unix.Dup(r); err == nil {
		e1 = unix.IoctlSetPointerInt(r, fionbio, 1)
		fl, _ := unix.FcntlInt(uintptr(d), unix.F_GETFL, 0)
		unix.IoctlSetPointerInt(r, fionbio, 0)
		fl2, _ := unix.FcntlInt(uintptr(d), unix.F_GETFL, 0)
		check("FIONBIO's O_NONBLOCK is the open file's: a duplicate shares it", e1 == nil &&
			fl&unix.O_NONBLOCK != 0 && fl2&unix.O_NONBLOCK == 0, e1, fl, fl2)
		unix.Close(d)
	} else {
		check("dup", false, err)
	}

	e1 = unix.IoctlSetInt(w, fionclex, 0)
	fd1, f1 := unix.FcntlInt(uintptr(w), unix.F_GETFD, 0)
	e2 = unix.IoctlSetInt(w, fioclex, 0)
	fd2, f2 := unix.FcntlInt(uintptr(w), unix.F_GETFD, 0)
	check("FIONCLEX clears FD_CLOEXEC, FIOCLEX sets it", e1 == nil && e2 == nil && f1 == nil && f2 == nil &&
		fd1&unix.FD_CLOEXEC == 0 && fd2&unix.FD_CLOEXEC != 0, e1, fd1, f1, e2, fd2, f2)
}
