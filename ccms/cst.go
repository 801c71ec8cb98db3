package ccms

// The cache state partition: CSTs in a skip list sorted by offset (doc.go
// says why). A request splits the CSTs at its edges when it arrives;
// when an edge goes (release) or a state changes (a Modifying grant,
// Clean), neighbours that nothing distinguishes merge back, so the
// partition is always the coarsest one (invariant merged).

import "fmt"

// State is a CST's cache state (ccms.h's states; the coherency half's
// SLAVE and MASTER are not kept: there is no remote side).
type State uint8

const (
	// StateInvalid: no holder, nothing modified.
	StateInvalid State = iota
	// StateShared: shared holders, nothing modified.
	StateShared
	// StateExclusive: an Exclusive holder, nothing modified.
	StateExclusive
	// StateModified: modified by a Modifying lock since the last Clean;
	// kept after its unlock.
	StateModified
)

func (st State) String() string {
	switch st {
	case StateInvalid:
		return "INVALID"
	case StateShared:
		return "SHARED"
	case StateExclusive:
		return "EXCLUSIVE"
	case StateModified:
		return "MODIFIED"
	}
	return fmt.Sprintf("State(%d)", uint8(st))
}

// cst is one element of the partition (ccms_cst). Guarded by Space.mu.
type cst struct {
	beg, end uint64 // inclusive
	modified bool   // sticky until Clean: StateModified

	shared    int32 // held Shared requests over it
	excl      int32 // held Exclusive and Modifying requests over it (0 or 1)
	modifying int32 // of those, Modifying (0 or 1; ccms's modifycount)

	begins int32   // live requests that begin at beg (ccms's lrefs)
	ends   int32   // live requests that end at end (rrefs)
	reqs   []*Lock // live requests over it, in arrival order (xrefs = len)

	// next[lv] is the following CST of skip-list level lv; next[0] is the
	// neighbour to the right (nil for the last CST), and len(next) is
	// this CST's height.
	next []*cst
}

// state is c's cache state.
func (c *cst) state() State {
	switch {
	case c.modified:
		return StateModified
	case c.excl > 0:
		return StateExclusive
	case c.shared > 0:
		return StateShared
	}
	return StateInvalid
}

// The skip list. Its head is the CST at offset 0, which is never removed
// (a split keeps the left part in place, a merge the left CST), so it
// needs no sentinel: it is simply as tall as the list may grow. A CST's
// height is 1, then one more with probability 1/4 at a time, so a level
// holds a quarter of the one below; 16 levels serve 4^16 CSTs.
const (
	levels   = 16
	spareCST = 8 // released CSTs a Space keeps for reuse (their slices' capacity too)
)

// init makes the first CST, the head. Called with s.mu held.
func (s *Space) init() {
	if s.head == nil {
		s.head = &cst{beg: 0, end: maxOff, next: make([]*cst, levels)}
		s.ncst, s.level = 1, 1
	}
}

// find returns the CST holding offset off: O(log n) expected.
func (s *Space) find(off uint64) *cst {
	x := s.head
	for lv := s.level - 1; lv >= 0; lv-- {
		for n := x.next[lv]; n != nil && n.beg <= off; n = x.next[lv] {
			x = n
		}
	}
	return x
}

// cover splits the CSTs so that [beg, end] is exactly a run of them, and
// returns the first.
func (s *Space) cover(beg, end uint64) *cst {
	first := s.splitAt(beg)
	if end < maxOff {
		s.splitAt(end + 1)
	}
	return first
}

// splitAt makes off the beginning of a CST and returns that CST. The CST
// that held off keeps its left part (and the requests that begin there);
// a new one takes the right part, with the same state, counts and reqs
// (every request over the old CST covers both parts) and the requests
// that end there.
func (s *Space) splitAt(off uint64) *cst {
	c := s.find(off)
	if c.beg == off {
		return c
	}
	n := s.newCST()
	n.beg, n.end, n.modified = off, c.end, c.modified
	n.shared, n.excl, n.modifying = c.shared, c.excl, c.modifying
	n.begins, n.ends = 0, c.ends
	n.reqs = append(n.reqs, c.reqs...)
	c.end, c.ends = off-1, 0
	s.link(n)
	return n
}

// mergeAt merges the CSTs on either side of offset off (off-1 | off) if
// they may be one.
func (s *Space) mergeAt(off uint64) {
	if off == 0 {
		return
	}
	if c := s.find(off - 1); c.end == off-1 {
		s.merge(c)
	}
}

// merge joins c and the CST after it when nothing distinguishes them: no
// live request ends at c or begins at the other, so the same requests
// cover both, and their modified flags agree. It reports whether it did.
func (s *Space) merge(c *cst) bool {
	d := c.next[0]
	if d == nil || c.ends != 0 || d.begins != 0 || c.modified != d.modified {
		return false
	}
	if c.shared != d.shared || c.excl != d.excl || c.modifying != d.modifying || len(c.reqs) != len(d.reqs) {
		panic("ccms: merge: neighbours with no edge between them differ")
	}
	s.unlink(d)
	c.end, c.ends = d.end, d.ends
	s.freeCST(d)
	return true
}

// sweep merges wherever it can across every boundary from beg-1 | beg to
// end | end+1, after states in [beg, end] changed.
func (s *Space) sweep(beg, end uint64) {
	c := s.head
	if beg > 0 {
		c = s.find(beg - 1)
	}
	// The boundary after c is at c.end+1; the last to look at is end+1.
	for c.end < end && c.next[0] != nil {
		if !s.merge(c) {
			c = c.next[0]
		}
	}
	if end < maxOff && c.end == end {
		s.merge(c)
	}
}

// link puts n, a new CST with a fresh height, into the list after the CST
// that held n.beg.
func (s *Space) link(n *cst) {
	s.level = max(s.level, len(n.next))
	x := s.head
	for lv := s.level - 1; lv >= 0; lv-- {
		for y := x.next[lv]; y != nil && y.beg < n.beg; y = x.next[lv] {
			x = y
		}
		if lv < len(n.next) {
			n.next[lv], x.next[lv] = x.next[lv], n
		}
	}
	s.ncst++
}

// unlink takes d, not the head, out of the list.
func (s *Space) unlink(d *cst) {
	x := s.head
	for lv := s.level - 1; lv >= 0; lv-- {
		for y := x.next[lv]; y != nil && y.beg < d.beg; y = x.next[lv] {
			x = y
		}
		if x.next[lv] == d {
			x.next[lv] = d.next[lv]
		}
	}
	for s.level > 1 && s.head.next[s.level-1] == nil {
		s.level--
	}
	s.ncst--
}

// newCST returns a zeroed CST with a random height (xorshift; any
// sequence serves, the heights need only be independent of the offsets).
func (s *Space) newCST() *cst {
	var c *cst
	if n := len(s.spare); n > 0 {
		c = s.spare[n-1]
		s.spare[n-1] = nil
		s.spare = s.spare[:n-1]
	} else {
		c = new(cst)
	}
	if s.rnd == 0 {
		s.rnd = 0x9e3779b97f4a7c15
	}
	s.rnd ^= s.rnd << 13
	s.rnd ^= s.rnd >> 7
	s.rnd ^= s.rnd << 17
	h := 1
	for r := s.rnd; h < levels && r&3 == 0; r >>= 2 {
		h++
	}
	if cap(c.next) < h {
		c.next = make([]*cst, h, levels)
	}
	c.next = c.next[:h]
	return c
}

func (s *Space) freeCST(c *cst) {
	clear(c.reqs)
	clear(c.next)
	*c = cst{reqs: c.reqs[:0], next: c.next[:0]}
	if len(s.spare) < spareCST {
		s.spare = append(s.spare, c)
	}
}

// Clean marks [beg, end] clean: its Modified CSTs become Invalid, Shared
// or Exclusive again by their holders, except where a Modifying lock is
// held (that range is being modified now, and stays Modified). A flush
// calls it after writing the range back, holding a Shared lock over it.
// beg > end panics.
func (s *Space) Clean(beg, end uint64) {
	if beg > end {
		panic("ccms: Clean: beg > end")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	for c := s.cover(beg, end); c != nil && c.beg <= end; c = c.next[0] {
		if c.modifying == 0 {
			c.modified = false
		}
	}
	s.sweep(beg, end)
}
