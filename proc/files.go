package proc

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
)

// A process's descriptors: a table of open files, each an object with the
// operations it supports. There are no files on disk yet: the console
// (0, 1 and 2 at start), eventfds and epoll instances, which is what the
// Go runtime's netpoller needs for its timers.
type file interface {
	// read and write move n bytes at user address buf; nonblock is the
	// descriptor's O_NONBLOCK.
	read(t *Thread, buf, n uint64, nonblock bool) int64
	write(t *Thread, buf, n uint64, nonblock bool) int64
	// pollable is false for a file epoll refuses (EPERM), as Linux
	// refuses regular files; ready returns the poll events (EPOLLIN,
	// EPOLLOUT) a pollable one has now, and how many times its state has
	// changed (an edge-triggered watch reports each change that leaves
	// it ready, as Linux's wakeups do, not only a gained event).
	pollable() bool
	ready() (events uint32, changes uint64)
	// hold counts one more descriptor for the file (dup, fork), release
	// one fewer (close, exec's close-on-exec, the process's end).
	hold()
	release()
	// mode is fstat's st_mode for it.
	mode() uint32
}

// fdEntry is one descriptor: the file and its close-on-exec flag.
type fdEntry struct {
	f       file
	cloexec bool
	// nonblock is O_NONBLOCK, F_GETFL/F_SETFL's status flag, which
	// belongs to the open file: shared by its duplicates (dup, fork).
	nonblock *atomic.Bool
}

// maxFDs is RLIMIT_NOFILE's soft value (sysPrlimit64): descriptors are
// below it.
const maxFDs = 1024

// fileAt returns the file at fd, under p.mu.
func (p *Process) fileAt(fd int) (*fdEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.fds[fd]
	return e, ok
}

// closeFD closes fd; false if it was not open.
func (p *Process) closeFD(fd int) bool {
	p.mu.Lock()
	e, ok := p.fds[fd]
	delete(p.fds, fd)
	p.mu.Unlock()
	if ok {
		e.f.release()
	}
	return ok
}

// closeAll closes every descriptor (the process's end), or only the
// close-on-exec ones (execve).
func (p *Process) closeAll(onlyCloexec bool) {
	p.mu.Lock()
	var gone []file
	for fd, e := range p.fds {
		if !onlyCloexec || e.cloexec {
			gone = append(gone, e.f)
			delete(p.fds, fd)
		}
	}
	p.mu.Unlock()
	for _, f := range gone {
		f.release()
	}
}

// fdFree reports whether a descriptor is free (openat checks before it
// makes or truncates anything).
func (p *Process) fdFree() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.fds) < maxFDs
}

// install puts f, newly opened (its descriptor count already counts
// this one), at the lowest free descriptor; EMFILE when none is.
func (p *Process) install(f file, cloexec, nonblock bool) int64 {
	st := new(atomic.Bool)
	st.Store(nonblock)
	return p.installFrom(0, &fdEntry{f: f, cloexec: cloexec, nonblock: st})
}

// installFrom puts e at the lowest free descriptor from first; EMFILE
// when none is.
func (p *Process) installFrom(first int, e *fdEntry) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for fd := first; fd < maxFDs; fd++ {
		if _, taken := p.fds[fd]; !taken {
			p.fds[fd] = e
			return int64(fd)
		}
	}
	return errno(syscall.EMFILE)
}

// pollChanged is closed (and replaced) whenever any file's readiness
// changes, waking every blocked read, write and epoll wait, in every
// process, to look again: files (pipes) are shared between processes,
// and there are few. pollMu guards it; it is taken after any other lock.
var (
	pollMu      sync.Mutex
	pollChanged = make(chan struct{})
)

// notify wakes everything waiting on a file: a file's readiness changed.
func notify() {
	pollMu.Lock()
	close(pollChanged)
	pollChanged = make(chan struct{})
	pollMu.Unlock()
}

// changed returns the channel the next notify closes: take it before
// looking at a file, then wait on it.
func changed() <-chan struct{} {
	pollMu.Lock()
	defer pollMu.Unlock()
	return pollChanged
}

func sysRead(t *Thread, r *amd64.Frame) int64 {
	e, ok := t.p.fileAt(int(int32(r.RDI)))
	if !ok {
		return errno(syscall.EBADF)
	}
	return e.f.read(t, r.RSI, min(r.RDX, maxRW), e.nonblock.Load())
}

// maxRW is the most one read or write moves (Linux's MAX_RW_COUNT).
const maxRW = 0x7FFFF000

func sysWrite(t *Thread, r *amd64.Frame) int64 {
	e, ok := t.p.fileAt(int(int32(r.RDI)))
	if !ok {
		return errno(syscall.EBADF)
	}
	buf, n := r.RSI, min(r.RDX, maxRW)
	if buf+n < buf || buf+n > userMax { // Linux's access_ok on the whole buffer
		return errno(syscall.EFAULT)
	}
	return e.f.write(t, buf, n, e.nonblock.Load())
}

func sysClose(t *Thread, r *amd64.Frame) int64 {
	if !t.p.closeFD(int(int32(r.RDI))) {
		return errno(syscall.EBADF)
	}
	return 0
}

// sysCloseRange is close_range(2): every descriptor in [first, last]
// closed, or with CLOSE_RANGE_CLOEXEC marked close-on-exec; EINVAL for
// other flags or first > last. (CLOSE_RANGE_UNSHARE asks for a table of
// its own, which every process here already has.)
func sysCloseRange(t *Thread, r *amd64.Frame) int64 {
	first, last, flags := uint32(r.RDI), uint32(r.RSI), uint32(r.RDX)
	if flags&^(unix.CLOSE_RANGE_CLOEXEC|unix.CLOSE_RANGE_UNSHARE) != 0 || first > last {
		return errno(syscall.EINVAL)
	}
	p := t.p
	p.mu.Lock()
	var gone []file
	for fd, e := range p.fds {
		if uint32(fd) < first || uint32(fd) > last {
			continue
		}
		if flags&unix.CLOSE_RANGE_CLOEXEC != 0 {
			e.cloexec = true
			continue
		}
		gone = append(gone, e.f)
		delete(p.fds, fd)
	}
	p.mu.Unlock()
	for _, f := range gone {
		f.release()
	}
	return 0
}

// sysDup serves dup, dup2 and dup3 (by number): the same file at the
// lowest free descriptor, or at newfd (closing what was there).
// dupFrom is fcntl's F_DUPFD and F_DUPFD_CLOEXEC: a duplicate of fd at
// the lowest free descriptor from first (EINVAL past the limit, as
// Linux's RLIMIT_NOFILE check).
func (p *Process) dupFrom(fd, first int, cloexec bool) int64 {
	if first < 0 || first >= maxFDs {
		return errno(syscall.EINVAL)
	}
	p.mu.Lock()
	e, ok := p.fds[fd]
	if ok {
		e.f.hold()
	}
	p.mu.Unlock()
	if !ok {
		return errno(syscall.EBADF)
	}
	nfd := p.installFrom(first, &fdEntry{f: e.f, cloexec: cloexec, nonblock: e.nonblock})
	if nfd < 0 {
		e.f.release()
	}
	return nfd
}

func sysDup(t *Thread, r *amd64.Frame) int64 {
	oldfd := int(int32(r.RDI))
	p := t.p
	p.mu.Lock()
	e, ok := p.fds[oldfd]
	if ok {
		e.f.hold() // before a close can drop the file's last reference
	}
	p.mu.Unlock()
	if !ok {
		return errno(syscall.EBADF)
	}
	if r.RAX == syscall.SYS_DUP {
		fd := p.installFrom(0, &fdEntry{f: e.f, nonblock: e.nonblock})
		if fd < 0 {
			e.f.release()
		}
		return fd
	}
	newfd, flags := int(int32(r.RSI)), 0
	if r.RAX == syscall.SYS_DUP3 {
		flags = int(int32(r.RDX))
		if newfd == oldfd || flags&^unix.O_CLOEXEC != 0 {
			e.f.release()
			return errno(syscall.EINVAL)
		}
	}
	if newfd < 0 || newfd >= maxFDs {
		e.f.release()
		return errno(syscall.EBADF)
	}
	if newfd == oldfd { // dup2 of a descriptor onto itself
		e.f.release()
		return int64(newfd)
	}
	p.mu.Lock()
	old, had := p.fds[newfd]
	p.fds[newfd] = &fdEntry{f: e.f, cloexec: flags&unix.O_CLOEXEC != 0, nonblock: e.nonblock}
	p.mu.Unlock()
	if had {
		old.f.release()
	}
	return int64(newfd)
}

func sysFcntl(t *Thread, r *amd64.Frame) int64 {
	fd := int(int32(r.RDI))
	p := t.p
	if r.RSI == syscall.F_DUPFD || r.RSI == unix.F_DUPFD_CLOEXEC {
		return p.dupFrom(fd, int(int32(r.RDX)), r.RSI == unix.F_DUPFD_CLOEXEC)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.fds[fd]
	if !ok {
		return errno(syscall.EBADF)
	}
	switch r.RSI {
	case syscall.F_GETFD:
		if e.cloexec {
			return syscall.FD_CLOEXEC
		}
		return 0
	case syscall.F_SETFD:
		e.cloexec = r.RDX&syscall.FD_CLOEXEC != 0
		return 0
	case syscall.F_GETFL:
		fl := syscall.O_RDWR
		switch f := e.f.(type) {
		case *openFile:
			fl = f.access
			if f.append {
				fl |= syscall.O_APPEND
			}
		case *pipeEnd:
			fl = syscall.O_RDONLY
			if f.writer {
				fl = syscall.O_WRONLY
			}
		}
		if e.nonblock.Load() {
			fl |= syscall.O_NONBLOCK
		}
		return int64(fl)
	case syscall.F_SETFL:
		e.nonblock.Store(r.RDX&syscall.O_NONBLOCK != 0)
		return 0
	case unix.F_GETPIPE_SZ, unix.F_SETPIPE_SZ:
		pe, ok := e.f.(*pipeEnd)
		if !ok {
			return errno(syscall.EBADF) // as Linux: not a pipe
		}
		if r.RSI == unix.F_SETPIPE_SZ {
			return pe.p.resize(uint64(uint32(r.RDX)))
		}
		pe.p.mu.Lock()
		defer pe.p.mu.Unlock()
		return int64(pe.p.capacity)
	}
	return errno(syscall.EINVAL)
}

// eventFD is eventfd(2): a 64-bit counter. Guarded by its process's mu.
type eventFD struct {
	p         *Process
	count     uint64
	semaphore bool
	changes   uint64 // reads and writes (epoll's edges)
}

const eventMax = ^uint64(0) - 1 // the largest count (0xfffffffffffffffe)

func sysEventfd2(t *Thread, r *amd64.Frame) int64 {
	flags := int(int32(r.RSI))
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|unix.EFD_SEMAPHORE) != 0 {
		return errno(syscall.EINVAL)
	}
	f := &eventFD{p: t.p, count: uint64(uint32(r.RDI)), semaphore: flags&unix.EFD_SEMAPHORE != 0}
	return t.p.install(f, flags&unix.EFD_CLOEXEC != 0, flags&unix.EFD_NONBLOCK != 0)
}

// read takes the count (or 1, as a semaphore); an empty counter blocks,
// or is EAGAIN for a non-blocking descriptor.
func (f *eventFD) read(t *Thread, buf, n uint64, nonblock bool) int64 {
	if n < 8 {
		return errno(syscall.EINVAL)
	}
	for {
		wake := changed()
		f.p.mu.Lock()
		v := f.count
		if v > 0 {
			if f.semaphore {
				v = 1
			}
			f.count -= v
			f.changes++
			f.p.mu.Unlock()
			notify()
			if t.p.space.CopyOut(buf, binary.LittleEndian.AppendUint64(nil, v)) != nil {
				return errno(syscall.EFAULT)
			}
			return 8
		}
		f.p.mu.Unlock()
		if r := block(t, wake, nonblock); r != 0 {
			return r
		}
	}
}

// write adds to the count; one that would pass eventMax blocks, or is
// EAGAIN for a non-blocking descriptor.
func (f *eventFD) write(t *Thread, buf, n uint64, nonblock bool) int64 {
	if n < 8 {
		return errno(syscall.EINVAL)
	}
	b, err := t.p.space.CopyIn(buf, 8)
	if err != nil {
		return errno(syscall.EFAULT)
	}
	v := binary.LittleEndian.Uint64(b)
	if v == ^uint64(0) {
		return errno(syscall.EINVAL)
	}
	for {
		wake := changed()
		f.p.mu.Lock()
		if eventMax-f.count >= v {
			f.count += v
			f.changes++
			f.p.mu.Unlock()
			notify()
			return 8
		}
		f.p.mu.Unlock()
		if r := block(t, wake, nonblock); r != 0 {
			return r
		}
	}
}

// block waits for a change of the process's files (wake): EAGAIN at once
// for a non-blocking descriptor, EINTR at the process's end.
func block(t *Thread, wake <-chan struct{}, nonblock bool) int64 {
	if nonblock {
		return errno(syscall.EAGAIN)
	}
	select {
	case <-wake:
		return 0
	case <-t.cancelled():
		return errno(syscall.EINTR)
	}
}

func (f *eventFD) pollable() bool { return true }
func (*eventFD) mode() uint32     { return 0o600 } // an anonymous inode's, as Linux
func (f *eventFD) hold()          {}
func (f *eventFD) release()       {}

func (f *eventFD) ready() (uint32, uint64) {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	var ev uint32
	if f.count > 0 {
		ev |= unix.EPOLLIN
	}
	if f.count < eventMax {
		ev |= unix.EPOLLOUT
	}
	return ev, f.changes
}

// epoll is an epoll instance: its interest list by descriptor. Guarded by
// its process's mu.
type epoll struct {
	p        *Process
	interest map[int]*watch
}

type watch struct {
	f      file
	events uint32
	data   uint64
	last   uint32 // events last seen, for edge-triggered watches
	seen   uint64 // the file's changes then
}

// sysEpollCreate is epoll_create(2): its size, a hint, must be positive.
func sysEpollCreate(t *Thread, r *amd64.Frame) int64 {
	if int32(r.RDI) <= 0 {
		return errno(syscall.EINVAL)
	}
	return t.p.install(&epoll{p: t.p, interest: map[int]*watch{}}, false, false)
}

func sysEpollCreate1(t *Thread, r *amd64.Frame) int64 {
	flags := int(int32(r.RDI))
	if flags&^unix.EPOLL_CLOEXEC != 0 {
		return errno(syscall.EINVAL)
	}
	return t.p.install(&epoll{p: t.p, interest: map[int]*watch{}}, flags != 0, false)
}

func (*epoll) read(*Thread, uint64, uint64, bool) int64  { return errno(syscall.EINVAL) }
func (*epoll) write(*Thread, uint64, uint64, bool) int64 { return errno(syscall.EINVAL) }
func (*epoll) pollable() bool                            { return false }
func (*epoll) mode() uint32                              { return 0o600 } // an anonymous inode's, as Linux
func (*epoll) ready() (uint32, uint64)                   { return 0, 0 }
func (*epoll) hold()                                     {}
func (*epoll) release()                                  {}

func sysEpollCtl(t *Thread, r *amd64.Frame) int64 {
	epfd, op, fd, ev := int(int32(r.RDI)), int(int32(r.RSI)), int(int32(r.RDX)), r.R10
	p := t.p
	var events uint32
	var data uint64
	if op != unix.EPOLL_CTL_DEL {
		b, err := p.space.CopyIn(ev, 12) // struct epoll_event is packed on x86-64
		if err != nil {
			return errno(syscall.EFAULT)
		}
		events, data = binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint64(b[4:])
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ee, ok1 := p.fds[epfd]
	te, ok2 := p.fds[fd]
	if !ok1 || !ok2 {
		return errno(syscall.EBADF)
	}
	ep, isEpoll := ee.f.(*epoll)
	if !isEpoll || epfd == fd {
		return errno(syscall.EINVAL)
	}
	if !te.f.pollable() {
		return errno(syscall.EPERM)
	}
	w, has := ep.interest[fd]
	switch op {
	case unix.EPOLL_CTL_ADD:
		if has {
			return errno(syscall.EEXIST)
		}
		ep.interest[fd] = &watch{f: te.f, events: events, data: data}
	case unix.EPOLL_CTL_MOD:
		if !has {
			return errno(syscall.ENOENT)
		}
		w.events, w.data, w.last = events, data, 0
	case unix.EPOLL_CTL_DEL:
		if !has {
			return errno(syscall.ENOENT)
		}
		delete(ep.interest, fd)
	default:
		return errno(syscall.EINVAL)
	}
	return 0
}

// sysEpollPwait (and epoll_wait, the same without a signal mask) waits
// until a watched file is ready, the timeout (ms; -1 none) passes, or a
// signal comes; its signal mask is not used.
func sysEpollPwait(t *Thread, r *amd64.Frame) int64 {
	epfd, out, max, timeout := int(int32(r.RDI)), r.RSI, int(int32(r.RDX)), int(int32(r.R10))
	p := t.p
	if max <= 0 || max > (1<<31-1)/12 {
		return errno(syscall.EINVAL)
	}
	e, ok := p.fileAt(epfd)
	if !ok {
		return errno(syscall.EBADF)
	}
	ep, isEpoll := e.f.(*epoll)
	if !isEpoll {
		return errno(syscall.EINVAL)
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(time.Duration(timeout) * time.Millisecond)
		defer tm.Stop()
		deadline = tm.C
	}
	for {
		wake := changed()
		if got := ep.collect(max); len(got) > 0 || timeout == 0 {
			if len(got) > 0 && p.space.CopyOut(out, got) != nil {
				return errno(syscall.EFAULT)
			}
			return int64(len(got) / 12)
		}
		select {
		case <-wake:
		case <-deadline:
			return 0
		case <-t.cancelled():
			return errno(syscall.EINTR)
		}
	}
}

// collect returns up to max ready events, packed as epoll_event: a
// level-triggered watch reports while its file is ready, an
// edge-triggered one (EPOLLET) when its readiness gained an event.
func (ep *epoll) collect(max int) []byte {
	ep.p.mu.Lock()
	ws := make([]*watch, 0, len(ep.interest))
	for _, w := range ep.interest {
		ws = append(ws, w)
	}
	ep.p.mu.Unlock()
	var out []byte
	for _, w := range ws {
		if len(out)/12 == max {
			break
		}
		now, changes := w.f.ready()
		ev := now & (w.events | unix.EPOLLERR | unix.EPOLLHUP)
		ep.p.mu.Lock()
		report := ev != 0
		if w.events&unix.EPOLLET != 0 {
			report = ev&^w.last != 0 || ev != 0 && changes != w.seen
			w.last, w.seen = ev, changes
		}
		ep.p.mu.Unlock()
		if report {
			out = binary.LittleEndian.AppendUint32(out, ev)
			out = binary.LittleEndian.AppendUint64(out, w.data)
		}
	}
	return out
}

// uioMaxIOV is Linux's UIO_MAXIOV: the most iovecs readv and writev take.
const uioMaxIOV = 1024

// sysReadv serves readv and writev (by number): each iovec {base, len}
// in turn through the file's read or write, stopping at the first short
// or failed one (what came before is the result), as Linux does for
// files, pipes and terminals. EINVAL for more than UIO_MAXIOV iovecs or
// lengths that overflow.
func sysReadv(t *Thread, r *amd64.Frame) int64 {
	e, ok := t.p.fileAt(int(int32(r.RDI)))
	if !ok {
		return errno(syscall.EBADF)
	}
	cnt := int64(int32(r.RDX))
	if cnt < 0 || cnt > uioMaxIOV {
		return errno(syscall.EINVAL)
	}
	raw, err := t.p.space.CopyIn(r.RSI, uint64(cnt)*16)
	if err != nil {
		return errno(syscall.EFAULT)
	}
	var total uint64
	for i := int64(0); i < cnt; i++ {
		n := binary.LittleEndian.Uint64(raw[16*i+8:])
		if total+n < total || int64(total+n) < 0 {
			return errno(syscall.EINVAL)
		}
		total += n
	}
	done := int64(0)
	for i := int64(0); i < cnt; i++ {
		base, n := binary.LittleEndian.Uint64(raw[16*i:]), binary.LittleEndian.Uint64(raw[16*i+8:])
		if n == 0 {
			continue
		}
		var k int64
		if r.RAX == syscall.SYS_READV {
			k = e.f.read(t, base, n, e.nonblock.Load())
		} else {
			k = e.f.write(t, base, n, e.nonblock.Load())
		}
		if k < 0 {
			if done > 0 {
				return done
			}
			return k
		}
		done += k
		if uint64(k) < n {
			break
		}
	}
	return done
}
