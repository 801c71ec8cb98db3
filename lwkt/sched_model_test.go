package lwkt

import (
	"fmt"
	"math/rand"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"gofly/arch/amd64"
)

// The randomized model test. Two or three fake CPUs (goroutines locked to
// OS threads with a fake GS, as in wake_test.go) each run a random sequence
// of traps on their own scheduler: system calls of the current thread
// (Clone, Block, a futex-style Wakeup, Yield, Exit, taking and releasing a
// token), timer ticks and IPI traps, each ending with the trap path's
// Schedule. As in the kernel, every trap but the IPI trap holds the MP lock
// from entry to exit, deferred cross-CPU messages are flushed before
// Schedule, and an IPI trap runs its messages and Schedule unlocked. Only
// the owner goroutine touches a CPU's scheduler; cross-CPU wakeups and new
// threads go through the IPI queues.
//
// After every step of every operation the owner compares its scheduler
// with a simple model of it (a slice for the run queue, a map of thread
// states) that it derived from the state before the step; between steps,
// where a CPU may run IPI messages (spinning for the MP lock, a full
// queue), it checks that the only change is arrivals: threads another CPU
// woke or created, put on the run queue behind their equals. After every
// trap it checks the invariants (checkSched), the tokens rule and that
// every run message sent for its threads has arrived exactly once.

// mThread is the model of one thread. The wait fields are read only under
// the MP lock (zero in an unlocked snapshot).
type mThread struct {
	state         State
	pri           uint8
	ticks         int
	tokN, tokHave uint8

	wait       WaitKind
	key        uintptr
	deadline   int64
	timeoutRet uint64
	rax        uint64
}

// mCPU is the model of one CPU's scheduler: a snapshot of the real one,
// or what an operation should make of one.
type mCPU struct {
	locked               bool
	cur, idle            int32
	resched              bool
	queue                []int32
	nextDeadline         int64
	switches, tokenWaits uint64
	th                   map[int32]mThread
}

func (s mCPU) clone() mCPU {
	c := s
	c.queue = append([]int32(nil), s.queue...)
	c.th = make(map[int32]mThread, len(s.th))
	for i, t := range s.th {
		c.th[i] = t
	}
	return c
}

func (s mCPU) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cur %d resched %v queue %v next %d sw %d tw %d;", s.cur, s.resched, s.queue, s.nextDeadline, s.switches, s.tokenWaits)
	for _, i := range s.slots() {
		t := s.th[i]
		fmt.Fprintf(&b, " %d:%v/p%d/t%d/k%d.%d", i, t.state, t.pri, t.ticks, t.tokN, t.tokHave)
		if t.wait != WaitNone {
			fmt.Fprintf(&b, "/%v@%d", t.wait, t.deadline)
		}
	}
	return b.String()
}

// slots returns the threads of s in slot order.
func (s mCPU) slots() []int32 {
	var k []int32
	for i := range s.th {
		k = append(k, i)
	}
	sort.Slice(k, func(a, b int) bool { return k[a] < k[b] })
	return k
}

// makeRunnable is the model of makeRunnable: behind every thread of equal
// or higher priority; a reschedule if it outranks the current thread or
// the CPU idles.
func (s *mCPU) makeRunnable(i int32) {
	t := s.th[i]
	t.state = Runnable
	s.th[i] = t
	at := 0
	for k, j := range s.queue {
		if s.th[j].pri >= t.pri {
			at = k + 1
		}
	}
	s.queue = append(s.queue[:at], append([]int32{i}, s.queue[at:]...)...)
	if s.cur == s.idle || t.pri > s.th[s.cur].pri {
		s.resched = true
	}
}

func (s *mCPU) set(i int32, f func(t *mThread)) {
	t := s.th[i]
	f(&t)
	s.th[i] = t
}

// mTick is the model of tick.
func mTick(s mCPU, now int64) mCPU {
	e := s.clone()
	if e.nextDeadline != 0 && now >= e.nextDeadline {
		e.nextDeadline = 0
		for _, i := range e.slots() {
			t := e.th[i]
			if t.wait == WaitNone || t.deadline == 0 {
				continue
			}
			if now >= t.deadline {
				e.set(i, func(t *mThread) { t.wait, t.deadline, t.rax = WaitNone, 0, t.timeoutRet })
				e.makeRunnable(i)
			} else if e.nextDeadline == 0 || t.deadline < e.nextDeadline {
				e.nextDeadline = t.deadline
			}
		}
	}
	e.set(e.cur, func(t *mThread) { t.ticks++ })
	if len(e.queue) > 0 && (e.th[e.cur].ticks >= Quantum || e.cur == e.idle) {
		e.resched = true
	}
	return e
}

// mResched is the model of reschedule on s. Whether a thread gets its
// tokens back depends on other CPUs, so it is read from the outcome, got:
// the thread picked is the first in queue order that has no tokens or got
// them (it holds them now); those before it failed (they hold nothing and
// each counts a token wait).
func mResched(s, got mCPU) mCPU {
	e := s.clone()
	if !e.resched {
		return e
	}
	e.resched = false
	cur := e.cur
	ct := e.th[cur]
	if ct.state == Running && cur != e.idle {
		better := len(e.queue) > 0 && (e.th[e.queue[0]].pri > ct.pri ||
			(e.th[e.queue[0]].pri == ct.pri && ct.ticks >= Quantum))
		if !better {
			if ct.tokHave == ct.tokN {
				return e
			}
			if got.cur == cur && got.th[cur].state == Running {
				// Got its tokens back at once, or, put back, later in the
				// scan: either way it runs on; only the token-wait count
				// can tell the two apart.
				e.set(cur, func(t *mThread) { t.tokHave = t.tokN })
				e.tokenWaits = got.tokenWaits
				return e
			}
			e.set(cur, func(t *mThread) { t.tokHave = 0 }) // GetAllTokens failed
		}
		e.makeRunnable(cur)
	}
	if cur != e.idle && e.th[cur].state != Free {
		e.set(cur, func(t *mThread) { t.tokHave = 0 })
	}
	next := e.idle
	for k, j := range e.queue {
		if e.th[j].tokN == 0 || got.cur == j {
			e.set(j, func(t *mThread) { t.tokHave = t.tokN })
			next = j
			e.queue = append(e.queue[:k:k], e.queue[k+1:]...)
			break
		}
		e.tokenWaits++
	}
	if next == cur {
		if cur != e.idle {
			e.set(cur, func(t *mThread) { t.state = Running })
		}
		return e
	}
	if next != e.idle {
		e.set(next, func(t *mThread) { t.state = Running })
	}
	e.set(next, func(t *mThread) { t.ticks = 0 })
	e.switches++
	e.cur = next
	return e
}

// modelShared is the test's state shared by the CPUs. claims, wokeRet,
// clock, nlive and seq: MP lock. arrivals[i]: the CPU owning slot i.
type modelShared struct {
	ncpu     int
	clock    int64
	nlive    int // live threads, idle ones included
	seq      uint64
	claims   [MaxThreads]int    // run messages sent for the slot
	wokeRet  [MaxThreads]uint64 // the RAX its latest run message brings
	arrivals [MaxThreads]int    // run messages arrived (owner CPU)
	stop     atomic.Bool
	done     atomic.Int32
	ops      sync.Map // operation name -> *atomic.Int64, for the log
}

func (sh *modelShared) count(name string) {
	v, _ := sh.ops.LoadOrStore(name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// cloneFPU is the FPU image Clone copies for the model's new threads.
var cloneFPU [512]byte

// cpuRun is one fake CPU of the model test: only its goroutine uses it.
type cpuRun struct {
	me   int
	g    *Globaldata
	sh   *modelShared
	rng  *rand.Rand
	prev mCPU     // the scheduler after this CPU's last step
	log  []string // the last operations, for failure reports
	op   string
}

func (r *cpuRun) fail(format string, args ...any) error {
	return fmt.Errorf("cpu %d, %s: %s\nrecent: %s", r.me, r.op, fmt.Sprintf(format, args...), strings.Join(r.log, " | "))
}

// snap snapshots this CPU's scheduler: the run queue, the current and
// idle threads, the threads of base, and under the MP lock every live
// thread of this CPU with its wait. Unlocked, it reads only what the
// owner alone writes, and skips base's freed slots (another CPU may be
// reallocating them).
func (r *cpuRun) snap(base mCPU, locked bool) (mCPU, error) {
	g := r.g
	s := mCPU{locked: locked, cur: g.cur, idle: g.idle, resched: g.resched, nextDeadline: g.nextDeadline,
		switches: g.Switches, tokenWaits: g.TokenWaits, th: map[int32]mThread{}}
	for i := g.head; i >= 0; i = threads[i].next {
		if int(i) >= MaxThreads || len(s.queue) >= MaxThreads {
			return s, r.fail("run queue links broken: %v...", s.queue)
		}
		s.queue = append(s.queue, i)
	}
	add := func(i int32) {
		if _, ok := s.th[i]; ok {
			return
		}
		t := &threads[i]
		m := mThread{state: t.state, pri: t.pri, ticks: t.ticks, tokN: tokrefs[i].n, tokHave: tokrefs[i].have}
		if locked {
			m.wait, m.key, m.deadline, m.timeoutRet, m.rax = t.Wait, t.WaitKey, t.Deadline, t.TimeoutRet, t.Frame.RAX
		}
		s.th[i] = m
	}
	for i, t := range base.th {
		if locked || t.state != Free {
			add(i)
		}
	}
	for _, i := range s.queue {
		add(i)
	}
	add(s.cur)
	add(s.idle)
	if locked {
		for i := range threads {
			if int(threads[i].gd.Load()) == r.me && threads[i].live {
				add(int32(i))
			}
		}
	}
	return s, nil
}

// compare reports where got differs from the model's want.
func (r *cpuRun) compare(what string, want, got mCPU) error {
	ws, gs := want.String(), got.String()
	if want.locked != got.locked {
		ws, gs = "", "locked differs"
	}
	if ws != gs {
		return r.fail("%s: scheduler differs from the model\n want %s\n  got %s", what, ws, gs)
	}
	for i, w := range want.th {
		if g := got.th[i]; w.key != g.key || w.timeoutRet != g.timeoutRet || w.rax != g.rax {
			return r.fail("%s: thread %d: key/timeout/RAX %#x/%d/%d, want %#x/%d/%d", what, i, g.key, g.timeoutRet, g.rax, w.key, w.timeoutRet, w.rax)
		}
	}
	return nil
}

// reconcile checks that between snapshots prev and now this CPU's
// scheduler changed only by arrivals (run messages run), while other CPUs
// may only have ended waits of its threads, and counts the arrivals.
func (r *cpuRun) reconcile(prev, now mCPU) error {
	if now.cur != prev.cur || now.nextDeadline != prev.nextDeadline || now.switches != prev.switches || now.tokenWaits != prev.tokenWaits {
		return r.fail("scheduler changed outside a step\n prev %v\n  now %v", prev, now)
	}
	arrived := map[int32]bool{}
	for i, n := range now.th {
		p, known := prev.th[i]
		if known && p.state == Free && n.state == Free {
			continue // exited in this step
		}
		if !known || p.state == Free { // a thread another CPU created for this one
			switch {
			case n.tokN != 0 || n.ticks != 0:
				return r.fail("new thread %d has tokens or ticks", i)
			case n.state == Runnable:
				arrived[i] = true
			case n.state != Blocked || n.wait != WaitNone:
				return r.fail("new thread %d is %v, wait %v", i, n.state, n.wait)
			}
			continue
		}
		if p.pri != n.pri || p.ticks != n.ticks || p.tokN != n.tokN || p.tokHave != n.tokHave {
			return r.fail("thread %d changed outside a step: %+v -> %+v", i, p, n)
		}
		if p.state == Blocked && n.state == Runnable && i != now.idle {
			arrived[i] = true
			if now.locked && n.wait != WaitNone {
				return r.fail("thread %d runnable while it waits (%v)", i, n.wait)
			}
		} else if p.state != n.state {
			return r.fail("thread %d went %v -> %v outside a step", i, p.state, n.state)
		}
		if prev.locked && now.locked && !arrived[i] && (p.wait != n.wait || p.deadline != n.deadline || p.rax != n.rax) {
			// Only another CPU's claim: the wait ended, its result set.
			if p.wait == WaitNone || n.wait != WaitNone || n.deadline != 0 || n.rax != r.sh.wokeRet[i] {
				return r.fail("thread %d's wait changed: %+v -> %+v (waker's RAX %d)", i, p, n, r.sh.wokeRet[i])
			}
		}
	}
	var rest []int32
	for k, i := range now.queue {
		if !arrived[i] {
			rest = append(rest, i)
			continue
		}
		pri := now.th[i].pri
		for k2, j := range now.queue {
			if arrived[j] {
				continue
			}
			if pj := now.th[j].pri; (k2 < k && pj < pri) || (k2 > k && pj >= pri) {
				return r.fail("arrival %d (pri %d) not behind its equals: queue %v", i, pri, now.queue)
			}
		}
	}
	if fmt.Sprint(rest) != fmt.Sprint(prev.queue) {
		return r.fail("run queue changed outside a step: %v -> %v", prev.queue, now.queue)
	}
	want := prev.resched
	for i := range arrived {
		if now.cur == now.idle || now.th[i].pri > now.th[now.cur].pri {
			want = true
		}
		r.sh.arrivals[i]++
		if rax := threads[i].Frame.RAX; rax != r.sh.wokeRet[i] {
			return r.fail("thread %d arrived with RAX %d, its waker set %d", i, rax, r.sh.wokeRet[i])
		}
	}
	if now.resched != want {
		return r.fail("resched %v after arrivals, want %v", now.resched, want)
	}
	return nil
}

// observe snapshots and reconciles against base.
func (r *cpuRun) observe(base mCPU, locked bool) (mCPU, error) {
	s, err := r.snap(base, locked)
	if err == nil {
		err = r.reconcile(base, s)
	}
	return s, err
}

// schedule is the trap path's Schedule, minus the register moves.
func (r *cpuRun) schedule(s mCPU, locked bool) (mCPU, error) {
	if !r.g.resched {
		return s, nil
	}
	var err error
	if IPIs.Pending(r.me) {
		IPIs.Process(r.me)
		if s, err = r.observe(s, locked); err != nil {
			return s, err
		}
	}
	cur := r.g.cur
	switched := reschedule(r.g)
	got, err := r.snap(s, locked)
	if err != nil {
		return got, err
	}
	if err := r.compare("reschedule", mResched(s, got), got); err != nil {
		return got, err
	}
	if switched != (got.cur != cur) {
		return got, r.fail("reschedule returned %v, cur %d -> %d", switched, cur, got.cur)
	}
	return got, nil
}

// flush is hostFlush that gives up when the test stops (a CPU that
// stopped no longer drains its queues).
func (r *cpuRun) flush() { flushUntil(&r.sh.stop) }

// check runs, holding the MP lock, at the end of each trap: it checks the
// invariants (checkSched), with run messages in flight and after draining
// this CPU's IPI queues, then the tokens rule, and that every run message
// sent for this CPU's threads has arrived, once.
func (r *cpuRun) check(s mCPU) (mCPU, error) {
	if res := checkSched(r.g); res.code != checkOK { // run messages may be in flight
		return s, r.fail("checkSched: %s (thread id %d)\n%v", checkMessages[res.code], res.id, s)
	}
	IPIs.Process(r.me)
	s, err := r.observe(s, true)
	if err != nil {
		return s, err
	}
	if res := checkSched(r.g); res.code != checkOK {
		return s, r.fail("checkSched after the drain: %s (thread id %d)\n%v", checkMessages[res.code], res.id, s)
	}
	for i, t := range s.th {
		if t.state == Free {
			continue
		}
		running := i == s.cur && t.state == Running && i != s.idle
		if running && t.tokHave != t.tokN {
			return s, r.fail("thread %d runs with %d of its %d tokens", i, t.tokHave, t.tokN)
		}
		if !running && t.tokHave != 0 {
			return s, r.fail("thread %d holds %d tokens while %v", i, t.tokHave, t.state)
		}
		if r.sh.arrivals[i] != r.sh.claims[i] {
			return s, r.fail("thread %d: %d run messages sent, %d arrived", i, r.sh.claims[i], r.sh.arrivals[i])
		}
	}
	for k := range schedToks {
		o := schedToks[k].Owner()
		if o < 0 || int(threads[o].gd.Load()) != r.me {
			continue
		}
		if o != s.cur || threads[o].state != Running || !Holding(o, &schedToks[k]) {
			return s, r.fail("token %d owned by thread %d, which is not running with it (cur %d)", k, o, s.cur)
		}
	}
	return s, nil
}

// finish records the scheduler after a step, forgetting freed threads.
func (r *cpuRun) finish(s mCPU) {
	for i, t := range s.th {
		if t.state == Free {
			delete(s.th, i)
		}
	}
	r.prev = s
	if len(r.log) > 12 {
		r.log = r.log[1:]
	}
	r.log = append(r.log, r.op)
	name, _, _ := strings.Cut(r.op, " ")
	name, _, _ = strings.Cut(name, "@")
	if strings.HasPrefix(r.op, "tokget") && strings.HasSuffix(r.op, "false") {
		name = "tokget-failed"
	}
	r.sh.count(name)
}

// lock takes the MP lock as the trap path does, after waiting politely
// while another CPU holds it: the host may have fewer cores than fake
// CPUs, and a spinning one would keep the holder off its core.
func (r *cpuRun) lock() {
	for mpLock.Load() != 0 && !r.sh.stop.Load() {
		runtime.Gosched()
	}
	GetMPLock()
}

// ipiStep is an IPI trap: run the messages and Schedule, unlocked; then
// the checks, under the MP lock.
func (r *cpuRun) ipiStep() error {
	r.op = "ipi"
	IPIs.Process(r.me)
	s, err := r.observe(r.prev, false)
	if err != nil {
		return err
	}
	if s, err = r.schedule(s, false); err != nil {
		return err
	}
	r.lock()
	defer RelMPLock()
	if s, err = r.observe(s, true); err != nil {
		return err
	}
	if s, err = r.check(s); err != nil {
		return err
	}
	r.finish(s)
	return nil
}

// lockedStep is any other trap: under the MP lock, an operation, the
// flush, Schedule, the checks.
func (r *cpuRun) lockedStep() error {
	r.lock()
	defer RelMPLock()
	r.op = "lock"
	s0, err := r.observe(r.prev, true)
	if err != nil {
		return err
	}
	sh := r.sh
	cur := s0.cur
	ct := s0.th[cur]
	idle := cur == s0.idle
	type choice struct {
		name string
		w    int
	}
	choices := []choice{{"tick", 16}, {"wake", 14}}
	if !idle {
		choices = append(choices, choice{"block", 22}, choice{"yield", 8})
		if sh.nlive < 48 {
			choices = append(choices, choice{"clone", 9})
		}
		if sh.nlive > sh.ncpu+4 && ct.tokN == 0 { // a thread exits holding no token
			choices = append(choices, choice{"exit", 4})
		}
		if ct.tokHave == ct.tokN && ct.tokN < 2 {
			choices = append(choices, choice{"tokget", 6})
		}
		if ct.tokHave == ct.tokN && ct.tokN > 0 {
			choices = append(choices, choice{"tokrel", 6})
		}
	}
	total := 0
	for _, c := range choices {
		total += c.w
	}
	pick := r.rng.Intn(total)
	op := ""
	for _, c := range choices {
		if pick < c.w {
			op = c.name
			break
		}
		pick -= c.w
	}
	r.op = op

	var want mCPU
	switch op {
	case "tick":
		if IPIs.Pending(r.me) {
			IPIs.Process(r.me)
			if s0, err = r.observe(s0, true); err != nil {
				return err
			}
		}
		sh.clock += 1 + r.rng.Int63n(4)
		r.op = fmt.Sprintf("tick@%d", sh.clock)
		want = mTick(s0, sh.clock)
		Tick(sh.clock)

	case "block":
		kind, key, deadline := WaitFutex, uintptr(1+r.rng.Intn(3)), int64(0)
		if r.rng.Intn(3) == 0 {
			kind, key = WaitSleep, 0
		}
		if kind == WaitSleep || r.rng.Intn(3) == 0 {
			deadline = sh.clock + 1 + r.rng.Int63n(30)
		}
		sh.seq++
		ret := 1<<40 + sh.seq
		r.op = fmt.Sprintf("block %d %v/%d@%d", cur, kind, key, deadline)
		want = s0.clone()
		want.set(cur, func(t *mThread) {
			t.state, t.wait, t.key, t.deadline, t.timeoutRet = Blocked, kind, key, deadline, ret
		})
		if deadline != 0 && (want.nextDeadline == 0 || deadline < want.nextDeadline) {
			want.nextDeadline = deadline
		}
		want.resched = true
		Block(kind, key, deadline, ret)

	case "wake":
		key, max := uintptr(1+r.rng.Intn(3)), 1+r.rng.Intn(3)
		var wakees []int32
		for i := range threads {
			if len(wakees) < max && threads[i].Wait == WaitFutex && threads[i].WaitKey == key {
				wakees = append(wakees, int32(i))
			}
		}
		sh.seq++
		ret := 1<<41 + sh.seq
		r.op = fmt.Sprintf("wake %d×%d %v", key, max, wakees)
		want = s0.clone()
		for _, i := range wakees {
			if int(threads[i].gd.Load()) == r.me {
				want.set(i, func(t *mThread) { t.wait, t.deadline, t.rax = WaitNone, 0, ret })
				want.makeRunnable(i)
			} else {
				sh.claims[i]++
				sh.wokeRet[i] = ret
			}
		}
		n := 0
		for i := FindBlocked(-1, WaitFutex, key); i >= 0 && n < max; i = FindBlocked(i, WaitFutex, key) {
			if Wakeup(i, ret) {
				n++
			}
		}
		if n != len(wakees) {
			return r.fail("%d woken, want %d", n, len(wakees))
		}
		for _, i := range wakees {
			if t := &threads[i]; t.Wait != WaitNone || t.Deadline != 0 || t.Frame.RAX != ret {
				return r.fail("woken thread %d: wait %v, deadline %d, RAX %d", i, t.Wait, t.Deadline, t.Frame.RAX)
			}
		}

	case "yield":
		r.op = fmt.Sprintf("yield %d", cur)
		want = s0.clone()
		want.set(cur, func(t *mThread) { t.ticks = Quantum })
		want.resched = true
		Yield()

	case "exit":
		r.op = fmt.Sprintf("exit %d", cur)
		want = s0.clone()
		want.set(cur, func(t *mThread) { t.state, t.tokN, t.tokHave = Free, 0, 0 })
		want.resched = true
		sh.nlive--
		Exit()
		if threads[cur].live {
			return r.fail("exited thread %d still live", cur)
		}

	case "clone":
		slot := int32(-1)
		for i := range threads {
			if !threads[i].live {
				slot = int32(i)
				break
			}
		}
		target := -1
		for k, r0 := uint32(1), rotor.Load(); target < 0; k++ {
			if c := int((r0 + k) % amd64.MaxCPUs); gds[c].online {
				target = c
			}
		}
		sp, fs := uint64(r.rng.Int63()), uint64(r.rng.Int63())
		r.op = fmt.Sprintf("clone %d -> %d on cpu %d", cur, slot, target)
		f := amd64.Frame{RIP: 0x1234, RAX: 99}
		id := Clone(&f, uintptr(unsafe.Pointer(&cloneFPU[0])), sp, fs)
		t := &threads[slot]
		if id < 0 || t.ID != id || int(t.gd.Load()) != target || t.Frame.RSP != sp || t.FSBase != fs || t.Frame.RAX != 0 || t.pri != ct.pri {
			return r.fail("clone: id %d, slot %d has id %d cpu %d RSP %#x FS %#x RAX %d pri %d", id, slot, t.ID, t.gd.Load(), t.Frame.RSP, t.FSBase, t.Frame.RAX, t.pri)
		}
		sh.nlive++
		want = s0.clone()
		if target == r.me {
			want.th[slot] = mThread{state: Blocked, pri: ct.pri}
			want.makeRunnable(slot)
		} else {
			sh.claims[slot]++
			sh.wokeRet[slot] = 0
		}

	case "tokget":
		held := map[uintptr]bool{}
		ts := &tokrefs[cur]
		for k := uint8(0); k < ts.n; k++ {
			held[ts.refs[k].tok] = true
		}
		k := r.rng.Intn(len(schedToks))
		for held[tokenAddr(&schedToks[k])] {
			k = (k + 1) % len(schedToks)
		}
		ok, msg := GetToken(cur, &schedToks[k])
		r.op = fmt.Sprintf("tokget %d tok%d=%v", cur, k, ok)
		if msg != "" || (ok && schedToks[k].Owner() != cur) {
			return r.fail("GetToken: %v %q, owner %d", ok, msg, schedToks[k].Owner())
		}
		want = s0.clone()
		want.set(cur, func(t *mThread) {
			t.tokN++
			if ok {
				t.tokHave = t.tokN
			}
		})
		if !ok { // it must switch away until it has the token
			want.set(cur, func(t *mThread) { t.ticks = Quantum })
			want.resched = true
			Yield()
		}

	case "tokrel":
		ts := &tokrefs[cur]
		tok := tokenAt(ts.refs[ts.n-1].tok)
		r.op = fmt.Sprintf("tokrel %d", cur)
		if msg := RelToken(cur, tok); msg != "" {
			return r.fail("RelToken: %q", msg)
		}
		want = s0.clone()
		want.set(cur, func(t *mThread) { t.tokN--; t.tokHave-- })
	}

	s1, err := r.snap(s0, true)
	if err != nil {
		return err
	}
	if err := r.compare(op, want, s1); err != nil {
		return err
	}
	r.flush()
	if s1, err = r.observe(s1, true); err != nil {
		return err
	}
	if s1, err = r.schedule(s1, true); err != nil {
		return err
	}
	if s1, err = r.check(s1); err != nil {
		return err
	}
	r.finish(s1)
	return nil
}

// runModel runs the model test on ncpu fake CPUs, steps traps each.
func runModel(t *testing.T, seed int64, ncpu, steps int) {
	resetAll(ncpu)
	SetBalance(false) // the model is LWKT's alone; balance_test.go tests the balancer
	defer SetBalance(true)
	sh := &modelShared{ncpu: ncpu, nlive: ncpu}
	rng := rand.New(rand.NewSource(seed))
	// Each CPU starts with a running thread and a few runnable ones of
	// mixed priorities, and every CPU's scheduler sees them.
	for c := 0; c < ncpu; c++ {
		newRunning(t, c, PriKernDaemon)
		sh.nlive++
		for k := 0; k < 3; k++ {
			newRunnable(t, c, []uint8{6, 12, 12, 14}[rng.Intn(4)])
			sh.nlive++
		}
		gds[c].resched = false
	}
	runs := make([]*cpuRun, ncpu)
	for c := range runs {
		r := &cpuRun{me: c, g: &gds[c], sh: sh, rng: rand.New(rand.NewSource(seed*10 + int64(c)))}
		s, err := r.snap(mCPU{}, false)
		if err != nil {
			t.Fatal(err)
		}
		r.prev = s
		runs[c] = r
	}

	var wg sync.WaitGroup
	var once sync.Once
	var failure error
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fail := func(err error) {
				once.Do(func() { failure = err })
				sh.stop.Store(true)
			}
			defer func() {
				if p := recover(); p != nil {
					if HoldsMPLock() {
						RelMPLock()
					}
					fail(r.fail("panic: %v", p))
				}
			}()
			onCPU(t, r.me)
			for step := 0; !sh.stop.Load(); step++ {
				if step == steps {
					sh.done.Add(1)
				}
				if step >= steps && int(sh.done.Load()) == ncpu {
					return
				}
				var err error
				if step >= steps || r.rng.Intn(5) == 0 {
					err = r.ipiStep() // done: keep draining for the others
				} else {
					err = r.lockedStep()
				}
				if err != nil {
					fail(fmt.Errorf("seed %d, step %d: %w", seed, step, err))
					return
				}
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	// Quiescent: each CPU takes the messages still queued to it; then every
	// run message has arrived, once.
	for _, r := range runs {
		runOn(t, r.me, func() error {
			r.lock()
			defer RelMPLock()
			r.op = "end"
			s, err := r.observe(r.prev, true)
			if err == nil {
				_, err = r.check(s)
			}
			return err
		})
	}
	for i := range threads {
		if sh.claims[i] != sh.arrivals[i] {
			t.Fatalf("seed %d: slot %d: %d run messages sent, %d arrived", seed, i, sh.claims[i], sh.arrivals[i])
		}
	}
	var stats []string
	sh.ops.Range(func(k, v any) bool {
		stats = append(stats, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(stats)
	arrivals := 0
	for _, a := range sh.arrivals {
		arrivals += a
	}
	for c := 0; c < ncpu; c++ {
		stats = append(stats, fmt.Sprintf("cpu%d: %d switches, %d token waits", c, gds[c].Switches, gds[c].TokenWaits))
	}
	t.Logf("seed %d: %s; %d run messages", seed, strings.Join(stats, ", "), arrivals)
	for c := 0; c < ncpu; c++ {
		for src := 0; src < ncpu; src++ {
			if d := IPIs.Depth(src, c); d != 0 {
				t.Fatalf("seed %d: %d messages left from cpu %d to cpu %d", seed, d, src, c)
			}
		}
	}
}

// TestSchedModel runs the randomized model test on two and three CPUs.
func TestSchedModel(t *testing.T) {
	steps, seeds := 4000, 6
	if testing.Short() || raceEnabled {
		steps, seeds = 1500, 4
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		ncpu := 2 + int(seed%2)
		t.Run(fmt.Sprintf("seed%d_cpus%d", seed, ncpu), func(t *testing.T) {
			runModel(t, seed, ncpu, steps)
		})
	}
}
