package objcache

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// The host has no CPU index: each call picks a slot at random, so
// goroutines share and hop between slots as moved goroutines do.
func init() { CPUIndex = func() int { return rand.IntN(MaxCPUs) } }

// oneCPU makes every call of t land on slot 0, as on one CPU.
func oneCPU(t *testing.T) {
	old := CPUIndex
	CPUIndex = func() int { return 0 }
	t.Cleanup(func() { CPUIndex = old })
}

// gobj is a test object: state says whether it is cached (0) or handed
// out (1); a second Get of a handed-out object breaks one-owner.
type gobj struct {
	state atomic.Int32
	id    int
	_     [48]byte
}

type gcounts struct{ made, destroyed atomic.Int64 }

func newGoCache(t testing.TB, cfg GoConfig[gobj], n *gcounts) *Cache[gobj] {
	t.Helper()
	cfg.New = func() *gobj { return &gobj{id: int(n.made.Add(1))} }
	cfg.Destroy = func(o *gobj) {
		if o.state.Load() != 0 {
			t.Errorf("Destroy of handed-out object %d", o.id)
		}
		n.destroyed.Add(1)
	}
	c, err := NewCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func gtake(t testing.TB, o *gobj) {
	if o != nil && !o.state.CompareAndSwap(0, 1) {
		t.Errorf("one-owner: object %d handed out twice", o.id)
	}
}

func ggive(t testing.TB, o *gobj) {
	if !o.state.CompareAndSwap(1, 0) {
		t.Errorf("Put of object %d not handed out", o.id)
	}
}

// TestGoCacheStorm: goroutines on every P get and put at random, holding
// up to 100 objects each; no object is handed out twice, live equals
// made - destroyed, and Reclaim on every P's depot share leaves the
// counts consistent.
func TestGoCacheStorm(t *testing.T) {
	var n gcounts
	c := newGoCache(t, GoConfig[gobj]{Capacity: 8, DepotMagazines: 4, Limit: 2000}, &n)
	var wg sync.WaitGroup
	for g := 0; g < 4*runtime.GOMAXPROCS(0); g++ {
		wg.Add(1)
		go func(seed int) {
			defer wg.Done()
			var held []*gobj
			r := uint32(seed*2654435761 + 1)
			for i := 0; i < 20000; i++ {
				r ^= r << 13
				r ^= r >> 17
				r ^= r << 5
				if r%2 == 0 && len(held) < 100 {
					o := c.Get()
					if o == nil {
						continue // at the limit
					}
					gtake(t, o)
					held = append(held, o)
				} else if len(held) > 0 {
					o := held[len(held)-1]
					held = held[:len(held)-1]
					ggive(t, o)
					c.Put(o)
				}
				if i%1000 == 0 {
					runtime.Gosched()
				}
			}
			for _, o := range held {
				ggive(t, o)
				c.Put(o)
			}
		}(g)
	}
	wg.Wait()
	var s Stats
	c.Stats(&s)
	if s.Live != n.made.Load()-n.destroyed.Load() || s.Live > 2000 || s.Peak > 2000 {
		t.Fatalf("live %d (peak %d), made %d, destroyed %d, limit 2000", s.Live, s.Peak, n.made.Load(), n.destroyed.Load())
	}
	var hits, gets uint64
	for i := 0; i < s.CPUs; i++ {
		hits += s.CPU[i].Hits
		gets += s.CPU[i].Gets
	}
	if hits == 0 || gets == 0 {
		t.Fatalf("no hits (%d gets): the magazines never served", gets)
	}
	c.Reclaim()
	c.Stats(&s)
	if s.DepotFull != 0 || s.Live != n.made.Load()-n.destroyed.Load() {
		t.Fatalf("after Reclaim: depot full %d, live %d, made %d, destroyed %d", s.DepotFull, s.Live, n.made.Load(), n.destroyed.Load())
	}
}

// TestGoCacheLimitAndReuse: Get fails at the limit; objects put back are
// handed out again, surviving garbage collections, with no new New.
func TestGoCacheLimitAndReuse(t *testing.T) {
	oneCPU(t)
	var n gcounts
	c := newGoCache(t, GoConfig[gobj]{Capacity: 4, DepotMagazines: 2, Limit: 10}, &n)
	var objs []*gobj
	for i := 0; i < 10; i++ {
		o := c.Get()
		if o == nil {
			t.Fatalf("Get %d = nil below the limit", i)
		}
		objs = append(objs, o)
	}
	if c.Get() != nil {
		t.Fatal("Get past the limit succeeded")
	}
	seen := map[*gobj]bool{}
	for _, o := range objs {
		seen[o] = true
		c.Put(o)
	}
	runtime.GC()
	runtime.GC()
	for i := 0; i < 10; i++ {
		o := c.Get()
		if !seen[o] {
			t.Fatalf("Get %d after GC returned a new object (made %d): the cache dropped its objects", i, n.made.Load())
		}
		delete(seen, o)
	}
	if n.made.Load() != 10 || n.destroyed.Load() != 0 {
		t.Fatalf("made %d, destroyed %d; want 10, 0", n.made.Load(), n.destroyed.Load())
	}
}

// TestGoCacheDestroyWhenFull: with both magazines and the depot full, Put
// destroys; Reclaim destroys what the P and the depot hold.
func TestGoCacheDestroyWhenFull(t *testing.T) {
	oneCPU(t)
	var n gcounts
	c := newGoCache(t, GoConfig[gobj]{Capacity: 2, DepotMagazines: 1}, &n)
	var objs []*gobj
	for i := 0; i < 7; i++ {
		objs = append(objs, c.Get())
	}
	for _, o := range objs {
		c.Put(o)
	}
	if got := n.destroyed.Load(); got < 1 {
		t.Fatalf("7 puts into room for 6: destroyed %d", got)
	}
	r := c.Reclaim()
	var s Stats
	c.Stats(&s)
	if s.Live != n.made.Load()-n.destroyed.Load() || s.DepotFull != 0 || r == 0 {
		t.Fatalf("Reclaim = %d, live %d, made %d, destroyed %d, depot full %d", r, s.Live, n.made.Load(), n.destroyed.Load(), s.DepotFull)
	}
}

func TestGoCacheConfig(t *testing.T) {
	if _, err := NewCache(GoConfig[gobj]{}); err == nil {
		t.Error("NewCache without New succeeded")
	}
	if _, err := NewCache(GoConfig[gobj]{New: func() *gobj { return new(gobj) }, Capacity: MagRounds + 1}); err == nil {
		t.Error("NewCache with too large a magazine succeeded")
	}
}
