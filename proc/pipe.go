package proc

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
)

// A pipe copies bytes through a kernel buffer from its write end to its
// read end (issue 11 replaces the copies with XIO page lists). Each end
// counts the descriptors that refer to it, in every process: a reader
// sees end of file once no writer is left, a writer gets EPIPE (and
// SIGPIPE) once no reader is.
type pipe struct {
	mu               sync.Mutex
	buf              []byte
	readers, writers int
}

// pipeCap is how many bytes a pipe holds before a writer waits (Linux's
// default, 16 pages).
const pipeCap = 64 << 10

// pipeEnd is one end of a pipe, as a file.
type pipeEnd struct {
	p      *pipe
	writer bool
}

func (e *pipeEnd) hold() {
	e.p.mu.Lock()
	if e.writer {
		e.p.writers++
	} else {
		e.p.readers++
	}
	e.p.mu.Unlock()
}

func (e *pipeEnd) release() {
	e.p.mu.Lock()
	if e.writer {
		e.p.writers--
	} else {
		e.p.readers--
	}
	e.p.mu.Unlock()
	notify()
}

func (e *pipeEnd) read(t *Thread, buf, n uint64, nonblock bool) int64 {
	if e.writer {
		return errno(syscall.EBADF)
	}
	if n == 0 {
		return 0
	}
	for {
		wake := changed()
		e.p.mu.Lock()
		if len(e.p.buf) > 0 {
			k := min(n, uint64(len(e.p.buf)))
			b := append([]byte(nil), e.p.buf[:k]...)
			e.p.buf = e.p.buf[k:]
			e.p.mu.Unlock()
			notify()
			if t.p.space.CopyOut(buf, b) != nil {
				return errno(syscall.EFAULT)
			}
			return int64(k)
		}
		eof := e.p.writers == 0
		e.p.mu.Unlock()
		if eof {
			return 0
		}
		if r := block(t, wake, nonblock); r != 0 {
			return r
		}
	}
}

func (e *pipeEnd) write(t *Thread, buf, n uint64, nonblock bool) int64 {
	if !e.writer {
		return errno(syscall.EBADF)
	}
	var done uint64
	for done < n {
		wake := changed()
		e.p.mu.Lock()
		if e.p.readers == 0 {
			e.p.mu.Unlock()
			t.p.signal(int(syscall.SIGPIPE), t)
			if done > 0 {
				return int64(done)
			}
			return errno(syscall.EPIPE)
		}
		room := uint64(pipeCap - len(e.p.buf))
		e.p.mu.Unlock()
		if room == 0 {
			if done > 0 && nonblock {
				return int64(done)
			}
			if r := block(t, wake, nonblock); r != 0 {
				if done > 0 {
					return int64(done)
				}
				return r
			}
			continue
		}
		k := min(room, n-done)
		b, err := t.p.space.CopyIn(buf+done, k)
		if err != nil {
			if done > 0 {
				return int64(done)
			}
			return errno(syscall.EFAULT)
		}
		e.p.mu.Lock()
		e.p.buf = append(e.p.buf, b...)
		e.p.mu.Unlock()
		notify()
		done += k
	}
	return int64(done)
}

func (e *pipeEnd) pollable() bool { return true }
func (*pipeEnd) mode() uint32     { return unix.S_IFIFO | 0o600 }

func (e *pipeEnd) ready() uint32 {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	var ev uint32
	if e.writer {
		if len(e.p.buf) < pipeCap {
			ev |= unix.EPOLLOUT
		}
		if e.p.readers == 0 {
			ev |= unix.EPOLLERR
		}
		return ev
	}
	if len(e.p.buf) > 0 {
		ev |= unix.EPOLLIN
	}
	if e.p.writers == 0 {
		ev |= unix.EPOLLHUP
	}
	return ev
}

// sysPipe2 makes a pipe: fds[0] reads, fds[1] writes.
func sysPipe2(t *Thread, r *amd64.Frame) int64 {
	fds, flags := r.RDI, int(int32(r.RSI))
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK) != 0 {
		return errno(syscall.EINVAL)
	}
	p := &pipe{readers: 1, writers: 1}
	cloexec, nonblock := flags&unix.O_CLOEXEC != 0, flags&unix.O_NONBLOCK != 0
	rfd := t.p.install(&pipeEnd{p: p}, cloexec, nonblock)
	if rfd < 0 {
		return rfd
	}
	wfd := t.p.install(&pipeEnd{p: p, writer: true}, cloexec, nonblock)
	if wfd < 0 {
		t.p.closeFD(int(rfd))
		return wfd
	}
	out := make([]byte, 8)
	out[0], out[1], out[2], out[3] = byte(rfd), byte(rfd>>8), byte(rfd>>16), byte(rfd>>24)
	out[4], out[5], out[6], out[7] = byte(wfd), byte(wfd>>8), byte(wfd>>16), byte(wfd>>24)
	if t.p.space.CopyOut(fds, out) != nil {
		t.p.closeFD(int(rfd))
		t.p.closeFD(int(wfd))
		return errno(syscall.EFAULT)
	}
	return 0
}
