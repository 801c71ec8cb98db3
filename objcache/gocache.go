package objcache

// Cache[T]: magazine caches of Go objects, for kernel objects that live
// above the runtime. The same two-magazine layer and depot as FrameCache,
// with these differences, all forced by running as ordinary Go code:
//
//   - A goroutine may be moved to another M, and that M to another CPU, at
//     any call, so "this CPU" cannot be held from Go without a TrapCall
//     (1.4 µs under TCG; lwkt/doc.go). Each CPU's magazines are instead
//     guarded by one uncontended compare-and-swap, as the invariants issue
//     allows: Get and Put read the CPU they run on (a hint: the goroutine
//     may move at once, which only makes the slot a neighbour's), take
//     its slot lock with one CAS and release it with a store. A CAS that
//     fails (another goroutine holds the slot: it was preempted inside) is
//     never waited on: that Get constructs, that Put destroys.
//     Measured against the other way Go code can hold a per-processor
//     magazine — per P under runtime.procPin, as sync.Pool does, with no
//     atomic — under TCG, one goroutine, side by side (bench): 101-123 ns
//     per Get+Put behind the CAS, 125-127 ns for a minimal per-P magazine
//     (a full per-P Cache[T], built first, took 122-134), sync.Pool
//     135-137. Under TCG a call costs as much as an atomic, so the fast
//     path spells out its CPU lookup.
//   - Memory is the Go heap: "destroy" is Destroy (if any) and dropping
//     the pointer. Cached objects are held by their magazines, so unlike
//     sync.Pool's they survive garbage collections: a Cache[T] keeps its
//     objects constructed until Reclaim, and counts them (live, limit).
//   - The depot is under a sync.Mutex (Go code may block there, holding
//     its slot: others then miss the slot's CAS and go round it). mm's
//     memory-pressure path runs below the runtime and cannot call
//     Destroy: Go-heap caches are reclaimed by calling Reclaim from Go.
//
// Invariants (the host tests check them, under the race detector too):
//   - slot-locked: a CPU's magazines and counters are touched only by the
//     holder of its slot lock.
//   - one-owner: an object is handed out by at most one Get until it is
//     Put back.
//   - limit: live (constructed and not destroyed) never exceeds Limit.
//   - depot-whole: depot magazines are full or empty, never partial.

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"gofly/arch/amd64"
)

// CPUIndex returns the CPU the caller runs on where the per-CPU block is
// not there to read (host tests); the default puts every caller on slot
// 0 (still correct, behind its CAS).
var CPUIndex = func() int { return 0 }

// inKernel: the running CPU is read from the per-CPU block (amd64.CPU),
// with no call through CPUIndex. Set by InKernel.
var inKernel bool

// InKernel makes Get and Put read the running CPU from the per-CPU
// block. The kernel calls it once, before other CPUs start.
func InKernel() { inKernel = true }

// cpuIndex returns the running CPU, a hint (get and put spell it out:
// under TCG the call would cost as much as their atomics).
func cpuIndex() uint {
	if inKernel {
		return uint(amd64.CPU())
	}
	return uint(CPUIndex())
}

// GoConfig describes a Cache[T].
type GoConfig[T any] struct {
	Name string
	// New constructs an object (required).
	New func() *T
	// Destroy, if set, runs on an object leaving the cache for good (no
	// room to keep it, or Reclaim).
	Destroy func(*T)
	// Capacity is the rounds per magazine (0: MagRounds).
	Capacity int
	// DepotMagazines is how many magazines the depot holds (0: 32).
	DepotMagazines int
	// Limit is the most objects constructed at once (0: none): Get
	// returns nil beyond it.
	Limit int
}

// Cache is a per-CPU magazine cache of constructed Go objects of type T.
// Create it with NewCache. The typed methods are thin wrappers: the
// magazines hold unsafe.Pointers (which the collector traces) in one
// non-generic core, whose fast path the compiler keeps free of generic
// dictionaries.
type Cache[T any] struct {
	core goCore
}

// goCore is a Cache[T] without its type.
type goCore struct {
	name     string
	size     int
	newFn    func() unsafe.Pointer
	destroy  func(unsafe.Pointer)
	capacity int
	limit    int64
	live     atomic.Int64 // constructed and not destroyed: handed out + cached
	peak     atomic.Int64
	bypassed atomic.Uint64 // Gets and Puts that found their CPU's slot held
	reclaims atomic.Uint64 // objects Reclaim destroyed

	// The depot: full and empty magazines. Each list has room for every
	// depot magazine, so trades never grow it.
	mu          sync.Mutex
	full, empty []*gomag
	contested   uint64

	cpu [MaxCPUs]goSlot
}

// gomag is a magazine: the first n of objs are cached objects (n <=
// the cache's capacity <= MagRounds).
type gomag struct {
	n    int
	objs [MagRounds]unsafe.Pointer
}

// goSlot is one CPU's share, guarded by lock (slot-locked).
type goSlot struct {
	lock             spinlock
	loaded, previous *gomag
	stats            CPUStats
	_                [64 - 24]byte
}

// NewCache makes a Cache[T] from cfg.
func NewCache[T any](cfg GoConfig[T]) (*Cache[T], error) {
	switch {
	case cfg.New == nil:
		return nil, errors.New("objcache: Cache has no New")
	case cfg.Capacity < 0 || cfg.Capacity > MagRounds:
		return nil, errors.New("objcache: magazine capacity out of range")
	case cfg.DepotMagazines < 0 || cfg.Limit < 0:
		return nil, errors.New("objcache: negative depot size or limit")
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = MagRounds
	}
	if cfg.DepotMagazines == 0 {
		cfg.DepotMagazines = 32
	}
	var zero T
	c := &Cache[T]{}
	k := &c.core
	k.name, k.size, k.capacity, k.limit = cfg.Name, int(unsafe.Sizeof(zero)), cfg.Capacity, int64(cfg.Limit)
	newFn := cfg.New
	k.newFn = func() unsafe.Pointer { return unsafe.Pointer(newFn()) }
	if d := cfg.Destroy; d != nil {
		k.destroy = func(p unsafe.Pointer) { d((*T)(p)) }
	}
	k.full = make([]*gomag, 0, cfg.DepotMagazines)
	k.empty = make([]*gomag, 0, cfg.DepotMagazines)
	for i := 0; i < cfg.DepotMagazines; i++ {
		k.empty = append(k.empty, new(gomag))
	}
	for i := range k.cpu {
		k.cpu[i].loaded, k.cpu[i].previous = new(gomag), new(gomag)
	}
	return c, nil
}

// Get returns a constructed object: a cached one, or a new one from New;
// nil when Limit is reached.
func (c *Cache[T]) Get() *T { return (*T)(c.core.get()) }

// Put gives x back to the cache; it stays constructed. x must have come
// from Get and must not be used after.
func (c *Cache[T]) Put(x *T) {
	if x == nil {
		panic("objcache: Put of nil")
	}
	c.core.put(unsafe.Pointer(x))
}

// Reclaim destroys the objects cached in the caller's CPU's magazines
// (unless another goroutine holds them) and in every full depot
// magazine, and returns how many. Other CPUs' magazines are theirs.
func (c *Cache[T]) Reclaim() int { return c.core.reclaim() }

// Name returns the cache's name.
func (c *Cache[T]) Name() string { return c.core.name }

// Stats fills s: the depot under its lock, each CPU's counters and fill
// as recent values (exact at quiescence).
func (c *Cache[T]) Stats(s *Stats) { c.core.stats(s) }

// get and put count only what the fast path cannot do without: Hits and
// Puts (Gets is Hits + Misses + Fails, summed by stats).
func (c *goCore) get() unsafe.Pointer {
	var i uint // cpuIndex, by hand
	if inKernel {
		i = uint(amd64.CPU())
	} else {
		i = uint(CPUIndex())
	}
	s := &c.cpu[i%MaxCPUs]
	if !s.lock.v.CompareAndSwap(0, 1) {
		c.bypassed.Add(1)
		return c.construct(nil)
	}
	m := s.loaded
	if n := m.n - 1; n >= 0 && n < MagRounds {
		x := m.objs[n]
		m.objs[n] = nil // a handed-out object is its user's alone
		m.n = n
		s.stats.Hits++
		s.lock.unlock()
		return x
	}
	return c.getSlow(s)
}

// getSlow serves a Get whose loaded magazine is empty; s is locked, and
// unlocked on return.
func (c *goCore) getSlow(s *goSlot) unsafe.Pointer {
	m := s.loaded
	if s.previous.n != 0 {
		s.loaded, s.previous = s.previous, m
		m = s.loaded
	} else if f := c.trade(s, &c.full, &c.empty); f != nil {
		s.stats.DepotGets++
		m = f
	}
	if m.n == 0 {
		return c.construct(s) // unlocks s
	}
	m.n--
	x := m.objs[m.n]
	m.objs[m.n] = nil
	s.stats.Hits++
	s.lock.unlock()
	return x
}

// trade gives the depot s's previous magazine, onto the give list, for
// the last magazine of the take list, which s loads; nil when take is
// empty. Full for empty in Get (take full), empty for full in Put.
func (c *goCore) trade(s *goSlot, take, give *[]*gomag) *gomag {
	c.lockDepot()
	defer c.mu.Unlock()
	n := len(*take)
	if n == 0 {
		return nil
	}
	m := (*take)[n-1]
	(*take)[n-1] = nil
	*take = (*take)[:n-1]
	*give = append(*give, s.previous)
	s.previous, s.loaded = s.loaded, m
	return m
}

func (c *goCore) lockDepot() {
	if !c.mu.TryLock() {
		c.mu.Lock()
		c.contested++
	}
}

// construct makes a new object, counting it against the limit. With s
// (locked) it counts the miss or failure there and unlocks it.
func (c *goCore) construct(s *goSlot) unsafe.Pointer {
	n := c.live.Add(1)
	fail := c.limit != 0 && n > c.limit
	if s != nil {
		if fail {
			s.stats.Fails++
		} else {
			s.stats.Misses++
		}
		s.lock.unlock()
	}
	if fail {
		c.live.Add(-1)
		return nil
	}
	for {
		pk := c.peak.Load()
		if n <= pk || c.peak.CompareAndSwap(pk, n) {
			break
		}
	}
	return c.newFn()
}

func (c *goCore) put(x unsafe.Pointer) {
	var i uint // cpuIndex, by hand
	if inKernel {
		i = uint(amd64.CPU())
	} else {
		i = uint(CPUIndex())
	}
	s := &c.cpu[i%MaxCPUs]
	if !s.lock.v.CompareAndSwap(0, 1) {
		c.bypassed.Add(1)
		c.discard(x)
		return
	}
	s.stats.Puts++
	m := s.loaded
	if n := m.n; n < c.capacity && n >= 0 {
		m.objs[n] = x
		m.n = n + 1
		s.lock.unlock()
		return
	}
	c.putSlow(s, x)
}

// putSlow serves a Put whose loaded magazine is full; s is locked, and
// unlocked on return.
func (c *goCore) putSlow(s *goSlot, x unsafe.Pointer) {
	m := s.loaded
	if s.previous.n != c.capacity {
		s.loaded, s.previous = s.previous, m
		m = s.loaded
	} else if e := c.trade(s, &c.empty, &c.full); e != nil {
		s.stats.DepotPuts++
		m = e
	}
	if m.n == c.capacity {
		s.stats.Destroyed++
		s.lock.unlock()
		c.discard(x)
		return
	}
	m.objs[m.n] = x
	m.n++
	s.lock.unlock()
}

// discard destroys x, which leaves the cache for good.
func (c *goCore) discard(x unsafe.Pointer) {
	if c.destroy != nil {
		c.destroy(x)
	}
	c.live.Add(-1)
}

func (c *goCore) reclaim() int {
	var out []unsafe.Pointer
	s := &c.cpu[cpuIndex()%MaxCPUs]
	if s.lock.v.CompareAndSwap(0, 1) {
		out = appendRounds(out, s.loaded)
		out = appendRounds(out, s.previous)
		s.lock.unlock()
	}
	c.lockDepot()
	for _, m := range c.full {
		out = appendRounds(out, m)
	}
	c.empty = append(c.empty, c.full...)
	clear(c.full)
	c.full = c.full[:0]
	c.mu.Unlock()
	for _, x := range out {
		c.discard(x)
	}
	c.reclaims.Add(uint64(len(out)))
	return len(out)
}

// appendRounds moves m's rounds to out and empties m.
func appendRounds(out []unsafe.Pointer, m *gomag) []unsafe.Pointer {
	out = append(out, m.objs[:m.n]...)
	clear(m.objs[:m.n])
	m.n = 0
	return out
}

// stats reads each CPU's share under its slot lock, and the depot under
// its mutex: recent values, exact at quiescence.
func (c *goCore) stats(s *Stats) {
	*s = Stats{Name: c.name, Size: c.size, CPUs: MaxCPUs, Capacity: c.capacity, Limit: c.limit}
	for i := range c.cpu {
		p := &c.cpu[i]
		for !p.lock.v.CompareAndSwap(0, 1) {
			runtime.Gosched() // its holder is a goroutine, maybe preempted
		}
		s.CPU[i] = p.stats
		s.CPU[i].Gets = p.stats.Hits + p.stats.Misses + p.stats.Fails
		s.Loaded[i], s.Previous[i] = p.loaded.n, p.previous.n
		p.lock.unlock()
	}
	c.lockDepot()
	s.DepotFull, s.DepotEmpty, s.Contested = len(c.full), len(c.empty), c.contested
	c.mu.Unlock()
	s.Live, s.Peak = c.live.Load(), c.peak.Load()
	s.Bypassed, s.Reclaimed = c.bypassed.Load(), c.reclaims.Load()
}
