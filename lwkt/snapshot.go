package lwkt

import (
	"fmt"

	"gofly/arch/amd64"
)

// ThreadInfo is a copy of one thread's public state, for ps.
type ThreadInfo struct {
	Slot     int32
	ID       int32
	CPU      int
	State    State
	Wait     WaitKind
	Pri      uint8
	Idle     bool
	Current  bool
	Cycles   uint64
	Switches uint64
}

// CPUInfo is a copy of one CPU's scheduler counters.
type CPUInfo struct {
	CPU        int
	Online     bool
	Switches   uint64
	IdleCycles uint64
}

// Snapshot copies every live thread's state and every online CPU's
// counters. Interrupts are off on this CPU while it copies; other CPUs'
// counters are read as they run, so theirs may be a tick stale.
func Snapshot() ([]ThreadInfo, []CPUInfo) {
	out := make([]ThreadInfo, 0, 16)
	cpus := make([]CPUInfo, 0, amd64.MaxCPUs)
	fl := amd64.Rflags()
	amd64.Cli()
	now := amd64.Rdtsc()
	var buf [MaxThreads]ThreadInfo
	n := 0
	for i := range threads {
		t := &threads[i]
		if t.state == Free {
			continue
		}
		g := &gds[t.gd]
		c := t.Cycles
		if int32(i) == g.cur {
			c += now - t.since
		}
		buf[n] = ThreadInfo{int32(i), t.ID, int(t.gd), t.state, t.Wait, t.pri, int32(i) == g.idle, int32(i) == g.cur, c, t.Switches}
		n++
	}
	var cbuf [amd64.MaxCPUs]CPUInfo
	nc := 0
	for i := range gds {
		g := &gds[i]
		if !g.online {
			continue
		}
		ci := CPUInfo{i, true, g.Switches, g.IdleCycles}
		if g.cur == g.idle {
			ci.IdleCycles += now - threads[g.cur].since
		}
		cbuf[nc] = ci
		nc++
	}
	if fl&amd64.FlagIF != 0 {
		amd64.Sti()
	}
	return append(out, buf[:n]...), append(cpus, cbuf[:nc]...)
}

// SelfTest checks the scheduler's invariants on the live thread table.
func SelfTest() error {
	fl := amd64.Rflags()
	amd64.Cli()
	err := check()
	if fl&amd64.FlagIF != 0 {
		amd64.Sti()
	}
	return err
}

func check() error {
	for c := range gds {
		if gds[c].online {
			if err := checkCPU(&gds[c]); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkCPU(g *Globaldata) error {
	onQueue := [MaxThreads]bool{}
	prevPri := 255
	n := 0
	for i := g.head; i >= 0; i = threads[i].next {
		t := &threads[i]
		if n++; n > MaxThreads {
			return fmt.Errorf("lwkt: runq-state: run queue has a cycle")
		}
		if t.state != Runnable {
			return fmt.Errorf("lwkt: runq-state: thread %d on the run queue is %v", t.ID, t.state)
		}
		if int(t.gd) != g.cpu {
			return fmt.Errorf("lwkt: owner-cpu: thread %d of cpu %d on cpu %d's run queue", t.ID, t.gd, g.cpu)
		}
		if int(t.pri) > prevPri {
			return fmt.Errorf("lwkt: runq-state: run queue not sorted by priority at thread %d", t.ID)
		}
		prevPri = int(t.pri)
		onQueue[i] = true
	}
	for i := range threads {
		t := &threads[i]
		if t.state == Free || int(t.gd) != g.cpu {
			continue
		}
		if t.state == Runnable && !onQueue[i] {
			return fmt.Errorf("lwkt: runq-state: runnable thread %d not on the run queue", t.ID)
		}
		if t.state == Blocked && int32(i) != g.idle && t.Wait == WaitNone {
			return fmt.Errorf("lwkt: blocked-why: thread %d blocked with no wait kind", t.ID)
		}
	}
	if c := &threads[g.cur]; g.cur != g.idle && c.state != Running {
		return fmt.Errorf("lwkt: runq-state: current thread %d is %v", c.ID, c.state)
	}
	return nil
}
