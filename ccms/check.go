package ccms

// Introspection: Snapshot for the shell's `ccms FILE`, Check for tests and
// the self-test. Both hold the Space's mutex for their whole walk, so they
// see one consistent instant.

import (
	"fmt"
	"math"
	"strings"
)

// Request is one live request as a Snapshot shows it.
type Request struct {
	Seq      uint64 // arrival order
	Beg, End uint64 // inclusive
	Mode     Mode
	WaitsFor []uint64 // a waiter's earlier conflicting requests (their Seq); nil when held
}

// CST is one element of the partition as a Snapshot shows it.
type CST struct {
	Beg, End  uint64
	State     State
	Shared    int // shared holders
	Exclusive int // exclusive holders (Modifying included): 0 or 1
	Refs      int // live requests over it, waiters included (xrefs)
}

// Snapshot is a Space at one instant.
type Snapshot struct {
	Held    []Request // in arrival order
	Waiting []Request // in arrival order
	CSTs    []CST     // in offset order
}

// Snapshot returns the held locks, the waiting requests with what each
// waits for, and the CSTs.
func (s *Space) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	var sn Snapshot
	for l := s.oldest; l != nil; l = l.next {
		r := Request{Seq: l.seq, Beg: l.beg, End: l.end, Mode: l.mode}
		if l.state == held {
			sn.Held = append(sn.Held, r)
			continue
		}
		for _, q := range s.conflictsBefore(l) {
			r.WaitsFor = append(r.WaitsFor, q.seq)
		}
		sn.Waiting = append(sn.Waiting, r)
	}
	for c := s.head; c != nil; c = c.next[0] {
		sn.CSTs = append(sn.CSTs, CST{Beg: c.beg, End: c.end, State: c.state(),
			Shared: int(c.shared), Exclusive: int(c.excl), Refs: len(c.reqs)})
	}
	return sn
}

// conflictsBefore returns the earlier live requests that overlap l and
// conflict with it, in arrival order, found from the live list (not from
// the CSTs, so Check can compare the two). Called with s.mu held.
func (s *Space) conflictsBefore(l *Lock) []*Lock {
	var out []*Lock
	for q := s.oldest; q != nil && q != l; q = q.next {
		if q.beg <= l.end && l.beg <= q.end && q.mode.Conflicts(l.mode) {
			out = append(out, q)
		}
	}
	return out
}

func offString(off uint64) string {
	if off == math.MaxUint64 {
		return "max"
	}
	return fmt.Sprint(off)
}

func (r Request) String() string {
	s := fmt.Sprintf("#%d [%s, %s] %s", r.Seq, offString(r.Beg), offString(r.End), r.Mode)
	if r.WaitsFor != nil {
		s += " waits for"
		for _, q := range r.WaitsFor {
			s += fmt.Sprintf(" #%d", q)
		}
	}
	return s
}

func (c CST) String() string {
	return fmt.Sprintf("[%s, %s] %s shared %d exclusive %d refs %d",
		offString(c.Beg), offString(c.End), c.State, c.Shared, c.Exclusive, c.Refs)
}

// String lists the snapshot, one line each, for the shell.
func (sn Snapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "held %d, waiting %d, CSTs %d\n", len(sn.Held), len(sn.Waiting), len(sn.CSTs))
	for _, r := range sn.Held {
		fmt.Fprintf(&b, "  held    %v\n", r)
	}
	for _, r := range sn.Waiting {
		fmt.Fprintf(&b, "  waiting %v\n", r)
	}
	for _, c := range sn.CSTs {
		fmt.Fprintf(&b, "  cst     %v\n", c)
	}
	return b.String()
}

// Check verifies the invariants of doc.go (design note §6, items 1–3 and
// 6) and returns the first broken one, labelled. It walks every CST and
// every live request's CSTs and earlier requests: O(n + live·(k + live)).
func (s *Space) Check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	csts, err := s.checkPartition()
	if err != nil {
		return err
	}
	// Recount every CST from the live list alone.
	type want struct {
		shared, excl, modifying, begins, ends int32
		reqs                                  []*Lock
	}
	counts := make(map[*cst]*want, len(csts))
	for _, c := range csts {
		counts[c] = new(want)
	}
	n := 0
	var prev *Lock
	for l := s.oldest; l != nil; l = l.next {
		n++
		if l.prev != prev || (prev != nil && prev.seq >= l.seq) {
			return fmt.Errorf("ccms: edges: live list broken at #%d", l.seq)
		}
		prev = l
		if l.state != held && l.state != waiting {
			return fmt.Errorf("ccms: edges: released request #%d on the live list", l.seq)
		}
		first := s.find(l.beg)
		if first.beg != l.beg {
			return fmt.Errorf("ccms: edges: #%d begins at %s inside %v", l.seq, offString(l.beg), first)
		}
		counts[first].begins++
		for c := first; ; c = c.next[0] {
			if c == nil || c.end > l.end {
				return fmt.Errorf("ccms: edges: #%d ends at %s inside %v", l.seq, offString(l.end), s.find(l.end))
			}
			w := counts[c]
			w.reqs = append(w.reqs, l)
			if l.state == held {
				switch l.mode {
				case Shared:
					w.shared++
				case Exclusive:
					w.excl++
				case Modifying:
					w.excl++
					w.modifying++
					if !c.modified {
						return fmt.Errorf("ccms: modified: %v is under modifying #%d", c, l.seq)
					}
				}
			}
			if c.end == l.end {
				w.ends++
				break
			}
		}
		if err := s.checkWaits(l); err != nil {
			return err
		}
	}
	if n != s.nlive || prev != s.newest {
		return fmt.Errorf("ccms: edges: live list has %d requests, count says %d", n, s.nlive)
	}
	for _, c := range csts {
		w := counts[c]
		if c.excl > 1 || (c.excl > 0 && c.shared > 0) || c.modifying > c.excl || c.shared < 0 || c.modifying < 0 {
			return fmt.Errorf("ccms: no-conflict: %v has shared %d exclusive %d modifying %d", c, c.shared, c.excl, c.modifying)
		}
		if c.shared != w.shared || c.excl != w.excl || c.modifying != w.modifying {
			return fmt.Errorf("ccms: waiters-hold-nothing: %v counts shared %d exclusive %d modifying %d, its held requests %d %d %d",
				c, c.shared, c.excl, c.modifying, w.shared, w.excl, w.modifying)
		}
		if c.begins != w.begins || c.ends != w.ends {
			return fmt.Errorf("ccms: edges: %v counts %d beginnings and %d ends, requests have %d and %d", c, c.begins, c.ends, w.begins, w.ends)
		}
		if len(c.reqs) != len(w.reqs) {
			return fmt.Errorf("ccms: edges: %v has %d refs, %d requests cover it", c, len(c.reqs), len(w.reqs))
		}
		for x := range c.reqs {
			if c.reqs[x] != w.reqs[x] {
				return fmt.Errorf("ccms: edges: %v's requests differ from the live ones over it (at #%d)", c, w.reqs[x].seq)
			}
		}
		if d := c.next[0]; d != nil && c.ends == 0 && d.begins == 0 && c.modified == d.modified {
			return fmt.Errorf("ccms: merged: %v and %v could be one", c, d)
		}
	}
	return nil
}

// String names a CST in Check's messages.
func (c *cst) String() string {
	return fmt.Sprintf("CST [%s, %s]", offString(c.beg), offString(c.end))
}

// checkPartition: the CSTs tile [0, max] in order, and each level of the
// skip list links exactly its CSTs, in order; it returns the CSTs in
// order.
func (s *Space) checkPartition() ([]*cst, error) {
	var csts []*cst
	on := make(map[*cst]bool)
	next := uint64(0)
	for c := s.head; c != nil; c = c.next[0] {
		if c.beg != next || c.end < c.beg {
			return nil, fmt.Errorf("ccms: partition: %v follows %d CSTs, expected to begin at %s", c, len(csts), offString(next))
		}
		csts = append(csts, c)
		on[c] = true
		if c.end == maxOff {
			if c.next[0] != nil {
				return nil, fmt.Errorf("ccms: partition: %v reaches max with more after it", c)
			}
			break
		}
		next = c.end + 1
	}
	if last := csts[len(csts)-1]; last.end != maxOff {
		return nil, fmt.Errorf("ccms: partition: CSTs end at %s, short of max", offString(last.end))
	}
	if len(csts) != s.ncst || len(s.head.next) != levels {
		return nil, fmt.Errorf("ccms: partition: %d CSTs, count says %d", len(csts), s.ncst)
	}
	tallest := 1
	for _, c := range csts[1:] {
		tallest = max(tallest, len(c.next))
	}
	if s.level != tallest {
		return nil, fmt.Errorf("ccms: partition: skip list uses %d levels, its tallest CST has %d", s.level, tallest)
	}
	for lv := 1; lv < levels; lv++ {
		x := s.head // level lv links, in order, exactly the CSTs taller than lv
		for _, c := range csts[1:] {
			if len(c.next) > lv {
				if x.next[lv] != c {
					return nil, fmt.Errorf("ccms: partition: skip-list level %d skips from %v past %v", lv, x, c)
				}
				x = c
			}
		}
		if x.next[lv] != nil {
			return nil, fmt.Errorf("ccms: partition: skip-list level %d goes on past %v", lv, x)
		}
	}
	return csts, nil
}

// checkWaits: a waiter waits for exactly its earlier live conflicts, and
// each of them lists it once in blocks; a held request has none; every
// entry of blocks is a later waiter that counts this request.
func (s *Space) checkWaits(l *Lock) error {
	before := s.conflictsBefore(l)
	switch {
	case l.state == held && len(before) > 0:
		return fmt.Errorf("ccms: waiters-hold-nothing: #%d is held while earlier #%d conflicts with it", l.seq, before[0].seq)
	case l.state == held && (l.waits != 0 || l.ready != nil && !closed(l.ready)):
		return fmt.Errorf("ccms: waiters-hold-nothing: held #%d still waits (count %d)", l.seq, l.waits)
	case l.state == waiting && (l.waits != len(before) || l.waits == 0):
		return fmt.Errorf("ccms: waiters-hold-nothing: #%d waits for %d requests, %d earlier ones conflict", l.seq, l.waits, len(before))
	case l.state == waiting && (l.ready == nil || closed(l.ready)):
		return fmt.Errorf("ccms: waiters-hold-nothing: waiting #%d has no open channel", l.seq)
	}
	for _, q := range before {
		found := 0
		for _, r := range q.blocks {
			if r == l {
				found++
			}
		}
		if found != 1 {
			return fmt.Errorf("ccms: waiters-hold-nothing: #%d is on #%d's blocks %d times", l.seq, q.seq, found)
		}
	}
	for _, r := range l.blocks {
		if r.seq <= l.seq || r.state != waiting || r.beg > l.end || l.beg > r.end || !r.mode.Conflicts(l.mode) {
			return fmt.Errorf("ccms: waiters-hold-nothing: #%d's blocks hold #%d, which does not wait for it", l.seq, r.seq)
		}
	}
	return nil
}

// closed reports whether ch is closed (ch is only ever closed, never sent on).
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
