package ipiq

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// machine simulates an SMP machine for the concurrent tests: one goroutine
// plays each CPU, calling Send and Process only for itself.
type machine struct {
	s    *Set
	ncpu int
	// intr[c] is CPU c's pending IPI: a one-slot buffer, so IPIs raised
	// while one is pending coalesce, like the vector's bit in the APIC's
	// IRR.
	intr     [MaxCPUs]chan struct{}
	raises   [MaxCPUs]atomic.Uint64 // IPIs raised to each CPU
	waitFull bool                   // the wait loop drains with Process, not ProcessNested

	want, done atomic.Uint64 // messages expected, and run so far
	quit       chan struct{} // closed when done reaches want
	quitOnce   sync.Once
	ctx        context.Context
}

func newMachine(t *testing.T, ncpu int, want uint64, timeout time.Duration) *machine {
	m := &machine{s: new(Set), ncpu: ncpu, quit: make(chan struct{})}
	for i := range m.intr {
		m.intr[i] = make(chan struct{}, 1)
	}
	m.want.Store(want)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	m.ctx = ctx
	return m
}

// raiseIPI is the local APIC sending a fixed IPI to dst.
func (m *machine) raiseIPI(dst int) {
	m.raises[dst].Add(1)
	select {
	case m.intr[dst] <- struct{}{}:
	default: // already pending
	}
}

// send is the kernel's side of Send (see Send's doc): raise when told to,
// and while refused run DragonFly's wait loop, draining this CPU's own
// incoming rings. It is also what handlers call to send.
func (m *machine) send(self, dst int, msg Msg, passive bool) {
	f := m.s.Send
	if passive {
		f = m.s.SendPassive
	}
	raise, full := f(self, dst, msg)
	for full {
		if raise {
			m.raiseIPI(dst)
		}
		if m.ctx.Err() != nil {
			return // timed out: the test reports it
		}
		if m.waitFull {
			m.s.Process(self)
		} else {
			m.s.ProcessNested(self)
		}
		runtime.Gosched() // cpu_pause; the host may have fewer cores than CPUs
		raise, full = f(self, dst, msg)
	}
	if raise {
		m.raiseIPI(dst)
	}
}

// ran counts one message run; the last one stops the machine.
func (m *machine) ran() {
	if m.done.Add(1) == m.want.Load() {
		m.quitOnce.Do(func() { close(m.quit) })
	}
}

// run plays CPU self: it calls step(0..steps-1), burst steps at a time with
// IPIs held off (a critical section), taking a pending IPI between bursts.
// With no work left it halts until the next IPI, like the idle loop's hlt,
// and never polls the rings: a lost wakeup hangs it, and the test times
// out. With tick > 0 a timer also interrupts it, and the tick processes if
// anything is Pending (passive messages).
func (m *machine) run(self, steps int, step func(i int), burst int, tick time.Duration) {
	var tickC <-chan time.Time
	if tick > 0 {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		tickC = tk.C
	}
	tickf := func() {
		if m.s.Pending(self) {
			m.s.Process(self)
		}
	}
	for i := 0; i < steps; {
		for end := min(i+burst, steps); i < end; i++ {
			step(i)
		}
		if m.ctx.Err() != nil {
			return
		}
		select {
		case <-m.intr[self]:
			m.s.Process(self)
		case <-tickC:
			tickf()
		default:
		}
	}
	for {
		select {
		case <-m.intr[self]:
			m.s.Process(self)
		case <-tickC:
			tickf()
		case <-m.quit:
			return
		case <-m.ctx.Done():
			return
		}
	}
}

// start runs every CPU and waits for all of them; it fails t if the
// machine timed out before every message ran.
func (m *machine) start(t *testing.T, body func(self int)) time.Duration {
	t0 := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < m.ncpu; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(c)
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	if m.done.Load() != m.want.Load() {
		t.Fatalf("timed out after %v: %d of %d messages ran\n%s", d, m.done.Load(), m.want.Load(), m.dump())
	}
	return d
}

func (m *machine) dump() string {
	var b strings.Builder
	for c := 0; c < m.ncpu; c++ {
		cc := &m.s.cpus[c]
		fmt.Fprintf(&b, "cpu %d: npoll %d mask %08b depths", c, cc.npoll.Load(), cc.ipimask.Load())
		for src := 0; src < m.ncpu; src++ {
			fmt.Fprintf(&b, " %d(drain %d)", m.s.Depth(src, c), cc.fifos[src].drain.Load())
		}
		fmt.Fprintf(&b, "\n  %+v\n", m.s.Stats(c))
	}
	return b.String()
}

// check verifies what every concurrent test must hold once all messages
// ran: rings empty, nothing pending, counters consistent, and
// one-raise-per-rearm: IPIs raised to a CPU ≤ its re-arms + 1.
func (m *machine) check(t *testing.T) (total Stats) {
	t.Helper()
	var raised uint64
	for c := 0; c < m.ncpu; c++ {
		if m.s.Pending(c) {
			t.Errorf("cpu %d: work pending at the end", c)
		}
		for src := 0; src < m.ncpu; src++ {
			if d := m.s.Depth(src, c); d != 0 {
				t.Errorf("ring %d->%d: %d entries left", src, c, d)
			}
		}
		st := m.s.Stats(c)
		if r := m.raises[c].Load(); r > st.Rearms+1 {
			t.Errorf("one-raise-per-rearm: cpu %d got %d IPIs, re-armed %d times", c, r, st.Rearms)
		}
		raised += m.raises[c].Load()
		total.SentActive += st.SentActive
		total.SentPassive += st.SentPassive
		total.Escalated += st.Escalated
		total.Raised += st.Raised
		total.Avoided += st.Avoided
		total.Full += st.Full
		total.Processed += st.Processed
		total.Rearms += st.Rearms
		total.BadFn += st.BadFn
		total.MaxNest = max(total.MaxNest, st.MaxNest)
	}
	if total.Raised != raised {
		t.Errorf("senders counted %d raises, the APIC saw %d", total.Raised, raised)
	}
	if total.SentActive+total.SentPassive != total.Processed || total.Processed != m.want.Load() {
		t.Errorf("no-loss: sent %d+%d, processed %d, want %d", total.SentActive, total.SentPassive, total.Processed, m.want.Load())
	}
	if total.BadFn != 0 || m.s.BadCalls() != 0 {
		t.Errorf("%d bad handlers, %d bad calls", total.BadFn, m.s.BadCalls())
	}
	return total
}

// pairLog is what the handlers on CPU dst record about messages from src.
// Only the CPU dst goroutine writes it (the race detector checks that).
type pairLog struct {
	last, count, firstBad uintptr
	seen                  []bool // for replies, which may run out of order
}

var (
	tm    *machine
	pairs [MaxCPUs][MaxCPUs]pairLog // [src][dst], requests
	pongs [MaxCPUs][MaxCPUs]pairLog // [src][dst], replies
)

func resetPairs(n int) {
	for s := range pairs {
		for d := range pairs[s] {
			pairs[s][d] = pairLog{}
			pongs[s][d] = pairLog{seen: make([]bool, n+1)}
		}
	}
}

func route(src, dst int) uintptr    { return uintptr(src)<<8 | uintptr(dst) }
func unroute(a1 uintptr) (int, int) { return int(a1 >> 8 & 0xff), int(a1 & 0xff) }
func (p *pairLog) inOrder(seq uintptr) {
	if seq != p.last+1 && p.firstBad == 0 {
		p.firstBad = seq
	}
	p.last = seq
	p.count++
}

// lastRan is the sequence number of the last storm message run, for
// TestOneByOne's sender to watch.
var lastRan atomic.Uint64

func stormHandler(a1, a2 uintptr) {
	src, dst := unroute(a1)
	pairs[src][dst].inOrder(a2)
	tm.ran()
	lastRan.Store(uint64(a2))
}

// pingHandler runs on dst: it records the ping and replies from inside the
// handler, waiting for room if it must (nested).
func pingHandler(a1, a2 uintptr) {
	src, dst := unroute(a1)
	pairs[src][dst].inOrder(a2)
	tm.send(dst, src, Msg{hPong, route(dst, src), a2}, false)
	tm.ran()
}

// pongHandler records a reply. Replies from one CPU may run out of order:
// a ping handler waiting for room lets later pings (and their replies) go
// first (per-pair-order holds for the order of sending, and a waiting
// handler sends late). Each must arrive exactly once.
func pongHandler(a1, a2 uintptr) {
	src, dst := unroute(a1)
	p := &pongs[src][dst]
	if p.seen[a2] && p.firstBad == 0 {
		p.firstBad = a2
	}
	p.seen[a2] = true
	p.count++
	tm.ran()
}

// checkPairs verifies per-pair-order and exactly-once for n requests per
// ordered pair (and n replies if replies).
func checkPairs(t *testing.T, ncpu, n int, replies bool) {
	t.Helper()
	for s := 0; s < ncpu; s++ {
		for d := 0; d < ncpu; d++ {
			if s != d {
				checkPair(t, s, d, n, replies)
			}
		}
	}
}

func checkPair(t *testing.T, s, d, n int, replies bool) {
	t.Helper()
	p := &pairs[s][d]
	if p.count != uintptr(n) || p.last != uintptr(n) || p.firstBad != 0 {
		t.Errorf("per-pair-order %d->%d: %d messages, last %d, first out of order %d; want %d in order",
			s, d, p.count, p.last, p.firstBad, n)
	}
	if replies {
		p := &pongs[d][s]
		if p.count != uintptr(n) || p.firstBad != 0 {
			t.Errorf("replies %d->%d: %d, first duplicate %d; want %d", d, s, p.count, p.firstBad, n)
		}
	}
}

// others returns the i-th CPU other than self.
func others(self, i int) int {
	if i >= self {
		return i + 1
	}
	return i
}

// TestStorm: every CPU sends n messages to every other CPU, as fast as it
// can, taking IPIs between bursts. Nothing may be lost, duplicated or
// reordered within a pair, and no CPU may sleep through an IPI.
func TestStorm(t *testing.T) {
	ncpu, n := MaxCPUs, 10000
	if testing.Short() {
		n = 2000
	}
	for _, v := range []struct {
		name     string
		burst    int
		waitFull bool
	}{
		{"nested-wait", 16, false},
		{"process-wait", 300, true},
	} {
		t.Run(v.name, func(t *testing.T) {
			m := newMachine(t, ncpu, uint64(ncpu*(ncpu-1)*n), 2*time.Minute)
			m.waitFull = v.waitFull
			tm = m
			resetPairs(n)
			d := m.start(t, func(self int) {
				m.run(self, n*(ncpu-1), func(i int) {
					dst := others(self, i%(ncpu-1))
					m.send(self, dst, Msg{hStorm, route(self, dst), uintptr(i/(ncpu-1) + 1)}, false)
				}, v.burst, 0)
			})
			checkPairs(t, ncpu, n, false)
			st := m.check(t)
			t.Logf("%d messages in %v: %d IPIs raised, %d avoided, %d re-arms, %d refused full, max nesting %d",
				st.Processed, d, st.Raised, st.Avoided, st.Rearms, st.Full, st.MaxNest)
		})
	}
}

// TestPassiveStorm: the same with passive sends. IPIs come only from sends
// that escalated (or were refused); the rest is found by the tick.
func TestPassiveStorm(t *testing.T) {
	ncpu, n := 4, 5000
	m := newMachine(t, ncpu, uint64(ncpu*(ncpu-1)*n), 2*time.Minute)
	tm = m
	resetPairs(n)
	d := m.start(t, func(self int) {
		m.run(self, n*(ncpu-1), func(i int) {
			dst := others(self, i%(ncpu-1))
			m.send(self, dst, Msg{hStorm, route(self, dst), uintptr(i/(ncpu-1) + 1)}, true)
		}, 32, time.Millisecond)
	})
	checkPairs(t, ncpu, n, false)
	st := m.check(t)
	if st.SentActive != st.Escalated {
		t.Errorf("passive-escalation: %d active sends, %d escalations", st.SentActive, st.Escalated)
	}
	if st.Raised > st.Escalated+st.Full {
		t.Errorf("passive-escalation: %d IPIs raised for %d escalated and %d refused sends", st.Raised, st.Escalated, st.Full)
	}
	t.Logf("%d messages in %v: %d passive, %d escalated, %d IPIs, %d refused full",
		st.Processed, d, st.SentPassive, st.Escalated, st.Raised, st.Full)
}

// TestPassiveTick: passive messages below the limit raise nothing and are
// run by the target's next tick.
func TestPassiveTick(t *testing.T) {
	m := newMachine(t, 2, 10, 30*time.Second)
	tm = m
	resetPairs(10)
	m.start(t, func(self int) {
		steps := 0
		if self == 1 {
			steps = 10
		}
		m.run(self, steps, func(i int) {
			m.send(1, 0, Msg{hStorm, route(1, 0), uintptr(i + 1)}, true)
		}, 10, 5*time.Millisecond)
	})
	if r := m.raises[0].Load(); r != 0 {
		t.Errorf("%d IPIs raised for 10 passive messages", r)
	}
	if st := m.s.Stats(0); st.Rearms != 0 || st.Processed != 10 {
		t.Errorf("target stats %+v", st)
	}
}

// TestFlood: two CPUs flood each other in long critical sections (they
// take IPIs only every 1000 sends), so both rings fill and both senders
// wait on each other at once. Both must finish: each waiting CPU drains the
// other's ring.
func TestFlood(t *testing.T) {
	n := 50000
	if testing.Short() {
		n = 10000
	}
	m := newMachine(t, 2, uint64(2*n), time.Minute)
	tm = m
	resetPairs(n)
	d := m.start(t, func(self int) {
		m.run(self, n, func(i int) {
			m.send(self, 1-self, Msg{hStorm, route(self, 1-self), uintptr(i + 1)}, false)
		}, 1000, 0)
	})
	checkPairs(t, 2, n, false)
	st := m.check(t)
	if st.Full == 0 {
		t.Errorf("back-pressure never engaged")
	}
	t.Logf("%d messages in %v: refused full %d times (cpu 0 %d, cpu 1 %d)",
		st.Processed, d, st.Full, m.s.Stats(0).Full, m.s.Stats(1).Full)
}

// TestPingPong: every request's handler replies from inside the handler,
// so handlers send (and wait for room) while CPUs flood each other.
func TestPingPong(t *testing.T) {
	ncpu, n := 4, 3000
	for _, waitFull := range []bool{false, true} {
		t.Run(fmt.Sprintf("waitFull=%v", waitFull), func(t *testing.T) {
			m := newMachine(t, ncpu, uint64(2*ncpu*(ncpu-1)*n), 2*time.Minute)
			m.waitFull = waitFull
			tm = m
			resetPairs(n)
			d := m.start(t, func(self int) {
				m.run(self, n*(ncpu-1), func(i int) {
					dst := others(self, i%(ncpu-1))
					m.send(self, dst, Msg{hPing, route(self, dst), uintptr(i/(ncpu-1) + 1)}, false)
				}, 200, 0)
			})
			checkPairs(t, ncpu, n, true)
			st := m.check(t)
			t.Logf("%d messages in %v: refused full %d times, max nesting %d", st.Processed, d, st.Full, st.MaxNest)
		})
	}
}

// TestOneByOne: CPU 1 sends one message at a time and waits until its
// handler has run before it sends the next, so each send lands just as the
// target leaves the handler, finds the ring empty and clears the source's
// mask bit: the window where a target that did not set the bit again
// would strand the message (and the waiting sender: the test times out).
// Half the waits use Seq and Done (lwkt_wait_ipiq); the other half watch
// the handler itself, which lands the next send closer to the window. CPU
// 0 only runs on IPIs. The window is a few instructions wide, so this is a
// stress test: with the re-set removed it failed about one run in six.
func TestOneByOne(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 20000
	}
	m := newMachine(t, 2, uint64(n), 20*time.Second)
	tm = m
	resetPairs(n)
	lastRan.Store(0)
	m.start(t, func(self int) {
		if self == 0 {
			m.run(0, 0, nil, 1, 0)
			return
		}
		for i := 1; i <= n; i++ {
			m.send(1, 0, Msg{hStorm, route(1, 0), uintptr(i)}, false)
			seq := m.s.Seq(1, 0)
			done := func() bool { return m.s.Done(1, 0, seq) }
			if i%2 == 0 {
				done = func() bool { return lastRan.Load() == uint64(i) }
			}
			for spins := 0; !done(); spins++ {
				if m.ctx.Err() != nil {
					return
				}
				m.s.Process(1)
				if spins > 100 {
					runtime.Gosched()
				}
			}
		}
	})
	checkPair(t, 1, 0, n, false)
	st := m.check(t)
	if !m.s.Done(1, 0, m.s.Seq(1, 0)) {
		t.Error("last message not done")
	}
	t.Logf("%d messages: %d IPIs raised, %d avoided", st.Processed, st.Raised, st.Avoided)
}
