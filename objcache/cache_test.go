package objcache

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// model is the magazine layer written the plain way: slices for
// magazines, a slice of slices for the depot's full list, a count for its
// empty list. It predicts exactly which object a Get returns (0 for "a new
// one" or "none"), and whether a Put keeps or destroys.
type model struct {
	capacity   int
	limit      int64
	loaded     [][]uintptr
	previous   [][]uintptr
	full       [][]uintptr // LIFO, like the depot's list
	empty      int
	live       int64
	hits, miss int
}

func newModel(cfg Config) *model {
	m := &model{capacity: cfg.Capacity, limit: int64(cfg.Limit), empty: cfg.DepotMagazines}
	m.loaded = make([][]uintptr, cfg.CPUs)
	m.previous = make([][]uintptr, cfg.CPUs)
	return m
}

// get returns the object a Get on cpu must return, or 0 with mayMake
// reporting whether it may construct a new one.
func (m *model) get(cpu int) (obj uintptr, mayMake bool) {
	l := &m.loaded[cpu]
	if len(*l) == 0 && len(m.previous[cpu]) != 0 {
		m.loaded[cpu], m.previous[cpu] = m.previous[cpu], m.loaded[cpu]
	}
	if len(*l) == 0 && len(m.full) != 0 {
		f := m.full[len(m.full)-1]
		m.full = m.full[:len(m.full)-1]
		m.empty++ // the old previous, empty
		m.previous[cpu] = m.loaded[cpu]
		m.loaded[cpu] = f
	}
	if n := len(*l); n != 0 {
		obj = (*l)[n-1]
		*l = (*l)[:n-1]
		return obj, false
	}
	return 0, m.limit == 0 || m.live < m.limit
}

// put files obj as a Put on cpu must, and reports whether it was kept.
func (m *model) put(cpu int, obj uintptr) bool {
	if len(m.loaded[cpu]) == m.capacity && len(m.previous[cpu]) < m.capacity {
		m.loaded[cpu], m.previous[cpu] = m.previous[cpu], m.loaded[cpu]
	}
	if len(m.loaded[cpu]) == m.capacity && m.empty != 0 {
		m.empty--
		m.full = append(m.full, m.previous[cpu])
		m.previous[cpu] = m.loaded[cpu]
		m.loaded[cpu] = nil
	}
	if len(m.loaded[cpu]) < m.capacity {
		m.loaded[cpu] = append(m.loaded[cpu], obj)
		return true
	}
	m.live--
	return false
}

// reclaim empties cpu's magazines and the depot's full list, returning
// how many objects that destroys.
func (m *model) reclaim(cpu int) int64 {
	n := int64(len(m.loaded[cpu]) + len(m.previous[cpu]))
	m.loaded[cpu], m.previous[cpu] = nil, nil
	for _, f := range m.full {
		n += int64(len(f))
	}
	m.empty += len(m.full)
	m.full = nil
	m.live -= n
	return n
}

// TestModel runs random Get/Put/Reclaim sequences over several CPU indices
// from one goroutine and compares every result, and the fill of every
// magazine, with the model.
func TestModel(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		resetHarness(t)
		cfg := Config{Name: "model", CPUs: 1 + rng.IntN(4), Capacity: 1 + rng.IntN(6)}
		cfg.DepotMagazines = rng.IntN(MaxMagazines - 2*cfg.CPUs + 1)
		if rng.IntN(2) == 0 {
			cfg.Limit = 1 + rng.IntN(40)
		}
		c := newCache(t, cfg)
		if cfg.DepotMagazines == 0 {
			cfg.DepotMagazines = MaxMagazines - 2*cfg.CPUs
		}
		m := newModel(cfg)
		var out []uintptr
		for step := 0; step < 3000; step++ {
			cpu := rng.IntN(cfg.CPUs)
			switch r := rng.IntN(100); {
			case r < 48:
				want, mayMake := m.get(cpu)
				got := c.Get(cpu)
				switch {
				case want != 0 && got != want:
					t.Fatalf("seed %d step %d: Get(%d) = %#x, model says %#x", seed, step, cpu, got, want)
				case want == 0 && mayMake && got == 0:
					t.Fatalf("seed %d step %d: Get(%d) failed under the limit", seed, step, cpu)
				case want == 0 && !mayMake && got != 0:
					t.Fatalf("seed %d step %d: Get(%d) = %#x beyond the limit %d", seed, step, cpu, got, cfg.Limit)
				case want == 0 && got != 0:
					m.live++
					if slices.Contains(out, got) {
						t.Fatalf("seed %d step %d: new object %#x is already out", seed, step, got)
					}
				}
				if got != 0 {
					gotten(got)
					out = append(out, got)
				}
			case r < 96 && len(out) > 0:
				i := rng.IntN(len(out))
				obj := out[i]
				out[i] = out[len(out)-1]
				out = out[:len(out)-1]
				putting(obj)
				m.put(cpu, obj)
				c.Put(cpu, obj)
			case r >= 96:
				if got, want := c.Reclaim(cpu), m.reclaim(cpu); got != want {
					t.Fatalf("seed %d step %d: Reclaim(%d) = %d, model says %d", seed, step, cpu, got, want)
				}
			}
			var s Stats
			c.Stats(&s)
			for i := 0; i < cfg.CPUs; i++ {
				if s.Loaded[i] != len(m.loaded[i]) || s.Previous[i] != len(m.previous[i]) {
					t.Fatalf("seed %d step %d: cpu %d fill %d/%d, model %d/%d", seed, step, i,
						s.Loaded[i], s.Previous[i], len(m.loaded[i]), len(m.previous[i]))
				}
			}
			if s.DepotFull != len(m.full) || s.DepotEmpty != m.empty || s.Live != m.live {
				t.Fatalf("seed %d step %d: depot %d full %d empty, live %d; model %d, %d, %d", seed, step,
					s.DepotFull, s.DepotEmpty, s.Live, len(m.full), m.empty, m.live)
			}
			if s.Live != constructed.Load() {
				t.Fatalf("seed %d step %d: live %d, constructed %d", seed, step, s.Live, constructed.Load())
			}
		}
		if err := c.Check(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for _, obj := range out {
			putting(obj)
			c.Put(0, obj)
		}
		drain(t, c)
		checkHarness(t)
	}
}

// TestConcurrent plays several CPUs, each from its own goroutine owning
// one index, with objects crossing between CPUs, random Reclaims and
// ctor failures; the harness catches double hand-outs and bad dtors as
// they happen, and the end checks conservation and the counters.
func TestConcurrent(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		resetHarness(t)
		cfg := Config{Name: "storm", CPUs: 2 + rng.IntN(3), Capacity: 1 + rng.IntN(8)}
		cfg.DepotMagazines = rng.IntN(8)
		if seed%3 == 0 {
			cfg.Limit = 20 + rng.IntN(100)
		}
		if seed%4 == 0 {
			ctorFailEach.Store(97)
		}
		c := newCache(t, cfg)
		handoff := make(chan uintptr, 64)
		type tally struct{ gets, zeros, puts, reclaimed int64 }
		tallies := make([]tally, cfg.CPUs)
		var wg sync.WaitGroup
		for cpu := 0; cpu < cfg.CPUs; cpu++ {
			wg.Add(1)
			go func(cpu int, rng *rand.Rand) {
				defer wg.Done()
				tl := &tallies[cpu]
				var out []uintptr
				put := func(obj uintptr) {
					putting(obj)
					c.Put(cpu, obj)
					tl.puts++
				}
				for step := 0; step < 20000; step++ {
					switch r := rng.IntN(100); {
					case r < 45:
						obj := c.Get(cpu)
						tl.gets++
						if obj == 0 {
							tl.zeros++
							continue
						}
						gotten(obj)
						out = append(out, obj)
					case r < 90 && len(out) > 0:
						i := rng.IntN(len(out))
						obj := out[i]
						out[i] = out[len(out)-1]
						out = out[:len(out)-1]
						put(obj)
					case r < 95 && len(out) > 0: // hand one to another CPU
						select {
						case handoff <- out[len(out)-1]:
							out = out[:len(out)-1]
						default:
						}
					case r < 99: // take one another CPU handed over
						select {
						case obj := <-handoff:
							put(obj)
						default:
						}
					default:
						tl.reclaimed += c.Reclaim(cpu)
					}
				}
				for _, obj := range out {
					put(obj)
				}
			}(cpu, rand.New(rand.NewPCG(seed, uint64(cpu))))
		}
		wg.Wait()
		close(handoff)
		for obj := range handoff {
			putting(obj)
			c.Put(0, obj)
			tallies[0].puts++
		}

		if err := c.Check(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var s Stats
		c.Stats(&s)
		var sum CPUStats
		for i := 0; i < cfg.CPUs; i++ {
			cs, tl := s.CPU[i], tallies[i]
			if int64(cs.Gets) != tl.gets || int64(cs.Fails) != tl.zeros || int64(cs.Puts) != tl.puts || int64(cs.Reclaimed) != tl.reclaimed {
				t.Errorf("seed %d cpu %d: stats %+v, calls made %+v", seed, i, cs, tl)
			}
			if cs.Gets != cs.Hits+cs.Misses+cs.Fails {
				t.Errorf("seed %d cpu %d: gets %d != hits %d + misses %d + fails %d", seed, i, cs.Gets, cs.Hits, cs.Misses, cs.Fails)
			}
			sum.Misses += cs.Misses
			sum.Destroyed += cs.Destroyed
			sum.Reclaimed += cs.Reclaimed
			sum.DepotGets += cs.DepotGets
			sum.DepotPuts += cs.DepotPuts
		}
		cached := int64(s.DepotFull * s.Capacity)
		for i := 0; i < cfg.CPUs; i++ {
			cached += int64(s.Loaded[i] + s.Previous[i])
		}
		switch {
		case int64(sum.Misses) != ctors.Load():
			t.Errorf("seed %d: misses %d, ctors %d", seed, sum.Misses, ctors.Load())
		case int64(sum.Destroyed+sum.Reclaimed) != dtors.Load():
			t.Errorf("seed %d: destroyed %d + reclaimed %d, dtors %d", seed, sum.Destroyed, sum.Reclaimed, dtors.Load())
		case s.Live != ctors.Load()-dtors.Load() || s.Live != cached || s.InUse != s.Live:
			t.Errorf("seed %d: live %d, ctors-dtors %d, cached %d, slab in use %d", seed, s.Live, ctors.Load()-dtors.Load(), cached, s.InUse)
		case cfg.Limit != 0 && s.Peak > int64(cfg.Limit):
			t.Errorf("seed %d: peak %d over the limit %d", seed, s.Peak, cfg.Limit)
		case int64(sum.DepotGets) > int64(sum.DepotPuts):
			t.Errorf("seed %d: %d full magazines taken from the depot, only %d given", seed, sum.DepotGets, sum.DepotPuts)
		}
		t.Logf("seed %d: %d cpus cap %d depot %d limit %d: %+v contested %d peak %d", seed, cfg.CPUs, cfg.Capacity,
			cfg.DepotMagazines, cfg.Limit, sum, s.Contested, s.Peak)
		drain(t, c)
		checkHarness(t)
	}
}
