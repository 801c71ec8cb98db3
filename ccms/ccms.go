package ccms

// Requests: arrival, grant, release. A request arrives (enqueue) by
// splitting the CSTs at its edges, joining the reqs of every CST it
// covers, and counting the earlier live requests there that conflict with
// it. With none it is granted at once; otherwise it waits on its channel
// and the last of those to go grants it (release).

import (
	"context"
	"fmt"
	"math"
	"sync"
)

// Mode is what a request asks for.
type Mode uint8

const (
	// Shared is a read lock: it conflicts only with overlapping Exclusive
	// and Modifying requests.
	Shared Mode = iota + 1
	// Exclusive conflicts with every overlapping request.
	Exclusive
	// Modifying is Exclusive and also marks its range Modified
	// (CCMS_TYPE_MODIFYING): write, append and truncate take it.
	Modifying
)

func (m Mode) String() string {
	switch m {
	case Shared:
		return "shared"
	case Exclusive:
		return "exclusive"
	case Modifying:
		return "modifying"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Conflicts reports whether overlapping requests of modes m and o
// conflict: unless both are Shared.
func (m Mode) Conflicts(o Mode) bool { return m != Shared || o != Shared }

// maxOff is the last offset of the space.
const maxOff = math.MaxUint64

// Space is one file's range-lock domain. The zero value is an unlocked,
// clean space (one Invalid CST over [0, max]). A Space must not be copied
// after first use.
type Space struct {
	mu sync.Mutex // guards everything below, and every live Lock's mutable fields

	head  *cst   // the CST at 0 and the skip list's head (cst.go); nil until first use
	ncst  int    // CSTs in the list
	level int    // levels in use: the greatest height of a CST other than the head (≥ 1)
	rnd   uint64 // xorshift state for CST heights
	spare []*cst // released CSTs kept for reuse

	oldest, newest *Lock  // the live requests in arrival order
	nlive          int    // length of that list
	seq            uint64 // last request's sequence number
	gen            uint64 // scan generation, for Lock.mark
}

// lockState is where a request is in its life.
type lockState uint8

const (
	waiting lockState = iota
	held
	released
)

// Lock is one request: live from its arrival until Unlock (or, waiting,
// until its context ends), held once granted.
type Lock struct {
	s        *Space
	beg, end uint64 // the range, inclusive; immutable
	mode     Mode   // immutable
	seq      uint64 // arrival order, from 1; immutable
	empty    bool   // a zero-length request: locks nothing (io.go)

	// Guarded by s.mu.
	state      lockState
	waits      int           // earlier live conflicting requests still over it
	blocks     []*Lock       // later waiting requests that count this one, in arrival order
	ready      chan struct{} // closed when granted; made only if it has to wait
	prev, next *Lock         // the live list
	mark       uint64        // == s.gen once counted by the request now arriving
}

// Lock waits for the range [beg, end] in mode m and returns the held
// lock. beg > end, or a mode not one of the three, panics.
func (s *Space) Lock(beg, end uint64, m Mode) *Lock {
	mustBeValid(beg, end, m)
	l := &Lock{s: s, beg: beg, end: end, mode: m}
	s.mu.Lock()
	s.enqueue(l)
	s.mu.Unlock()
	if l.ready != nil {
		<-l.ready
	}
	return l
}

// LockContext is Lock, giving up when ctx ends: it returns ctx's error and
// leaves no trace: the request is gone from every CST and list, and
// whoever it blocked is woken if nothing else blocks them. A ctx already
// ended returns at once, without arriving.
func (s *Space) LockContext(ctx context.Context, beg, end uint64, m Mode) (*Lock, error) {
	mustBeValid(beg, end, m)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := &Lock{s: s, beg: beg, end: end, mode: m}
	s.mu.Lock()
	s.enqueue(l)
	s.mu.Unlock()
	if l.ready == nil {
		return l, nil
	}
	select {
	case <-l.ready:
		return l, nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.release(l) // granted meanwhile or not: it goes, as if never asked
	s.mu.Unlock()
	return nil, ctx.Err()
}

// Unlock releases the lock and grants every waiter it was the last
// conflict of. Unlocking a lock twice panics.
func (l *Lock) Unlock() {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.state != held {
		panic("ccms: Unlock: lock not held (unlocked twice?)")
	}
	if l.empty {
		l.state = released
		return
	}
	s.release(l)
}

// mustBeValid panics on a request no caller may make (before the mutex
// is taken, so a recovered panic leaves the Space usable).
func mustBeValid(beg, end uint64, m Mode) {
	if beg > end {
		panic("ccms: Lock: beg > end")
	}
	if m < Shared || m > Modifying {
		panic("ccms: Lock: bad mode")
	}
}

// enqueue makes l, a new valid request (its space, range and mode set,
// allocated before the mutex was taken: an allocation may assist the GC,
// which the other lockers would wait for), the newest live one, and grants
// it if it has no earlier conflict. Called with s.mu held.
func (s *Space) enqueue(l *Lock) {
	s.init()
	s.seq++
	l.seq = s.seq
	beg, end, m := l.beg, l.end, l.mode
	first := s.cover(beg, end)
	first.begins++
	s.gen++
	for c := first; ; c = c.next[0] {
		for _, q := range c.reqs {
			if q.mark != s.gen && q.mode.Conflicts(m) {
				q.mark = s.gen
				q.blocks = append(q.blocks, l)
				l.waits++
			}
		}
		c.reqs = append(c.reqs, l)
		if c.end == end {
			c.ends++
			break
		}
	}
	if s.newest == nil {
		s.oldest = l
	} else {
		s.newest.next, l.prev = l, s.newest
	}
	s.newest = l
	s.nlive++
	if l.waits == 0 {
		s.grant(l)
	} else {
		l.ready = make(chan struct{})
	}
}

// grant makes l held: its holder counts go on its CSTs (a Modifying lock
// marks them Modified, which may let some merge), and its waiter, if any,
// is woken. Called with s.mu held.
func (s *Space) grant(l *Lock) {
	l.state = held
	dirtied := false
	for c := s.find(l.beg); c != nil && c.beg <= l.end; c = c.next[0] {
		switch l.mode {
		case Shared:
			c.shared++
		case Exclusive:
			c.excl++
		case Modifying:
			c.excl++
			c.modifying++
			dirtied = dirtied || !c.modified
			c.modified = true
		}
	}
	if dirtied {
		s.sweep(l.beg, l.end)
	}
	if l.ready != nil {
		close(l.ready)
	}
}

// release takes a live request (held, or waiting and cancelled) out of
// every CST and list, grants the waiters it was the last conflict of, in
// arrival order, and merges CSTs at its edges. Called with s.mu held.
func (s *Space) release(l *Lock) {
	wasHeld := l.state == held
	l.state = released
	first := s.find(l.beg)
	first.begins--
	for c := first; c != nil && c.beg <= l.end; c = c.next[0] {
		if wasHeld {
			switch l.mode {
			case Shared:
				c.shared--
			case Exclusive:
				c.excl--
			case Modifying:
				c.excl--
				c.modifying--
			}
		}
		c.reqs = remove(c.reqs, l)
		if c.end == l.end {
			c.ends--
		}
	}
	if !wasHeld {
		// A cancelled waiter: the earlier requests it waited for forget it.
		// They are the conflicting ones among its CSTs' reqs, all earlier.
		s.gen++
		for c := first; c != nil && c.beg <= l.end; c = c.next[0] {
			for _, q := range c.reqs {
				if q.seq < l.seq && q.mark != s.gen && q.mode.Conflicts(l.mode) {
					q.mark = s.gen
					q.blocks = remove(q.blocks, l)
				}
			}
		}
		l.waits = 0
	}
	if l.prev == nil {
		s.oldest = l.next
	} else {
		l.prev.next = l.next
	}
	if l.next == nil {
		s.newest = l.prev
	} else {
		l.next.prev = l.prev
	}
	l.prev, l.next = nil, nil
	s.nlive--
	blocks := l.blocks
	l.blocks = nil
	for _, r := range blocks {
		if r.waits--; r.waits == 0 {
			s.grant(r)
		}
	}
	s.mergeAt(l.beg)
	if l.end < maxOff {
		s.mergeAt(l.end + 1)
	}
}

// remove deletes the first x from list, keeping the order.
func remove(list []*Lock, x *Lock) []*Lock {
	for k, y := range list {
		if y == x {
			copy(list[k:], list[k+1:])
			list[len(list)-1] = nil
			return list[:len(list)-1]
		}
	}
	panic("ccms: remove: request not on its list")
}
