package proc

import (
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
	"gofly/xio"
)

// A pipe carries bytes from its write end to its read end in order, as a
// queue of segments: bytes a write copied into the pipe's ring, or pages
// a large write lent (an XIO page list, xio.List: the writer's own pages,
// copy-on-write, so the writer neither copies them nor waits for the
// reader, and the reader copies from them once). Its capacity, lent and
// copied bytes alike, is Linux's: 64 KiB, F_SETPIPE_SZ up to 1 MiB. Each end counts the
// descriptors that refer to it, in every process: a reader sees end of
// file once no writer is left, a writer gets EPIPE (and SIGPIPE) once no
// reader is, and the last reader's going gives back every lent page.
//
// The lock (mu) guards every field, and is held across a read's or a
// write's copies, as Linux holds its pipe mutex: a read or a write of
// PIPE_BUF bytes or fewer is never interleaved with another.
type pipe struct {
	mu               sync.Mutex
	capacity         int    // bytes it holds before a writer waits (F_SETPIPE_SZ)
	ring             []byte // capacity bytes once a write copies
	head, used       int    // the ring's oldest byte, and how many it holds
	segs             []segment
	queued           int // bytes waiting: the ring's and the loans'
	readers, writers int
	changes          uint64 // reads, writes and ends gone (epoll's edges)
	// rOpens and wOpens count a named pipe's opens for reading and for
	// writing: an open waiting for the other end sees one come.
	rOpens, wOpens uint64
	// Lending adapts to the writer: a lent page the writer writes again
	// before the reader is done with it costs the writer a copy-on-write
	// fault, several times the copy the loan saved (7 µs against 0.8
	// under TCG at -smp 1, more when the fault's shootdown must reach the
	// reader's CPU). So once a loan comes back with pages the writer no
	// longer maps (settled), the next noLend pages written are copied;
	// each such loan doubles the stretch (lendBackoff, up to
	// lendBackoffMax), and a loan that comes back whole ends it.
	noLend, lendBackoff int // pages
}

// segment is a run of a pipe's bytes: the next n of its ring, or a loan's
// bytes from off on.
type segment struct {
	loan *xio.List
	off  int
	n    int
}

const (
	// pipeCap is a new pipe's capacity (Linux's default, 16 pages).
	pipeCap = 64 << 10
	// pipeMax is the largest F_SETPIPE_SZ takes (Linux's
	// /proc/sys/fs/pipe-max-size). Linux lets a privileged process past
	// it; Gofly does not, as the ring is kernel memory.
	pipeMax = 1 << 20
	// pipeBuf is PIPE_BUF: a write of this many bytes or fewer goes in
	// whole or waits.
	pipeBuf = 4096
	// loanMin is the smallest write that lends its whole pages rather
	// than copying them: below it, the loan's trap and the page faults
	// the writer takes when it reuses its buffer cost more than a copy.
	loanMin = 64 << 10
	// lendBackoffMin and lendBackoffMax bound the pages copied after a
	// loan the writer broke (pipe.noLend): at most, one probing loan of
	// a writer that always rewrites its buffer costs it about 5% of the
	// time it spends copying in between.
	lendBackoffMin = 256
	lendBackoffMax = 64 << 20 / xio.PageSize
)

// PipeLoans says whether large pipe writes lend their pages (the bench
// turns it off to measure copying beside it).
var PipeLoans atomic.Bool

// loanStats counts the pages large pipe writes lent, those of them their
// writer wrote or unmapped while they were lent (settled), and the pages
// of large writes copied because of such a loan (noLend).
var loanStats struct{ lent, broken, heldBack atomic.Uint64 }

// PipeLoanStats returns loanStats' counts, for the shell's mem.
func PipeLoanStats() (lent, broken, heldBack uint64) {
	return loanStats.lent.Load(), loanStats.broken.Load(), loanStats.heldBack.Load()
}

func init() { PipeLoans.Store(true) }

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
	p := e.p
	p.mu.Lock()
	last := false
	if e.writer {
		p.writers--
		last = p.writers == 0
	} else if p.readers--; p.readers == 0 {
		last = true
		for _, s := range p.segs { // nobody can read them now
			if s.loan != nil {
				s.loan.Release()
			}
		}
		p.segs, p.ring, p.head, p.used, p.queued = nil, nil, 0, 0, 0
	}
	if last { // the other end's readiness changed: end of file, or EPIPE
		p.changes++
	}
	p.mu.Unlock()
	if last {
		notify()
	}
}

func (e *pipeEnd) read(t *Thread, buf, n uint64, nonblock bool) int64 {
	if e.writer {
		return errno(syscall.EBADF)
	}
	if n == 0 {
		return 0
	}
	// The call holds its end, as Linux's holds its file: a close meanwhile
	// in another thread ends the end only when the call returns.
	e.hold()
	defer e.release()
	p := e.p
	for {
		wake := changed()
		p.mu.Lock()
		if p.queued > 0 {
			got, err := p.take(t.p.space, buf, int(min(n, maxRW)))
			p.mu.Unlock()
			notify()
			if got == 0 && err != nil {
				return errno(syscall.EFAULT)
			}
			return int64(got)
		}
		eof := p.writers == 0
		p.mu.Unlock()
		if eof {
			return 0
		}
		if r := block(t, wake, nonblock); r != 0 {
			return r
		}
	}
}

// take copies up to n queued bytes to va in s, oldest first, and returns
// how many; a bad page of va ends the copy there. The caller holds mu.
func (p *pipe) take(s *Space, va uint64, n int) (got int, err error) {
	for got < n && len(p.segs) > 0 && err == nil {
		g := &p.segs[0]
		k := 0
		if g.loan != nil {
			frames, off, ferr := g.loan.Frames(g.off)
			if ferr != nil {
				panic(ferr) // a segment is dropped once its last byte is read
			}
			k, err = s.CopyOutFrames(va+uint64(got), frames, off, min(n-got, g.loan.Bytes()-g.off))
			if g.off += k; g.off == g.loan.Bytes() {
				g.loan.Release()
				p.segs = p.segs[1:]
			}
		} else {
			for k < min(n-got, g.n) && err == nil {
				at := (p.head + k) % len(p.ring)
				c := 0
				c, err = s.CopyOutPart(va+uint64(got+k), p.ring[at:min(len(p.ring), at+min(n-got, g.n)-k)])
				k += c
			}
			p.head, p.used = (p.head+k)%len(p.ring), p.used-k
			if g.n -= k; g.n == 0 {
				p.segs = p.segs[1:]
			}
		}
		got += k
		p.queued -= k
		p.changes++
	}
	return got, err
}

func (e *pipeEnd) write(t *Thread, buf, n uint64, nonblock bool) int64 {
	return e.send(t, buf, n, nonblock, true)
}

// readerGone reports whether e's pipe has no reader left.
func (e *pipeEnd) readerGone() bool {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	return e.p.readers == 0
}

// send is write, and a socket's send: sigpipe false (MSG_NOSIGNAL) makes
// a write with no reader left EPIPE alone.
func (e *pipeEnd) send(t *Thread, buf, n uint64, nonblock, sigpipe bool) int64 {
	if !e.writer {
		return errno(syscall.EBADF)
	}
	e.hold() // as read's
	defer e.release()
	p := e.p
	need := uint64(1) // bytes of room a write waits for
	if n <= pipeBuf {
		need = n
	}
	lend := n >= loanMin && PipeLoans.Load()
	var done uint64
	for done < n {
		wake := changed()
		p.mu.Lock()
		if p.readers == 0 {
			p.mu.Unlock()
			if sigpipe {
				t.p.signal(int(syscall.SIGPIPE), t)
			}
			if done > 0 {
				return int64(done)
			}
			return errno(syscall.EPIPE)
		}
		room := p.room()
		if room < need {
			p.mu.Unlock()
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
		k, err := p.put(t.p.space, buf+done, min(room, n-done), lend)
		p.mu.Unlock()
		if k == 0 && err == nil { // no page lent, and the ring is full
			if nonblock {
				if done > 0 {
					return int64(done)
				}
				return errno(syscall.EAGAIN)
			}
			if r := block(t, wake, false); r != 0 {
				if done > 0 {
					return int64(done)
				}
				return r
			}
			continue
		}
		notify()
		done += k
		if err != nil {
			if done > 0 {
				return int64(done)
			}
			return errno(syscall.EFAULT)
		}
	}
	return int64(done)
}

// room returns how many bytes a write may queue now. The caller holds
// mu.
func (p *pipe) room() uint64 { return uint64(p.capacity - p.queued) }

// resize is F_SETPIPE_SZ: the capacity rounded up to a power of two
// pages, as Linux; EPERM past pipeMax, EBUSY below what the pipe holds.
// It returns the new capacity.
func (p *pipe) resize(size uint64) int64 {
	if size > pipeMax {
		return errno(syscall.EPERM)
	}
	c := xio.PageSize
	for uint64(c) < size {
		c *= 2
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c < p.queued {
		return errno(syscall.EBUSY)
	}
	if p.ring != nil && c != len(p.ring) { // the held bytes, from the new ring's start
		ring := make([]byte, c)
		n := copy(ring, p.ring[p.head:min(len(p.ring), p.head+p.used)])
		copy(ring[n:], p.ring[:p.used-n])
		p.ring, p.head = ring, 0
	}
	p.capacity = c
	p.changes++
	return int64(c)
}

// put queues up to n bytes from va in s, n within the room left (room):
// whole pages lent when lend says so and va is page-aligned, copied into
// the ring otherwise, as many as its room takes (up to the next page
// boundary only, when lending, so that the rest can be lent). It returns
// how many it queued, 0 when it lent nothing and the ring is full; a bad
// page of va ends the copy there. The caller holds mu.
func (p *pipe) put(s *Space, va, n uint64, lend bool) (uint64, error) {
	const page = xio.PageSize
	if lend && p.noLend > 0 {
		lend = false // the writer broke a recent loan: copy for now
		k := int(min(n/page, uint64(p.noLend)))
		p.noLend -= k
		loanStats.heldBack.Add(uint64(k))
	}
	if lend && va%page == 0 && n >= page {
		if l := s.Loan(va, int(n/page), p.settled); l != nil {
			loanStats.lent.Add(uint64(l.Bytes() / page))
			p.segs = append(p.segs, segment{loan: l})
			p.queued += l.Bytes()
			p.changes++
			return uint64(l.Bytes()), nil
		}
	} else if lend && va%page != 0 {
		n = min(n, page-va%page)
	}
	if p.ring == nil {
		p.ring = make([]byte, p.capacity)
	}
	n = min(n, uint64(len(p.ring)-p.used))
	var k uint64
	for k < n {
		at := (p.head + p.used) % len(p.ring)
		c, err := s.CopyInPart(va+k, p.ring[at:min(len(p.ring), at+int(n-k))])
		if c > 0 {
			p.used += c
			p.queued += c
			p.changes++
			if last := len(p.segs) - 1; last >= 0 && p.segs[last].loan == nil {
				p.segs[last].n += c
			} else {
				p.segs = append(p.segs, segment{n: c})
			}
			k += uint64(c)
		}
		if err != nil {
			return k, err
		}
	}
	return k, nil
}

// settled learns what became of a loan's pages when it is given back:
// kept, still the writer's; broken, written by the writer (copied, at a
// fault) or unmapped. See noLend. Every release of a loan holds mu.
func (p *pipe) settled(kept, broken int) {
	loanStats.broken.Add(uint64(broken))
	if broken == 0 {
		p.lendBackoff, p.noLend = 0, 0
		return
	}
	p.lendBackoff = min(max(2*p.lendBackoff, lendBackoffMin), lendBackoffMax)
	p.noLend = p.lendBackoff
}

func (e *pipeEnd) pollable() bool { return true }
func (*pipeEnd) mode() uint32     { return unix.S_IFIFO | 0o600 }

func (e *pipeEnd) ready() (uint32, uint64) {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	var ev uint32
	if e.writer {
		if e.p.room() >= pipeBuf { // as Linux: a whole page's slot free
			ev |= unix.EPOLLOUT
		}
		if e.p.readers == 0 {
			ev |= unix.EPOLLERR
		}
		return ev, e.p.changes
	}
	if e.p.queued > 0 {
		ev |= unix.EPOLLIN
	}
	if e.p.writers == 0 {
		ev |= unix.EPOLLHUP
	}
	return ev, e.p.changes
}

// sysSplice is splice(2): EBADF for a descriptor not open, else EINVAL,
// as Linux answers for files whose file system has no splice support —
// none here moves pages between a pipe and another file yet. Callers
// such as Go's os and net then copy through read and write.
func sysSplice(t *Thread, r *amd64.Frame) int64 {
	if _, ok := t.p.fileAt(int(int32(r.RDI))); !ok {
		return errno(syscall.EBADF)
	}
	if _, ok := t.p.fileAt(int(int32(r.RDX))); !ok {
		return errno(syscall.EBADF)
	}
	return errno(syscall.EINVAL)
}

// sysPipe2 makes a pipe: fds[0] reads, fds[1] writes.
func sysPipe2(t *Thread, r *amd64.Frame) int64 {
	fds, flags := r.RDI, int(int32(r.RSI))
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK) != 0 {
		return errno(syscall.EINVAL)
	}
	p := &pipe{readers: 1, writers: 1, capacity: pipeCap}
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
