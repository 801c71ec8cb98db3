package lwkt

// The scheduler's decisions and run-queue moves, given one CPU's
// Globaldata: which thread runs next (the quantum, priority preemption, a
// Blocked or Free current thread, the idle thread, the tokens rule), the
// deadlines a tick ends, and the queue links. Nothing here reads GS (the
// caller passes this CPU's Globaldata), touches an MSR, or moves register
// state: Schedule (thread_nosplit.go) does that around reschedule. Host
// tests drive these functions directly (sched_test.go). Rdtsc, for the
// CPU-time counters, is the one instruction used, and it runs on the host.
//
// Trap context: nosplit, allocation-free, index links.

import (
	"gofly/arch/amd64"
	"gofly/fatal"
)

// block parks g's current thread (Block).
//
//go:nosplit
func block(g *Globaldata, kind WaitKind, key uintptr, deadline int64, timeoutRet uint64) {
	t := &threads[g.cur]
	fatal.Assert(kind != WaitNone && g.cur != g.idle && t.state == Running,
		"lwkt: block: no wait kind, or the idle or a non-running thread blocks")
	t.state = Blocked
	t.Wait = kind
	t.WaitKey = key
	t.Deadline = deadline
	t.TimeoutRet = timeoutRet
	if deadline != 0 && (g.nextDeadline == 0 || deadline < g.nextDeadline) {
		g.nextDeadline = deadline
	}
	g.resched = true
}

// exit frees g's current thread (Exit). The caller holds the MP lock,
// which guards the slot's live flag.
//
//go:nosplit
func exit(g *Globaldata) {
	fatal.Assert(g.cur != g.idle, "lwkt: exit: the idle thread exits")
	account(g, g.cur)
	if msg := ExitTokens(g.cur); msg != "" { // a thread exits holding no token
		fatal.Throw(msg)
	}
	t := &threads[g.cur]
	t.state = Free
	t.live = false // the caller holds the MP lock: a system call
	g.resched = true
}

// yield ends g's current thread's quantum (Yield).
//
//go:nosplit
func yield(g *Globaldata) {
	threads[g.cur].ticks = Quantum
	g.resched = true
}

// claim ends thread t's wait with result ret, unless it is not waiting or
// another waker claimed it first (one-wake). The caller holds the MP lock;
// putting the thread on its run queue is left to it.
//
//go:nosplit
func claim(t *Thread, ret uint64) bool {
	if t.Wait == WaitNone {
		return false
	}
	fatal.Assert(t.state == Blocked, "lwkt: wakeup: a waiting thread is not blocked")
	t.Wait = WaitNone
	t.Deadline = 0
	t.Frame.RAX = ret
	return true
}

// tick is Tick on g: it wakes g's threads whose deadline passed,
// recomputes g.nextDeadline from the deadlines still pending, and ends the
// current thread's quantum. The caller holds the MP lock (the waits).
//
//go:nosplit
func tick(g *Globaldata, now int64) {
	g.Ticks.Add(1)
	if g.nextDeadline != 0 && now >= g.nextDeadline {
		g.nextDeadline = 0
		for i := range threads {
			t := &threads[i]
			if t.Wait == WaitNone || t.Deadline == 0 || int(t.gd.Load()) != g.cpu {
				continue // owner-cpu: only this CPU's threads
			}
			if now >= t.Deadline {
				if claim(t, t.TimeoutRet) {
					makeRunnable(g, int32(i))
				}
			} else if g.nextDeadline == 0 || t.Deadline < g.nextDeadline {
				g.nextDeadline = t.Deadline
			}
		}
	}
	cur := &threads[g.cur]
	cur.ticks++
	evictQueued(g)
	if g.cur == g.idle && g.head < 0 {
		requestPull(g) // retried each tick while idle
	} else {
		push(g)
	}
	if g.head >= 0 && (cur.ticks >= Quantum || g.cur == g.idle) {
		g.resched = true // the idle case: a thread waited for its tokens
	}
}

// reschedule is Schedule's decision on g, this CPU's scheduler. When a
// reschedule was requested and the current thread blocked, exited, used
// up its quantum beside an equal-priority peer, was outranked or cannot
// get back a token it asked for, it puts a still-running current thread
// back on the run queue, releases the outgoing thread's tokens, picks the
// next thread (pickNext) and switches g to it: the incoming thread is
// Running (the idle thread stays Blocked), its quantum restarts and the
// CPU-time counters move over. It reports whether g.cur changed; the
// caller then moves the register state, which the outgoing thread
// (Runnable, Blocked or Free now) still has live.
//
//go:nosplit
func reschedule(g *Globaldata) bool {
	if !g.resched {
		return false
	}
	g.resched = false
	cur := g.cur
	ct := &threads[cur]
	if ct.state == Running && cur != g.idle {
		// Nothing better to run: it runs on, but only with all of its
		// tokens (a failed GetToken left one pending, and the thread
		// asked to switch until it has it).
		if (g.head < 0 || threads[g.head].pri < ct.pri ||
			(threads[g.head].pri == ct.pri && ct.ticks < Quantum)) && GetAllTokens(cur) {
			return false
		}
		makeRunnable(g, cur)
	}
	if cur != g.idle && ct.state != Free {
		// Tokens serialise only while their holder runs.
		if msg := RelAllTokens(cur); msg != "" {
			fatal.Throw(msg)
		}
	}
	next := pickNext(g)
	if next == cur {
		if cur != g.idle {
			ct.state = Running
		}
		return false
	}
	if ct.state != Free {
		account(g, cur)
	}
	nt := &threads[next]
	if next != g.idle {
		nt.state = Running
	}
	nt.ticks = 0
	nt.since = amd64.Rdtsc()
	nt.Switches++
	g.Switches++
	g.cur = next
	publish(g)
	return true
}

// schedule is Schedule's decision on g, this CPU's scheduler, without the
// register moves: it pushes a thread queued since the last trap to an idle
// CPU (push); when a reschedule is asked for it runs the passive
// messages, reschedules and, if g has just gone idle, asks for a thread
// (requestPull). A current thread whose affinity no longer admits this CPU
// is switched out and sent to a CPU it admits (evict). It returns the
// thread g switched away from, or -1.
//
//go:nosplit
func schedule(g *Globaldata) int32 {
	if g.pushNow {
		// Not at the tick: a thread queued here while another CPU idles
		// (a run message that arrived as this CPU got busy, a yield)
		// would wait for it.
		g.pushNow = false
		push(g)
	}
	evict := misplaced(g)
	if !g.resched && evict < 0 {
		return -1
	}
	if IPIs.Pending(g.cpu) { // passive messages run at a thread switch too
		IPIs.Process(g.cpu)
	}
	cur := g.cur
	if evict >= 0 {
		// Blocked with no wait: reschedule switches away from it and
		// leaves it off the queue. Its run message is posted now but sent
		// only by the Flush that follows Schedule, after its registers
		// are saved (migrate-safe).
		handOff(g, cur, evict)
		g.resched = true
	}
	if !reschedule(g) {
		return -1
	}
	if g.cur == g.idle {
		requestPull(g)
	}
	return cur
}

// pickNext takes off g's run queue the first thread, in queue order
// (priority, then round-robin), that holds no tokens or gets back every
// token it held when it was switched out; the threads before it stay
// where they are (DragonFly's lwkt_switch scans its queue the same way).
// With none, it returns the idle thread; Tick reschedules an idle CPU with
// a non-empty queue at every tick, so the token waiters are retried.
//
//go:nosplit
func pickNext(g *Globaldata) int32 {
	n := 0
	for i := g.head; i >= 0 && n < MaxThreads; i = threads[i].next {
		n++
		if TokenCount(i) == 0 || GetAllTokens(i) {
			unlink(g, i)
			return i
		}
		g.TokenWaits++
	}
	return g.idle
}

// makeRunnable puts thread i of g on g's run queue, behind every thread of
// equal or higher priority, and asks for a reschedule when it outranks the
// current thread or the CPU idles.
//
//go:nosplit
func makeRunnable(g *Globaldata, i int32) {
	t := &threads[i]
	t.state = Runnable
	t.runMsg = false // its run message, if it came by one, has run
	// Insert behind every thread of equal or higher priority.
	at := g.tail
	for at >= 0 && threads[at].pri < t.pri {
		at = threads[at].prev
	}
	t.prev = at
	if at < 0 {
		t.next = g.head
		g.head = i
	} else {
		t.next = threads[at].next
		threads[at].next = i
	}
	if t.next < 0 {
		g.tail = i
	} else {
		threads[t.next].prev = i
	}
	g.nq++
	publish(g)
	if g.cur == g.idle || t.pri > threads[g.cur].pri {
		g.resched = true
	}
	if g.cur != g.idle {
		g.pushNow = true // it waits behind a running thread: an idle CPU may take it now
	}
}

// unlink takes thread i off g's run queue. Its state is the caller's to
// set.
//
//go:nosplit
func unlink(g *Globaldata, i int32) {
	t := &threads[i]
	if t.prev < 0 {
		g.head = t.next
	} else {
		threads[t.prev].next = t.next
	}
	if t.next < 0 {
		g.tail = t.prev
	} else {
		threads[t.next].prev = t.prev
	}
	t.next, t.prev = -1, -1
	g.nq--
	publish(g)
}

// dequeue takes the head off g's run queue and returns it, or -1.
//
//go:nosplit
func dequeue(g *Globaldata) int32 {
	i := g.head
	if i >= 0 {
		unlink(g, i)
	}
	return i
}

// account adds the cycles thread i of g ran since it was last accounted.
//
//go:nosplit
func account(g *Globaldata, i int32) {
	t := &threads[i]
	now := amd64.Rdtsc()
	d := now - t.since
	t.Cycles += d
	t.since = now
	if i == g.idle {
		g.IdleCycles += d
	}
}
