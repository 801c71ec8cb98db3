package objcache

// The below-runtime halves of objcache's in-kernel self-test and benchmark
// (selftest.go): TrapCall bodies (interrupts off, MP lock held) and IPI
// handlers (interrupts off, NO MP lock). Nosplit, allocation-free, no
// pointer stores. A body gets its arguments and leaves its results in a
// pointer-free struct of the Go caller's (mm.Ptr(uint64(arg))).
//
// Which paths each side may take (doc.go, Which paths need which lock):
// the handlers use only Get and Put on their own CPU, and the test cache's
// Limit equals what the body pre-fills, so while the storm runs live ==
// Limit: a Get that finds no round fails at the limit check instead of
// going to the slab, and a Put always finds room (the pre-fill fits in
// the depot's empty magazines, see stormFill), so no handler reaches the
// page source, which needs the MP lock.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/mm"
)

// IPI handler ids. lwkt's own test handlers take FirstFreeHandler up to
// FirstFreeHandler+7 (lwkt/selftest_nosplit.go, unexported); objcache
// starts 16 past FirstFreeHandler to leave lwkt room to grow. A clash is
// found at boot: ipiq.Register panics on an id already taken.
const (
	idStorm = lwkt.FirstFreeHandler + 16 + iota
	idDrain
)

// The test cache's shape: 64-byte objects, magazines of testCap rounds,
// testDepot depot magazines, and a limit equal to the pre-fill.
const (
	testSize  = 64
	testCap   = 16
	testDepot = 32
	// testFill is what the body pre-fills and the Limit. A Put destroys
	// only when its CPU's two magazines are full and every depot
	// magazine is full: (2+testDepot)·testCap cached objects, plus the
	// one being put. testFill ≤ (2+testDepot)·testCap rules that out.
	// It is below what four CPUs holding stormHold each want, so at -smp
	// 4 Gets meet the limit (a 0: stop getting) and objects move between
	// CPUs through the depot.
	testFill = 160
	// stormHold is the most objects a CPU holds at once in a storm round
	// (more than its two magazines: rounds trade with the depot).
	stormHold = 48
)

// The pre-fill must fit in the cache (a compile-time check: a negative
// constant does not convert to uint).
const _ = uint((2+testDepot)*testCap - testFill)

// Object marks, in each test object's first word (the object is the
// test's own while constructed: the slab links only free memory).
const (
	markFree  = 0x6f626a63_66726565 // "objcfree": cached, owned by nobody
	markOwned = 0x6f626a63_6f776e00 // | cpu+1: handed out to that CPU
)

var (
	ktCache     FrameCache
	kbenchCache FrameCache
	// pressureCache is the memory-pressure check's own cache (only it
	// uses it, on one CPU, so the pages it holds are known).
	pressureCache FrameCache

	// stormHeld[cpu] holds what that CPU's handler has taken this round;
	// written only by that CPU.
	stormHeld [amd64.MaxCPUs][stormHold]uintptr
	// Per-CPU results of the storm, written by that CPU, read by the body
	// after Cpusync returned.
	stormGets  [amd64.MaxCPUs]uint64
	stormPuts  [amd64.MaxCPUs]uint64
	stormZeros [amd64.MaxCPUs]uint64
	stormDup   atomic.Uint64 // Gets that returned an object not marked free
	stormBad   atomic.Uint64 // Puts of an object not marked as this CPU's
	stormCtors atomic.Uint64 // test-cache constructions
	stormDtors atomic.Uint64 // test-cache destructions
	arrived    atomic.Int32  // CPUs at the start line
	late       atomic.Int32  // CPUs that gave up waiting for the others

	// drained holds what the drain handlers took out of every CPU's
	// magazines; ndrained counts it.
	drained  [testFill]uintptr
	ndrained atomic.Int64
	overflow atomic.Int64
)

// ktCtor marks fresh memory as a free test object.
//
//go:nosplit
func ktCtor(obj uintptr) bool {
	*(*uint64)(ptr(obj)) = markFree
	stormCtors.Add(1)
	return true
}

// ktDtor checks the object is not handed out, and poisons its mark.
//
//go:nosplit
func ktDtor(obj uintptr) {
	if *(*uint64)(ptr(obj)) != markFree {
		stormBad.Add(1)
	}
	*(*uint64)(ptr(obj)) = 0
	stormDtors.Add(1)
}

// take marks obj, just returned by Get on cpu, as cpu's; a mark other than
// free means it was handed out twice (or not constructed).
//
//go:nosplit
func take(obj uintptr, cpu int) {
	if !atomic.CompareAndSwapUint64((*uint64)(ptr(obj)), markFree, markOwned|uint64(cpu+1)) {
		stormDup.Add(1)
	}
}

// give marks obj, about to be Put by cpu, free again.
//
//go:nosplit
func give(obj uintptr, cpu int) {
	if !atomic.CompareAndSwapUint64((*uint64)(ptr(obj)), markOwned|uint64(cpu+1), markFree) {
		stormBad.Add(1)
	}
}

// stormArgs is the storm body's argument and result.
type stormArgs struct {
	mask   uint64 // in: CPUs taking part (the body's own CPU is always added)
	rounds uint64 // in: rounds per CPU
	self   bool   // in: only the body's own CPU takes part

	cpu          int32  // storm: out, the body's CPU; drain: in, the storm's CPU
	ncpu         int32  // out: CPUs that took part
	freeBefore   uint64 // out: mm's free frames before the pre-fill
	freeFilled   uint64 // out: after it
	pagesFilled  int64  // out: slab pages after the pre-fill
	fillGot      int64  // out: objects the pre-fill got (testFill unless the page source ran dry)
	gets, puts   uint64 // out: the handlers' successful Gets and their Puts
	zeros        uint64 // out: Gets that returned 0 (stopped getting)
	freeReclaim0 uint64 // (drain) out: free frames before the reclaim
	freeReclaim1 uint64 // (drain) out: after it
	pagesBefore  int64  // (drain) out: slab pages before the reclaim
	reclaimed    int64  // (drain) out: objects Reclaim destroyed
	drained      int64  // (drain) out: objects the handlers took out
	overflow     int64  // (drain) out: objects that did not fit drained
}

// stormCall is the storm's TrapCall body (MP lock held): pre-fill the test
// cache to its limit through this CPU, then Cpusync stormCPU on every CPU
// of the mask at once.
//
//go:nosplit
func stormCall(arg uintptr) uintptr {
	a := (*stormArgs)(mm.Ptr(uint64(arg)))
	me := amd64.CPU()
	a.cpu = int32(me)
	mask := a.mask | 1<<me
	if a.self {
		mask = 1 << me
	}
	a.freeBefore = underMP()
	a.fillGot = stormFill(me)
	a.freeFilled = underMP()
	a.pagesFilled = ktCache.slab.pages
	if a.fillGot != testFill {
		// The page source ran dry: give everything back now, under the
		// lock (the limit no longer keeps handlers off the backing).
		a.reclaimed = ktCache.Reclaim(me)
		return 0
	}
	n := int32(0)
	for i := 0; i < amd64.MaxCPUs; i++ {
		stormGets[i], stormPuts[i], stormZeros[i] = 0, 0, 0
		if mask&(1<<i) != 0 {
			n++
		}
	}
	a.ncpu = n
	arrived.Store(0)
	lwkt.Cpusync(mask, idStorm, uintptr(a.rounds), uintptr(n))
	for i := 0; i < amd64.MaxCPUs; i++ {
		a.gets += stormGets[i]
		a.puts += stormPuts[i]
		a.zeros += stormZeros[i]
	}
	return 0
}

// stormFill gets testFill objects on CPU me (constructing what the cache
// lacks, through the page source: MP lock held) and puts them all back, so
// live == Limit, and returns how many it got. All testFill fit cached:
// testFill ≤ (2+testDepot)·testCap.
//
//go:nosplit
func stormFill(me int) int64 {
	var got int64
	for ; got < testFill; got++ {
		obj := ktCache.Get(me)
		if obj == 0 {
			break
		}
		drained[got] = obj
	}
	for i := int64(0); i < got; i++ {
		ktCache.Put(me, drained[i])
	}
	return got
}

// stormCPU is the storm's handler, on every CPU at once, WITHOUT the MP
// lock: rounds of getting up to a varying number of objects (stopping at
// the first 0: the next object would need the backing) and putting them
// back, marking each. It waits up to a second for the other CPUs first, so
// that they contend.
//
//go:nosplit
func stormCPU(rounds, n uintptr) {
	me := amd64.CPU()
	arrived.Add(1)
	for end := amd64.Rdtsc() + timer.TSCHz(); arrived.Load() < int32(n); {
		if amd64.Rdtsc() > end {
			late.Add(1)
			break
		}
		amd64.Pause()
	}
	held := &stormHeld[me]
	for r := uintptr(0); r < rounds; r++ {
		want := 1 + (uint(r)*7+uint(me)*13)%stormHold
		k := uint(0)
		for ; k < want; k++ {
			obj := ktCache.TryGet(me)
			if obj == 0 {
				stormZeros[me]++
				break
			}
			take(obj, me)
			held[k] = obj
			stormGets[me]++
		}
		for k > 0 {
			k--
			give(held[k], me)
			ktCache.Put(me, held[k])
			stormPuts[me]++
		}
	}
}

// drainCall is the reclaim's TrapCall body (MP lock held): every CPU of
// the mask empties its own magazines by Get (drainCPU: no MP lock, the
// limit keeps it off the backing), then this CPU puts what they took into
// its own magazines and the depot and reclaims them, so the frames go
// back to mm under the MP lock. No CPU touches another's magazines.
//
//go:nosplit
func drainCall(arg uintptr) uintptr {
	a := (*stormArgs)(mm.Ptr(uint64(arg)))
	me := amd64.CPU()
	ndrained.Store(0)
	overflow.Store(0)
	mask := a.mask | 1<<me
	if a.self {
		mask = 1 << a.cpu // the storm's CPU, maybe not this one
	}
	lwkt.Cpusync(mask, idDrain, 0, 0)
	a.drained, a.overflow = ndrained.Load(), overflow.Load()
	for i := int64(0); i < a.drained; i++ {
		ktCache.Put(me, drained[i])
	}
	a.pagesBefore = ktCache.slab.pages
	a.freeReclaim0 = underMP()
	a.reclaimed = ktCache.Reclaim(me)
	a.freeReclaim1 = underMP()
	return 0
}

// drainCPU takes every object this CPU can reach without the backing (its
// magazines, and full depot magazines) into drained.
//
//go:nosplit
func drainCPU(_, _ uintptr) {
	me := amd64.CPU()
	for {
		obj := ktCache.TryGet(me)
		if obj == 0 {
			return
		}
		i := ndrained.Add(1) - 1
		if uint64(i) >= testFill {
			overflow.Add(1)
			ndrained.Add(-1)
			return
		}
		drained[i] = obj
	}
}

// benchCall is the benchmark's TrapCall body: arg Get+Put pairs on this
// CPU's share of the bench cache; it returns the TSC cycles they took.
//
//go:nosplit
func benchCall(n uintptr) uintptr {
	me := amd64.CPU()
	t0 := amd64.Rdtsc()
	for i := uintptr(0); i < n; i++ {
		obj := kbenchCache.Get(me)
		if obj == 0 {
			return 0
		}
		kbenchCache.Put(me, obj)
	}
	return uintptr(amd64.Rdtsc() - t0)
}

// pressureArgs is pressureCall's result block.
type pressureArgs struct {
	freeBefore     uint64 // mm's free frames before the run
	filled         int64  // objects the fill cached
	pagesCached    int64  // slab pages the pressure cache held before mm ran dry
	pagesAfter     int64  // and after
	taken          uint64 // frames the run took from mm until Alloc gave 0
	reclaims       uint64 // mm's reclaim calls during the run
	reclaimedPages uint64 // frames they gave back
}

// pressureN is how many objects the memory-pressure check caches.
const pressureN = 2000

// pressureCall is the memory-pressure check's TrapCall body (MP lock
// held): it fills pressureCache's magazines and depot with constructed
// objects, takes every free frame from mm — when none is left, mm's
// reclaim path must give back the pages the cache holds, and Alloc goes
// on — then returns every frame it took.
//
//go:nosplit
func pressureCall(arg uintptr) uintptr {
	a := (*pressureArgs)(ptr(arg))
	me := amd64.CPU()
	var held uintptr // objects linked through their first word
	for a.filled = 0; a.filled < pressureN; a.filled++ {
		obj := pressureCache.Get(me)
		if obj == 0 {
			break
		}
		*(*uintptr)(ptr(obj)) = held
		held = obj
	}
	for held != 0 {
		obj := held
		held = *(*uintptr)(ptr(obj))
		pressureCache.Put(me, obj)
	}
	a.pagesCached = pressureCache.slab.pages
	free, alone := mm.Phys.Counts()
	r0, p0 := mm.Phys.Reclaims, mm.Phys.ReclaimedPages
	var frames uint64 // frames linked through their first word
	for {
		pa := mm.Phys.Alloc()
		if pa == 0 {
			break
		}
		*(*uint64)(mm.Direct(pa)) = frames
		frames = pa
		a.taken++
	}
	a.reclaims, a.reclaimedPages = mm.Phys.Reclaims-r0, mm.Phys.ReclaimedPages-p0
	_, alone1 := mm.Phys.Counts()
	a.freeBefore = free + (alone1 - alone) // and what other CPUs freed meanwhile, without the MP lock
	a.pagesAfter = pressureCache.slab.pages
	for frames != 0 {
		pa := frames
		frames = *(*uint64)(mm.Direct(pa))
		mm.Phys.Free(pa)
	}
	return 0
}

// underMP returns mm's free frames less those freed without the MP lock
// since boot (mm.Allocator.Counts): a count only the MP lock's holder
// changes, so the checks below can compare it before and after.
//
//go:nosplit
func underMP() uint64 {
	free, alone := mm.Phys.Counts()
	return free - alone
}
