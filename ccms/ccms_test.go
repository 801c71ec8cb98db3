package ccms

import (
	"context"
	"math"
	"strings"
	"testing"
)

const max64 = math.MaxUint64

// enq makes a request without waiting for it (the model's driver).
func enq(s *Space, beg, end uint64, m Mode) *Lock {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &Lock{s: s, beg: beg, end: end, mode: m}
	s.enqueue(l)
	return l
}

// drop unlocks a held request or cancels a waiting one.
func drop(s *Space, l *Lock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release(l)
}

func isHeld(l *Lock) bool {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.state == held
}

// nth returns the i-th CST.
func nth(s *Space, i int) *cst {
	c := s.head
	for ; i > 0; i-- {
		c = c.next[0]
	}
	return c
}

// mustCheck fails the test if an invariant is broken.
func mustCheck(t *testing.T, s *Space) {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatalf("%v\n%v", err, s.Snapshot())
	}
}

// mustBeOne fails unless s is back to one clean CST with nothing live,
// after cleaning it.
func mustBeOne(t *testing.T, s *Space) {
	t.Helper()
	s.Clean(0, max64)
	mustCheck(t, s)
	sn := s.Snapshot()
	if len(sn.Held)+len(sn.Waiting) != 0 || len(sn.CSTs) != 1 || sn.CSTs[0] != (CST{Beg: 0, End: max64, State: StateInvalid}) {
		t.Fatalf("want one clean CST and nothing live:\n%v", sn)
	}
}

// TestConflictTable: every mode pair over every geometry, in both arrival
// orders: the second request waits iff the ranges overlap and the modes
// conflict; then everything merges back.
func TestConflictTable(t *testing.T) {
	type rng struct{ beg, end uint64 }
	geometries := []struct {
		name    string
		a, b    rng
		overlap bool
	}{
		{"overlapping", rng{100, 199}, rng{150, 249}, true},
		{"identical", rng{100, 199}, rng{100, 199}, true},
		{"adjacent", rng{100, 199}, rng{200, 299}, false},
		{"disjoint", rng{100, 199}, rng{300, 399}, false},
		{"contained", rng{100, 199}, rng{120, 130}, true},
		{"one byte on the edge", rng{100, 199}, rng{199, 199}, true},
		{"one byte past the edge", rng{100, 199}, rng{99, 99}, false},
		{"whole space", rng{0, max64}, rng{5, 5}, true},
		{"max-end overlapping", rng{100, max64}, rng{max64, max64}, true},
		{"max-end adjacent", rng{0, max64 - 1}, rng{max64, max64}, false},
		{"both to max", rng{7, max64}, rng{1 << 40, max64}, true},
		{"offset 0", rng{0, 0}, rng{0, 10}, true},
	}
	modes := []Mode{Shared, Exclusive, Modifying}
	for _, g := range geometries {
		for _, ma := range modes {
			for _, mb := range modes {
				for _, swap := range []bool{false, true} {
					a, b := g.a, g.b
					if swap {
						a, b = b, a
					}
					var s Space
					first := enq(&s, a.beg, a.end, ma)
					second := enq(&s, b.beg, b.end, mb)
					want := g.overlap && (ma != Shared || mb != Shared)
					if !isHeld(first) || isHeld(second) != !want {
						t.Errorf("%s %v then %v (swap %v): first held %v, second held %v, want second waiting %v",
							g.name, ma, mb, swap, isHeld(first), isHeld(second), want)
					}
					if want != ma.Conflicts(mb) && g.overlap {
						t.Errorf("Conflicts(%v, %v) = %v", ma, mb, ma.Conflicts(mb))
					}
					mustCheck(t, &s)
					drop(&s, first)
					if !isHeld(second) {
						t.Errorf("%s %v then %v: second not granted when the first went", g.name, ma, mb)
					}
					mustCheck(t, &s)
					drop(&s, second)
					mustBeOne(t, &s)
				}
			}
		}
	}
	// Zero-length requests lock nothing: they return at once even under a
	// whole-space exclusive lock, and touch no CST.
	for _, m := range []Mode{Shared, Modifying} {
		var s Space
		all := s.Lock(0, max64, Exclusive)
		l, err := s.lockIO(context.Background(), 150, 0, m)
		if err != nil || l == nil {
			t.Fatalf("zero-length %v: %v", m, err)
		}
		if sn := s.Snapshot(); len(sn.Held) != 1 || len(sn.CSTs) != 1 {
			t.Errorf("zero-length %v changed the space:\n%v", m, sn)
		}
		l.Unlock()
		all.Unlock()
		mustBeOne(t, &s)
	}
}

func TestIORange(t *testing.T) {
	for _, c := range []struct {
		off, n, beg, end uint64
		ok               bool
	}{
		{5, 0, 0, 0, false},
		{5, 1, 5, 5, true},
		{0, 4096, 0, 4095, true},
		{max64, 1, max64, max64, true},
		{max64, 2, max64, max64, true},
		{max64 - 10, 100, max64 - 10, max64, true},
		{5, max64, 5, max64, true},
		{0, max64, 0, max64 - 1, true},
		{1, max64, 1, max64, true},
	} {
		beg, end, ok := ioRange(c.off, c.n)
		if beg != c.beg || end != c.end || ok != c.ok {
			t.Errorf("ioRange(%d, %d) = [%d, %d] %v, want [%d, %d] %v", c.off, c.n, beg, end, ok, c.beg, c.end, c.ok)
		}
	}
	// An overflowing write locks to max, so it conflicts with a lock at max.
	var s Space
	top := enq(&s, max64, max64, Shared)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.LockWrite(ctx, 10, max64); err == nil {
		t.Error("cancelled context: LockWrite returned no error")
	}
	w := enq(&s, 10, max64, Modifying)
	if isHeld(w) {
		t.Error("an overflowing write did not wait for a reader at max")
	}
	drop(&s, w)
	drop(&s, top)
	mustBeOne(t, &s)
}

// TestStates: Modified is set by a Modifying lock, kept after its unlock
// until Clean, and kept by Clean under a held Modifying lock; neighbours
// merge as soon as nothing distinguishes them.
func TestStates(t *testing.T) {
	var s Space
	states := func() string {
		var b []string
		for _, c := range s.Snapshot().CSTs {
			b = append(b, offString(c.Beg)+"-"+offString(c.End)+":"+c.State.String())
		}
		return strings.Join(b, " ")
	}
	expect := func(want string) {
		t.Helper()
		mustCheck(t, &s)
		if got := states(); got != want {
			t.Fatalf("CSTs %s, want %s", got, want)
		}
	}
	r := s.Lock(10, 20, Shared)
	expect("0-9:INVALID 10-20:SHARED 21-max:INVALID")
	x := s.Lock(30, 40, Exclusive)
	expect("0-9:INVALID 10-20:SHARED 21-29:INVALID 30-40:EXCLUSIVE 41-max:INVALID")
	r.Unlock()
	x.Unlock()
	expect("0-max:INVALID")

	w := s.Lock(10, 20, Modifying)
	expect("0-9:INVALID 10-20:MODIFIED 21-max:INVALID")
	w.Unlock()
	expect("0-9:INVALID 10-20:MODIFIED 21-max:INVALID")
	s.Clean(12, 15)
	expect("0-9:INVALID 10-11:MODIFIED 12-15:INVALID 16-20:MODIFIED 21-max:INVALID")
	// A Modifying grant over a clean gap merges the modified pieces.
	w = s.Lock(11, 17, Modifying)
	expect("0-9:INVALID 10-10:MODIFIED 11-17:MODIFIED 18-20:MODIFIED 21-max:INVALID")
	w.Unlock()
	expect("0-9:INVALID 10-20:MODIFIED 21-max:INVALID")
	// Clean keeps what a held Modifying lock covers.
	w = s.Lock(15, 25, Modifying)
	s.Clean(0, max64)
	expect("0-14:INVALID 15-25:MODIFIED 26-max:INVALID")
	w.Unlock()
	expect("0-14:INVALID 15-25:MODIFIED 26-max:INVALID")
	s.Clean(0, 100)
	expect("0-max:INVALID")
	// Requests to max, at max and at 0.
	a := s.Lock(0, 0, Modifying)
	b := s.Lock(max64, max64, Shared)
	expect("0-0:MODIFIED 1-18446744073709551614:INVALID max-max:SHARED")
	a.Unlock()
	b.Unlock()
	mustBeOne(t, &s)
}

func TestDoubleUnlockPanics(t *testing.T) {
	var s Space
	ctx := context.Background()
	lk := s.Lock(1, 2, Shared)
	lc, _ := s.LockContext(ctx, 3, 4, Exclusive)
	le, _ := s.LockRead(ctx, 5, 0)
	for name, l := range map[string]*Lock{"Lock": lk, "LockContext": lc, "empty": le} {
		l.Unlock()
		func() {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, "unlocked twice") {
					t.Errorf("%s: second Unlock: recovered %v, want a panic saying unlocked twice", name, r)
				}
			}()
			l.Unlock()
		}()
	}
	mustBeOne(t, &s)
}

func TestBadArgumentsPanic(t *testing.T) {
	var s Space
	for name, f := range map[string]func(){
		"beg > end": func() { s.Lock(5, 4, Shared) },
		"bad mode":  func() { s.Lock(1, 4, Mode(0)) },
		"Clean":     func() { s.Clean(9, 8) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
	mustBeOne(t, &s)
}

func TestSnapshot(t *testing.T) {
	var s Space
	r := enq(&s, 0, 99, Shared)
	w := enq(&s, 50, 149, Modifying)
	r2 := enq(&s, 140, 160, Shared)
	sn := s.Snapshot()
	if len(sn.Held) != 1 || sn.Held[0].Seq != r.seq || len(sn.Waiting) != 2 {
		t.Fatalf("snapshot:\n%v", sn)
	}
	if got := sn.Waiting[0].String(); got != "#2 [50, 149] modifying waits for #1" {
		t.Errorf("waiter %q", got)
	}
	if got := sn.Waiting[1].String(); got != "#3 [140, 160] shared waits for #2" {
		t.Errorf("waiter %q", got)
	}
	// 0-49 50-99 100-139 140-149 150-160 161-max
	want := []CST{
		{0, 49, StateShared, 1, 0, 1},
		{50, 99, StateShared, 1, 0, 2},
		{100, 139, StateInvalid, 0, 0, 1},
		{140, 149, StateInvalid, 0, 0, 2},
		{150, 160, StateInvalid, 0, 0, 1},
		{161, max64, StateInvalid, 0, 0, 0},
	}
	if len(sn.CSTs) != len(want) {
		t.Fatalf("CSTs:\n%v", sn)
	}
	for i := range want {
		if sn.CSTs[i] != want[i] {
			t.Errorf("CST %d is %v, want %v", i, sn.CSTs[i], want[i])
		}
	}
	if !strings.Contains(sn.String(), "cst     [161, max] INVALID shared 0 exclusive 0 refs 0") {
		t.Errorf("String:\n%v", sn)
	}
	drop(&s, r)
	drop(&s, w)
	drop(&s, r2)
	mustBeOne(t, &s)
}

// TestCheckDetects: each invariant, broken by hand, makes Check fail with
// its label.
func TestCheckDetects(t *testing.T) {
	setup := func() (*Space, *Lock, *Lock) {
		s := new(Space)
		h := enq(s, 10, 19, Shared)
		w := enq(s, 15, 30, Exclusive)
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		return s, h, w
	}
	for _, c := range []struct {
		label string
		brk   func(s *Space, h, w *Lock)
	}{
		{"no-conflict", func(s *Space, h, w *Lock) { nth(s, 1).excl++ }},
		{"waiters-hold-nothing", func(s *Space, h, w *Lock) { nth(s, 3).excl++ }},
		{"waiters-hold-nothing", func(s *Space, h, w *Lock) { w.waits++ }},
		{"waiters-hold-nothing", func(s *Space, h, w *Lock) { h.blocks = nil }},
		{"waiters-hold-nothing", func(s *Space, h, w *Lock) { w.state = held }},
		{"partition", func(s *Space, h, w *Lock) { nth(s, 2).beg++ }},
		{"partition", func(s *Space, h, w *Lock) { nth(s, 4).end-- }},
		{"partition", func(s *Space, h, w *Lock) { s.ncst++ }},
		{"partition", func(s *Space, h, w *Lock) { s.head.next[levels-1] = nth(s, 3) }},
		{"edges", func(s *Space, h, w *Lock) { nth(s, 2).reqs = nth(s, 2).reqs[:1] }},
		{"edges", func(s *Space, h, w *Lock) { nth(s, 0).begins++ }},
		{"merged", func(s *Space, h, w *Lock) { s.splitAt(1000) }},
		{"modified", func(s *Space, h, w *Lock) {
			drop(s, h) // w, now held, is Exclusive: make it Modifying but not Modified
			w.mode = Modifying
			s.find(15).modifying++
		}},
	} {
		s, h, w := setup()
		c.brk(s, h, w)
		err := s.Check()
		if err == nil || !strings.Contains(err.Error(), "ccms: "+c.label+":") {
			t.Errorf("broken %s: Check returned %v", c.label, err)
		}
	}
}
