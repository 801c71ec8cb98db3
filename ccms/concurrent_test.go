package ccms

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls until cond holds, failing after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func nWaiting(s *Space) int { return len(s.Snapshot().Waiting) }

// TestStress: the self-test's storm on plain goroutines, under -race: no
// torn read, writers of one range serialized, Check throughout, one CST
// at the end.
func TestStress(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		if err := stress(8, 300, seed, func(w int, fn func() error) error { return fn() }); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDisjointDoNotBlock: while one goroutine holds a long Modifying lock,
// writers and readers of disjoint ranges all finish; a writer overlapping
// it does not, until it is released.
func TestDisjointDoNotBlock(t *testing.T) {
	var s Space
	ctx := context.Background()
	long := s.Lock(0, 999, Modifying)
	var wg sync.WaitGroup
	var ops atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := uint64(1000 + g*100)
			for i := 0; i < 200; i++ {
				l, err := s.LockWrite(ctx, off, 100)
				if err != nil {
					t.Error(err)
					return
				}
				l.Unlock()
				l = s.Lock(off+uint64(i%100), off+99, Shared)
				l.Unlock()
				ops.Add(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("disjoint lockers made %d of 1600 rounds while [0, 999] was held", ops.Load())
	}
	over := make(chan *Lock)
	go func() { over <- s.Lock(999, 1000, Shared) }()
	waitFor(t, "the overlapping reader waits", func() bool { return nWaiting(&s) == 1 })
	select {
	case <-over:
		t.Fatal("a reader overlapping a held Modifying lock was granted")
	case <-time.After(20 * time.Millisecond):
	}
	long.Unlock()
	(<-over).Unlock()
	mustBeOne(t, &s)
}

// TestFairness: a writer queued behind a reader is granted before a reader
// that arrived after it (though that reader is compatible with the
// holder), and readers queued behind a writer are granted together.
func TestFairness(t *testing.T) {
	var s Space
	var mu sync.Mutex
	var order []string
	note := func(x string) { mu.Lock(); order = append(order, x); mu.Unlock() }

	r1 := s.Lock(0, 99, Shared)
	wHeld := make(chan *Lock)
	go func() { l := s.Lock(0, 99, Modifying); note("W"); wHeld <- l }()
	waitFor(t, "the writer waits", func() bool { return nWaiting(&s) == 1 })
	r2Done := make(chan struct{})
	go func() { l := s.Lock(50, 60, Shared); note("R2"); l.Unlock(); close(r2Done) }()
	waitFor(t, "the later reader waits", func() bool { return nWaiting(&s) == 2 })
	if w := s.Snapshot().Waiting; len(w[1].WaitsFor) != 1 || w[1].WaitsFor[0] != w[0].Seq {
		t.Fatalf("the later reader should wait for the writer alone:\n%v", s.Snapshot())
	}
	r1.Unlock()
	w := <-wHeld
	time.Sleep(10 * time.Millisecond)
	if sn := s.Snapshot(); len(sn.Waiting) != 1 {
		t.Fatalf("with the writer held, the later reader must wait:\n%v", sn)
	}
	w.Unlock()
	<-r2Done
	if len(order) != 2 || order[0] != "W" || order[1] != "R2" {
		t.Fatalf("grant order %v, want [W R2]", order)
	}

	// Readers behind a writer: all granted when it goes.
	w = s.Lock(0, 99, Exclusive)
	readers := make(chan *Lock, 3)
	for i := 0; i < 3; i++ {
		go func() { readers <- s.Lock(uint64(i*30), uint64(i*30+40), Shared) }()
	}
	waitFor(t, "three readers wait", func() bool { return nWaiting(&s) == 3 })
	w.Unlock()
	for i := 0; i < 3; i++ {
		(<-readers).Unlock()
	}
	mustBeOne(t, &s)
}

// TestNoStarvation: four readers each hold [0, 9] for a millisecond at a
// time, back to back and staggered, so the range is (almost) never free;
// a writer arriving among them still gets it, as the readers that come
// after it wait for it. (Each reader holds one lock at a time: one that
// took a second lock before dropping its first would wait behind the
// writer, which waits for it — the hold-and-wait any fair lock forbids.)
func TestNoStarvation(t *testing.T) {
	var s Space
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(g) * 250 * time.Microsecond)
			for {
				select {
				case <-stop:
					return
				default:
				}
				l := s.Lock(0, 9, Shared)
				time.Sleep(time.Millisecond)
				l.Unlock()
				reads.Add(1)
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := s.LockContext(ctx, 5, 5, Modifying)
	if err != nil {
		t.Fatalf("a writer among a stream of readers (%d reads): %v", reads.Load(), err)
	}
	w.Unlock()
	close(stop)
	wg.Wait()
	mustBeOne(t, &s)
}

// TestCancel: a cancelled waiter returns its context's error, leaves no
// trace, and wakes a request it alone blocked; a context already ended
// never arrives; a deadline ends a wait; a grant racing a cancel leaves a
// consistent space.
func TestCancel(t *testing.T) {
	var s Space
	h := s.Lock(0, 99, Shared)
	ctx, cancel := context.WithCancel(context.Background())
	werr := make(chan error)
	go func() {
		_, err := s.LockContext(ctx, 0, 99, Modifying)
		werr <- err
	}()
	waitFor(t, "the writer waits", func() bool { return nWaiting(&s) == 1 })
	rHeld := make(chan *Lock)
	go func() { rHeld <- s.Lock(50, 60, Shared) }()
	waitFor(t, "the reader waits behind the writer", func() bool { return nWaiting(&s) == 2 })
	cancel()
	if err := <-werr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter returned %v", err)
	}
	r := <-rHeld // woken by the cancel, with h still held
	mustCheck(t, &s)
	if sn := s.Snapshot(); len(sn.Held) != 2 || len(sn.Waiting) != 0 {
		t.Fatalf("after the cancel:\n%v", sn)
	}
	r.Unlock()

	// Ended already: returns at once, never arrives.
	if _, err := s.LockContext(ctx, 0, 99, Exclusive); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended context: %v", err)
	}
	if s.seq != 3 {
		t.Fatalf("an ended context's request arrived (seq %d)", s.seq)
	}
	// A deadline.
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	if _, err := s.LockWrite(dctx, 10, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	h.Unlock()
	mustBeOne(t, &s)

	// Grant racing cancel: either outcome, never a trace.
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 300; i++ {
		h := s.Lock(0, 9, Exclusive)
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan *Lock)
		go func() { l, _ := s.LockContext(ctx, 5, 15, Modifying); got <- l }()
		waitFor(t, "the waiter waits", func() bool { return nWaiting(&s) == 1 })
		unlocked := make(chan struct{})
		if rng.IntN(2) == 0 {
			go func() { h.Unlock(); close(unlocked) }()
			cancel()
		} else {
			go cancel()
			h.Unlock()
			close(unlocked)
		}
		if l := <-got; l != nil {
			l.Unlock()
		}
		<-unlocked
		mustBeOne(t, &s)
	}
}

// TestTruncateBlocksLaterWrite: a truncate's lock [cut, max] lets a write
// before the cut through and holds a write past it (even far past the old
// EOF) until it is released; an append behind it waits too.
func TestTruncateBlocksLaterWrite(t *testing.T) {
	var s Space
	ctx := context.Background()
	size := uint64(1000)
	sizeFn := func() uint64 { return size } // changed only under a tail lock
	tr, err := s.LockTruncate(ctx, 500, sizeFn)
	if err != nil || tr.beg != 500 || tr.end != max64 {
		t.Fatalf("LockTruncate(500) from 1000: %v %v", tr, err)
	}
	before, err := s.LockWrite(ctx, 0, 500)
	if err != nil || !isHeld(before) {
		t.Fatal("a write before the cut waited")
	}
	before.Unlock()
	past := make(chan *Lock)
	go func() { l, _ := s.LockWrite(ctx, 1<<20, 4096); past <- l }()
	app := make(chan *Lock)
	waitFor(t, "the write past the cut waits", func() bool { return nWaiting(&s) == 1 })
	go func() { l, _ := s.LockAppend(ctx, sizeFn); app <- l }()
	waitFor(t, "the append waits", func() bool { return nWaiting(&s) == 2 })
	select {
	case <-past:
		t.Fatal("a write past the cut ran during the truncate")
	case <-app:
		t.Fatal("an append ran during the truncate")
	case <-time.After(20 * time.Millisecond):
	}
	size = 500
	tr.Unlock()
	(<-past).Unlock()
	a := <-app
	if a.beg != 500 {
		t.Errorf("the append locked from %d, want the new EOF 500", a.beg)
	}
	a.Unlock()
	mustBeOne(t, &s)

	// Extending: [old, max].
	tr, _ = s.LockTruncate(ctx, 8000, sizeFn)
	if tr.beg != 500 {
		t.Errorf("extending 500 to 8000 locked from %d, want 500", tr.beg)
	}
	tr.Unlock()
	mustBeOne(t, &s)
}

// TestLockAppendRetries: an append that read EOF 100 and queued behind a
// truncate to 50 takes its lock again from 50 once it sees the new size.
func TestLockAppendRetries(t *testing.T) {
	var s Space
	var size atomic.Uint64
	size.Store(100)
	tr := s.Lock(50, max64, Modifying) // the truncate from 100 to 50
	got := make(chan *Lock)
	go func() { l, _ := s.LockAppend(context.Background(), size.Load); got <- l }()
	waitFor(t, "the append waits", func() bool { return nWaiting(&s) == 1 })
	if w := s.Snapshot().Waiting[0]; w.Beg != 100 {
		t.Fatalf("append queued from %d, want 100", w.Beg)
	}
	size.Store(50)
	tr.Unlock()
	a := <-got
	if a.beg != 50 || a.end != max64 || a.mode != Modifying {
		t.Fatalf("append holds [%d, %d] %v, want [50, max] modifying", a.beg, a.end, a.mode)
	}
	a.Unlock()
	mustBeOne(t, &s)
}

// TestManyRanges: thousands of held ranges, a truncate over all of them
// waiting for the last to go, and the tree back to one CST after.
func TestManyRanges(t *testing.T) {
	const n = 3000
	var s Space
	locks := make([]*Lock, n)
	for i := range locks {
		locks[i] = s.Lock(uint64(i)*10, uint64(i)*10+4, []Mode{Shared, Exclusive, Modifying}[i%3])
	}
	if got := len(s.Snapshot().CSTs); got != 2*n { // each range and the gap after it
		t.Fatalf("%d CSTs, want %d", got, 2*n)
	}
	mustCheck(t, &s)
	tr := make(chan *Lock)
	go func() { l, _ := s.LockTruncate(context.Background(), 0, func() uint64 { return n * 10 }); tr <- l }()
	waitFor(t, "the truncate waits", func() bool { return nWaiting(&s) == 1 })
	if w := s.Snapshot().Waiting[0]; len(w.WaitsFor) != n {
		t.Fatalf("the truncate waits for %d requests, want %d", len(w.WaitsFor), n)
	}
	rand.New(rand.NewPCG(3, 3)).Shuffle(n, func(i, j int) { locks[i], locks[j] = locks[j], locks[i] })
	for i, l := range locks {
		l.Unlock()
		if i == n/2 {
			mustCheck(t, &s)
		}
	}
	l := <-tr
	mustCheck(t, &s)
	l.Unlock()
	if sn := s.Snapshot(); len(sn.CSTs) != 1 || sn.CSTs[0].State != StateModified {
		t.Fatalf("after a truncate over everything, want one Modified CST, have %d", len(sn.CSTs))
	}
	mustBeOne(t, &s)

	// Thousands of Modified extents, then one Clean.
	for i := uint64(0); i < n; i++ {
		s.Lock(i*10, i*10+4, Modifying).Unlock()
	}
	if got := len(s.Snapshot().CSTs); got != 2*n {
		t.Fatalf("%d CSTs for %d dirty extents, want %d", got, n, 2*n)
	}
	mustBeOne(t, &s)
}
