package lwkt

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/lwkt/ipiq"
)

// fakeLocals are per-CPU blocks for host tests: amd64.CPU reads the first
// word of the block the GS base points at, as in the kernel.
var fakeLocals [amd64.MaxCPUs][4]uintptr

// onCPU locks the calling goroutine to its OS thread and makes that
// thread look like CPU cpu (Go's runtime on linux/amd64 does not use GS).
// The goroutine must not unlock: its thread is discarded when it ends.
func onCPU(t testing.TB, cpu int) {
	runtime.LockOSThread()
	fakeLocals[cpu][0] = uintptr(cpu)
	const archSetGS = 0x1001
	if _, _, e := syscall.Syscall(syscall.SYS_ARCH_PRCTL, archSetGS, uintptr(unsafe.Pointer(&fakeLocals[cpu])), 0); e != 0 {
		t.Errorf("arch_prctl(ARCH_SET_GS): %v", e)
	}
	if amd64.CPU() != cpu {
		t.Errorf("amd64.CPU() = %d on fake cpu %d", amd64.CPU(), cpu)
	}
}

// resetSched empties the thread table, every token stack and the IPI
// queues, and makes CPUs 0..n-1 online, each running its idle thread
// (slot = its index, ID = index+1).
func resetSched(n int) {
	threads = [MaxThreads]Thread{}
	gds = [amd64.MaxCPUs]Globaldata{}
	outboxes = [amd64.MaxCPUs]outbox{}
	IPIs = ipiq.Set{} // no message left over from an earlier test
	for i := range threads {
		threads[i].next, threads[i].prev = -1, -1
	}
	for c := 0; c < n; c++ {
		g := &gds[c]
		g.cpu, g.head, g.tail, g.online = c, -1, -1, true
		g.idle, g.cur = int32(c), int32(c)
		threads[c].state, threads[c].ID = Blocked, int32(c+1)
		threads[c].gd.Store(uint32(c))
		threads[c].live = true
	}
	nextID = int32(n) + 1
	for i := range tokrefs {
		tokrefs[i] = tokStack{}
	}
}

// hostFlush sends this CPU's deferred messages passively (no local APIC
// on the host). The caller holds the MP lock.
func hostFlush() { flushUntil(nil) }

// flushUntil is hostFlush that gives up on a full queue once stop (if not
// nil) is set: a fake CPU that stopped no longer drains its queues.
func flushUntil(stop *atomic.Bool) {
	me := amd64.CPU()
	o := &outboxes[me]
	for i := 0; i < o.n; i++ {
		for {
			if _, full := IPIs.SendPassive(me, int(o.dst[i]), o.msg[i]); !full || stop != nil && stop.Load() {
				break
			}
			IPIs.ProcessNested(me)
			runtime.Gosched()
		}
	}
	o.n = 0
}

// TestWakeupExactlyOnce: two CPUs wake one futex waiter of a third CPU at
// once while that CPU's tick may time the wait out. Each round exactly one
// of them must end the wait (Wakeup true, or the timeout), and the waiter
// must reach its run queue exactly once, with the winner's result. Before
// the claim moved under the MP lock, a second waker could find the waiter
// between its wake-pending flag clearing and its state changing, so a
// futex wake(1) counted a waiter another wake had already woken.
func TestWakeupExactlyOnce(t *testing.T) {
	rounds := 20000
	if testing.Short() || raceEnabled {
		rounds = 3000
	}
	const owner, key, timedOut = 1, 0x1000, 0xdead
	resetSched(3)
	const w = 3 // the waiter's slot, on CPU owner
	threads[w].ID, threads[w].pri = 4, PriKernDaemon
	threads[w].gd.Store(owner)

	var start [2]atomic.Int64 // round each waker may start
	var done atomic.Int64     // wakers finished with the current round, summed
	var won [2]atomic.Int64   // rounds each waker's Wakeup returned true
	var wg sync.WaitGroup
	for k, cpu := range []int{0, 2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			onCPU(t, cpu)
			for r := int64(1); r <= int64(rounds); r++ {
				for start[k].Load() < r {
					runtime.Gosched()
				}
				GetMPLock()
				if i := FindBlocked(-1, WaitFutex, key); i >= 0 && Wakeup(i, uint64(100+cpu)) {
					won[k].Add(1)
				}
				hostFlush()
				RelMPLock()
				done.Add(1)
			}
		}()
	}

	failed := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		onCPU(t, owner)
		g := &gds[owner]
		var lastWon int64
		for r := int64(1); r <= int64(rounds); r++ {
			GetMPLock() // the waiter runs and blocks again
			g.cur = w
			threads[w].state = Running
			deadline := int64(0)
			if r%3 == 0 {
				deadline = 1 // already passed: the next Tick times it out
			}
			Block(WaitFutex, key, deadline, timedOut)
			g.cur, g.resched = g.idle, false
			RelMPLock()
			start[0].Store(r)
			start[1].Store(r)
			if deadline != 0 {
				GetMPLock()
				Tick(2)
				RelMPLock()
			}
			for done.Load() < 2*r {
				IPIs.Process(owner)
				runtime.Gosched()
			}
			IPIs.Process(owner)
			i := dequeue(g)
			wins := won[0].Load() + won[1].Load() - lastWon
			lastWon += wins
			rax := threads[w].Frame.RAX
			var msg string
			switch {
			case i != w:
				msg = "the waiter was not put on its run queue"
			case g.head >= 0:
				msg = "the waiter was queued twice"
			case threads[w].Wait != WaitNone:
				msg = "the woken waiter still has a wait kind"
			case rax == timedOut && wins != 0:
				msg = "a waker counted a waiter that had timed out"
			case rax != timedOut && wins != 1:
				msg = "not exactly one waker counted the wake"
			case rax != timedOut && rax != 100 && rax != 102:
				msg = "the waiter got no waker's result"
			}
			if msg != "" {
				failed <- msg
				start[0].Store(int64(rounds))
				start[1].Store(int64(rounds))
				return
			}
			threads[w].state = Blocked // as Schedule's switch-in would leave it Running
		}
	}()
	wg.Wait()
	select {
	case msg := <-failed:
		t.Fatal(msg)
	default:
	}
}
