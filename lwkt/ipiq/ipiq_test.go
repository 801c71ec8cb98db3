package ipiq

import (
	"strings"
	"testing"
	"unsafe"

	"gofly/arch/amd64"
)

// Handler ids the tests use. Handlers are global, so each test sets the
// state they work on (tset, tlog, ...) before it runs them; the tests in
// this file play every CPU from one goroutine.
const (
	hRecord     = FirstHandler + iota // appends (arg1, arg2) to tlog
	hStorm                            // storm_test.go: counts a message
	hPing                             // storm_test.go: counts and replies
	hPong                             // storm_test.go: counts a reply
	hRelay                            // sends arg2 on along the route in arg1
	hBarrier                          // runs Process until hFlag has run
	hFlag                             // sets tflag
	hFill                             // sends from CPU arg1 to arg2 until full
	hNestedSend                       // one send from CPU arg1 to arg2, result in tsent
	hBench                            // counts
)

func init() {
	Register(hRecord, func(a1, a2 uintptr) { tlog = append(tlog, [2]uintptr{a1, a2}) })
	Register(hStorm, stormHandler)
	Register(hPing, pingHandler)
	Register(hPong, pongHandler)
	Register(hRelay, relayHandler)
	Register(hBarrier, barrierHandler)
	Register(hFlag, func(a1, a2 uintptr) { tflag = true })
	Register(hFill, fillHandler)
	Register(hNestedSend, nestedSendHandler)
	Register(hBench, func(a1, a2 uintptr) { benchCount++ })
}

var (
	tset       *Set
	tlog       [][2]uintptr
	tflag      bool
	tfilled    int  // hFill: sends accepted before the first full
	tsent      bool // hNestedSend: was the send accepted
	tbarrier   int  // hBarrier: Process calls it needed
	benchCount int
)

func rec(a1, a2 uintptr) Msg { return Msg{hRecord, a1, a2} }

func TestSelfTest(t *testing.T) {
	if err := SelfTest(); err != nil {
		t.Fatal(err)
	}
}

func TestLayout(t *testing.T) {
	if MaxCPUs != amd64.MaxCPUs {
		t.Errorf("MaxCPUs %d, amd64.MaxCPUs %d", MaxCPUs, amd64.MaxCPUs)
	}
	if FIFOSize&(FIFOSize-1) != 0 {
		t.Errorf("FIFOSize %d is not a power of two", FIFOSize)
	}
	if unsafeSizeofCounters != unsafe.Sizeof(counters{}) {
		t.Errorf("unsafeSizeofCounters %d, sizeof(counters) %d", unsafeSizeofCounters, unsafe.Sizeof(counters{}))
	}
	var c cpu
	var f fifo
	for _, o := range []struct {
		name      string
		got, want uintptr
	}{
		{"cpu.nesting (own line, after the senders' words)", unsafe.Offsetof(c.nesting), cacheLine},
		{"cpu.fifos (line-aligned)", unsafe.Offsetof(c.fifos) % cacheLine, 0},
		{"fifo.rindex (own line, after the source's words)", unsafe.Offsetof(f.rindex), cacheLine},
		{"fifo.ring (after the target's line)", unsafe.Offsetof(f.ring), 2 * cacheLine},
	} {
		if o.got != o.want {
			t.Errorf("%s: offset %d, want %d", o.name, o.got, o.want)
		}
	}
	t.Logf("sizeof(Set) = %d KiB", unsafe.Sizeof(Set{})/1024)
}

func TestSendToSelf(t *testing.T) {
	s := new(Set)
	tlog = nil
	raise, full := s.Send(3, 3, rec(1, 2))
	if raise || full || len(tlog) != 1 || tlog[0] != [2]uintptr{1, 2} {
		t.Fatalf("Send to self: raise=%v full=%v log=%v; want the handler run before Send returns", raise, full, tlog)
	}
	raise, full = s.SendPassive(3, 3, rec(3, 4))
	if raise || full || len(tlog) != 2 {
		t.Fatalf("SendPassive to self: raise=%v full=%v log=%v", raise, full, tlog)
	}
	if s.Pending(3) || s.Depth(3, 3) != 0 || s.Stats(3).Self != 2 || s.Stats(3).SentActive != 0 {
		t.Fatalf("send to self queued something: pending=%v stats=%+v", s.Pending(3), s.Stats(3))
	}
}

func TestPerPairOrder(t *testing.T) {
	s := new(Set)
	tlog = nil
	// Two sources interleave; each one's messages must run in its order.
	for i := uintptr(1); i <= 100; i++ {
		s.Send(1, 0, rec(1, i))
		s.SendPassive(2, 0, rec(2, i))
		if i%37 == 0 {
			s.Process(0)
		}
	}
	s.Process(0)
	next := map[uintptr]uintptr{1: 1, 2: 1}
	for _, e := range tlog {
		if e[1] != next[e[0]] {
			t.Fatalf("from cpu %d: message %d ran when %d was due", e[0], e[1], next[e[0]])
		}
		next[e[0]]++
	}
	if next[1] != 101 || next[2] != 101 {
		t.Fatalf("ran %d and %d messages, want 100 each", next[1]-1, next[2]-1)
	}
}

func TestRaiseRule(t *testing.T) {
	s := new(Set)
	tlog = nil
	// Armed target: the first active send raises, every later one (from
	// any source) finds npoll set.
	for i := 0; i < 5; i++ {
		for src := 1; src < 4; src++ {
			raise, _ := s.Send(src, 0, rec(0, 0))
			if want := i == 0 && src == 1; raise != want {
				t.Fatalf("send %d from cpu %d: raise=%v, want %v", i, src, raise, want)
			}
		}
	}
	if st := s.Stats(1); st.Raised != 1 || st.Avoided != 4 {
		t.Fatalf("cpu 1 stats %+v, want Raised 1 Avoided 4", st)
	}
	// ProcessNested does not re-arm: still no raise.
	s.ProcessNested(0)
	if raise, _ := s.Send(1, 0, rec(0, 0)); raise {
		t.Fatal("send after ProcessNested raised; only Process re-arms")
	}
	// Process re-arms: the next send raises even though nothing is
	// queued behind it, and the one after does not.
	s.Process(0)
	if s.Stats(0).Rearms != 1 {
		t.Fatalf("Rearms = %d, want 1", s.Stats(0).Rearms)
	}
	if raise, _ := s.Send(2, 0, rec(0, 0)); !raise {
		t.Fatal("first send after a re-arm did not raise")
	}
	if raise, _ := s.Send(1, 0, rec(0, 0)); raise {
		t.Fatal("second send after a re-arm raised")
	}
	// A Process that finds npoll clear (a poll, no IPI) counts no re-arm;
	// work queued is still found.
	s.Process(0)
	s.Process(0)
	if s.Stats(0).Rearms != 2 {
		t.Fatalf("Rearms = %d, want 2", s.Stats(0).Rearms)
	}
	// The rule is "signalled since the re-arm", not "queue was empty": a
	// non-empty ring whose target has re-armed still raises.
	s.SendPassive(1, 0, rec(0, 0))
	if raise, _ := s.Send(1, 0, rec(0, 0)); !raise {
		t.Fatal("active send behind an unsignalled passive message did not raise")
	}
	s.Process(0)
	if len(tlog) != 5*3+1+2+2 {
		t.Fatalf("ran %d messages, want %d", len(tlog), 5*3+1+2+2)
	}
}

func TestPassive(t *testing.T) {
	s := new(Set)
	tlog = nil
	for i := 0; i < PassiveLimit; i++ {
		if raise, full := s.SendPassive(1, 0, rec(1, uintptr(i))); raise || full {
			t.Fatalf("passive send at depth %d: raise=%v full=%v", i, raise, full)
		}
	}
	if s.cpus[0].npoll.Load() != 0 {
		t.Fatal("passive sends touched npoll")
	}
	if !s.Pending(0) || s.Pending(1) {
		t.Fatalf("Pending(0)=%v Pending(1)=%v after passive sends to 0", s.Pending(0), s.Pending(1))
	}
	// At PassiveLimit queued, passive goes active: raises, then avoided.
	if raise, full := s.SendPassive(1, 0, rec(1, PassiveLimit)); !raise || full {
		t.Fatalf("passive send at depth %d: raise=%v full=%v, want an active send", PassiveLimit, raise, full)
	}
	if raise, full := s.SendPassive(1, 0, rec(1, PassiveLimit+1)); raise || full {
		t.Fatalf("second escalated send: raise=%v full=%v", raise, full)
	}
	st := s.Stats(1)
	if st.SentPassive != PassiveLimit || st.Escalated != 2 || st.SentActive != 2 || st.Raised != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The tick: Pending, then Process.
	if n := s.Process(0); n != PassiveLimit+2 || s.Pending(0) {
		t.Fatalf("Process ran %d, pending %v", n, s.Pending(0))
	}
	// Below the limit again: passive again.
	if raise, _ := s.SendPassive(1, 0, rec(1, 0)); raise {
		t.Fatal("passive send to a drained ring raised")
	}
}

// consume takes messages from src's ring to self until depth remain, as a
// target that is part way through draining would.
func consume(s *Set, src, self, depth int) {
	c := &s.cpus[self]
	c.drain(&c.fifos[src], uint64(depth))
}

func TestBackPressureLimits(t *testing.T) {
	s := new(Set)
	tlog = nil
	for i := 0; i <= HighWater; i++ {
		if _, full := s.Send(1, 0, rec(0, 0)); full {
			t.Fatalf("refused at depth %d", i)
		}
	}
	// Past HighWater: refused, and the target is signalled if it re-armed
	// without draining.
	s.cpus[0].npoll.Store(0)
	raise, full := s.Send(1, 0, rec(0, 0))
	if !full || !raise {
		t.Fatalf("at depth %d: raise=%v full=%v, want refused with an IPI", HighWater+1, raise, full)
	}
	if raise, full := s.Send(1, 0, rec(0, 0)); !full || raise {
		t.Fatalf("retry: raise=%v full=%v, want refused, no second IPI", raise, full)
	}
	if d := s.cpus[0].fifos[1].drain.Load(); d != LowWater {
		t.Fatalf("drain mark %d, want %d", d, LowWater)
	}
	// Hysteresis: still refused down to LowWater+1, accepted at LowWater.
	for d := HighWater; d > LowWater; d -= 16 {
		consume(s, 1, 0, d)
		if _, full := s.Send(1, 0, rec(0, 0)); !full {
			t.Fatalf("accepted at depth %d while waiting for %d", d, LowWater)
		}
	}
	consume(s, 1, 0, LowWater+1)
	if _, full := s.Send(1, 0, rec(0, 0)); !full {
		t.Fatalf("accepted at depth %d", LowWater+1)
	}
	consume(s, 1, 0, LowWater)
	if _, full := s.Send(1, 0, rec(0, 0)); full {
		t.Fatalf("refused at depth %d", LowWater)
	}
	if s.cpus[0].fifos[1].drain.Load() != 0 {
		t.Fatal("drain mark left set after the wait ended")
	}
	// Back to the normal limit.
	for s.Depth(1, 0) <= HighWater {
		if _, full := s.Send(1, 0, rec(0, 0)); full {
			t.Fatalf("refused at depth %d after the wait ended", s.Depth(1, 0))
		}
	}
	// ProcessNested drains a waiting sender's ring to its mark, and only
	// a waiting sender's.
	s.Send(2, 0, rec(0, 0))
	if _, full := s.Send(1, 0, rec(0, 0)); !full {
		t.Fatal("not refused")
	}
	if n := s.ProcessNested(0); n != HighWater+1-LowWater || s.Depth(1, 0) != LowWater || s.Depth(2, 0) != 1 {
		t.Fatalf("ProcessNested ran %d; depths %d and %d", n, s.Depth(1, 0), s.Depth(2, 0))
	}
	if !s.Pending(0) {
		t.Fatal("ProcessNested cleared the mask")
	}
	s.Process(0)
	if s.Pending(0) || s.Depth(1, 0) != 0 || s.Depth(2, 0) != 0 {
		t.Fatal("Process left work")
	}
	// Refused: 2 at HighWater+1, 4 on the way down, 1 at LowWater+1, 1
	// before ProcessNested.
	if st := s.Stats(1); st.Full != 8 || st.SentActive != s.Stats(0).Processed-1 {
		t.Fatalf("cpu 1 stats %+v, cpu 0 processed %d", st, s.Stats(0).Processed)
	}
}

// fillHandler, on CPU arg1 (inside Process), sends to arg2 until refused.
func fillHandler(a1, a2 uintptr) {
	tfilled = 0
	for {
		if _, full := tset.Send(int(a1), int(a2), rec(0, 0)); full {
			return
		}
		tfilled++
	}
}

func nestedSendHandler(a1, a2 uintptr) {
	_, full := tset.Send(int(a1), int(a2), rec(0, 0))
	tsent = !full
}

func TestNestedLimits(t *testing.T) {
	s := new(Set)
	tset = s
	// Inside a handler on CPU 0 (nesting 1), sends to 1 go up to
	// NestedHighWater; the ring never holds more than FIFOSize-2.
	s.Send(2, 0, Msg{hFill, 0, 1})
	s.Process(0)
	if tfilled != NestedHighWater+1 || s.Depth(0, 1) != FIFOSize-2 {
		t.Fatalf("handler queued %d (depth %d), want %d", tfilled, s.Depth(0, 1), NestedHighWater+1)
	}
	if s.cpus[1].fifos[0].drain.Load() != NestedLowWater {
		t.Fatal("nested wait did not publish its drain mark")
	}
	// Back at nesting 0 the nested wait is stale; the normal limits apply.
	if _, full := s.Send(0, 1, rec(0, 0)); !full {
		t.Fatal("accepted at depth 254 from nesting 0")
	}
	if s.cpus[1].fifos[0].drain.Load() != LowWater {
		t.Fatalf("drain mark %d, want %d", s.cpus[1].fifos[0].drain.Load(), LowWater)
	}
	s.Process(1)

	// An outer wait (nesting 0) on a ring does not stop a handler from
	// sending on it up to NestedLowWater.
	for i := 0; i <= HighWater; i++ {
		s.Send(0, 1, rec(0, 0))
	}
	if _, full := s.Send(0, 1, rec(0, 0)); !full {
		t.Fatal("not refused")
	}
	for s.Depth(0, 1) <= NestedLowWater {
		s.Send(2, 0, Msg{hNestedSend, 0, 1})
		s.Process(0)
		if !tsent {
			t.Fatalf("handler send refused at depth %d during an outer wait", s.Depth(0, 1))
		}
	}
	s.Send(2, 0, Msg{hNestedSend, 0, 1})
	s.Process(0)
	if tsent || s.Depth(0, 1) != NestedLowWater+1 {
		t.Fatalf("handler send accepted at depth %d", s.Depth(0, 1))
	}
	// The outer wait is still on: its mark stays, its limit is LowWater.
	if s.cpus[1].fifos[0].drain.Load() != LowWater {
		t.Fatal("handler send changed the outer wait's mark")
	}
	if n := s.ProcessNested(1); n != NestedLowWater+1-LowWater {
		t.Fatalf("ProcessNested ran %d", n)
	}
	if _, full := s.Send(0, 1, rec(0, 0)); full {
		t.Fatal("outer wait not over at LowWater")
	}
	if st := s.Stats(0); st.MaxNest != 1 {
		t.Fatalf("MaxNest %d, want 1", st.MaxNest)
	}
}

// relayHandler forwards along a route: arg1 holds CPU numbers, 4 bits
// each, lowest first: the CPU this runs on, then the next hops. Each hop
// also sends to itself, which runs at once.
func relayHandler(a1, a2 uintptr) {
	self := int(a1 & 0xf)
	tlog = append(tlog, [2]uintptr{uintptr(self), a2})
	tset.Send(self, self, rec(uintptr(self), a2+100))
	if rest := a1 >> 4; rest != 0 {
		tset.Send(self, int(rest&0xf), Msg{hRelay, rest, a2 + 1})
	}
}

func TestRecursiveHandlers(t *testing.T) {
	s := new(Set)
	tset, tlog = s, nil
	// 0 -> 1 -> 2 -> 0 -> 3.
	route := uintptr(1 | 2<<4 | 0<<8 | 3<<12)
	s.Send(0, 1, Msg{hRelay, route, 1})
	for _, cpu := range []int{1, 2, 0, 3} {
		if !s.Pending(cpu) {
			t.Fatalf("cpu %d: nothing pending", cpu)
		}
		s.Process(cpu)
	}
	want := [][2]uintptr{{1, 1}, {1, 101}, {2, 2}, {2, 102}, {0, 3}, {0, 103}, {3, 4}, {3, 104}}
	if len(tlog) != len(want) {
		t.Fatalf("log %v, want %v", tlog, want)
	}
	for i := range want {
		if tlog[i] != want[i] {
			t.Fatalf("log %v, want %v", tlog, want)
		}
	}
}

// barrierHandler, running on CPU 1 from source 0, waits for message hFlag,
// queued behind it in the same ring, by calling Process: the nested call
// must find the ring although the outer one is still draining it.
func barrierHandler(a1, a2 uintptr) {
	tbarrier = 0
	for !tflag && tbarrier < 1000 {
		tset.Process(1)
		tbarrier++
	}
	// Both this message and the later one count as done now: DragonFly's
	// xindex is rindex as of the last handler to return.
	if !tset.Done(0, 1, 2) {
		tbarrier = -1
	}
	// A sender racing in while the outer Process still holds this ring.
	tset.Send(0, 1, rec(0, 3))
}

func TestNestedProcess(t *testing.T) {
	s := new(Set)
	tset, tlog, tflag = s, nil, false
	s.Send(0, 1, Msg{hBarrier, 0, 0})
	s.Send(0, 1, Msg{hFlag, 0, 0})
	seq := s.Seq(0, 1)
	if seq != 2 || s.Done(0, 1, 1) {
		t.Fatalf("Seq %d, Done(1) %v before processing", seq, s.Done(0, 1, 1))
	}
	n := s.Process(1)
	if tbarrier != 1 {
		t.Fatalf("barrier handler: %d nested Process calls (-1: Done false)", tbarrier)
	}
	if n != 2 || len(tlog) != 1 || tlog[0][1] != 3 {
		t.Fatalf("outer Process ran %d (log %v), want the barrier and the late message", n, tlog)
	}
	if s.Pending(1) || !s.Done(0, 1, s.Seq(0, 1)) || s.Stats(1).Processed != 3 || s.Stats(1).MaxNest != 2 {
		t.Fatalf("pending %v, stats %+v", s.Pending(1), s.Stats(1))
	}
}

func TestBadCalls(t *testing.T) {
	s := new(Set)
	tlog = nil
	s.Send(MaxCPUs, 0, rec(0, 0))
	s.Send(0, -1, rec(0, 0))
	s.Process(MaxCPUs)
	if s.BadCalls() != 3 || s.Pending(0) {
		t.Fatalf("BadCalls %d", s.BadCalls())
	}
	s.Send(1, 0, Msg{MaxHandlers, 0, 0})
	s.Send(1, 0, Msg{MaxHandlers - 1, 0, 0}) // not registered
	s.Send(1, 0, rec(0, 0))
	if n := s.Process(0); n != 3 || len(tlog) != 1 || s.Stats(0).BadFn != 2 {
		t.Fatalf("ran %d, log %v, stats %+v", n, tlog, s.Stats(0))
	}
}

func TestRegister(t *testing.T) {
	for _, c := range []struct {
		id   int
		fn   Handler
		want string
	}{
		{Nop, nop, "out of range"},
		{MaxHandlers, nop, "out of range"},
		{hRecord, nop, "already registered"},
		{MaxHandlers - 1, nil, "nil handler"},
	} {
		func() {
			defer func() {
				r, _ := recover().(string)
				if !strings.Contains(r, c.want) {
					t.Errorf("Register(%d): panic %q, want %q", c.id, r, c.want)
				}
			}()
			Register(c.id, c.fn)
		}()
	}
}

// The below-runtime paths allocate nothing (the handler here does not
// either).
func TestNoAllocs(t *testing.T) {
	s := new(Set)
	m := Msg{hBench, 1, 2}
	for name, f := range map[string]func(){
		"Send":          func() { s.Send(1, 0, m) },
		"SendPassive":   func() { s.SendPassive(2, 0, m) },
		"Send to self":  func() { s.Send(0, 0, m) },
		"Process":       func() { s.Send(1, 0, m); s.SendPassive(2, 0, m); s.Process(0) },
		"ProcessNested": func() { s.ProcessNested(0) },
		"full":          func() { s.Send(3, 0, m) },
		"queries":       func() { s.Pending(0); s.Depth(1, 0); s.Done(1, 0, s.Seq(1, 0)); s.Stats(0) },
	} {
		if name == "full" {
			for i := 0; i <= HighWater; i++ {
				s.Send(3, 0, m)
			}
		}
		// 100 runs stay below HighWater: Send measures the queueing path.
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run", name, n)
		}
		s.Process(0)
	}
}
