package sys

// File descriptors: the console, eventfds and epoll instances. Nosplit,
// trap context.

import (
	"math"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/drivers/uart"
	"gofly/lwkt"
)

// MaxFiles is the size of the descriptor table.
const MaxFiles = 64

type fileKind uint8

const (
	fdClosed fileKind = iota
	fdConsole
	fdEventfd
	fdEpoll
)

const maxWatches = 8

type watch struct {
	fd     int32
	events uint32
	data   uint64
}

type file struct {
	kind     fileKind
	nonblock bool
	cloexec  bool
	counter  uint64 // eventfd
	watches  [maxWatches]watch
	nwatch   int
}

var files = [MaxFiles]file{{kind: fdConsole}, {kind: fdConsole}, {kind: fdConsole}}

// Open-file flags.
const (
	oRdwr     = 2
	oNonblock = 0x800
	oCloexec  = 0x80000
)

//go:nosplit
func getFile(fd int) *file {
	if fd < 0 || fd >= MaxFiles || files[fd].kind == fdClosed {
		return nil
	}
	return &files[fd]
}

//go:nosplit
func newFile(kind fileKind) int {
	for i := range files {
		if files[i].kind == fdClosed {
			files[i] = file{kind: kind}
			return i
		}
	}
	return -1
}

//go:nosplit
func closeFD(regs *amd64.Frame, _ uintptr) int64 {
	fd := int(regs.RDI)
	f := getFile(fd)
	if f == nil {
		return -EBADF
	}
	f.kind = fdClosed
	// As on Linux, closing the last reference drops it from every epoll
	// interest list, so a new file on the same number starts clean.
	for i := range files {
		ep := &files[i]
		if ep.kind != fdEpoll {
			continue
		}
		for j := 0; j < ep.nwatch; {
			if ep.watches[j].fd == int32(fd) {
				ep.nwatch--
				ep.watches[j] = ep.watches[ep.nwatch]
				continue
			}
			j++
		}
	}
	return 0
}

//go:nosplit
func read(regs *amd64.Frame, _ uintptr) int64 {
	fd, buf, n := int(regs.RDI), uintptr(regs.RSI), uintptr(regs.RDX)
	f := getFile(fd)
	if f == nil {
		return -EBADF
	}
	if !accessOK(buf, n) {
		return -EFAULT
	}
	switch f.kind {
	case fdConsole:
		if n == 0 {
			return 0
		}
		// A console read returns at most what Rx holds, and Linux writes
		// only the bytes it returns: only that much need be present.
		n = min(n, uart.RingSize)
		if !user(buf, n, true) {
			return -EFAULT
		}
		if uart.Rx.Len() > 0 {
			return int64(consoleCopy(buf, n))
		}
		if f.nonblock {
			return -EAGAIN
		}
		t := lwkt.CurrentThread()
		t.WaitArg[0], t.WaitArg[1] = buf, n
		lwkt.Block(lwkt.WaitRead, uintptr(fd), 0, 0)
		return 0
	case fdEventfd:
		if n < 8 {
			return -EINVAL
		}
		if !user(buf, 8, true) {
			return -EFAULT
		}
		if f.counter == 0 {
			return -EAGAIN // eventfds are created non-blocking only
		}
		*u64(buf) = f.counter
		f.counter = 0
		return 8
	}
	return -EINVAL
}

//go:nosplit
func consoleCopy(buf, n uintptr) int {
	m := 0
	for uintptr(m) < n {
		var b [1]byte
		if uart.Rx.Read(b[:]) == 0 {
			break
		}
		*u8(buf + uintptr(m)) = b[0]
		m++
	}
	uart.Resume()
	return m
}

//go:nosplit
func write(regs *amd64.Frame, _ uintptr) int64 {
	fd, buf, n := int(regs.RDI), uintptr(regs.RSI), uintptr(regs.RDX)
	f := getFile(fd)
	if f == nil {
		return -EBADF
	}
	if !accessOK(buf, n) {
		return -EFAULT
	}
	switch f.kind {
	case fdConsole:
		if !user(buf, n, false) {
			return -EFAULT
		}
		prev := byte(0)
		for i := uintptr(0); i < n; i++ {
			b := *u8(buf + i)
			if b == '\n' && prev != '\r' { // the tty's ONLCR
				uart.Putc('\r')
			}
			uart.Putc(b)
			prev = b
		}
		return int64(n)
	case fdEventfd:
		if n < 8 {
			return -EINVAL
		}
		if !user(buf, 8, false) {
			return -EFAULT
		}
		v := *u64(buf)
		if v == ^uint64(0) {
			return -EINVAL
		}
		if f.counter+v < f.counter || f.counter+v == ^uint64(0) {
			return -EAGAIN
		}
		f.counter += v
		wakePollers()
		return 8
	}
	return -EINVAL
}

// openat fails: there is no file system yet.
//
//go:nosplit
func openat(*amd64.Frame, uintptr) int64 { return -ENOENT }

// ConsoleInput completes a blocked console read, or wakes an epoll waiter
// watching the console, after the UART interrupt filled uart.Rx.
//
//go:nosplit
func ConsoleInput() {
	for fd := 0; fd < 3; fd++ {
		for i := lwkt.FindBlocked(-1, lwkt.WaitRead, uintptr(fd)); i >= 0 && uart.Rx.Len() > 0; i = lwkt.FindBlocked(i, lwkt.WaitRead, uintptr(fd)) {
			t := lwkt.Get(i)
			// The buffer was checked when the reader blocked, but another
			// thread may have unmapped it since: check again, as the copy
			// runs in the trap path, where a fault stops the machine.
			if !user(t.WaitArg[0], t.WaitArg[1], true) {
				lwkt.Wakeup(i, negErrno(EFAULT))
				continue
			}
			lwkt.Wakeup(i, uint64(consoleCopy(t.WaitArg[0], t.WaitArg[1])))
		}
	}
	wakePollers()
}

//go:nosplit
func fcntl(regs *amd64.Frame, _ uintptr) int64 {
	const getfd, setfd, getfl, setfl = 1, 2, 3, 4
	fd, cmd, arg := int(regs.RDI), int(regs.RSI), uintptr(regs.RDX)
	f := getFile(fd)
	if f == nil {
		return -EBADF
	}
	switch cmd {
	case getfd:
		if f.cloexec {
			return 1
		}
		return 0
	case setfd:
		f.cloexec = arg&1 != 0
		return 0
	case getfl:
		if f.nonblock {
			return oRdwr | oNonblock
		}
		return oRdwr
	case setfl:
		f.nonblock = arg&oNonblock != 0
		return 0
	}
	return -EINVAL
}

//go:nosplit
func eventfd(regs *amd64.Frame, _ uintptr) int64 {
	initval, flags := uint32(regs.RDI), int(regs.RSI) // initval is an unsigned int
	if flags&oNonblock == 0 || flags&^(oNonblock|oCloexec) != 0 {
		return -EINVAL // only what the runtime asks for: non-blocking, no semaphore mode
	}
	fd := newFile(fdEventfd)
	if fd < 0 {
		return -EMFILE
	}
	files[fd].counter = uint64(initval)
	files[fd].nonblock = true
	files[fd].cloexec = flags&oCloexec != 0
	return int64(fd)
}

//go:nosplit
func epollCreate(regs *amd64.Frame, _ uintptr) int64 {
	flags := int(regs.RDI)
	if flags&^oCloexec != 0 {
		return -EINVAL
	}
	fd := newFile(fdEpoll)
	if fd < 0 {
		return -EMFILE
	}
	files[fd].cloexec = flags&oCloexec != 0
	return int64(fd)
}

const (
	epollCtlAdd = 1
	epollCtlDel = 2
	epollCtlMod = 3
	epollIn     = 0x1

	// epollEventSize is sizeof(struct epoll_event), packed on x86-64.
	epollEventSize = 12
	// maxEpollEvents is Linux's EP_MAX_EVENTS: more events than this
	// would overflow the int byte count of the array.
	maxEpollEvents = math.MaxInt32 / epollEventSize
)

//go:nosplit
func epollCtl(regs *amd64.Frame, _ uintptr) int64 {
	epfd, op, fd, ev := int(regs.RDI), int(regs.RSI), int(regs.RDX), uintptr(regs.R10)
	ep := getFile(epfd)
	if ep == nil || getFile(fd) == nil {
		return -EBADF
	}
	if ep.kind != fdEpoll || fd == epfd {
		return -EINVAL
	}
	at := -1
	for i := 0; i < ep.nwatch; i++ {
		if ep.watches[i].fd == int32(fd) {
			at = i
		}
	}
	switch op {
	case epollCtlAdd, epollCtlMod:
		if op == epollCtlAdd && at >= 0 {
			return -EEXIST
		}
		if op == epollCtlMod && at < 0 {
			return -ENOENT
		}
		if !user(ev, epollEventSize, false) {
			return -EFAULT
		}
		if at < 0 {
			if ep.nwatch == maxWatches {
				return -ENOMEM
			}
			at = ep.nwatch
			ep.nwatch++
		}
		// struct epoll_event is packed on x86-64: events at 0, data at 4.
		ep.watches[at] = watch{int32(fd), *u32(ev), uint64(*u32(ev + 4)) | uint64(*u32(ev + 8))<<32}
		wakePollers() // the watch may be ready already: its waiters must hear of it now
		return 0
	case epollCtlDel:
		if at < 0 {
			return -ENOENT
		}
		ep.nwatch--
		ep.watches[at] = ep.watches[ep.nwatch]
		return 0
	}
	return -EINVAL
}

// collect writes up to max ready events of epoll instance ep to the array
// at events and returns how many.
//
//go:nosplit
func collect(ep *file, events uintptr, max int) int {
	n := 0
	for i := 0; i < ep.nwatch && n < max; i++ {
		w := &ep.watches[i]
		f := getFile(int(w.fd))
		if f == nil || w.events&epollIn == 0 {
			continue
		}
		ready := f.kind == fdEventfd && f.counter > 0 || f.kind == fdConsole && uart.Rx.Len() > 0
		if !ready {
			continue
		}
		e := events + uintptr(n)*epollEventSize
		*u32(e) = epollIn
		*u32(e + 4) = uint32(w.data)
		*u32(e + 8) = uint32(w.data >> 32)
		n++
	}
	return n
}

//go:nosplit
func epollPwait(regs *amd64.Frame, _ uintptr) int64 {
	// maxevents and timeout are ints: Linux ignores the registers' upper
	// halves.
	epfd, events, max, timeoutMs := int(regs.RDI), uintptr(regs.RSI), int(int32(regs.RDX)), int(int32(regs.R10))
	sigmask, sigsetsize := uintptr(regs.R8), uintptr(regs.R9)
	// Linux's order: the signal mask, the event array, the descriptor.
	// The mask is checked and not applied: it would only govern signals
	// that interrupt the wait, and here none does (no EINTR).
	if sigmask != 0 {
		if sigsetsize != sigsetSize {
			return -EINVAL
		}
		if !user(sigmask, sigsetSize, false) {
			return -EFAULT
		}
	}
	if max <= 0 || max > maxEpollEvents {
		return -EINVAL
	}
	if !accessOK(events, uintptr(max)*epollEventSize) {
		return -EFAULT
	}
	// collect writes at most one event per watch.
	max = min(max, maxWatches)
	if !user(events, uintptr(max)*epollEventSize, true) {
		return -EFAULT
	}
	ep := getFile(epfd)
	if ep == nil {
		return -EBADF
	}
	if ep.kind != fdEpoll {
		return -EINVAL
	}
	if n := collect(ep, events, max); n > 0 || timeoutMs == 0 {
		return int64(n)
	}
	var deadline int64
	if timeoutMs > 0 {
		deadline = timer.Nanotime() + int64(timeoutMs)*1e6
	}
	t := lwkt.CurrentThread()
	t.WaitArg[0], t.WaitArg[1] = events, uintptr(max)
	lwkt.Block(lwkt.WaitEpoll, uintptr(epfd), deadline, 0)
	return 0
}

// wakePollers completes the epoll waits that have events now.
//
//go:nosplit
func wakePollers() {
	for i := lwkt.FindAnyBlocked(-1, lwkt.WaitEpoll); i >= 0; i = lwkt.FindAnyBlocked(i, lwkt.WaitEpoll) {
		t := lwkt.Get(i)
		ep := getFile(int(t.WaitKey))
		if ep == nil || ep.kind != fdEpoll {
			lwkt.Wakeup(i, negErrno(EBADF))
			continue
		}
		if !user(t.WaitArg[0], t.WaitArg[1]*epollEventSize, true) { // unmapped since it blocked
			lwkt.Wakeup(i, negErrno(EFAULT))
			continue
		}
		if n := collect(ep, t.WaitArg[0], int(t.WaitArg[1])); n > 0 {
			lwkt.Wakeup(i, uint64(n))
		}
	}
}
