package sysref

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gofly/fatal"
)

func expect(t *testing.T, r *Ref, s State, n uint64) {
	t.Helper()
	if gs, gn := r.Load(); gs != s || gn != n {
		t.Fatalf("state %v/%d, want %v/%d", gs, gn, s, n)
	}
}

// TestRefSequence walks every transition of the diagram in ref_nosplit.go.
func TestRefSequence(t *testing.T) {
	var r Ref
	expect(t, &r, Free, 0)
	r.Alloc()
	expect(t, &r, Building, 1)
	r.Get() // a temporary ref while building
	if r.TryGet() {
		t.Fatal("ref-lookup: TryGet succeeded while building")
	}
	r.Activate() // refs taken while building are kept
	expect(t, &r, Active, 2)
	if !r.TryGet() {
		t.Fatal("TryGet failed on an active record")
	}
	for _, want := range []PutResult{PutHeld, PutHeld, PutTerminate} {
		if got := r.Put(); got != want {
			t.Fatalf("Put %v, want %v", got, want)
		}
	}
	expect(t, &r, Terminating, 1)
	if r.TryGet() {
		t.Fatal("ref-lookup: TryGet succeeded while terminating")
	}
	r.Get() // a temporary ref during termination
	r.Activate()
	expect(t, &r, Active, 2) // revival keeps both
	if r.Put() != PutHeld || r.Put() != PutTerminate {
		t.Fatal("second termination")
	}
	r.Get()
	if r.Put() != PutHeld { // the temporary ref goes first
		t.Fatal("temporary put")
	}
	if got := r.Put(); got != PutLast { // the base goes last
		t.Fatalf("base put %v", got)
	}
	expect(t, &r, Dead, 0)
	if r.TryGet() {
		t.Fatal("ref-lookup: TryGet succeeded on a dead record")
	}
	r.Release()
	expect(t, &r, Free, 0)

	// Abandoned before activation: no terminate.
	r.Alloc()
	if got := r.Put(); got != PutLast {
		t.Fatalf("abandon: %v", got)
	}
	r.Release()
}

// TestRefThrows: ref-no-resurrection and the other misuse checks.
func TestRefThrows(t *testing.T) {
	in := func(s State, n uint64) *Ref {
		r := new(Ref)
		r.w.Store(word(s, n))
		return r
	}
	for _, c := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"get free", func() { in(Free, 0).Get() }, "Ref.Get"},
		{"get dead", func() { in(Dead, 0).Get() }, "Ref.Get"},
		{"put free", func() { in(Free, 0).Put() }, "Ref.Put"},
		{"put dead", func() { in(Dead, 0).Put() }, "Ref.Put"},
		{"activate active", func() { in(Active, 1).Activate() }, "Ref.Activate"},
		{"activate free", func() { in(Free, 0).Activate() }, "Ref.Activate"},
		{"activate dead", func() { in(Dead, 0).Activate() }, "Ref.Activate"},
		{"alloc active", func() { in(Active, 1).Alloc() }, "Ref.Alloc"},
		{"release active", func() { in(Active, 1).Release() }, "Ref.Release"},
		{"release free", func() { in(Free, 0).Release() }, "Ref.Release"},
	} {
		if msg := fatal.Catch(c.f); !strings.Contains(msg, c.msg) {
			t.Errorf("%s: throw %q, want %q", c.name, msg, c.msg)
		}
	}
}

// cpuSim is one simulated CPU: its tree and the critical section that
// guards it (a mutex on the host).
type cpuSim struct {
	mu   sync.Mutex
	tree Tree
}

// life tracks one record through the storm.
type life struct {
	r          *Record
	id         uint64
	terminates atomic.Int32 // PutTerminate results
	lasts      atomic.Int32 // PutLast results
	began      atomic.Bool  // set by the terminator right after its Put
	freed      atomic.Bool  // unindexed and released
}

// TestRefStorm races holders doing get/put, lookups through the tree and
// the terminate path. Checks: ref-terminate-once, ref-free-once,
// ref-lookup (no lookup succeeds once termination began, and a ref got by
// lookup is held only while the record is active), no leak (the tree is
// empty and every record Free at the end).
func TestRefStorm(t *testing.T) {
	const (
		rounds   = 20
		nrec     = 32
		holders  = 6
		lookups  = 4
		tempRefs = 3 // refs the terminate handler hands out
	)
	var s Sysids
	s.Boot(1_785_000_000_000_000, 1)
	recs := records(nrec)
	var cpu cpuSim
	var errs sync.Map
	var found atomic.Int64 // successful lookups, to show the race was run
	fail := func(format string, args ...any) { errs.Store(fmt.Sprintf(format, args...), true) }

	for round := range rounds {
		lives := make([]*life, nrec)
		for i := range recs {
			r := &recs[i]
			l := &life{r: r}
			lives[i] = l
			cpu.mu.Lock() // the owning CPU's critical section
			l.id = s.Alloc(0)
			r.SetSysid(l.id)
			cpu.tree.Insert(Addr(r))
			cpu.mu.Unlock()
			r.Ref().Alloc()
			for range holders - 1 {
				r.Ref().Get()
			}
			r.Ref().Activate()
		}

		var wg sync.WaitGroup
		var drop func(l *life)
		// terminate is the class's terminate handler: it holds the base
		// ref, checks the record is invisible, lends temporary refs to
		// helpers, and drops the base.
		terminate := func(l *life) {
			if l.terminates.Add(1) != 1 {
				fail("ref-terminate-once: record %#x terminated twice", l.id)
			}
			l.began.Store(true)
			cpu.mu.Lock()
			got := cpu.tree.LookupRef(l.id)
			cpu.mu.Unlock()
			if got != 0 {
				fail("ref-lookup: lookup of %#x succeeded inside terminate", l.id)
				l.r.Ref().Put() // keep the storm going to its end
			}
			for range tempRefs {
				l.r.Ref().Get()
				wg.Go(func() { drop(l) })
			}
			drop(l)
		}
		// drop puts one reference and does what the result asks.
		drop = func(l *life) {
			switch l.r.Ref().Put() {
			case PutTerminate:
				terminate(l)
			case PutLast:
				if l.lasts.Add(1) != 1 {
					fail("ref-free-once: record %#x freed twice", l.id)
				}
				cpu.mu.Lock() // the owner unindexes (a passive IPI in the kernel)
				cpu.tree.Delete(Addr(l.r))
				cpu.mu.Unlock()
				l.r.Ref().Release()
				l.freed.Store(true)
			}
		}
		lookup := func(l *life) bool {
			before := l.began.Load()
			cpu.mu.Lock()
			a := cpu.tree.LookupRef(l.id)
			cpu.mu.Unlock()
			if a == 0 {
				return false
			}
			found.Add(1)
			if a != Addr(l.r) {
				fail("lookup of %#x returned another record", l.id)
			}
			if before {
				fail("ref-lookup: lookup of %#x succeeded after terminate began", l.id)
			}
			if st, _ := l.r.Ref().Load(); st != Active || l.began.Load() {
				fail("ref-lookup: %#x held by lookup in state %v", l.id, st)
			}
			drop(l)
			return true
		}
		for h := range holders {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(h)))
				order := rng.Perm(nrec)
				for _, i := range order {
					l := lives[i]
					for range rng.IntN(4) {
						l.r.Ref().Get()
						lookup(lives[rng.IntN(nrec)])
						drop(l)
					}
					drop(l) // this holder's own ref
				}
			})
		}
		for range lookups {
			wg.Go(func() {
				// A deadline, not a pass count: on a loaded CI machine the
				// holders may get little CPU while lookups spin.
				deadline := time.Now().Add(60 * time.Second)
				for {
					if time.Now().After(deadline) {
						fail("leak: records never freed")
						return
					}
					runtime.Gosched()
					done := true
					for _, l := range lives {
						if !l.freed.Load() {
							done = false
							lookup(l)
						}
					}
					if done {
						return
					}
				}
			})
		}
		wg.Wait()

		for _, l := range lives {
			if l.terminates.Load() != 1 || l.lasts.Load() != 1 {
				fail("record %#x: %d terminates, %d frees", l.id, l.terminates.Load(), l.lasts.Load())
			}
			if st, n := l.r.Ref().Load(); st != Free || n != 0 {
				fail("leak: record %#x left %v/%d", l.id, st, n)
			}
		}
		if cpu.tree.Len() != 0 {
			fail("leak: %d records still indexed", cpu.tree.Len())
		}
		if err := cpu.tree.Check(); err != nil {
			fail("%v", err)
		}
	}
	t.Logf("%d successful lookups", found.Load())
	if found.Load() == 0 {
		t.Error("no lookup ever succeeded: the storm tested nothing")
	}
	errs.Range(func(k, _ any) bool {
		t.Error(k)
		return true
	})
}

// TestRefNoAlloc: the state machine allocates nothing.
func TestRefNoAlloc(t *testing.T) {
	var r Ref
	n := testing.AllocsPerRun(100, func() {
		r.Alloc()
		r.Activate()
		r.Get()
		_ = r.TryGet()
		_ = r.Put()
		_ = r.Put()
		_ = r.Put()
		_ = r.Put()
		r.Release()
	})
	if n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
