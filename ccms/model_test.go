package ccms

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The brute-force model: the requests in arrival order; one is granted iff
// no earlier live request overlaps it and conflicts with it. Modified is
// tracked at sample offsets.
type model struct {
	reqs     []*mreq
	modified map[uint64]bool
}

type mreq struct {
	l        *Lock
	beg, end uint64
	mode     Mode
	live     bool
	granted  bool // as of the last step
}

func overlaps(a, b *mreq) bool { return a.beg <= b.end && b.beg <= a.end }

// grantedNow applies the rule to request i.
func (m *model) grantedNow(i int) bool {
	r := m.reqs[i]
	for _, q := range m.reqs[:i] {
		if q.live && overlaps(q, r) && q.mode.Conflicts(r.mode) {
			return false
		}
	}
	return true
}

// samples are the offsets whose Modified state the model tracks: every
// offset the driver's ranges can start or end at, and their neighbours.
var samples = func() []uint64 {
	var s []uint64
	for o := uint64(0); o <= modelSpan+1; o++ {
		s = append(s, o)
	}
	return append(s, max64-1, max64)
}()

// modelSpan bounds the driver's small offsets.
const modelSpan = 40

// settle recomputes who is granted, marking what newly granted Modifying
// requests cover as modified.
func (m *model) settle() {
	for i, r := range m.reqs {
		if !r.live {
			continue
		}
		g := m.grantedNow(i)
		if r.granted && !g {
			panic("model: a granted request lost its grant")
		}
		if g && !r.granted && r.mode == Modifying {
			for _, o := range samples {
				if r.beg <= o && o <= r.end {
					m.modified[o] = true
				}
			}
		}
		r.granted = g
	}
}

// clean is Clean(beg, end) in the model.
func (m *model) clean(beg, end uint64) {
	for _, o := range samples {
		if o < beg || o > end {
			continue
		}
		held := false
		for _, r := range m.reqs {
			held = held || (r.live && r.granted && r.mode == Modifying && r.beg <= o && o <= r.end)
		}
		if !held {
			m.modified[o] = false
		}
	}
}

// compare checks the Space against the model after a step.
func (m *model) compare(s *Space) error {
	if err := s.Check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range m.reqs {
		if !r.live {
			if r.l.state != released {
				return fmt.Errorf("#%d released in the model, %v in the space", r.l.seq, r.l.state)
			}
			continue
		}
		if got := r.l.state == held; got != r.granted {
			return fmt.Errorf("#%d [%d, %d] %v: held %v, the model says %v", r.l.seq, r.beg, r.end, r.mode, got, r.granted)
		}
		// A waiter's goroutine would be woken exactly at its grant.
		if r.l.ready != nil && closed(r.l.ready) != r.granted {
			return fmt.Errorf("#%d: channel closed %v, granted %v", r.l.seq, closed(r.l.ready), r.granted)
		}
	}
	for _, o := range samples {
		if got := s.find(o).modified; got != m.modified[o] {
			return fmt.Errorf("offset %d: modified %v, the model says %v", o, got, m.modified[o])
		}
	}
	return nil
}

// randRange picks a range among small offsets, sometimes reaching max or
// lying at it.
func randRange(rng *rand.Rand) (beg, end uint64) {
	beg = rng.Uint64N(modelSpan)
	end = beg + rng.Uint64N(modelSpan/4)
	switch rng.IntN(10) {
	case 0:
		end = max64
	case 1:
		beg, end = max64, max64
	case 2:
		beg, end = max64-1, max64-1
	}
	return beg, end
}

// TestModel drives a Space from one goroutine with a seeded sequence of
// requests, unlocks, cancellations and Cleans, and after every step
// compares who is granted (and what is Modified) with the model, and runs
// Check. At the end everything goes and the space is one CST again.
func TestModel(t *testing.T) {
	seeds := uint64(30)
	if raceEnabled {
		seeds = 8 // the driver is one goroutine: the race detector only slows it
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0xcc45))
		var s Space
		m := &model{modified: map[uint64]bool{}}
		pick := func(granted bool) *mreq {
			var c []*mreq
			for _, r := range m.reqs {
				if r.live && r.granted == granted {
					c = append(c, r)
				}
			}
			if len(c) == 0 {
				return nil
			}
			return c[rng.IntN(len(c))]
		}
		step := func(what string) {
			m.settle()
			if err := m.compare(&s); err != nil {
				t.Fatalf("seed %d, after %s: %v\n%v", seed, what, err, s.Snapshot())
			}
		}
		for i := 0; i < 1500; i++ {
			switch op := rng.IntN(20); {
			case op < 9:
				beg, end := randRange(rng)
				mode := []Mode{Shared, Shared, Exclusive, Modifying}[rng.IntN(4)]
				r := &mreq{l: enq(&s, beg, end, mode), beg: beg, end: end, mode: mode, live: true}
				m.reqs = append(m.reqs, r)
				step(fmt.Sprintf("request [%d, %d] %v", beg, end, mode))
			case op < 15:
				if r := pick(true); r != nil {
					r.live = false
					r.l.Unlock()
					step(fmt.Sprintf("unlock #%d", r.l.seq))
				}
			case op < 18:
				if r := pick(false); r != nil {
					r.live = false
					drop(&s, r.l)
					step(fmt.Sprintf("cancel #%d", r.l.seq))
				}
			default:
				beg, end := randRange(rng)
				s.Clean(beg, end)
				m.clean(beg, end)
				step(fmt.Sprintf("Clean(%d, %d)", beg, end))
			}
		}
		for {
			r := pick(true)
			if r == nil {
				break
			}
			r.live = false
			r.l.Unlock()
			step(fmt.Sprintf("final unlock #%d", r.l.seq))
		}
		if r := pick(false); r != nil {
			t.Fatalf("seed %d: #%d still waits with nothing held", seed, r.l.seq)
		}
		mustBeOne(t, &s)
	}
}
