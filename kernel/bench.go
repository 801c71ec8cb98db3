package kernel

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
	"gofly/lwkt"
	"gofly/lwkt/ipiq"
)

// Result is one benchmark figure.
type Result struct {
	Name  string
	Value float64
	Unit  string
}

// Benchmarks measures, side by side in one run: an LWKT thread switch
// against a goroutine handoff, an active IPI round trip against a passive
// message's cost when batched, and a per-CPU counter workload on 1 CPU
// against every online CPU.
func Benchmarks() ([]Result, error) {
	var out []Result
	sw, err := benchThreadSwitch(20000)
	if err != nil {
		return nil, err
	}
	out = append(out, Result{"lwkt thread switch (futex ping-pong, per switch)", sw, "ns"},
		Result{"goroutine handoff (unbuffered channel, per handoff)", benchChanHandoff(200000), "ns"})
	if len(cpus) < 2 {
		// Both threads share the one CPU, so each yield is a switch.
		return append(out, Result{"lwkt thread switch (sched_yield, per switch)", benchYield(20000), "ns"}), nil
	}
	rt, err := benchIPIRoundTrip(5000)
	if err != nil {
		return nil, err
	}
	act, pas, err := benchIPISend(4096)
	if err != nil {
		return nil, err
	}
	out = append(out, Result{"active IPI round trip (one CPU to another and back)", rt, "ns"},
		Result{"active send, per message (sender, batched)", act, "ns"},
		Result{"passive send, per message (sender, batched)", pas, "ns"},
		Result{"passive message / active round trip", pas / rt, "ratio"})
	one, all := benchPerCPU(100*time.Millisecond, 1), benchPerCPU(100*time.Millisecond, len(cpus))
	out = append(out, Result{"per-CPU counter, 1 CPU", one / 1e6, "Mops/s"},
		Result{fmt.Sprintf("per-CPU counter, %d CPUs", len(cpus)), all / 1e6, "Mops/s"},
		Result{fmt.Sprintf("per-CPU counter scaling 1 -> %d CPUs", len(cpus)), all / one, "x"})
	return out, nil
}

// benchThreadSwitch ping-pongs between two threads (each goroutine locked
// to its own LWKT thread) with futex wait and wake: every handoff is a real
// thread switch through the kernel.
func benchThreadSwitch(n int) (float64, error) {
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
	return float64(time.Since(t0).Nanoseconds()) / float64(2*n), nil
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

func benchIPIRoundTrip(n int) (float64, error) {
	pongs.Store(0)
	t0 := amd64.Rdtsc()
	for i := 1; i <= n; i++ {
		Critical(func() { lwkt.Send(otherCPU(), ipiq.Msg{Fn: idPing, Arg1: uintptr(amd64.CPU())}, false) })
		deadline := time.Now().Add(time.Second)
		for pongs.Load() < uint64(i) { // the pong arrives by IPI, interrupts on
			if time.Now().After(deadline) {
				return 0, errors.New("kernel: bench: IPI round trip lost")
			}
		}
	}
	return float64(timer.CyclesToNs(amd64.Rdtsc()-t0)) / float64(n), nil
}

// benchIPISend measures the sender's cost per message, n messages at a
// time, actively and passively, to a CPU that drains them meanwhile.
func benchIPISend(n int) (active, passive float64, err error) {
	for _, p := range []bool{false, true} {
		var c uint64
		var me, dst int
		Critical(func() {
			me, dst = amd64.CPU(), otherCPU()
			t0 := amd64.Rdtsc()
			for i := 0; i < n; i++ {
				lwkt.Send(dst, ipiq.Msg{Fn: ipiq.Nop}, p)
			}
			c = amd64.Rdtsc() - t0
		})
		ns := float64(timer.CyclesToNs(c)) / float64(n)
		if p {
			passive = ns
		} else {
			active = ns
		}
		deadline := time.Now().Add(time.Second)
		for lwkt.IPIs.Depth(me, dst) > 0 {
			if time.Now().After(deadline) {
				return 0, 0, errors.New("kernel: bench: messages not drained")
			}
			time.Sleep(time.Millisecond)
		}
	}
	return active, passive, nil
}

// benchPerCPU runs the per-CPU counter workload on the first n CPUs for d
// and returns the total increments per second.
func benchPerCPU(d time.Duration, n int) float64 {
	for i := range spinCount {
		spinCount[i].n.Store(0)
	}
	spinDone.Store(0)
	spinUntil.Store(amd64.Rdtsc() + uint64(d.Seconds()*float64(timer.TSCHz())))
	t0 := time.Now()
	Critical(func() {
		me, sent := amd64.CPU(), 1
		for _, c := range cpus {
			if c.Index != me && sent < n {
				lwkt.Send(c.Index, ipiq.Msg{Fn: idSpin}, false)
				sent++
			}
		}
		ipiSpin(0, 0) // this CPU works too
	})
	for spinDone.Load() < uint64(n) && time.Since(t0) < 10*d {
		time.Sleep(time.Millisecond)
	}
	var total uint64
	for _, c := range cpus {
		total += spinCount[c.Index].n.Load()
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
