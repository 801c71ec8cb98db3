package lwkt

// The balancer's in-kernel benchmarks: spinning goroutines on one CPU
// against all of them, with balancing on and off, and the worst-case
// latency of a goroutine handoff between CPUs.

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gofly/drivers/timer"
	"gofly/ktest"
)

func init() {
	ktest.RegisterBench(ktest.Bench{Name: "lwkt: balance: spinning goroutines and handoff latency", Run: benchBalance})
}

// benchBalance: the throughput of one spinning goroutine against one per
// CPU, starting from every thread gathered on CPU 0, with balancing on and
// then off (as LWKT alone: the threads stay where they are); the busiest
// and idlest CPU's busy share in each; and a goroutine handoff's median
// and worst latency.
func benchBalance() ([]ktest.Result, error) {
	cpus := onlineCPUs()
	if len(cpus) < 2 {
		return nil, ktest.Skip("needs 2 CPUs")
	}
	was := Balancing()
	defer SetBalance(was)
	const d = 300 * time.Millisecond
	// One spinner before and after, the faster taken: a host that is
	// briefly busier during one run must not flatter the ratios.
	one, _, _ := spinRate(1, d, true)
	SetBalance(true)
	on, onMin, onMax := spinRate(len(cpus), d, true)
	SetBalance(false)
	off, offMin, offMax := spinRate(len(cpus), d, true)
	SetBalance(true)
	one2, _, _ := spinRate(1, d, true)
	one = max(one, one2)
	med, p99, worst, over := handoffLatency(2000)
	return []ktest.Result{
		{Name: "spinning goroutines, one per CPU / one, balancing on", Value: on / one, Unit: "ratio"},
		{Name: "  least busy CPU, balancing on", Value: 100 * onMin, Unit: "%"},
		{Name: "  busiest CPU, balancing on", Value: 100 * onMax, Unit: "%"},
		{Name: "spinning goroutines, one per CPU / one, balancing off", Value: off / one, Unit: "ratio"},
		{Name: "  least busy CPU, balancing off", Value: 100 * offMin, Unit: "%"},
		{Name: "  busiest CPU, balancing off", Value: 100 * offMax, Unit: "%"},
		{Name: "goroutine handoff between CPUs, median", Value: med, Unit: "µs"},
		{Name: "goroutine handoff between CPUs, 99th percentile", Value: p99, Unit: "µs"},
		{Name: "goroutine handoff between CPUs, worst of 2000", Value: worst, Unit: "µs"},
		{Name: "goroutine handoffs over a tick (1 ms), of 2000", Value: float64(over), Unit: ""},
	}, nil
}

// spinRate runs n spinning goroutines for d, after gathering every thread
// on CPU 0 when gatherFirst is set, and returns their rounds of work per second
// and the least and most busy CPU's share of d (the idle clock can run a
// little past d: clamped at 0).
func spinRate(n int, d time.Duration, gatherFirst bool) (rate, minBusy, maxBusy float64) {
	var stop atomic.Bool
	var turns atomic.Uint64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			turns.Add(spin(&stop))
		}()
	}
	if gatherFirst {
		_ = gather() // a gather that times out still measures: its loads are the start
	}
	_, before := Snapshot()
	t0 := time.Now()
	time.Sleep(d)
	stop.Store(true)
	el := time.Since(t0)
	_, after := Snapshot()
	wg.Wait()
	minBusy, maxBusy = 1, 0
	for k, c := range after {
		busy := max(0, 1-float64(timer.CyclesToNs(c.IdleCycles-before[k].IdleCycles))/float64(el))
		minBusy, maxBusy = min(minBusy, busy), max(maxBusy, busy)
	}
	return float64(turns.Load()) / el.Seconds(), minBusy, maxBusy
}

// handoffLatency sends n timestamps, 200 µs apart so that the receiver
// parks each time, over an unbuffered channel and returns the median, 99th
// percentile and worst time from send to receipt, in µs, and how many took
// over a millisecond (a timer tick).
func handoffLatency(n int) (median, p99, worst float64, over int) {
	ch := make(chan int64)
	lat := make([]float64, 0, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for t := range ch {
			lat = append(lat, float64(timer.Nanotime()-t)/1e3)
		}
	}()
	for range n {
		time.Sleep(200 * time.Microsecond)
		ch <- timer.Nanotime()
	}
	close(ch)
	<-done
	slices.Sort(lat)
	for _, l := range lat {
		if l > 1000 {
			over++
		}
	}
	return lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1], over
}
