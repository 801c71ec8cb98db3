package lwkt

import (
	"fmt"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"gofly/arch/amd64"
)

// Host tests of the balancer (balance_nosplit.go): its decisions as pure
// functions of a load vector, and the give-away/take-over protocol on fake
// CPUs under -race.

// loadsOf makes a load vector: CPUs past len(v) are offline.
func loadsOf(v ...int32) *loads {
	var l loads
	for c := range l {
		l[c] = -1
		if c < len(v) {
			l[c] = v[c]
		}
	}
	return &l
}

func TestWakeCPU(t *testing.T) {
	for _, c := range []struct {
		own  int
		aff  uint64
		l    []int32
		want int
	}{
		{0, 0, []int32{0, 0}, 0},          // own CPU idles: stay
		{0, 0, []int32{1, 0}, 1},          // own busy, CPU 1 idle: go there
		{0, 0, []int32{1, 1}, 0},          // all busy: wake-affine
		{1, 0, []int32{0, 3, 0, 0}, 0},    // the first idle CPU
		{0, 0b10, []int32{0, 5}, 1},       // affinity no longer admits own
		{0, 0b101, []int32{2, 0, 1}, 0},   // CPU 1 idles but is not allowed
		{0, 0b101, []int32{2, 0, 0}, 2},   // CPU 2 idles and is allowed
		{2, 0, []int32{1, 1, -1, 0}, 3},   // own not online: the idlest that is
		{0, 0, []int32{3, 2, 1, 1, 1}, 0}, // busy everywhere
	} {
		if got := wakeCPU(c.own, c.aff, loadsOf(c.l...)); got != c.want {
			t.Errorf("wakeCPU(own %d, aff %#b, loads %v) = %d, want %d", c.own, c.aff, c.l, got, c.want)
		}
	}
}

func TestPushPullCPU(t *testing.T) {
	for _, c := range []struct {
		self       int
		l          []int32
		push, pull int
	}{
		{0, []int32{2, 0}, 1, -1},
		{0, []int32{2, 1}, -1, -1}, // a difference of one: no push (no ping-pong)
		{0, []int32{3, 1, 2}, 1, 2},
		{1, []int32{0, 0, 3}, -1, 2},  // self idles: nothing to push
		{0, []int32{0, 1, 1}, -1, -1}, // nobody has a queued thread to pull
		{0, []int32{1}, -1, -1},       // one CPU
	} {
		l := loadsOf(c.l...)
		if got := pushCPU(c.self, 0, l); got != c.push {
			t.Errorf("pushCPU(%d, %v) = %d, want %d", c.self, c.l, got, c.push)
		}
		if got := pullCPU(c.self, l); got != c.pull {
			t.Errorf("pullCPU(%d, %v) = %d, want %d", c.self, c.l, got, c.pull)
		}
	}
}

// TestPushConverges: from random loads, pushes alone (any CPU, any order)
// end within a bounded number of moves with loads at most one apart, each
// move lowering the sum of squared loads (so no thread ping-pongs).
func TestPushConverges(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 2000; round++ {
		n := 1 + rng.Intn(amd64.MaxCPUs)
		v := make([]int32, n)
		total := 0
		for c := range v {
			v[c] = int32(rng.Intn(12))
			total += int(v[c])
		}
		l := loadsOf(v...)
		sq := func() (s int) {
			for c := 0; c < n; c++ {
				s += int(l[c] * l[c])
			}
			return s
		}
		for moves := 0; ; moves++ {
			if moves > total*total+1 {
				t.Fatalf("loads %v: no end after %d moves: %v", v, moves, l[:n])
			}
			var did bool
			for _, self := range rng.Perm(n) {
				if dst := pushCPU(self, 0, l); dst >= 0 {
					before := sq()
					l[self]--
					l[dst]++
					if sq() >= before {
						t.Fatalf("push %d->%d from %v did not lower the sum of squares", self, dst, l[:n])
					}
					did = true
					break
				}
			}
			if !did {
				break
			}
		}
		lo, hi := l[0], l[0]
		for c := 0; c < n; c++ {
			lo, hi = min(lo, l[c]), max(hi, l[c])
		}
		if hi-lo > 1 {
			t.Fatalf("loads %v ended at %v: more than one apart", v, l[:n])
		}
	}
}

// fakeTrap is the end of a trap path on the calling fake CPU, as the
// kernel's: deferred messages sent, then Schedule's decision, until both
// are done (Unfinished), with passive sends (no local APIC on the host).
func fakeTrap(stop *atomic.Bool) {
	for {
		flushUntil(stop)
		schedule(mycpu())
		if !Unfinished() || stop.Load() {
			return
		}
	}
}

// TestBalanceSpreads: CPU 0 starts with every thread (one running, the
// rest queued), the other CPUs idle; every CPU takes ticks and IPI traps
// at its own pace. The threads never block, so only push and pull move
// them. At the end every thread is in exactly one place, each CPU's
// scheduler passes checkSched, every run message has arrived, the loads
// are at most one apart, and no thread moved more than the spreading
// needs (no ping-pong).
func TestBalanceSpreads(t *testing.T) {
	for _, ncpu := range []int{2, 3, 4} {
		t.Run(fmt.Sprintf("cpus%d", ncpu), func(t *testing.T) { testSpread(t, ncpu) })
	}
}

func testSpread(t *testing.T, ncpu int) {
	resetSched(ncpu)
	nOnline.Store(uint32(ncpu))
	defer nOnline.Store(0)
	nthreads := 2*ncpu + 1
	newRunning(t, 0, PriKernDaemon)
	for k := 1; k < nthreads; k++ {
		newRunnable(t, 0, PriKernDaemon)
	}
	gds[0].resched = false
	publish(&gds[0])

	rounds := 400
	var stop atomic.Bool
	var clock atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, ncpu)
	for c := 0; c < ncpu; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs[c] = fmt.Errorf("cpu %d: panic: %v", c, p)
					stop.Store(true)
					if HoldsMPLock() {
						RelMPLock()
					}
				}
			}()
			onCPU(t, c)
			rng := rand.New(rand.NewSource(int64(c)))
			for r := 0; r < rounds && !stop.Load(); r++ {
				if rng.Intn(3) == 0 { // an IPI trap: unlocked
					IPIs.Process(c)
					fakeTrap(&stop)
				} else { // a timer tick
					for mpLock.Load() != 0 && !stop.Load() {
						runtime.Gosched()
					}
					GetMPLock()
					Tick(clock.Add(1))
					fakeTrap(&stop)
					if res := checkSched(&gds[c]); res.code != checkOK {
						errs[c] = fmt.Errorf("cpu %d, round %d: checkSched: %s (thread %d)", c, r, checkMessages[res.code], res.id)
						stop.Store(true)
					}
					RelMPLock()
				}
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Quiescent: each CPU takes the messages left for it, in turn, until
	// none is left anywhere.
	for pass := 0; pass < 4; pass++ {
		for c := 0; c < ncpu; c++ {
			runOn(t, c, func() error {
				GetMPLock()
				defer RelMPLock()
				IPIs.Process(c)
				fakeTrap(&stop)
				return nil
			})
		}
	}
	where := map[int32]int{}
	var in, out uint64
	lo, hi := int32(1<<30), int32(-1)
	for c := 0; c < ncpu; c++ {
		g := &gds[c]
		if res := checkSched(g); res.code != checkOK {
			t.Fatalf("cpu %d at the end: checkSched: %s (thread %d)", c, checkMessages[res.code], res.id)
		}
		if n := g.incoming.Load(); n != 0 {
			t.Errorf("cpu %d: %d run messages still counted incoming", c, n)
		}
		q := queueOf(g)
		if int(g.nq) != len(q) {
			t.Errorf("cpu %d: nq %d, queue %v", c, g.nq, q)
		}
		load := int32(len(q))
		if g.cur != g.idle {
			q = append(q, g.cur)
			load++
		}
		if load != g.load.Load() {
			t.Errorf("cpu %d: published load %d, actual %d", c, g.load.Load(), load)
		}
		for _, i := range q {
			if p, ok := where[i]; ok {
				t.Fatalf("thread %d on cpu %d and on cpu %d", i, p, c)
			}
			where[i] = c
			if int(threads[i].gd.Load()) != c {
				t.Errorf("thread %d runs on cpu %d but belongs to cpu %d", i, c, threads[i].gd.Load())
			}
		}
		lo, hi = min(lo, load), max(hi, load)
		in += g.MigrIn.Load()
		out += g.MigrOut.Load()
	}
	if len(where) != nthreads {
		t.Fatalf("%d threads found on the CPUs, want %d", len(where), nthreads)
	}
	if hi-lo > 1 {
		t.Errorf("loads from %d to %d: not spread", lo, hi)
	}
	if in != out {
		t.Errorf("%d migrations in, %d out", in, out)
	}
	// Spreading 2n+1 threads from CPU 0 needs 2n-2 moves at the least;
	// twice that allows for pulls racing pushes, not for ping-pong.
	if need := uint64(2*ncpu - 2); out < need || out > 2*need {
		t.Errorf("%d migrations, want %d to %d", out, need, 2*need)
	}
	for c := 0; c < ncpu; c++ {
		for src := 0; src < ncpu; src++ {
			if d := IPIs.Depth(src, c); d != 0 {
				t.Errorf("%d messages left from cpu %d to cpu %d", d, src, c)
			}
		}
	}
}

// TestWakeupMoves: a thread of a busy CPU woken while another CPU idles
// goes to the idle CPU (its gd changes, a run message follows, and it
// counts a migration); with balancing off it stays home.
func TestWakeupMoves(t *testing.T) {
	for _, balance := range []bool{true, false} {
		resetSched(3)
		nOnline.Store(3)
		SetBalance(balance)
		newRunning(t, 0, PriKernDaemon)
		newRunning(t, 1, PriKernDaemon)
		publish(&gds[0])
		publish(&gds[1])
		w := newWaiting(t, 0, PriKernDaemon, WaitFutex, 0x40, 0, 0)
		want := 0
		if balance {
			want = 2
		}
		runOn(t, 1, func() error {
			GetMPLock()
			defer RelMPLock()
			if !Wakeup(w, 7) {
				return fmt.Errorf("Wakeup returned false")
			}
			if got := int(threads[w].gd.Load()); got != want {
				return fmt.Errorf("balance %v: woken thread went to cpu %d, want %d", balance, got, want)
			}
			if gds[want].incoming.Load() != 1 {
				return fmt.Errorf("balance %v: cpu %d counts %d incoming, want 1", balance, want, gds[want].incoming.Load())
			}
			hostFlush()
			return nil
		})
		runOn(t, want, func() error {
			IPIs.Process(want)
			if q := queueOf(&gds[want]); len(q) != 1 || q[0] != w {
				return fmt.Errorf("balance %v: cpu %d queue %v, want [%d]", balance, want, q, w)
			}
			if m := threads[w].Migrations; (m == 1) != balance {
				return fmt.Errorf("balance %v: %d migrations", balance, m)
			}
			return nil
		})
	}
	SetBalance(true)
	nOnline.Store(0)
}

// TestTickless: an idle CPU stops its tick only with nothing to run,
// nothing arriving and no deadline within the keep interval; the one-shot
// waits until its earliest deadline; the next trap (ExitTickless) sees the
// flag once.
func TestTickless(t *testing.T) {
	resetSched(2)
	runOn(t, 1, func() error {
		g := &gds[1]
		for _, c := range []struct {
			name     string
			setup    func()
			ns       uint64
			ok, flag bool
		}{
			{"idle, no deadline", func() {}, 0, true, true},
			{"deadline within keep", func() { g.nextDeadline = 1500 }, 0, false, false},
			{"deadline beyond keep", func() { g.nextDeadline = 5000 }, 4000, true, true},
			{"a thread arriving", func() { g.incoming.Store(1) }, 0, false, false},
			{"a reschedule asked", func() { g.resched = true }, 0, false, false},
			{"running a thread", func() { g.cur = newRunning(t, 1, PriKernDaemon) }, 0, false, false},
		} {
			g.nextDeadline, g.resched, g.cur = 0, false, g.idle
			g.incoming.Store(0)
			c.setup()
			ns, ok := EnterTickless(1000, 1000)
			if ns != c.ns || ok != c.ok {
				return fmt.Errorf("%s: EnterTickless = %d, %v; want %d, %v", c.name, ns, ok, c.ns, c.ok)
			}
			if got := ExitTickless(); got != c.flag {
				return fmt.Errorf("%s: ExitTickless = %v, want %v", c.name, got, c.flag)
			}
			if ExitTickless() {
				return fmt.Errorf("%s: ExitTickless true twice", c.name)
			}
		}
		return nil
	})
}
