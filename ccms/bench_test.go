package ccms

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkLockUnlock: one uncontended write lock and unlock on an
// otherwise empty space (two splits, two merges).
func BenchmarkLockUnlock(b *testing.B) {
	var s Space
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, _ := s.LockWrite(ctx, benchWrite, benchWrite)
		l.Unlock()
	}
}

// BenchmarkLockUnlockManyCSTs: the same among 4096 CSTs (2048 dirty
// extents), in the middle of the slice: what the memmoves cost.
func BenchmarkLockUnlockManyCSTs(b *testing.B) {
	var s Space
	for i := uint64(0); i < 2048; i++ {
		s.Lock(i*100, i*100+49, Modifying).Unlock()
	}
	if n := len(s.Snapshot().CSTs); n != 4096 {
		b.Fatalf("%d CSTs", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		l := s.Lock(1024*100+60, 1024*100+69, Exclusive)
		l.Unlock()
	}
}

// BenchmarkDisjointWriters: every goroutine fills its own 4 or 64 KiB of
// one file, under a Modifying lock on its range (ccms) or under one mutex
// for the whole file (the vnode lock's discipline).
func BenchmarkDisjointWriters(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10} {
		for _, whole := range []bool{false, true} {
			name := fmt.Sprintf("%dKiB/ccms", size>>10)
			if whole {
				name = fmt.Sprintf("%dKiB/whole-file-mutex", size>>10)
			}
			b.Run(name, func(b *testing.B) {
				var s Space
				var mu sync.Mutex
				var next atomic.Uint64
				const slots = 64
				data := make([]byte, slots*size)
				src := make([]byte, size)
				ctx := context.Background()
				b.SetBytes(int64(size))
				b.RunParallel(func(pb *testing.PB) {
					off := next.Add(1) % slots * uint64(size)
					dst := data[off : off+uint64(size)]
					for pb.Next() {
						if whole {
							mu.Lock()
							copy(dst, src)
							mu.Unlock()
							continue
						}
						l, _ := s.LockWrite(ctx, off, uint64(size))
						copy(dst, src)
						l.Unlock()
					}
				})
			})
		}
	}
}

// TestBenchHelpers runs the in-kernel benchmark's code once, briefly.
func TestBenchHelpers(t *testing.T) {
	if ns := lockUnlockNs(100); ns <= 0 {
		t.Errorf("lockUnlockNs = %v", ns)
	}
	for _, how := range []writerLock{rangeLock, wholeFile, noLock} {
		if r := disjointWriters(2, 100, 4096, how); r <= 0 {
			t.Errorf("disjointWriters(%d) = %v", how, r)
		}
	}
}
