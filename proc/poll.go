package proc

import (
	"encoding/binary"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
)

// select(2), pselect6(2), poll(2) and ppoll(2): each waits, as
// epoll_pwait does, until a file it names is ready, its timeout passes or
// a signal comes. A file epoll refuses (a regular file, a directory) is
// always ready for reading and writing, as Linux's. The signal masks of
// pselect6 and ppoll are not used, as epoll_pwait's are not.

// eventsOf returns the poll events fd has now; ok is false if fd is not
// open.
func (p *Process) eventsOf(fd int) (ev uint32, ok bool) {
	e, ok := p.fileAt(fd)
	if !ok {
		return 0, false
	}
	if !e.f.pollable() {
		return unix.EPOLLIN | unix.EPOLLOUT, true
	}
	ev, _ = e.f.ready()
	return ev, true
}

// waitReady calls scan until it reports ready files (n > 0) or an error,
// the timeout passes (d < 0: none; 0: scan once) or a signal comes
// (EINTR). It returns scan's count, or 0 at the timeout, and the time
// left.
func waitReady(t *Thread, d time.Duration, scan func() (int, syscall.Errno)) (int, time.Duration, syscall.Errno) {
	var deadline <-chan time.Time
	end := time.Now().Add(d)
	if d > 0 {
		tm := time.NewTimer(d)
		defer tm.Stop()
		deadline = tm.C
	}
	left := func() time.Duration { return max(time.Until(end), 0) }
	for {
		wake := changed()
		n, e := scan()
		if e != 0 || n > 0 || d == 0 {
			return n, left(), e
		}
		select {
		case <-wake:
		case <-deadline:
			return 0, 0, 0
		case <-t.cancelled():
			return 0, left(), syscall.EINTR
		}
	}
}

// fdSets are select's three descriptor sets, nil where not given.
type fdSets struct {
	addr [3]uint64
	in   [3][]byte
}

// sysSelect is select(2): its timeout a struct timeval, written back
// with the time left, as Linux does.
func sysSelect(t *Thread, r *amd64.Frame) int64 {
	return doSelect(t, r, r.R8, false)
}

// sysPselect6 is pselect6(2): its timeout a struct timespec, written
// back with the time left, as Linux's system call does.
func sysPselect6(t *Thread, r *amd64.Frame) int64 {
	return doSelect(t, r, r.R8, true)
}

func doSelect(t *Thread, r *amd64.Frame, tva uint64, spec bool) int64 {
	p := t.p
	nfds := int(int32(r.RDI))
	if nfds < 0 {
		return errno(syscall.EINVAL)
	}
	nfds = min(nfds, maxFDs) // no descriptor is past the table, as Linux clamps
	d := time.Duration(-1)
	if tva != 0 {
		var e syscall.Errno
		if d, e = p.readTime(tva, spec); e != 0 {
			return errno(e)
		}
	}
	var s fdSets
	size := uint64((nfds + 63) / 64 * 8)
	for i, a := range []uint64{r.RSI, r.RDX, r.R10} {
		if a == 0 || size == 0 {
			continue
		}
		b, err := p.space.CopyIn(a, size)
		if err != nil {
			return errno(syscall.EFAULT)
		}
		s.addr[i], s.in[i] = a, b
	}
	// The events each set asks about, as Linux's POLLIN_SET and
	// POLLOUT_SET (a hang-up or an error reads; an error writes).
	masks := [3]uint32{unix.EPOLLIN | unix.EPOLLHUP | unix.EPOLLERR, unix.EPOLLOUT | unix.EPOLLERR, unix.EPOLLPRI}
	var out [3][]byte
	scan := func() (int, syscall.Errno) {
		n := 0
		for i := range out {
			if s.in[i] != nil {
				out[i] = make([]byte, len(s.in[i]))
			}
		}
		for fd := range nfds {
			asked := false
			for i := range s.in {
				asked = asked || s.in[i] != nil && s.in[i][fd/8]&(1<<(fd%8)) != 0
			}
			if !asked {
				continue
			}
			ev, ok := p.eventsOf(fd)
			if !ok {
				return 0, syscall.EBADF
			}
			for i := range s.in {
				if s.in[i] != nil && s.in[i][fd/8]&(1<<(fd%8)) != 0 && ev&masks[i] != 0 {
					out[i][fd/8] |= 1 << (fd % 8)
					n++
				}
			}
		}
		return n, 0
	}
	n, left, e := waitReady(t, d, scan)
	if e != 0 && e != syscall.EINTR {
		return errno(e)
	}
	if tva != 0 {
		unit := time.Microsecond
		if spec {
			unit = time.Nanosecond
		}
		// A timeout that cannot be written back is left as it was, as
		// Linux's (read-only memory, say).
		p.space.CopyOut(tva, timespecBytes(int64(left/time.Second), int64(left%time.Second/unit)))
	}
	if e == syscall.EINTR {
		return errno(e)
	}
	for i := range s.in {
		if s.in[i] == nil {
			continue
		}
		if out[i] == nil { // a timeout with nothing ready: every set empty
			out[i] = make([]byte, len(s.in[i]))
		}
		if p.space.CopyOut(s.addr[i], out[i]) != nil {
			return errno(syscall.EFAULT)
		}
	}
	return int64(n)
}

// readTime reads a struct timespec (spec) or timeval at va.
func (p *Process) readTime(va uint64, spec bool) (time.Duration, syscall.Errno) {
	if spec {
		return p.readTimespec(va)
	}
	b, err := p.space.CopyIn(va, 16)
	if err != nil {
		return 0, syscall.EFAULT
	}
	sec, usec := int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || usec < 0 {
		return 0, syscall.EINVAL
	}
	sec, usec = sec+usec/1e6, usec%1e6 // a million microseconds and more, normalised as Linux's
	if sec >= int64(1<<63-1)/1e9-1 {
		return 1<<63 - 1, 0
	}
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, 0
}

// pollfdSize is struct pollfd's: int fd, short events, short revents.
const pollfdSize = 8

// sysPoll is poll(2): the timeout in milliseconds (negative: none).
func sysPoll(t *Thread, r *amd64.Frame) int64 {
	d := time.Duration(-1)
	if ms := int(int32(r.RDX)); ms >= 0 {
		d = time.Duration(ms) * time.Millisecond
	}
	return doPoll(t, r.RDI, r.RSI, d)
}

// sysPpoll is ppoll(2): the timeout a struct timespec (null: none).
func sysPpoll(t *Thread, r *amd64.Frame) int64 {
	d := time.Duration(-1)
	if r.RDX != 0 {
		var e syscall.Errno
		if d, e = t.p.readTimespec(r.RDX); e != 0 {
			return errno(e)
		}
	}
	return doPoll(t, r.RDI, r.RSI, d)
}

// doPoll fills each pollfd's revents: what it asked for and has, and
// POLLHUP and POLLERR always; POLLNVAL for a descriptor not open; none
// for a negative one. It returns how many have events.
func doPoll(t *Thread, fds, nfds uint64, d time.Duration) int64 {
	p := t.p
	if nfds > maxFDs {
		return errno(syscall.EINVAL)
	}
	in, err := p.space.CopyIn(fds, nfds*pollfdSize)
	if err != nil {
		return errno(syscall.EFAULT)
	}
	out := make([]byte, len(in))
	scan := func() (int, syscall.Errno) {
		copy(out, in)
		n := 0
		for i := 0; i < len(in); i += pollfdSize {
			fd := int(int32(binary.LittleEndian.Uint32(in[i:])))
			asked := uint32(binary.LittleEndian.Uint16(in[i+4:]))
			var got uint32
			if fd >= 0 {
				ev, ok := p.eventsOf(fd)
				if !ok {
					got = unix.POLLNVAL
				} else {
					got = ev & (asked | unix.POLLHUP | unix.POLLERR)
				}
			}
			binary.LittleEndian.PutUint16(out[i+6:], uint16(got))
			if got != 0 {
				n++
			}
		}
		return n, 0
	}
	n, _, e := waitReady(t, d, scan)
	if e != 0 {
		return errno(e)
	}
	if p.space.CopyOut(fds, out) != nil {
		return errno(syscall.EFAULT)
	}
	return int64(n)
}
