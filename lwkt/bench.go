package lwkt

// lwkt's in-kernel benchmarks, registered with ktest: each measures two
// things side by side in one run. Their below-runtime halves (IPI handlers,
// TrapCall bodies) are in bench_nosplit.go, and the ping and pong handlers
// they share with the self-tests in selftest_nosplit.go.

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/ktest"
)

func init() {
	ktest.RegisterBench(
		ktest.Bench{Name: "lwkt: thread switch against goroutine handoff", Run: benchSwitch},
		ktest.Bench{Name: "ipi: active round trip against passive send", Run: benchIPI},
		ktest.Bench{Name: "ipi: per-CPU counter, 1 CPU against all", Run: benchScaling},
	)
}

// benchSwitch: an LWKT thread switch (futex ping-pong) against a goroutine
// handoff, and what one TrapCall costs; with one CPU also a sched_yield
// switch (last: the boot benchmark stops at it).
func benchSwitch() ([]ktest.Result, error) {
	out := []ktest.Result{
		{Name: "lwkt thread switch (futex ping-pong, per switch)", Value: benchThreadSwitch(20000), Unit: "ns"},
		{Name: "goroutine handoff (unbuffered channel, per handoff)", Value: benchChanHandoff(200000), Unit: "ns"},
		{Name: "TrapCall, empty body (INT, trap path, MP lock)", Value: benchTrapCall(20000), Unit: "ns"},
	}
	if len(onlineCPUs()) < 2 {
		// Both threads share the one CPU, so each yield is a switch.
		out = append(out, ktest.Result{Name: "lwkt thread switch (sched_yield, per switch)", Value: benchYield(20000), Unit: "ns"})
	}
	return out, nil
}

// benchIPI: an active IPI round trip against the sender's cost per
// message, actively and passively.
func benchIPI() ([]ktest.Result, error) {
	if len(onlineCPUs()) < 2 {
		return nil, ktest.Skip("needs 2 CPUs")
	}
	rt, err := benchIPIRoundTrip(5000)
	if err != nil {
		return nil, err
	}
	act, pas, err := benchIPISend(4096)
	if err != nil {
		return nil, err
	}
	return []ktest.Result{
		{Name: "active IPI round trip (TrapCall, ping, pong by IPI)", Value: rt, Unit: "ns"},
		{Name: "active send, per message (sender, batched)", Value: act, Unit: "ns"},
		{Name: "passive send, per message (sender, batched)", Value: pas, Unit: "ns"},
		{Name: "passive message / active round trip", Value: pas / rt, Unit: "ratio"},
	}, nil
}

// benchScaling: the per-CPU counter workload on 1 CPU against every
// online CPU (last: the boot benchmark stops at the scaling figure).
func benchScaling() ([]ktest.Result, error) {
	n := len(onlineCPUs())
	if n < 2 {
		return nil, ktest.Skip("needs 2 CPUs")
	}
	one, all := benchPerCPU(100*time.Millisecond, 1), benchPerCPU(100*time.Millisecond, n)
	return []ktest.Result{
		{Name: "per-CPU counter, 1 CPU", Value: one / 1e6, Unit: "Mops/s"},
		{Name: fmt.Sprintf("per-CPU counter, %d CPUs", n), Value: all / 1e6, Unit: "Mops/s"},
		{Name: fmt.Sprintf("per-CPU counter scaling 1 -> %d CPUs", n), Value: all / one, Unit: "x"},
	}, nil
}

// benchThreadSwitch ping-pongs between two threads (each goroutine locked
// to its own LWKT thread) with futex wait and wake: every handoff is a real
// thread switch through the kernel.
func benchThreadSwitch(n int) float64 {
	var word atomic.Uint32 // 0: ping's turn, 1: pong's turn
	addr := uintptr(unsafe.Pointer(&word))
	const wait, wake = 0x80, 0x81 // FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE
	var wg sync.WaitGroup
	run := func(me, other uint32) {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := 0; i < n; i++ {
			for word.Load() != me {
				syscall.Syscall6(syscall.SYS_FUTEX, addr, wait, uintptr(other), 0, 0, 0)
			}
			word.Store(other)
			syscall.Syscall6(syscall.SYS_FUTEX, addr, wake, 1, 0, 0, 0)
		}
	}
	wg.Add(2)
	t0 := time.Now()
	go run(0, 1)
	go run(1, 0)
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(2*n)
}

func benchChanHandoff(n int) float64 {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	d := time.Since(t0)
	close(ping)
	return float64(d.Nanoseconds()) / float64(2*n)
}

// benchTrapCall times TrapCall with a body that does nothing.
func benchTrapCall(n int) float64 {
	t0 := amd64.Rdtsc()
	for i := 0; i < n; i++ {
		TrapCall(emptyCall, uintptr(i))
	}
	return float64(timer.CyclesToNs(amd64.Rdtsc()-t0)) / float64(n)
}

// benchIPIRoundTrip pings another CPU n times from a TrapCall body and
// waits for each pong, which comes back by interrupt.
func benchIPIRoundTrip(n int) (float64, error) {
	pongs.Store(0)
	t0 := amd64.Rdtsc()
	for i := 1; i <= n; i++ {
		TrapCall(pingCall, 0)
		deadline := time.Now().Add(time.Second)
		for pongs.Load() < uint64(i) { // the pong arrives by IPI, interrupts on
			if time.Now().After(deadline) {
				return 0, errors.New("lwkt: bench: IPI round trip lost")
			}
		}
	}
	return float64(timer.CyclesToNs(amd64.Rdtsc()-t0)) / float64(n), nil
}

// benchIPISend measures the sender's cost per message, n messages at a
// time, actively and passively, to a CPU that drains them meanwhile.
func benchIPISend(n int) (active, passive float64, err error) {
	for _, p := range []bool{false, true} {
		a := sendArgs{n: n, passive: p}
		TrapCall(sendCall, uintptr(unsafe.Pointer(&a)))
		if a.dst < 0 {
			return 0, 0, errors.New("lwkt: bench: no other CPU online")
		}
		ns := float64(timer.CyclesToNs(a.cycles)) / float64(n)
		if p {
			passive = ns
		} else {
			active = ns
		}
		deadline := time.Now().Add(time.Second)
		for IPIs.Depth(a.me, a.dst) > 0 {
			if time.Now().After(deadline) {
				return 0, 0, errors.New("lwkt: bench: messages not drained")
			}
			time.Sleep(time.Millisecond)
		}
	}
	return active, passive, nil
}

// benchPerCPU runs the per-CPU counter workload on n online CPUs for d and
// returns the total increments per second.
func benchPerCPU(d time.Duration, n int) float64 {
	for i := range spinCount {
		spinCount[i].n.Store(0)
	}
	spinDone.Store(0)
	spinUntil.Store(amd64.Rdtsc() + cycles(d))
	t0 := time.Now()
	took := TrapCall(spinCall, uintptr(n))
	for spinDone.Load() < uint64(took) && time.Since(t0) < 10*d {
		time.Sleep(time.Millisecond)
	}
	var total uint64
	for i := range spinCount {
		total += spinCount[i].n.Load()
	}
	return float64(total) / d.Seconds()
}

// benchYield has two threads on one CPU yield to each other n times each:
// every sched_yield is one system call and one thread switch.
func benchYield(n int) float64 {
	var wg sync.WaitGroup
	var ready atomic.Int32
	run := func() {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		ready.Add(1)
		for ready.Load() < 2 {
			syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		}
		for i := 0; i < n; i++ {
			syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
	wg.Add(2)
	t0 := time.Now()
	go run()
	go run()
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(2*n)
}
