package ccms

// ccms's in-kernel self-test (ktest): the storm of stress below, its
// workers pinned to the online CPUs in turn. The host test
// (TestStress) runs the same storm on plain goroutines.

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gofly/ktest"
	"gofly/lwkt"
)

func init() {
	ktest.Register(ktest.Check{
		Name: "ccms: disjoint and overlapping range locks from every CPU: no torn read, writers serialized, Check holds, one CST at the end",
		Run:  checkStorm,
	})
}

// checkStorm runs stress with two workers per online CPU (at least four),
// worker w pinned to the w-th online CPU in turn.
func checkStorm() error {
	var cpus []int
	for m := lwkt.OnlineMask(); m != 0; m &= m - 1 {
		cpus = append(cpus, bits.TrailingZeros64(m))
	}
	if len(cpus) == 0 {
		return ktest.Skip("no CPU online (not in the kernel)")
	}
	return stress(max(4, 2*len(cpus)), 200, 1, func(w int, fn func() error) error {
		return lwkt.OnCPU(cpus[w%len(cpus)], fn)
	})
}

// Stress layout: worker w writes in [w·region, (w+2)·region), so its
// writes meet its neighbours'; the common block [base, base+common)
// follows.
const (
	stressRegion = 256
	stressCommon = 512
)

// stress runs workers goroutines, each started through start (which runs
// its function and returns its error), for rounds operations each, over
// one Space guarding one byte slice:
//   - a write of part of its own region and the next worker's under
//     Modifying: the part must still be all its value after a yield;
//   - a write of the whole common block under Modifying (or under a
//     truncate's [x, max] lock, x at or before the block, or with a short
//     deadline that may cancel it), byte by byte: no other writer may be
//     inside (serialized);
//   - a read of part of the common block under Shared or Exclusive: it
//     must be one value (no torn write);
//   - a Clean of a random range.
//
// A checker runs Check throughout. At the end nothing is live, and after
// Clean(0, max) the space is one CST again.
func stress(workers, rounds int, seed uint64, start func(w int, fn func() error) error) error {
	var s Space
	base := uint64(workers * stressRegion)
	data := make([]byte, base+stressCommon)
	var inside atomic.Int32
	size := func() uint64 { return uint64(len(data)) }

	writeCommon := func(l *Lock, v byte) error {
		defer l.Unlock()
		if n := inside.Add(1); n != 1 {
			inside.Add(-1)
			return fmt.Errorf("ccms: stress: %d writers inside the common block at once", n)
		}
		for i := base; i < base+stressCommon; i++ {
			data[i] = v
			if i == base+stressCommon/2 {
				runtime.Gosched() // let a torn read happen if it can
			}
		}
		inside.Add(-1)
		return nil
	}
	work := func(w int) error {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		ctx := context.Background()
		own := uint64(w * stressRegion)
		for r := 0; r < rounds; r++ {
			v := byte(w*rounds + r)
			switch op := rng.IntN(20); {
			case op < 7: // own region, maybe reaching into the next one's
				end := min(own+2*stressRegion, base)
				off := own + rng.Uint64N(stressRegion)
				n := 1 + rng.Uint64N(end-off)
				l, err := s.LockWrite(ctx, off, n)
				if err != nil {
					return err
				}
				for i := off; i < off+n; i++ {
					data[i] = v
				}
				runtime.Gosched()
				for i := off; i < off+n; i++ {
					if data[i] != v {
						l.Unlock()
						return fmt.Errorf("ccms: stress: worker %d's byte %d changed under its write lock", w, i)
					}
				}
				l.Unlock()
			case op < 9: // common, whole block
				l, err := s.LockWrite(ctx, base, stressCommon)
				if err != nil {
					return err
				}
				if err := writeCommon(l, v); err != nil {
					return err
				}
			case op < 10: // common, as a truncate from at or before it
				l, err := s.LockTruncate(ctx, rng.Uint64N(base+1), size)
				if err != nil {
					return err
				}
				if err := writeCommon(l, v); err != nil {
					return err
				}
			case op < 11: // common, with a deadline that may pass
				dctx, cancel := context.WithTimeout(ctx, time.Duration(rng.IntN(50))*time.Microsecond)
				l, err := s.LockWrite(dctx, base, stressCommon)
				cancel()
				if err == nil {
					err = writeCommon(l, v)
				} else if errors.Is(err, context.DeadlineExceeded) {
					err = nil
				}
				if err != nil {
					return err
				}
			case op < 19: // read part of the common block
				off := base + rng.Uint64N(stressCommon)
				n := 1 + rng.Uint64N(base+stressCommon-off)
				m := Shared
				if op == 18 {
					m = Exclusive
				}
				l, err := s.LockContext(ctx, off, off+n-1, m)
				if err != nil {
					return err
				}
				first := data[off]
				for i := off; i < off+n; i++ {
					if data[i] != first {
						l.Unlock()
						return fmt.Errorf("ccms: stress: torn read: byte %d is %d, byte %d is %d", off, first, i, data[i])
					}
				}
				l.Unlock()
			default:
				off := rng.Uint64N(base + stressCommon)
				s.Clean(off, off+rng.Uint64N(stressRegion))
			}
		}
		return nil
	}

	errs := make(chan error, workers+1)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- start(w, func() error { return work(w) })
		}()
	}
	done := make(chan struct{})
	go func() {
		var err error
		for err == nil {
			select {
			case <-done:
				errs <- nil
				return
			default:
			}
			err = s.Check()
			time.Sleep(20 * time.Microsecond) // leave the mutex to the workers
		}
		errs <- err
	}()
	wg.Wait()
	close(done)
	for i := 0; i < workers+1; i++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	if err := s.Check(); err != nil {
		return err
	}
	s.Clean(0, maxOff)
	if err := s.Check(); err != nil {
		return err
	}
	if sn := s.Snapshot(); len(sn.Held)+len(sn.Waiting) != 0 || len(sn.CSTs) != 1 || sn.CSTs[0].State != StateInvalid {
		return fmt.Errorf("ccms: stress: after the storm and Clean, want one clean CST and no request:\n%v", sn)
	}
	return nil
}
