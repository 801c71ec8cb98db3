package lwkt

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"gofly/fatal"
)

// Host tests of the scheduler's run-queue logic (sched_nosplit.go). The
// pure functions take a *Globaldata, so most tests drive CPU 0's scheduler
// from the test goroutine; those that call the GS-reading entry points
// (Wakeup, Clone, checkLocal) run on a fake CPU (runOn).

// schedToks are the tokens the scheduler tests hand to threads: static,
// as a Token must be.
var schedToks [3]Token

// resetAll is resetSched plus freeing schedToks.
func resetAll(n int) {
	resetSched(n)
	for i := range schedToks {
		schedToks[i].Init("sched")
	}
}

// runOn runs fn on a new goroutine locked to an OS thread that looks like
// CPU cpu, waits for it, and fails the test with fn's error or panic.
func runOn(t *testing.T, cpu int, fn func() error) {
	t.Helper()
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		onCPU(t, cpu)
		err = fn()
	}()
	<-done
	if err != nil {
		t.Fatalf("cpu %d: %v", cpu, err)
	}
}

// newThread allocates a Blocked thread of CPU cpu with priority pri.
func newThread(t testing.TB, cpu int, pri uint8) int32 {
	t.Helper()
	i := alloc(cpu, pri)
	if i < 0 {
		t.Fatal("thread table full")
	}
	return i
}

// newRunnable allocates a thread and puts it on its CPU's run queue.
func newRunnable(t testing.TB, cpu int, pri uint8) int32 {
	i := newThread(t, cpu, pri)
	makeRunnable(&gds[cpu], i)
	return i
}

// newRunning allocates a thread and makes it CPU cpu's current thread.
func newRunning(t testing.TB, cpu int, pri uint8) int32 {
	i := newThread(t, cpu, pri)
	threads[i].state = Running
	gds[cpu].cur = i
	return i
}

// newWaiting allocates a thread of CPU cpu that runs and blocks.
func newWaiting(t testing.TB, cpu int, pri uint8, kind WaitKind, key uintptr, deadline int64, ret uint64) int32 {
	t.Helper()
	g := &gds[cpu]
	cur, resched := g.cur, g.resched
	i := newRunning(t, cpu, pri)
	block(g, kind, key, deadline, ret)
	g.cur, g.resched = cur, resched
	return i
}

// queueOf returns g's run queue, head first.
func queueOf(g *Globaldata) []int32 {
	var q []int32
	for i := g.head; i >= 0 && len(q) <= MaxThreads; i = threads[i].next {
		q = append(q, i)
	}
	return q
}

func wantQueue(t *testing.T, g *Globaldata, want ...int32) {
	t.Helper()
	if q := queueOf(g); fmt.Sprint(q) != fmt.Sprint(want) {
		t.Fatalf("run queue %v, want %v", q, want)
	}
}

func wantCur(t *testing.T, g *Globaldata, want int32) {
	t.Helper()
	if g.cur != want {
		t.Fatalf("current thread %d, want %d (queue %v)", g.cur, want, queueOf(g))
	}
	if want != g.idle && threads[want].state != Running {
		t.Fatalf("current thread %d is %v", want, threads[want].state)
	}
}

func wantCheck(t *testing.T, g *Globaldata) {
	t.Helper()
	if r := checkSched(g); r.code != checkOK {
		t.Fatalf("checkSched: %s (thread id %d)", checkMessages[r.code], r.id)
	}
}

// TestSchedPriorityOrder: the run queue is sorted by priority, equal
// priorities in arrival order, and threads run in that order as each
// blocks, then the CPU idles.
func TestSchedPriorityOrder(t *testing.T) {
	resetAll(1)
	g := &gds[0]
	a := newRunnable(t, 0, 6)
	b := newRunnable(t, 0, 12)
	c := newRunnable(t, 0, 6)
	d := newRunnable(t, 0, 12)
	e := newRunnable(t, 0, 14)
	wantQueue(t, g, e, b, d, a, c)
	if !g.resched {
		t.Fatal("a thread made runnable on an idle CPU asks for no reschedule")
	}
	wantCheck(t, g)
	for _, want := range []int32{e, b, d, a, c, g.idle} {
		if want != e {
			block(g, WaitSleep, 0, 0, 0)
		}
		if !reschedule(g) {
			t.Fatalf("no switch to %d", want)
		}
		wantCur(t, g, want)
		wantCheck(t, g)
	}
	if g.Switches != 6 || threads[e].Switches != 1 {
		t.Fatalf("switches: cpu %d, thread %d", g.Switches, threads[e].Switches)
	}
	if threads[g.idle].state != Blocked {
		t.Fatalf("the idle thread is %v", threads[g.idle].state)
	}
	if g.resched || reschedule(g) {
		t.Fatal("an idle CPU with an empty queue reschedules")
	}
}

// TestSchedRoundRobin: equal priorities take turns a quantum each; a
// lower-priority thread waits; tick asks for a switch only at the end of
// the quantum.
func TestSchedRoundRobin(t *testing.T) {
	resetAll(1)
	g := &gds[0]
	a := newRunnable(t, 0, 12)
	b := newRunnable(t, 0, 12)
	c := newRunnable(t, 0, 12)
	low := newRunnable(t, 0, 6)
	reschedule(g)
	wantCur(t, g, a)
	order := []int32{a, b, c}
	for turn := 0; turn < 7; turn++ {
		wantCur(t, g, order[turn%3])
		for k := 1; k < Quantum; k++ {
			tick(g, int64(turn*Quantum+k))
			if g.resched || reschedule(g) {
				t.Fatalf("turn %d: switched after %d ticks of a %d-tick quantum", turn, k, Quantum)
			}
		}
		tick(g, int64(turn*Quantum+Quantum))
		if !g.resched {
			t.Fatalf("turn %d: no reschedule at the end of the quantum", turn)
		}
		if !reschedule(g) {
			t.Fatalf("turn %d: no switch at the end of the quantum", turn)
		}
		prev := order[turn%3]
		wantQueue(t, g, order[(turn+2)%3], prev, low)
		if threads[g.cur].ticks != 0 {
			t.Fatal("the quantum did not restart")
		}
		wantCheck(t, g)
	}

	// Alone, a thread runs on past its quantum; beside a lower-priority
	// thread too.
	resetAll(1)
	a = newRunning(t, 0, 12)
	for k := 0; k < 3*Quantum; k++ {
		tick(g, int64(k))
		if reschedule(g) {
			t.Fatal("a thread alone was switched out")
		}
	}
	low = newRunnable(t, 0, 6)
	for k := 0; k < 3*Quantum; k++ {
		tick(g, int64(k))
		if reschedule(g) {
			t.Fatal("a thread was switched out for a lower-priority one")
		}
	}
	wantCur(t, g, a)
	wantQueue(t, g, low)
}

// TestSchedPreempt: a wake of a higher-priority thread preempts at once,
// and the preempted thread goes behind its equals; a wake of an equal or
// lower one waits for the quantum.
func TestSchedPreempt(t *testing.T) {
	resetAll(1)
	g := &gds[0]
	runOn(t, 0, func() error {
		low := newRunning(t, 0, 6)
		peer := newRunnable(t, 0, 6)
		hi := newWaiting(t, 0, 12, WaitFutex, 0x10, 0, 0)
		eq := newWaiting(t, 0, 12, WaitFutex, 0x20, 0, 0)
		top := newWaiting(t, 0, 14, WaitFutex, 0x30, 0, 0)
		threads[low].ticks = 3
		if !Wakeup(hi, 42) || Wakeup(hi, 43) {
			return fmt.Errorf("Wakeup of a waiter: not exactly one true")
		}
		if !g.resched || threads[hi].Frame.RAX != 42 || threads[hi].Wait != WaitNone {
			return fmt.Errorf("wake of a higher priority: resched %v, RAX %d, wait %v", g.resched, threads[hi].Frame.RAX, threads[hi].Wait)
		}
		if !reschedule(g) || g.cur != hi {
			return fmt.Errorf("no preemption by the woken thread: cur %d", g.cur)
		}
		if q := queueOf(g); fmt.Sprint(q) != fmt.Sprint([]int32{peer, low}) {
			return fmt.Errorf("queue %v after preemption, want %v", q, []int32{peer, low})
		}
		threads[hi].ticks = 3
		if !Wakeup(eq, 1) || g.resched {
			return fmt.Errorf("wake of an equal priority asks for a reschedule")
		}
		if Wakeup(low, 1) {
			return fmt.Errorf("Wakeup of a thread that does not wait returned true")
		}
		if !Wakeup(top, 7) || !reschedule(g) || g.cur != top {
			return fmt.Errorf("no preemption mid-quantum by a higher priority: cur %d", g.cur)
		}
		if q := queueOf(g); fmt.Sprint(q) != fmt.Sprint([]int32{eq, hi, peer, low}) {
			return fmt.Errorf("queue %v, want %v", q, []int32{eq, hi, peer, low})
		}
		if r := checkSched(g); r.code != checkOK {
			return fmt.Errorf("checkSched: %s", checkMessages[r.code])
		}
		return nil
	})
}

// TestSchedBlock: a thread that blocks is switched out for the next
// runnable thread or, with none, for the idle thread; its wake brings the
// CPU back from idle. The idle thread cannot block.
func TestSchedBlock(t *testing.T) {
	resetAll(1)
	g := &gds[0]
	a := newRunning(t, 0, 12)
	low := newRunnable(t, 0, 6)
	block(g, WaitFutex, 0x40, 0, 0)
	if !g.resched || threads[a].state != Blocked || threads[a].Wait != WaitFutex || threads[a].WaitKey != 0x40 {
		t.Fatal("block did not park the current thread")
	}
	if !reschedule(g) {
		t.Fatal("no switch after block")
	}
	wantCur(t, g, low)
	wantQueue(t, g)
	block(g, WaitRead, 0, 0, 0)
	reschedule(g)
	wantCur(t, g, g.idle)
	wantCheck(t, g)
	if claim(&threads[a], 5) {
		makeRunnable(g, a)
	}
	if !g.resched || !reschedule(g) {
		t.Fatal("a wake on an idle CPU does not switch")
	}
	wantCur(t, g, a)
	if threads[a].Frame.RAX != 5 {
		t.Fatalf("RAX %d, want the waker's 5", threads[a].Frame.RAX)
	}
	wantCheck(t, g)

	g.cur = g.idle
	if msg := fatal.Catch(func() { block(g, WaitSleep, 0, 0, 0) }); msg == "" {
		t.Fatal("the idle thread blocked")
	}
	g.cur = a
	if msg := fatal.Catch(func() { block(g, WaitNone, 0, 0, 0) }); msg == "" {
		t.Fatal("a block with no wait kind was taken")
	}
}

// TestSchedExit: an exiting thread is freed, the CPU switches without
// saving it, its slot is reused; the last thread's exit idles the CPU; the
// idle thread cannot exit, and a thread that exits holding a token is a
// kernel bug (thrown).
func TestSchedExit(t *testing.T) {
	resetAll(1)
	g := &gds[0]
	a := newRunning(t, 0, 12)
	b := newRunnable(t, 0, 6)
	mustGet(t, a, &schedToks[0], true)
	if msg := fatal.Catch(func() { exit(g) }); msg == "" {
		t.Fatal("a thread exited holding a token")
	}
	if schedToks[0].Owner() != -1 || TokenCount(a) != 0 {
		t.Fatal("the throwing exit kept the token")
	}
	g.cur, threads[a].state, threads[a].live = a, Running, true
	exit(g)
	if threads[a].state != Free || threads[a].live || !g.resched {
		t.Fatal("exit did not free the current thread")
	}
	if !reschedule(g) {
		t.Fatal("no switch after exit")
	}
	wantCur(t, g, b)
	wantCheck(t, g)
	if i := newThread(t, 0, 12); i != a {
		t.Fatalf("alloc took slot %d, want the freed slot %d", i, a)
	}
	exit(g)
	reschedule(g)
	wantCur(t, g, g.idle)
	if msg := fatal.Catch(func() { exit(g) }); msg == "" {
		t.Fatal("the idle thread exited")
	}
	if FindID(threads[b].ID) >= 0 {
		t.Fatal("FindID found an exited thread")
	}
}

// TestSchedTickDeadlines: a tick wakes this CPU's threads whose deadline
// passed, with their timeout result, and recomputes nextDeadline from
// those still waiting; another CPU's threads and threads already woken
// are left alone; before nextDeadline a tick looks at no thread.
func TestSchedTickDeadlines(t *testing.T) {
	resetAll(2)
	g := &gds[0]
	a := newWaiting(t, 0, 12, WaitSleep, 0, 100, 77)
	b := newWaiting(t, 0, 12, WaitFutex, 0x50, 200, 88)
	c := newWaiting(t, 0, 12, WaitSleep, 0, 50, 99)
	d := newWaiting(t, 0, 12, WaitFutex, 0x60, 0, 0)
	e := newWaiting(t, 1, 12, WaitSleep, 0, 10, 11)
	if g.nextDeadline != 50 || gds[1].nextDeadline != 10 {
		t.Fatalf("nextDeadline %d, %d after block", g.nextDeadline, gds[1].nextDeadline)
	}
	claim(&threads[c], 3) // woken before its deadline, its run message in flight

	tick(g, 20) // before nextDeadline: nothing
	if g.nextDeadline != 50 || threads[a].Wait != WaitSleep {
		t.Fatal("a tick before nextDeadline changed the waits")
	}
	tick(g, 60)
	if g.nextDeadline != 100 {
		t.Fatalf("nextDeadline %d after a stale deadline, want 100", g.nextDeadline)
	}
	wantQueue(t, g)
	if threads[c].state != Blocked || threads[c].Frame.RAX != 3 {
		t.Fatal("a tick woke a thread whose wait another waker ended")
	}
	tick(g, 100)
	wantQueue(t, g, a)
	if threads[a].Wait != WaitNone || threads[a].Deadline != 0 || threads[a].Frame.RAX != 77 {
		t.Fatal("the timed-out thread did not get its timeout result")
	}
	if g.nextDeadline != 200 {
		t.Fatalf("nextDeadline %d, want 200", g.nextDeadline)
	}
	tick(g, 150)
	wantQueue(t, g, a)
	tick(g, 1000)
	wantQueue(t, g, a, b)
	if threads[b].Frame.RAX != 88 || g.nextDeadline != 0 {
		t.Fatalf("b: RAX %d, nextDeadline %d", threads[b].Frame.RAX, g.nextDeadline)
	}
	if threads[d].Wait != WaitFutex || threads[e].Wait != WaitSleep || threads[e].state != Blocked {
		t.Fatal("a tick woke a thread without a deadline or of another CPU")
	}
	if len(queueOf(&gds[1])) != 0 || gds[1].nextDeadline != 10 {
		t.Fatal("CPU 0's tick touched CPU 1's scheduler")
	}
	if !g.resched {
		t.Fatal("wakes on an idle CPU asked for no reschedule")
	}
}

// TestSchedYield: a yield hands the CPU to an equal-priority peer and
// queues the yielder behind it; with no peer, or only lower priorities,
// the yielder runs on.
func TestSchedYield(t *testing.T) {
	resetAll(1)
	g := &gds[0]
	a := newRunning(t, 0, 12)
	yield(g)
	if reschedule(g) {
		t.Fatal("a yield with nothing else runnable switched")
	}
	wantCur(t, g, a)
	low := newRunnable(t, 0, 6)
	yield(g)
	if reschedule(g) {
		t.Fatal("a yield switched to a lower priority")
	}
	b := newRunnable(t, 0, 12)
	c := newRunnable(t, 0, 12)
	yield(g)
	if !reschedule(g) {
		t.Fatal("a yield beside equal peers did not switch")
	}
	wantCur(t, g, b)
	wantQueue(t, g, c, a, low)
	wantCheck(t, g)
}

// TestSchedTokens: the tokens rule. A thread runs only with all of its
// tokens: one whose token another thread holds is passed over for the next
// thread in queue order, lower priorities included; with none that can
// run the CPU idles and retries at each tick; a thread switched out gives
// its tokens up and has them back when it runs again; a thread that failed
// to get a token and yields does not run on without it.
func TestSchedTokens(t *testing.T) {
	resetAll(2)
	g := &gds[0]
	tok := &schedToks[0]
	holder := newRunning(t, 1, 12) // another CPU's running thread holds tok
	mustGet(t, holder, tok, true)
	pending := func(pri uint8) int32 {
		i := newRunnable(t, 0, pri)
		mustGet(t, i, tok, false) // its tokref stays, pending
		RelAllTokens(i)
		return i
	}

	// An equal-priority thread behind it runs; it keeps its place.
	a := pending(12)
	c := newRunnable(t, 0, 12)
	if !reschedule(g) {
		t.Fatal("no switch")
	}
	wantCur(t, g, c)
	wantQueue(t, g, a)
	if g.TokenWaits != 1 {
		t.Fatalf("TokenWaits %d, want 1", g.TokenWaits)
	}

	// A lower-priority thread runs rather than the idle thread.
	resetAll(2)
	holder = newRunning(t, 1, 12)
	mustGet(t, holder, tok, true)
	a = pending(12)
	low := newRunnable(t, 0, 6)
	reschedule(g)
	wantCur(t, g, low)
	wantQueue(t, g, a)

	// None can run: each is tried once, and the CPU idles.
	resetAll(2)
	holder = newRunning(t, 1, 12)
	mustGet(t, holder, tok, true)
	a = pending(12)
	b := pending(12)
	if reschedule(g) {
		t.Fatal("switched while every runnable thread waits for a token")
	}
	wantCur(t, g, g.idle)
	wantQueue(t, g, a, b)
	if g.TokenWaits != 2 {
		t.Fatalf("TokenWaits %d, want one per runnable thread (2)", g.TokenWaits)
	}
	wantCheck(t, g)
	tick(g, 1)
	if !g.resched {
		t.Fatal("an idle CPU with token waiters is not rescheduled at its tick")
	}
	reschedule(g)
	wantCur(t, g, g.idle)
	mustRel(t, holder, tok)
	tick(g, 2)
	if !reschedule(g) {
		t.Fatal("no switch once the token is free")
	}
	wantCur(t, g, a)
	if !Holding(a, tok) {
		t.Fatal("the thread runs without its token")
	}

	// Switched out, it gives its token up (b, which waits for it, runs),
	// keeping its tokref, and has the token back when it runs again.
	block(g, WaitSleep, 0, 0, 0)
	reschedule(g)
	wantCur(t, g, b)
	if tok.Owner() != b || Holding(a, tok) || TokenCount(a) != 1 {
		t.Fatal("a blocked thread kept its token")
	}
	if claim(&threads[a], 0) {
		makeRunnable(g, a)
	}
	block(g, WaitSleep, 0, 0, 0)
	reschedule(g)
	wantCur(t, g, a)
	if !Holding(a, tok) || Holding(b, tok) {
		t.Fatal("the thread switched in does not hold its token")
	}
	wantCheck(t, g)

	// A failed GetToken then a yield, with nothing else runnable: the
	// thread must not run on without the token.
	resetAll(2)
	holder = newRunning(t, 1, 12)
	mustGet(t, holder, tok, true)
	a = newRunning(t, 0, 12)
	mustGet(t, a, tok, false)
	yield(g)
	reschedule(g)
	if g.cur == a && !Holding(a, tok) {
		t.Fatal("a thread runs on without the token it waits for")
	}
	wantCur(t, g, g.idle)
	wantQueue(t, g, a)
	mustRel(t, holder, tok)
	tick(g, 1)
	reschedule(g)
	wantCur(t, g, a)
	if !Holding(a, tok) {
		t.Fatal("the thread runs without its token")
	}

	// The same once the holder has let go: it gets the token and runs on.
	mustGet(t, holder, &schedToks[1], true)
	mustGet(t, a, &schedToks[1], false)
	mustRel(t, holder, &schedToks[1])
	yield(g)
	if reschedule(g) {
		t.Fatal("switched although the token is free")
	}
	wantCur(t, g, a)
	if !Holding(a, &schedToks[1]) {
		t.Fatal("the thread runs on without its token")
	}
}

// TestSchedAllocs: the scheduler's paths allocate nothing.
func TestSchedAllocs(t *testing.T) {
	resetAll(1)
	g := &gds[0]
	a := newRunning(t, 0, 12)
	b := newRunnable(t, 0, 12)
	newRunnable(t, 0, 6)
	n := testing.AllocsPerRun(100, func() {
		yield(g)
		reschedule(g)
		tick(g, 1)
		block(g, WaitSleep, 0, 0, 0)
		reschedule(g)
		for _, i := range []int32{a, b} {
			if claim(&threads[i], 0) {
				makeRunnable(g, i)
			}
		}
		reschedule(g)
		checkSched(g)
	})
	if n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}

// TestSchedOwnerDataRace: CPU 1 serves its own threads' run messages and
// switches between them in its IPI trap, without the MP lock (owner-cpu),
// while CPU 0, holding the MP lock, wakes CPU 1's waiters, allocates and
// frees thread slots and checks its own scheduler. The race detector
// reports any read on CPU 0 of a field CPU 1 writes unlocked: alloc and
// checkSched once read every slot's state, which only its owner may.
func TestSchedOwnerDataRace(t *testing.T) {
	rounds := 3000
	if raceEnabled {
		rounds = 1000
	}
	resetAll(2)
	const key = 0x70
	for k := 0; k < 4; k++ {
		newWaiting(t, 1, 12, WaitFutex, key, 0, 0)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	var stop sync.Once
	quit := make(chan struct{})
	wg.Add(2)
	go func() { // CPU 1: the owner
		defer wg.Done()
		onCPU(t, 1)
		g := &gds[1]
		for {
			select {
			case <-quit:
				return
			default:
			}
			IPIs.Process(1) // the IPI trap: unlocked
			reschedule(g)
			GetMPLock() // a system call: the thread blocks again
			if g.cur != g.idle {
				block(g, WaitFutex, key, 0, 0)
				reschedule(g)
			}
			RelMPLock()
			runtime.Gosched()
		}
	}()
	go func() { // CPU 0: wakes, allocates, checks
		defer wg.Done()
		defer stop.Do(func() { close(quit) })
		onCPU(t, 0)
		for r := 0; r < rounds; r++ {
			GetMPLock()
			for i := FindBlocked(-1, WaitFutex, key); i >= 0; i = FindBlocked(i, WaitFutex, key) {
				Wakeup(i, uint64(r))
			}
			i := alloc(0, 12)
			threads[i].state, threads[i].live = Free, false
			if res := checkSched(&gds[0]); res.code != checkOK {
				errs <- fmt.Errorf("checkSched on CPU 0: %s", checkMessages[res.code])
				RelMPLock()
				return
			}
			hostFlush()
			RelMPLock()
			runtime.Gosched()
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
