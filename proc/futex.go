package proc

import (
	"encoding/binary"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
)

// futexTable holds a process's futex waiters by user address (private
// futexes: one address space, so the address is the key). FUTEX_WAIT
// reads the word and queues under mu, and FUTEX_WAKE dequeues under mu,
// so a wake after the waiter's check is never lost.
type futexTable struct {
	mu sync.Mutex
	q  map[uint64][]*futexWaiter
}

type futexWaiter struct {
	bits  uint32
	woken chan struct{} // closed by wake, under mu
}

func (f *futexTable) init() { f.q = map[uint64][]*futexWaiter{} }

// Futex operations (linux/futex.h).
const (
	futexWait        = 0
	futexWake        = 1
	futexWaitBitset  = 9
	futexWakeBitset  = 10
	futexPrivate     = 128
	futexClockRealtm = 256
)

func sysFutex(t *Thread, r *amd64.Frame) int64 {
	addr, op, val, ts, bitset := r.RDI, int(int32(r.RSI)), uint32(r.RDX), r.R10, uint32(r.R9)
	if addr%4 != 0 {
		return errno(syscall.EINVAL)
	}
	p := t.p
	switch op &^ (futexPrivate | futexClockRealtm) {
	case futexWait:
		bitset = ^uint32(0)
		fallthrough
	case futexWaitBitset:
		if bitset == 0 {
			return errno(syscall.EINVAL)
		}
		var deadline time.Time
		if ts != 0 {
			d, e := p.readTimespec(ts)
			if e != 0 {
				return errno(e)
			}
			if op&^(futexPrivate|futexClockRealtm) == futexWait {
				deadline = time.Now().Add(d)
			} else {
				deadline = absDeadline(d, op&futexClockRealtm != 0)
			}
		}
		return p.futexes.wait(t, addr, val, bitset, deadline)
	case futexWake:
		bitset = ^uint32(0)
		fallthrough
	case futexWakeBitset:
		if bitset == 0 {
			return errno(syscall.EINVAL)
		}
		return int64(p.futexes.wake(addr, int(int32(val)), bitset))
	}
	return errno(syscall.ENOSYS)
}

// absDeadline turns FUTEX_WAIT_BITSET's absolute timeout, on the
// monotonic clock or (realtime) the wall clock, into a time.Time.
func absDeadline(abs time.Duration, realtime bool) time.Time {
	if realtime {
		return time.Unix(0, int64(abs))
	}
	var now unix.Timespec
	start := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
		return start
	}
	return start.Add(abs - time.Duration(now.Nano()))
}

// wait blocks while the word at addr holds val, until a wake that matches
// bits, the deadline (zero: none), or the end of the thread t or of its
// process.
func (f *futexTable) wait(t *Thread, addr uint64, val, bits uint32, deadline time.Time) int64 {
	p := t.p
	f.mu.Lock()
	b, err := p.space.CopyIn(addr, 4)
	if err != nil {
		f.mu.Unlock()
		return errno(syscall.EFAULT)
	}
	if binary.LittleEndian.Uint32(b) != val {
		f.mu.Unlock()
		return errno(syscall.EAGAIN)
	}
	w := &futexWaiter{bits: bits, woken: make(chan struct{})}
	f.q[addr] = append(f.q[addr], w)
	f.mu.Unlock()

	var timeout <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		timeout = tm.C
	}
	var e syscall.Errno
	select {
	case <-w.woken:
		return 0
	case <-timeout:
		e = syscall.ETIMEDOUT
	case <-t.cancelled():
		e = syscall.EINTR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-w.woken: // woken meanwhile: the wake counted it
		return 0
	default:
	}
	ws := f.q[addr]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(f.q, addr)
	} else {
		f.q[addr] = ws
	}
	return errno(e)
}

// wake wakes up to n waiters on addr whose bits match, oldest first, and
// returns how many.
func (f *futexTable) wake(addr uint64, n int, bits uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	woke := 0
	ws := f.q[addr]
	kept := ws[:0]
	for _, w := range ws {
		if woke < n && w.bits&bits != 0 {
			close(w.woken)
			woke++
			continue
		}
		kept = append(kept, w)
	}
	if len(kept) == 0 {
		delete(f.q, addr)
	} else {
		f.q[addr] = kept
	}
	return woke
}
