package objcache

import (
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// The object of the comparison: 64 bytes, no pointers, like a PV entry.
type benchObj struct{ a [8]uint64 }

const benchSize = int(unsafe.Sizeof(benchObj{}))

var sink *benchObj

func benchCache(b *testing.B, cpus int) *FrameCache {
	resetHarness(b)
	cfg := Config{Name: "bench", Size: benchSize, CPUs: cpus,
		PageAlloc: testPageAlloc, PageFree: testPageFree}
	c := new(FrameCache)
	if err := c.Init(cfg); err != nil {
		b.Fatal(err)
	}
	return c
}

func benchDone(b *testing.B, c *FrameCache) {
	for cpu := 0; cpu < int(c.ncpu); cpu++ {
		c.Reclaim(cpu)
	}
}

// BenchmarkGetPut: one Get and one Put on one CPU (the hot path).
func BenchmarkGetPut(b *testing.B) {
	c := benchCache(b, 1)
	for i := 0; i < b.N; i++ {
		c.Put(0, c.Get(0))
	}
	b.StopTimer()
	benchDone(b, c)
}

// BenchmarkGetPutBurst: 100 Gets then 100 Puts per round, crossing
// magazine boundaries and the depot; reported per Get+Put pair.
func BenchmarkGetPutBurst(b *testing.B) {
	c := benchCache(b, 1)
	var objs [100]uintptr
	for i := 0; i < b.N; i += len(objs) {
		for j := range objs {
			objs[j] = c.Get(0)
		}
		for _, o := range objs {
			c.Put(0, o)
		}
	}
	b.StopTimer()
	benchDone(b, c)
}

// BenchmarkSyncPool: sync.Pool Get and Put of a comparable object.
func BenchmarkSyncPool(b *testing.B) {
	p := sync.Pool{New: func() any { return new(benchObj) }}
	for i := 0; i < b.N; i++ {
		p.Put(p.Get().(*benchObj))
	}
}

// BenchmarkSyncPoolBurst: the burst pattern on sync.Pool.
func BenchmarkSyncPoolBurst(b *testing.B) {
	p := sync.Pool{New: func() any { return new(benchObj) }}
	var objs [100]*benchObj
	for i := 0; i < b.N; i += len(objs) {
		for j := range objs {
			objs[j] = p.Get().(*benchObj)
		}
		for j, o := range objs {
			p.Put(o)
			objs[j] = nil
		}
	}
}

// BenchmarkNew: Go's allocation, new(T) plus the garbage collector.
func BenchmarkNew(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sink = new(benchObj)
	}
}

// The parallel versions: each goroutine plays one CPU (GOMAXPROCS of
// them), so the FrameCache's fast path stays lock- and atomic-free.
func BenchmarkGetPutParallel(b *testing.B) {
	c := benchCache(b, MaxCPUs)
	var next atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		cpu := int(next.Add(1)-1) % MaxCPUs
		for pb.Next() {
			c.Put(cpu, c.Get(cpu))
		}
	})
	b.StopTimer()
	benchDone(b, c)
}

func BenchmarkSyncPoolParallel(b *testing.B) {
	p := sync.Pool{New: func() any { return new(benchObj) }}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Put(p.Get().(*benchObj))
		}
	})
}

func BenchmarkNewParallel(b *testing.B) {
	var s atomic.Pointer[benchObj]
	b.RunParallel(func(pb *testing.PB) {
		var o *benchObj
		for pb.Next() {
			o = new(benchObj)
		}
		s.Store(o)
	})
}
