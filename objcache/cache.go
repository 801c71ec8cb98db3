package objcache

import (
	"errors"
	"fmt"
)

// Sizes of the fixed tables inside a FrameCache.
const (
	// MaxCPUs bounds the CPUs a FrameCache serves; equal to amd64.MaxCPUs.
	MaxCPUs = 8
	// MagRounds is the largest magazine capacity.
	MagRounds = 64
	// MaxMagazines is the number of magazines in a FrameCache: two per CPU,
	// the rest for the depot.
	MaxMagazines = 2*MaxCPUs + 32
)

// Config describes a FrameCache. The function fields must be top-level
// //go:nosplit functions of *_nosplit.go files (never closures): the cache
// keeps them as integers and calls them below the runtime.
type Config struct {
	Name string
	Size int // object size in bytes, 1..MaxObjectSize (rounded up to 8)
	CPUs int // CPUs served, 1..MaxCPUs; Get and Put take an index below it

	// Capacity is the rounds per magazine (0: MagRounds).
	Capacity int
	// DepotMagazines is how many magazines the depot may hold beyond the
	// CPUs' own (0: all the rest, MaxMagazines-2·CPUs). With Capacity it
	// bounds the objects cached: (2·CPUs + DepotMagazines)·Capacity.
	DepotMagazines int
	// Limit is the most objects constructed at once, handed out plus
	// cached (0: no limit). A Get beyond it returns 0.
	Limit int

	// Ctor makes raw memory a constructed object (false: failed; Get
	// returns 0); Dtor undoes it before the memory goes back. Either may
	// be nil.
	Ctor func(obj uintptr) bool
	Dtor func(obj uintptr)

	// PageAlloc returns a PageSize-aligned page of memory the Go heap does
	// not own, or 0; PageFree takes one back.
	PageAlloc func() uintptr
	PageFree  func(page uintptr)
}

// FrameCache is a per-CPU magazine cache of constructed objects over a Slab.
// It holds no Go pointers apart from its name (set by Init, above the
// runtime) and its magazines are fixed arrays inside it, so a FrameCache lives
// in static memory (a package variable) and nothing on its paths
// allocates. See doc.go.
type FrameCache struct {
	name     string
	ncpu     int32
	capacity int32
	limit    int64
	ctor     uintptr                       // funcval, 0: none
	dtor     uintptr                       // funcval, 0: none
	_        [64 - 16 - 8 - 8 - 8 - 8]byte // the CPUs' shares start a cache line after the FrameCache

	cpu   [MaxCPUs]cpuCache
	depot depot
	slab  Slab
	mags  [MaxMagazines]magazine
}

// CPUStats counts one CPU's calls. Written only by that CPU.
type CPUStats struct {
	Gets      uint64 // calls to Get
	Hits      uint64 // Gets served from a magazine (loaded, previous or a depot trade)
	Misses    uint64 // Gets that constructed a new object
	Fails     uint64 // Gets that returned 0
	Puts      uint64 // calls to Put, and TryPuts that cached their object
	Destroyed uint64 // Puts that found no room and destroyed the object
	DepotGets uint64 // full magazines taken from the depot
	DepotPuts uint64 // full magazines given to the depot
	Reclaimed uint64 // objects destroyed by Reclaim on this CPU
}

// Stats is a snapshot of a FrameCache.
type Stats struct {
	Name       string
	Size       int // object size after rounding
	CPUs       int
	Capacity   int
	CPU        [MaxCPUs]CPUStats
	Loaded     [MaxCPUs]int // rounds in each CPU's loaded magazine
	Previous   [MaxCPUs]int // rounds in each CPU's previous magazine
	DepotFull  int          // full magazines in the depot
	DepotEmpty int          // empty magazines in the depot
	Contested  uint64       // depot lock acquisitions that had to wait
	Live       int64        // constructed objects (handed out + cached)
	Peak       int64        // highest Live
	Limit      int64
	Pages      int64 // pages the slab holds
	InUse      int64 // slab objects handed out (= Live once no Get or Put is under way)

	// Cache[T] only (per-CPU Reclaimed stays 0 there):
	Bypassed  uint64 // Gets and Puts that found their CPU's slot held: constructed or destroyed at once
	Reclaimed uint64 // objects Reclaim destroyed
}

// Init sets up c, which must be unused, from cfg. It runs above the
// runtime, once, before any Get.
func (c *FrameCache) Init(cfg Config) error {
	switch {
	case cfg.Size < 1 || cfg.Size > MaxObjectSize:
		return errors.New("objcache: object size out of range")
	case cfg.CPUs < 1 || cfg.CPUs > MaxCPUs:
		return errors.New("objcache: CPU count out of range")
	case cfg.Capacity < 0 || cfg.Capacity > MagRounds:
		return errors.New("objcache: magazine capacity out of range")
	case cfg.DepotMagazines < 0 || cfg.DepotMagazines > MaxMagazines-2*cfg.CPUs:
		return errors.New("objcache: too many depot magazines")
	case cfg.Limit < 0:
		return errors.New("objcache: negative limit")
	case cfg.PageAlloc == nil || cfg.PageFree == nil:
		return errors.New("objcache: no page source")
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = MagRounds
	}
	if cfg.DepotMagazines == 0 {
		cfg.DepotMagazines = MaxMagazines - 2*cfg.CPUs
	}
	c.name = cfg.Name
	c.ncpu = int32(cfg.CPUs)
	c.capacity = int32(cfg.Capacity)
	c.limit = int64(cfg.Limit)
	if cfg.Ctor != nil {
		c.ctor = funcval(cfg.Ctor)
	}
	if cfg.Dtor != nil {
		c.dtor = funcval(cfg.Dtor)
	}
	size := (uintptr(cfg.Size) + 7) &^ 7
	c.slab = Slab{size: size, perPage: uint32((PageSize - slabHeader) / size),
		pageAlloc: funcval(cfg.PageAlloc), pageFree: funcval(cfg.PageFree)}
	for i := range c.cpu {
		c.cpu[i] = cpuCache{loaded: -1, previous: -1}
	}
	for i := 0; i < cfg.CPUs; i++ {
		c.cpu[i].loaded, c.cpu[i].previous = int32(2*i), int32(2*i+1)
	}
	c.depot.full, c.depot.empty = -1, -1
	for i := range c.mags {
		c.mags[i].rounds, c.mags[i].next = 0, -1
	}
	for i := 2 * cfg.CPUs; i < 2*cfg.CPUs+cfg.DepotMagazines; i++ {
		c.mags[i].next, c.depot.empty = c.depot.empty, int32(i)
		c.depot.nempty++
	}
	return nil
}

// Stats fills s. The depot's fields are read under its lock; each CPU's
// counters and fill are that CPU's alone, so they are exact only when no
// Get or Put runs on it (the host tests read them at quiescence; the
// kernel's readers take a recent value, each an aligned word).
func (c *FrameCache) Stats(s *Stats) {
	*s = Stats{Name: c.name, Size: int(c.slab.size), CPUs: int(c.ncpu), Capacity: int(c.capacity), Limit: c.limit}
	for i := 0; i < int(c.ncpu); i++ {
		cc := &c.cpu[i]
		s.CPU[i] = cc.stats
		s.Loaded[i] = int(c.mags[cc.loaded].rounds)
		s.Previous[i] = int(c.mags[cc.previous].rounds)
	}
	d := &c.depot
	d.lock.lock()
	s.DepotFull, s.DepotEmpty = int(d.nfull), int(d.nempty)
	s.Contested, s.Live, s.Peak = d.contested, d.live, d.peak
	d.lock.unlock()
	c.slab.lock.lock()
	s.Pages, s.InUse = c.slab.pages, c.slab.inUse
	c.slab.lock.unlock()
}

// Check walks the cache and reports the first broken invariant
// (rounds-bounded, depot-whole, magazine-conservation, limit). Per-CPU
// state is read unlocked, so call it when no Get, Put or Reclaim runs: at
// quiescence on the host, or from a self-test that has stopped its users.
func (c *FrameCache) Check() error {
	seen := make([]bool, MaxMagazines)
	mark := func(m int32, what string) error {
		if m < 0 || m >= MaxMagazines {
			return fmt.Errorf("objcache: %s: %s magazine index %d out of range", c.name, what, m)
		}
		if seen[m] {
			return fmt.Errorf("objcache: magazine-conservation: %s: magazine %d held twice (%s)", c.name, m, what)
		}
		seen[m] = true
		if r := c.mags[m].rounds; r < 0 || r > c.capacity {
			return fmt.Errorf("objcache: rounds-bounded: %s: magazine %d has %d rounds, capacity %d", c.name, m, r, c.capacity)
		}
		return nil
	}
	var cached int64
	for i := 0; i < int(c.ncpu); i++ {
		cc := &c.cpu[i]
		for _, m := range []int32{cc.loaded, cc.previous} {
			if err := mark(m, "cpu"); err != nil {
				return err
			}
			cached += int64(c.mags[m].rounds)
		}
	}
	d := &c.depot
	d.lock.lock()
	defer d.lock.unlock()
	walk := func(head, count int32, full bool) error {
		n := int32(0)
		for m := head; m >= 0; m = c.mags[m].next {
			if err := mark(m, "depot"); err != nil {
				return err
			}
			if r := c.mags[m].rounds; full && r != c.capacity || !full && r != 0 {
				return fmt.Errorf("objcache: depot-whole: %s: magazine %d on the full=%v list has %d rounds", c.name, m, full, r)
			}
			cached += int64(c.mags[m].rounds)
			n++
		}
		if n != count {
			return fmt.Errorf("objcache: depot-whole: %s: full=%v list holds %d magazines, count says %d", c.name, full, n, count)
		}
		return nil
	}
	if err := walk(d.full, d.nfull, true); err != nil {
		return err
	}
	if err := walk(d.empty, d.nempty, false); err != nil {
		return err
	}
	if c.limit != 0 && d.live > c.limit {
		return fmt.Errorf("objcache: limit: %s: %d objects live, limit %d", c.name, d.live, c.limit)
	}
	if cached > d.live {
		return fmt.Errorf("objcache: magazine-conservation: %s: %d objects cached but only %d live", c.name, cached, d.live)
	}
	return nil
}
