package objcache

// The Go-heap bench (ktest): Cache[T] Get+Put against sync.Pool, against
// new(T) with the collector's share, and against the other way Go code
// can hold a per-processor magazine (per P under runtime.procPin; a
// minimal one, without Cache[T]'s depot or counts), with one goroutine
// and with one per CPU, side by side in one run.

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname

	"gofly/ktest"
	"gofly/lwkt"
)

type goBenchObj [testSize]byte

var (
	goBenchCache = mustCache(GoConfig[goBenchObj]{Name: "go-bench-64", New: func() *goBenchObj { return new(goBenchObj) }})
	// goPressureCache is the memory-pressure check's Go-heap cache.
	goPressureCache = mustCache(GoConfig[goBenchObj]{Name: "go-pressure-64", New: func() *goBenchObj { return new(goBenchObj) }})
	goBenchPool     = sync.Pool{New: func() any { return new(goBenchObj) }}
	goBenchSink     atomic.Pointer[goBenchObj]
)

func mustCache[T any](cfg GoConfig[T]) *Cache[T] {
	c, err := NewCache(cfg)
	if err != nil {
		panic(err)
	}
	return c
}

func init() {
	RegisterGo(goBenchCache)
	RegisterGo(goPressureCache)
	ktest.RegisterBench(ktest.Bench{Name: "objcache: Go heap", Run: benchGoHeap})
}

// pinSlot is one P's magazine in the other discipline: runtime.procPin
// keeps the goroutine on its P with no atomic, as sync.Pool does (a
// minimal one: no depot, no counts).
type pinSlot struct {
	n    int
	objs [MagRounds]*goBenchObj
	_    [64 - 8]byte
}

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

var pinSlots [MaxCPUs]pinSlot

func pinGet() *goBenchObj {
	if p := procPin(); p < MaxCPUs {
		s := &pinSlots[p]
		if s.n > 0 {
			s.n--
			x := s.objs[s.n]
			s.objs[s.n] = nil
			procUnpin()
			return x
		}
	}
	procUnpin()
	return new(goBenchObj)
}

func pinPut(x *goBenchObj) {
	if p := procPin(); p < MaxCPUs {
		s := &pinSlots[p]
		if s.n < MagRounds {
			s.objs[s.n] = x
			s.n++
		}
	}
	procUnpin()
}

// throughput runs op n times on each of k goroutines at once, three
// times, and returns the best total operations per µs (TCG's timing
// varies with the host's load from run to run).
func throughput(k, n int, op func()) float64 {
	best := 0.0
	for r := 0; r < 3; r++ {
		best = max(best, throughputOnce(k, n, op))
	}
	return best
}

func throughputOnce(k, n int, op func()) float64 {
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < k; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				op()
			}
		}()
	}
	wg.Wait()
	return float64(k*n) / float64(time.Since(t0).Microseconds())
}

func benchGoHeap() ([]ktest.Result, error) {
	const n = 100_000
	ncpu := bits.OnesCount64(lwkt.OnlineMask())
	kinds := []struct {
		name string
		op   func()
	}{
		{"Cache[T] (per-CPU magazines behind one CAS)", func() { goBenchCache.Put(goBenchCache.Get()) }},
		{"per-P magazine under procPin (minimal)", func() { pinPut(pinGet()) }},
		{"sync.Pool", func() { goBenchPool.Put(goBenchPool.Get()) }},
		{"new(T) with GC", func() { goBenchSink.Store(new(goBenchObj)) }},
	}
	var res []ktest.Result
	one := make([]float64, len(kinds))
	for i, k := range kinds {
		throughputOnce(1, n/10, k.op) // warm: code translated
		one[i] = throughput(1, n, k.op)
		res = append(res, ktest.Result{Name: fmt.Sprintf("Get+Put 64 B, 1 goroutine: %s", k.name), Value: 1e3 / one[i], Unit: "ns/op"})
	}
	res = append(res, ktest.Result{Name: "Cache[T] / sync.Pool time, 1 goroutine", Value: one[2] / one[0], Unit: "ratio"})
	if ncpu > 1 {
		for i, k := range kinds {
			all := throughput(ncpu, n, k.op)
			res = append(res, ktest.Result{Name: fmt.Sprintf("  %d goroutines / 1: %s", ncpu, k.name), Value: all / one[i], Unit: "x"})
		}
	}
	var s Stats
	goBenchCache.Stats(&s)
	var hits uint64
	for _, c := range s.CPU[:s.CPUs] {
		hits += c.Hits
	}
	if hits == 0 {
		return nil, fmt.Errorf("objcache: go-bench-64 served no Get from a magazine")
	}
	return res, nil
}
