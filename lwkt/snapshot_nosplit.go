package lwkt

// Snapshot's copy runs below the runtime, in a TrapCall body: nosplit,
// allocation-free, writing only into the caller's pointer-free struct.

import (
	"gofly/arch/amd64"
	"gofly/mm"
)

// snapshot is what snapshotCopy fills in for Snapshot.
type snapshot struct {
	n, nc   int
	threads [MaxThreads]ThreadInfo
	cpus    [amd64.MaxCPUs]CPUInfo
}

// snapshotCopy copies every live thread and every online CPU's counters
// into the snapshot at arg.
//
//go:nosplit
func snapshotCopy(arg uintptr) uintptr {
	s := (*snapshot)(mm.Ptr(uint64(arg)))
	now := amd64.Rdtsc()
	s.n, s.nc = 0, 0
	for i := range threads {
		t := &threads[i]
		if t.state == Free || s.n >= len(s.threads) {
			continue
		}
		cpu := int(t.gd.Load() % amd64.MaxCPUs)
		g := &gds[cpu]
		c := t.Cycles
		if int32(i) == g.cur {
			c += now - t.since
		}
		s.threads[s.n] = ThreadInfo{int32(i), t.ID, cpu, t.state, t.Wait, t.pri, int32(i) == g.idle, int32(i) == g.cur, c, t.Switches, t.Migrations, t.SysID}
		s.n++
	}
	for i := range gds {
		g := &gds[i]
		if !g.online || s.nc >= len(s.cpus) {
			continue
		}
		ci := CPUInfo{i, true, g.Switches, g.IdleCycles, g.loadNow(), g.MigrIn.Load(), g.MigrOut.Load(), g.PullAsks, g.Ticks.Load()}
		if g.cur == g.idle {
			ci.IdleCycles += now - threads[g.cur].since
		}
		s.cpus[s.nc] = ci
		s.nc++
	}
	return 0
}
