package objcache

// Get, Put and Reclaim run on the calling CPU below the runtime (inside
// lwkt.TrapCall or the trap path: interrupts off, this CPU's trap stack,
// no g): nosplit, no allocation, no Go pointer stores.
//
// Vocabulary (after kern_objcache.c): a magazine is a stack of up to
// Capacity object addresses, its rounds. Each CPU holds two, loaded and
// previous; the depot holds the others, each either full or empty.
//
// The problem: a free list shared by all CPUs needs a lock or an atomic on
// every allocation, and its cache lines bounce between CPUs. Rejected: one
// free list per CPU (objects pile up on the CPU that frees them, with no
// way to move them in bulk); a lock-free shared stack (an atomic per call,
// ABA). The protocol: a CPU takes from and gives to its loaded magazine
// with no lock and no atomic, because only that CPU touches it and it runs
// with interrupts off. When loaded is empty (Get) or full (Put) it swaps
// loaded and previous, which turns back the common get/put/get/put
// oscillation at a magazine boundary without a depot trip. Only when both
// are empty (Get) or both full (Put) does it take the depot lock and trade
// a whole magazine: an empty one for a full one, or a full one for an
// empty one. So the depot is touched at most once per Capacity calls.

import "gofly/fatal"

// cpuCache is one CPU's share of a FrameCache, touched only by that CPU inside
// its critical section (invariant cpu-owned). Padded to two cache lines so
// two CPUs' counters never share one.
type cpuCache struct {
	loaded   int32 // magazine index
	previous int32 // magazine index
	stats    CPUStats
	_        [128 - 8 - 9*8]byte
}

// magazine is a stack of constructed objects. rounds is in [0, capacity]
// (invariant rounds-bounded).
type magazine struct {
	rounds int32
	next   int32 // the depot list this magazine is on; -1 ends
	objs   [MagRounds]uintptr
}

// depot holds the magazines no CPU has loaded, and the cache-wide counts.
// Every field is protected by lock, which is taken only inside a CPU's
// critical section, after the CPU's magazines (lock order: per-CPU
// magazines → depot lock → nothing; the slab and the ctor/dtor are called
// with the depot lock released).
type depot struct {
	lock      spinlock
	full      int32 // list of full magazines (rounds == capacity); -1 ends
	empty     int32 // list of empty magazines (rounds == 0); -1 ends
	nfull     int32
	nempty    int32
	live      int64 // constructed objects: handed out + cached (invariant limit: live ≤ limit)
	peak      int64 // highest live
	contested uint64
	_         [64]byte // keep the CPUs' lines off the lock's
}

// pop takes the top round of magazine m, or 0 when it is empty.
//
//go:nosplit
func (c *FrameCache) pop(m int32) uintptr {
	mag := &c.mags[m]
	if mag.rounds == 0 {
		return 0
	}
	mag.rounds--
	return mag.objs[mag.rounds]
}

// push adds obj to magazine m, and reports false when it is full.
//
//go:nosplit
func (c *FrameCache) push(m int32, obj uintptr) bool {
	mag := &c.mags[m]
	if mag.rounds == c.capacity {
		return false
	}
	mag.objs[mag.rounds] = obj
	mag.rounds++
	return true
}

// cpuCache returns cpu's share, throwing on a CPU the cache was not made for.
//
//go:nosplit
func (c *FrameCache) cpuCache(cpu int) *cpuCache {
	fatal.Assert(uint(cpu) < uint(c.ncpu), "objcache: CPU index out of range")
	return &c.cpu[cpu]
}

// Get returns a constructed object, or 0 when the cache is at its limit,
// the page source is out of pages or the constructor failed. The caller
// runs on CPU cpu, inside its critical section, until Get returns.
//
//go:nosplit
func (c *FrameCache) Get(cpu int) uintptr {
	cc := c.cpuCache(cpu)
	cc.stats.Gets++
	if obj := c.getCached(cc); obj != 0 {
		return obj
	}
	return c.getSlow(cc)
}

// TryGet is Get for callers that must not reach the page source (an IPI
// handler, without the MP lock): a cached object (loaded, previous or a
// depot trade), or 0 — it never constructs.
//
//go:nosplit
func (c *FrameCache) TryGet(cpu int) uintptr {
	cc := c.cpuCache(cpu)
	cc.stats.Gets++
	obj := c.getCached(cc)
	if obj == 0 {
		cc.stats.Fails++
	}
	return obj
}

// getCached pops a round from the loaded or previous magazine, or trades
// the empty previous one for a full depot magazine; 0 when none has one.
//
//go:nosplit
func (c *FrameCache) getCached(cc *cpuCache) uintptr {
	// The hot path: the loaded magazine has a round.
	if obj := c.pop(cc.loaded); obj != 0 {
		cc.stats.Hits++
		return obj
	}
	// Loaded is empty, previous is not: swap them.
	if c.mags[cc.previous].rounds != 0 {
		cc.loaded, cc.previous = cc.previous, cc.loaded
		cc.stats.Hits++
		return c.pop(cc.loaded)
	}
	return c.tradeFull(cc)
}

// tradeFull serves a Get when both of the CPU's magazines are empty and
// the depot has a full one: it gives the depot the previous (empty) one,
// keeps loaded (empty) as previous and loads the full one. 0 when the
// depot has none.
//
//go:nosplit
func (c *FrameCache) tradeFull(cc *cpuCache) uintptr {
	d := &c.depot
	if d.lock.lock() {
		d.contested++
	}
	f := d.full
	if f < 0 {
		d.lock.unlock()
		return 0
	}
	d.full, d.nfull = c.mags[f].next, d.nfull-1
	e := cc.previous
	fatal.Assert(c.mags[e].rounds == 0 && c.mags[f].rounds == c.capacity, "objcache: depot-whole: trading a magazine that is not empty for one that is not full")
	c.mags[e].next, d.empty, d.nempty = d.empty, e, d.nempty+1
	cc.previous, cc.loaded = cc.loaded, f
	d.lock.unlock()
	cc.stats.DepotGets++
	cc.stats.Hits++
	return c.pop(f)
}

// getSlow serves a Get that found nothing cached: a new object from the
// slab, if the limit allows.
//
//go:nosplit
func (c *FrameCache) getSlow(cc *cpuCache) uintptr {
	d := &c.depot
	if d.lock.lock() {
		d.contested++
	}
	// Nothing cached anywhere this CPU can reach: make a new object, if
	// the limit allows. live counts it before it exists, so that
	// constructed objects never exceed the limit.
	if c.limit != 0 && d.live >= c.limit {
		d.lock.unlock()
		cc.stats.Fails++
		return 0
	}
	d.live++
	if d.live > d.peak {
		d.peak = d.live
	}
	d.lock.unlock()
	obj := c.slab.alloc()
	if obj != 0 && (c.ctor == 0 || callCtor(c.ctor, obj)) {
		cc.stats.Misses++
		return obj
	}
	if obj != 0 {
		c.slab.free(obj)
	}
	d.lock.lock()
	d.live--
	d.lock.unlock()
	cc.stats.Fails++
	return 0
}

// Put gives back obj, which Get returned (on any CPU) and the caller no
// longer uses; it stays constructed while cached. The caller runs on CPU
// cpu, inside its critical section, until Put returns. With no room left
// in the CPU's magazines or the depot, the object is destroyed, which may
// give a page back to the page source (in the kernel: MP lock held).
//
//go:nosplit
func (c *FrameCache) Put(cpu int, obj uintptr) {
	cc := c.cpuCache(cpu)
	cc.stats.Puts++
	if c.put(cc, obj) {
		return
	}
	// The depot has no room: the object's memory goes back. live drops
	// only after the dtor ran (invariant limit).
	c.destroy(obj)
	d := &c.depot
	d.lock.lock()
	d.live--
	d.lock.unlock()
	cc.stats.Destroyed++
}

// TryPut is Put for callers that must not reach the page source (an IPI
// handler, without the MP lock): it caches obj and reports true when the
// CPU's magazines or the depot have room, and otherwise leaves obj to the
// caller, constructed and still counted live, and reports false.
//
//go:nosplit
func (c *FrameCache) TryPut(cpu int, obj uintptr) bool {
	cc := c.cpuCache(cpu)
	if !c.put(cc, obj) {
		return false
	}
	cc.stats.Puts++
	return true
}

// put files obj in the loaded or previous magazine, or trades the full
// previous one for an empty depot magazine; false when neither has room.
//
//go:nosplit
func (c *FrameCache) put(cc *cpuCache, obj uintptr) bool {
	fatal.Assert(obj != 0, "objcache: Put of a nil object")
	// The hot path: the loaded magazine has room.
	if c.push(cc.loaded, obj) {
		return true
	}
	// Loaded is full, previous is not: swap them.
	if c.mags[cc.previous].rounds != c.capacity {
		cc.loaded, cc.previous = cc.previous, cc.loaded
		c.push(cc.loaded, obj)
		return true
	}
	return c.putSlow(cc, obj)
}

// putSlow serves a Put when both of the CPU's magazines are full: trade
// one for an empty magazine from the depot, or report false.
//
//go:nosplit
func (c *FrameCache) putSlow(cc *cpuCache, obj uintptr) bool {
	d := &c.depot
	if d.lock.lock() {
		d.contested++
	}
	e := d.empty
	if e < 0 {
		d.lock.unlock()
		return false
	}
	// Give the depot the previous (full) magazine, keep loaded (full) as
	// previous, load the empty one.
	d.empty, d.nempty = c.mags[e].next, d.nempty-1
	f := cc.previous
	fatal.Assert(c.mags[f].rounds == c.capacity && c.mags[e].rounds == 0, "objcache: depot-whole: trading a magazine that is not full for one that is not empty")
	c.mags[f].next, d.full, d.nfull = d.full, f, d.nfull+1
	cc.previous, cc.loaded = cc.loaded, e
	d.lock.unlock()
	cc.stats.DepotPuts++
	c.push(e, obj)
	return true
}

// destroy runs the dtor on obj and gives its memory back to the slab.
// Called with no lock held.
//
//go:nosplit
func (c *FrameCache) destroy(obj uintptr) {
	if c.dtor != 0 {
		callFree(c.dtor, obj)
	}
	c.slab.free(obj)
}

// purge destroys every round of magazine m and returns how many. Called
// with no lock held, on a magazine only the caller can reach.
//
//go:nosplit
func (c *FrameCache) purge(m int32) int64 {
	var n int64
	for obj := c.pop(m); obj != 0; obj = c.pop(m) {
		c.destroy(obj)
		n++
	}
	return n
}

// Reclaim gives back to the slab (and the slab's empty pages to the page
// source) the objects cached in CPU cpu's two magazines and in the depot's
// full magazines, and returns how many. Other CPUs' magazines are theirs
// alone: reclaim them by running Reclaim on each CPU. The caller runs on
// CPU cpu, inside its critical section; the dtors run there too, one per
// object (a large cache holds interrupts off for a while: see doc.go).
//
//go:nosplit
func (c *FrameCache) Reclaim(cpu int) int64 {
	cc := c.cpuCache(cpu)
	n := c.purge(cc.loaded) + c.purge(cc.previous)

	// Take the depot's full list away under the lock, purge it with the
	// lock released (the dtors may be slow), then file the magazines,
	// now empty, on the empty list.
	d := &c.depot
	if d.lock.lock() {
		d.contested++
	}
	list := d.full
	d.full, d.nfull = -1, 0
	d.live -= n // the per-CPU rounds are already destroyed
	d.lock.unlock()
	if list < 0 {
		cc.stats.Reclaimed += uint64(n)
		return n
	}
	var m int64
	for i := list; i >= 0; i = c.mags[i].next {
		m += c.purge(i)
	}
	d.lock.lock()
	for i := list; i >= 0; {
		next := c.mags[i].next
		c.mags[i].next, d.empty, d.nempty = d.empty, i, d.nempty+1
		i = next
	}
	d.live -= m
	d.lock.unlock()
	cc.stats.Reclaimed += uint64(n + m)
	return n + m
}
