package lwkt

// The balancer's in-kernel self-test: every Go thread gathered on CPU 0
// with work for every CPU, then let go.

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gofly/drivers/timer"
	"gofly/ktest"
)

func init() {
	ktest.Register(ktest.Check{Name: "lwkt: balance: threads gathered on CPU 0 spread to every CPU", Run: checkSpread})
}

// Bounds of the spread check, in timer ticks (1 ms each).
const (
	gatherTicks = 2000 // for the other CPUs to run dry once every thread may only use CPU 0
	spreadTicks = 100  // for every CPU to run a thread once they may go anywhere
)

// checkSpread starts a spinning goroutine per CPU, confines every thread
// to CPU 0 (affinity) until the other CPUs run nothing, then frees them.
// The spinners never block, so only the balancer's push and pull can move
// their threads: within spreadTicks every CPU must run one, and over the
// next 100 ms no CPU may idle more than half the time.
func checkSpread() error {
	cpus := onlineCPUs()
	if len(cpus) < 2 {
		return ktest.Skip("needs 2 CPUs")
	}
	if !Balancing() {
		return ktest.Skip("balancing is off")
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	for range cpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spin(&stop)
		}()
	}
	if err := gather(); err != nil {
		return err
	}
	t0 := time.Now()
	if err := waitLoads(spreadTicks, func(c CPUInfo) bool { return c.Load > 0 }); err != nil {
		return fmt.Errorf("spreading: %w", err)
	}
	spread := time.Since(t0)
	_, before := Snapshot()
	time.Sleep(100 * time.Millisecond)
	_, after := Snapshot()
	for k, c := range after {
		idle := float64(timer.CyclesToNs(c.IdleCycles-before[k].IdleCycles)) / float64(100*time.Millisecond)
		if idle > 0.5 {
			return fmt.Errorf("spread after %v, then cpu %d idled %.0f%% of 100 ms beside %d spinning goroutines", spread, c.CPU, 100*idle, len(cpus))
		}
	}
	return nil
}

// spin computes until stop is set and returns how many rounds of work it
// did. It writes nothing shared meanwhile: spinners on several CPUs would
// otherwise contend for one cache line (dearly, under TCG).
func spin(stop *atomic.Bool) uint64 {
	x, k := uint64(1), uint64(0)
	for !stop.Load() {
		for range 1000 {
			x = x*6364136223846793005 + 1
		}
		k++
	}
	spinSink.Add(x)
	return k
}

// gather confines every thread to CPU 0 until the other CPUs run nothing,
// then frees them again (affinity), leaving the runnable ones on CPU 0.
func gather() error {
	defer TrapCall(affinityAll, 0)
	TrapCall(affinityAll, 1)
	if err := waitLoads(gatherTicks, func(c CPUInfo) bool { return c.CPU == 0 || c.Load == 0 }); err != nil {
		return fmt.Errorf("gathering on CPU 0: %w", err)
	}
	return nil
}

// spinSink keeps the spinners' work from being optimised away.
var spinSink atomic.Uint64

// waitLoads polls the CPUs' loads each tick until ok holds for every
// online CPU, for at most ticks ticks.
func waitLoads(ticks int, ok func(CPUInfo) bool) error {
	var last []CPUInfo
	for n := 0; n < ticks; n++ {
		_, last = Snapshot()
		all := true
		for _, c := range last {
			all = all && ok(c)
		}
		if all {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	loads := make([]int32, len(last))
	for k, c := range last {
		loads[k] = c.Load
	}
	return fmt.Errorf("not within %d ticks; loads %v", ticks, loads)
}
