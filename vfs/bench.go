package vfs

// vfs's in-kernel benchmark (ktest): read() of a cached file beside a
// plain memory copy of the same size.

import (
	"fmt"
	"time"

	"gofly/ktest"
)

func init() {
	ktest.RegisterBench(ktest.Bench{Name: "vfs: read of a cached file against a memory copy", Run: benchRead})
}

// benchRead times ReadAt of a file whose pages are all resident (a range
// lock, then a copy from each VM object page through the direct map)
// against copy() between two Go buffers, for reads of 4 KiB and 1 MiB,
// in a file system of its own.
func benchRead() ([]ktest.Result, error) {
	const size = 1 << 20
	f := New(ObjectPages{}, 2*size/PageSize)
	v, err := f.Create("/cached", 0o644)
	if err != nil {
		return nil, err
	}
	src := make([]byte, size)
	for i := range src {
		src[i] = byte(i * 7)
	}
	if _, err := v.WriteAt(src, 0); err != nil {
		return nil, ktest.Skip("no memory for a 1 MiB file: %v", err)
	}
	defer f.Remove("/cached")
	dst := make([]byte, size)
	var res []ktest.Result
	for _, n := range []int{4 << 10, size} {
		rounds := 64 << 20 / n
		t0 := time.Now()
		for i := range rounds {
			off := int64(i * n % size)
			if _, err := v.ReadAt(dst[:n], off); err != nil {
				return nil, err
			}
		}
		read := time.Since(t0)
		t0 = time.Now()
		for i := range rounds {
			off := i * n % size
			copy(dst[:n], src[off:off+n])
		}
		mem := time.Since(t0)
		mb := float64(rounds*n) / (1 << 20)
		name := fmt.Sprintf("%d KiB", n>>10)
		res = append(res,
			ktest.Result{Name: "read() of a cached file, " + name, Value: mb / read.Seconds(), Unit: "MiB/s"},
			ktest.Result{Name: "memory copy, " + name, Value: mb / mem.Seconds(), Unit: "MiB/s"},
			ktest.Result{Name: "read / memory copy time, " + name, Value: read.Seconds() / mem.Seconds(), Unit: "x"})
	}
	return res, nil
}
