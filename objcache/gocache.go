package objcache

// Cache[T]: magazine caches of Go objects, for kernel objects that live
// above the runtime. The same two-magazine layer and depot as FrameCache,
// with these differences, all forced by running as ordinary Go code:
//
//   - A goroutine may be moved to another M, and that M to another CPU, at
//     any call, so "this CPU" cannot be held from Go without a TrapCall
//     (1.4 µs under TCG; lwkt/doc.go). What Go code can hold is its P (the
//     runtime's processor): runtime.procPin — the call sync.Pool makes,
//     which the runtime keeps for linkname users — keeps the goroutine on
//     its M, so on its P, until procUnpin, with no atomic and no lock.
//     Only the M that holds a P runs code pinned to it, so a P's
//     magazines have one user at a time: per P is to Go code what per CPU
//     is to the trap path (GOMAXPROCS is the CPU count). The invariants
//     issue allowed one uncontended atomic instead (a per-CPU magazine
//     behind a CAS). Measured under TCG, one goroutine (bench): this
//     Cache[T] 122-132 ns per Get+Put, sync.Pool 132-143; a full Cache[T]
//     built on the CAS instead measured 144-162 before its calls were
//     cut, and a minimal CAS magazine with no depot and no counts 89-107
//     (the bench keeps it beside Cache[T]). Under TCG every call costs
//     as much as the atomics: get and put pin by hand, not through pin.
//   - While pinned the goroutine must not block, allocate or call user
//     code: the fast paths only move pointers; the depot's lock is a
//     spinlock held for a few slice operations (lockPinned), never a
//     sync.Mutex, which parks. New, Destroy and a P's first magazines
//     run unpinned.
//   - Memory is the Go heap: "destroy" is Destroy (if any) and dropping
//     the pointer. Cached objects are held by their magazines, so unlike
//     sync.Pool's they survive garbage collections: a Cache[T] keeps its
//     objects constructed until Reclaim, and counts them (live, limit).
//   - mm's memory-pressure path runs below the runtime and cannot call
//     Destroy: Go-heap caches are reclaimed by calling Reclaim from Go.
//
// Invariants (the host tests check them, under the race detector too:
// race.go gives each P a lock the detector can see):
//   - p-owned: a P's magazines and counters are touched only while pinned
//     to that P.
//   - one-owner: an object is handed out by at most one Get until it is
//     Put back.
//   - limit: live (constructed and not destroyed) never exceeds Limit.
//   - depot-whole: depot magazines are full or empty, never partial.

import (
	"errors"
	"sync/atomic"
	"syscall"
	"unsafe"
)

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// MaxPs is how many Ps get magazines (GOMAXPROCS is the CPU count, at
// most MaxCPUs); a goroutine on a P past it constructs and destroys.
const MaxPs = MaxCPUs

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

// Cache is a per-P magazine cache of constructed Go objects of type T.
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

	// The depot: full and empty magazines, under lock (lockPinned). Each
	// list has room for every depot magazine, so trades never grow it.
	lock        spinlock
	full, empty []*gomag
	contested   uint64

	ps [MaxPs]goP
}

// gomag is a magazine: the first n of objs are cached objects (n <=
// the cache's capacity <= MagRounds).
type gomag struct {
	n    int
	objs [MagRounds]unsafe.Pointer
}

// goP is one P's share (p-owned); both magazines are nil until the P's
// first Get or Put.
type goP struct {
	loaded, previous *gomag
	race             spinlock // taken by pin only under the race detector
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
		k.empty = append(k.empty, k.newMag())
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

func (c *goCore) newMag() *gomag { return new(gomag) }

// pin pins the goroutine to its P and returns the P's share, or nil (and
// the goroutine unpinned) on a P past MaxPs.
func (c *goCore) pin() *goP {
	pid := procPin()
	if pid >= MaxPs {
		procUnpin()
		return nil
	}
	p := &c.ps[pid]
	if raceEnabled {
		lockPinned(&p.race)
	}
	return p
}

// unpin undoes pin.
func unpin(p *goP) {
	if raceEnabled {
		p.race.unlock()
	}
	procUnpin()
}

// get and put count only what the fast path cannot do without: Hits and
// Puts (Gets is Hits + Misses + Fails, summed by stats).
func (c *goCore) get() unsafe.Pointer {
	for {
		// pin, by hand: the call is the fast path's largest cost.
		pid := procPin()
		if pid >= MaxPs {
			procUnpin()
			return c.construct(nil)
		}
		p := &c.ps[pid]
		if raceEnabled {
			lockPinned(&p.race)
		}
		m := p.loaded
		if m == nil {
			unpin(p)
			c.equip()
			continue
		}
		if n := m.n - 1; n >= 0 && n < MagRounds {
			x := m.objs[n]
			m.objs[n] = nil // a handed-out object is its user's alone
			m.n = n
			p.stats.Hits++
			unpin(p)
			return x
		}
		return c.getSlow(p)
	}
}

// getSlow serves a Get whose loaded magazine is empty, pinned to p; it
// unpins.
func (c *goCore) getSlow(p *goP) unsafe.Pointer {
	m := p.loaded
	if p.previous.n != 0 {
		p.loaded, p.previous = p.previous, m
		m = p.loaded
	} else if f := c.trade(p, &c.full, &c.empty); f != nil {
		p.stats.DepotGets++
		m = f
	}
	if m.n == 0 {
		return c.construct(p) // unpins
	}
	m.n--
	x := m.objs[m.n]
	m.objs[m.n] = nil
	p.stats.Hits++
	unpin(p)
	return x
}

// trade gives the depot p's previous magazine, onto the give list, for
// the last magazine of the take list, which p loads; nil when take is
// empty. Full for empty in Get (take full), empty for full in Put.
// Pinned.
func (c *goCore) trade(p *goP, take, give *[]*gomag) *gomag {
	if lockPinned(&c.lock) {
		c.contested++
	}
	n := len(*take)
	if n == 0 {
		c.lock.unlock()
		return nil
	}
	m := (*take)[n-1]
	(*take)[n-1] = nil
	*take = (*take)[:n-1]
	*give = append(*give, p.previous)
	c.lock.unlock()
	p.previous, p.loaded = p.loaded, m
	return m
}

// construct makes a new object, counting it against the limit. Called
// pinned to p, which it counts the miss or failure on and unpins, or
// unpinned with p nil.
func (c *goCore) construct(p *goP) unsafe.Pointer {
	n := c.live.Add(1)
	fail := c.limit != 0 && n > c.limit
	if p != nil {
		if fail {
			p.stats.Fails++
		} else {
			p.stats.Misses++
		}
		unpin(p)
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

// equip gives the goroutine's P its two magazines if it has none yet:
// made unpinned, installed pinned.
func (c *goCore) equip() {
	a, b := c.newMag(), c.newMag()
	if p := c.pin(); p != nil {
		if p.loaded == nil {
			p.loaded, p.previous = a, b
		}
		unpin(p)
	}
}

func (c *goCore) put(x unsafe.Pointer) {
	for {
		pid := procPin() // pin, by hand, as in get
		if pid >= MaxPs {
			procUnpin()
			c.discard(x)
			return
		}
		p := &c.ps[pid]
		if raceEnabled {
			lockPinned(&p.race)
		}
		m := p.loaded
		if m == nil {
			unpin(p)
			c.equip()
			continue
		}
		p.stats.Puts++
		if n := m.n; n < c.capacity && n >= 0 {
			m.objs[n] = x
			m.n = n + 1
			unpin(p)
			return
		}
		c.putSlow(p, x)
		return
	}
}

// putSlow serves a Put whose loaded magazine is full, pinned to p; it
// unpins.
func (c *goCore) putSlow(p *goP, x unsafe.Pointer) {
	m := p.loaded
	if p.previous.n != c.capacity {
		p.loaded, p.previous = p.previous, m
		m = p.loaded
	} else if e := c.trade(p, &c.empty, &c.full); e != nil {
		p.stats.DepotPuts++
		m = e
	}
	if m.n == c.capacity {
		p.stats.Destroyed++
		unpin(p)
		c.discard(x)
		return
	}
	m.objs[m.n] = x
	m.n++
	unpin(p)
}

// discard destroys x, which leaves the cache for good. Unpinned.
func (c *goCore) discard(x unsafe.Pointer) {
	if c.destroy != nil {
		c.destroy(x)
	}
	c.live.Add(-1)
}

func (c *goCore) reclaim() int {
	// Room for both magazines' rounds and a fresh full list, made before
	// pinning: nothing allocates while pinned.
	out := make([]unsafe.Pointer, 0, 2*MagRounds)
	fresh := make([]*gomag, 0, cap(c.full))
	p := c.pin()
	if p != nil && p.loaded != nil {
		out = appendRounds(out, p.loaded)
		out = appendRounds(out, p.previous)
		p.stats.Reclaimed += uint64(len(out))
	}
	if lockPinned(&c.lock) {
		c.contested++
	}
	full := c.full
	c.full = fresh
	c.lock.unlock()
	if p != nil {
		unpin(p)
	}
	// The full magazines are this call's now: empty them unpinned, then
	// file them back as empty.
	for _, m := range full {
		out = appendRounds(out, m)
	}
	for _, x := range out {
		c.discard(x)
	}
	procPin()
	lockPinned(&c.lock)
	c.empty = append(c.empty, full...)
	c.lock.unlock()
	procUnpin()
	return len(out)
}

// appendRounds moves m's rounds to out and empties m.
func appendRounds(out []unsafe.Pointer, m *gomag) []unsafe.Pointer {
	out = append(out, m.objs[:m.n]...)
	clear(m.objs[:m.n])
	m.n = 0
	return out
}

// lockPinned takes l for a goroutine pinned to its P, which must not
// enter the Go scheduler: it spins, and every 64 turns gives its CPU away
// with sched_yield, as the holder (pinned too, so never descheduled by
// Go, but maybe by the kernel) may be waiting for this thread's CPU. It
// reports whether it had to wait.
func lockPinned(l *spinlock) (contested bool) {
	for n := 1; !l.v.CompareAndSwap(0, 1); n++ {
		contested = true
		if n%64 == 0 {
			syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
	return contested
}

// stats reads each P's share pinned to nothing: its words are recent
// values, exact at quiescence.
func (c *goCore) stats(s *Stats) {
	*s = Stats{Name: c.name, Size: c.size, Capacity: c.capacity, Limit: c.limit}
	for i := range c.ps {
		p := &c.ps[i]
		if p.loaded == nil {
			continue
		}
		s.CPUs = i + 1
		s.CPU[i] = p.stats
		s.CPU[i].Gets = p.stats.Hits + p.stats.Misses + p.stats.Fails
		s.Loaded[i], s.Previous[i] = p.loaded.n, p.previous.n
	}
	procPin()
	lockPinned(&c.lock)
	s.DepotFull, s.DepotEmpty, s.Contested = len(c.full), len(c.empty), c.contested
	c.lock.unlock()
	procUnpin()
	s.Live, s.Peak = c.live.Load(), c.peak.Load()
}
