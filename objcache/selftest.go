package objcache

// objcache's in-kernel self-test and benchmark, registered with ktest, and
// the kernel's two registered caches (the test cache and the bench cache).
// Above the runtime; the below-runtime halves are in selftest_nosplit.go.
// (The self-test lives in package objcache, so objcache imports lwkt:
// when lwkt's own records come from an objcache, move it to a
// subpackage.)

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"time"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/ktest"
	"gofly/lwkt"
	"gofly/lwkt/ipiq"
	"gofly/mm"
)

func init() {
	if err := ktCache.Init(Config{Name: "selftest-64", Size: testSize, CPUs: amd64.MaxCPUs,
		Capacity: testCap, DepotMagazines: testDepot, Limit: testFill,
		Ctor: ktCtor, Dtor: ktDtor, PageAlloc: KernelPageAlloc, PageFree: KernelPageFree}); err != nil {
		panic(err)
	}
	if err := kbenchCache.Init(Config{Name: "bench-64", Size: testSize, CPUs: amd64.MaxCPUs,
		PageAlloc: KernelPageAlloc, PageFree: KernelPageFree}); err != nil {
		panic(err)
	}
	if err := pressureCache.Init(Config{Name: "pressure-64", Size: testSize, CPUs: amd64.MaxCPUs,
		PageAlloc: KernelPageAlloc, PageFree: KernelPageFree}); err != nil {
		panic(err)
	}
	Register(&ktCache)
	Register(&kbenchCache)
	Register(&pressureCache)
	ipiq.Register(idStorm, stormCPU)
	ipiq.Register(idDrain, drainCPU)
	ktest.Register(
		ktest.Check{Name: "objcache: mm page source: pre-fill, storm on this CPU, reclaim gives the frames back", Run: func() error { return checkStorm(true) }},
		ktest.Check{Name: "objcache: storm on every CPU at once (fast path and depot, no MP lock), reclaim on each", Run: func() error { return checkStorm(false) }},
		ktest.Check{Name: "objcache: memory pressure: mm, out of frames, reclaims the caches' pages and goes on", Run: checkPressure},
	)
	ktest.RegisterBench(ktest.Bench{Name: "objcache", Run: benchGetPut})
}

// stormRounds is how many get/put rounds each CPU runs.
const stormRounds = 300

// checkMu keeps two runs of the check (two shells) from sharing the test
// cache and its static state.
var checkMu sync.Mutex

// checkStorm pre-fills the test cache (MP lock held), storms it from every
// online CPU at once (self: only the body's CPU) from IPI handlers, checks
// the marks, the counts and Check's invariants, then drains every CPU and
// reclaims, and checks the frames went back to mm.
func checkStorm(self bool) error {
	checkMu.Lock()
	defer checkMu.Unlock()
	mask := lwkt.OnlineMask()
	if !self && bits.OnesCount64(mask) < 2 {
		return ktest.Skip("needs 2 CPUs (the one-CPU storm is the check before)")
	}
	var s0, s1, s2 Stats
	ktCache.Stats(&s0)
	stormDup.Store(0)
	stormBad.Store(0)
	late.Store(0)
	c0, d0 := stormCtors.Load(), stormDtors.Load()

	a := stormArgs{mask: mask, rounds: stormRounds, self: self}
	lwkt.TrapCall(stormCall, uintptr(unsafe.Pointer(&a)))
	if a.fillGot != testFill {
		return fmt.Errorf("objcache: pre-fill got %d objects of %d (mm has %d free frames)", a.fillGot, testFill, a.freeBefore)
	}
	ktCache.Stats(&s1)
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if took := int64(a.freeBefore - a.freeFilled); took != a.pagesFilled-s0.Pages {
		fail("objcache: pre-fill took %d frames from mm, the slab gained %d pages", took, a.pagesFilled-s0.Pages)
	}
	if n := late.Load(); n > 0 {
		fail("objcache: %d CPUs waited over a second for the others", n)
	}
	if n := stormDup.Load(); n > 0 {
		fail("objcache: one-owner: %d Gets returned an object already handed out", n)
	}
	if n := stormBad.Load(); n > 0 {
		fail("objcache: %d Puts (or dtors) of an object not held by the putting CPU", n)
	}
	if a.gets != a.puts {
		fail("objcache: storm: %d gets, %d puts", a.gets, a.puts)
	}
	if a.gets == 0 {
		fail("objcache: storm: no Get succeeded")
	}
	var dGets, dPuts, dFails, dMiss uint64
	for i := 0; i < MaxCPUs; i++ {
		dGets += s1.CPU[i].Gets - s0.CPU[i].Gets
		dPuts += s1.CPU[i].Puts - s0.CPU[i].Puts
		dFails += s1.CPU[i].Fails - s0.CPU[i].Fails
		dMiss += s1.CPU[i].Misses - s0.CPU[i].Misses
	}
	// The cache's counters saw the pre-fill (testFill gets and puts, the
	// misses among them) and the storm.
	if dGets-dFails != a.gets+testFill || dPuts != a.puts+testFill || dFails != a.zeros {
		fail("objcache: counters: %d gets (%d failed), %d puts; the storm made %d gets (%d zero), %d puts, the pre-fill %d",
			dGets, dFails, dPuts, a.gets, a.zeros, a.puts, testFill)
	}
	if want := uint64(testFill - s0.Live); dMiss != want {
		fail("objcache: %d objects constructed, want %d (the pre-fill's; the storm must never reach the backing)", dMiss, want)
	}
	if s1.Live != testFill {
		fail("objcache: live %d after the storm, want %d", s1.Live, testFill)
	}
	if err := ktCache.Check(); err != nil {
		fail("%v", err)
	}

	// Drain every CPU and reclaim, even after a failure: the frames must
	// go back.
	// The drain's TrapCall may run on another CPU than the storm's (the
	// goroutine moves between calls): a one-CPU storm is drained on the
	// storm's CPU, whose magazines hold its objects.
	a2 := stormArgs{mask: mask, self: self, cpu: a.cpu}
	lwkt.TrapCall(drainCall, uintptr(unsafe.Pointer(&a2)))
	ktCache.Stats(&s2)
	if a2.overflow > 0 {
		fail("objcache: the drain found %d objects beyond the limit", a2.overflow)
	}
	if a2.reclaimed != testFill {
		fail("objcache: reclaim destroyed %d objects (drained %d), want %d", a2.reclaimed, a2.drained, testFill)
	}
	if back := int64(a2.freeReclaim1 - a2.freeReclaim0); back != a2.pagesBefore {
		fail("objcache: reclaim gave back %d frames, the slab held %d pages", back, a2.pagesBefore)
	}
	if s2.Live != s0.Live || s2.Pages != 0 || s2.InUse != 0 {
		fail("objcache: after reclaim: live %d (start %d), slab pages %d, in use %d", s2.Live, s0.Live, s2.Pages, s2.InUse)
	}
	if c, d := int64(stormCtors.Load()-c0), int64(stormDtors.Load()-d0); c-d != s2.Live-s0.Live {
		fail("objcache: ctor-dtor: %d ctors, %d dtors, live went from %d to %d", c, d, s0.Live, s2.Live)
	}
	for i := 0; i < s2.CPUs; i++ {
		if s2.Loaded[i] != 0 || s2.Previous[i] != 0 {
			fail("objcache: cpu %d still caches %d+%d objects after the drain", i, s2.Loaded[i], s2.Previous[i])
		}
	}
	if s2.DepotFull != 0 {
		fail("objcache: %d full depot magazines after reclaim", s2.DepotFull)
	}
	if err := ktCache.Check(); err != nil {
		fail("%v", err)
	}
	return errors.Join(errs...) // every finding: the first rarely tells why
}

// benchPool and benchSink are the sync.Pool and new(T) sides of the bench.
var (
	benchPool = sync.Pool{New: func() any { return new([testSize]byte) }}
	benchSink *[testSize]byte
)

// benchGetPut measures Get+Put of a 64-byte object: objcache inside one
// TrapCall (benchN pairs per call: about a millisecond with interrupts
// off under TCG), sync.Pool Get+Put, and new(T) (with
// the collector's share), on one goroutine.
func benchGetPut() ([]ktest.Result, error) {
	const benchN, calls = 10000, 100
	var cycles uint64
	t0 := time.Now()
	for i := 0; i < calls; i++ {
		c := uint64(lwkt.TrapCall(benchCall, benchN))
		if c == 0 {
			return nil, fmt.Errorf("objcache: bench cache Get returned 0")
		}
		cycles += c
	}
	wall := time.Since(t0)
	hz := float64(timer.TSCHz())
	oc := float64(cycles) / hz * 1e9 / (calls * benchN)
	ocWall := float64(wall.Nanoseconds()) / (calls * benchN)

	const n = calls * benchN
	t0 = time.Now()
	for i := 0; i < n; i++ {
		p := benchPool.Get().(*[testSize]byte)
		benchPool.Put(p)
	}
	pool := float64(time.Since(t0).Nanoseconds()) / n

	t0 = time.Now()
	for i := 0; i < n; i++ {
		benchSink = new([testSize]byte)
	}
	alloc := float64(time.Since(t0).Nanoseconds()) / n
	benchSink = nil

	return []ktest.Result{
		{Name: "objcache Get+Put, 64 B, in TrapCall (body)", Value: oc, Unit: "ns/op"},
		{Name: "objcache Get+Put, 64 B, with TrapCall share", Value: ocWall, Unit: "ns/op"},
		{Name: "sync.Pool Get+Put, 64 B", Value: pool, Unit: "ns/op"},
		{Name: "new([64]byte) with GC", Value: alloc, Unit: "ns/op"},
	}, nil
}

// pressureLimit bounds the free memory the pressure check takes (every
// frame, zeroed by mm, with interrupts off): beyond it the check skips.
const pressureLimit = 256 << 20

// checkPressure caches objects in pressure-64, runs mm out of frames and
// checks that reclaim gave the cache's pages back and Alloc went on.
func checkPressure() error {
	checkMu.Lock() // not while a storm runs: reclaim would empty its cache
	defer checkMu.Unlock()
	if free := mm.Phys.FreePages() * mm.PageSize; free > pressureLimit {
		return ktest.Skip("%d MiB free: the check takes every free frame, at most %d MiB", free>>20, pressureLimit>>20)
	}
	// Go-heap objects too: more than one CPU's two magazines hold, so
	// full magazines reach the depot, which GoReclaimer reclaims from
	// whichever CPU it runs on.
	const goN = 4 * MagRounds
	var gs Stats
	goPressureCache.Stats(&gs)
	goReclaimed0 := gs.Reclaimed
	objs := make([]*goBenchObj, goN)
	for i := range objs {
		objs[i] = goPressureCache.Get()
	}
	for _, o := range objs {
		goPressureCache.Put(o)
	}
	var a pressureArgs
	lwkt.TrapCall(pressureCall, uintptr(unsafe.Pointer(&a)))
	switch {
	case a.filled != pressureN:
		return fmt.Errorf("objcache: pressure: cached %d objects of %d", a.filled, pressureN)
	case a.pagesCached == 0:
		return errors.New("objcache: pressure: the fill left no page in the cache")
	case a.reclaims == 0:
		return fmt.Errorf("objcache: pressure: mm ran out of frames (%d taken) without calling reclaim", a.taken)
	case a.pagesAfter != 0:
		return fmt.Errorf("objcache: pressure: the cache still holds %d of its %d pages after reclaim", a.pagesAfter, a.pagesCached)
	case a.reclaimedPages < uint64(a.pagesCached):
		return fmt.Errorf("objcache: pressure: reclaim gave mm %d frames, the cache held %d pages", a.reclaimedPages, a.pagesCached)
	case a.taken != a.freeBefore+a.reclaimedPages:
		return fmt.Errorf("objcache: pressure: took %d frames; %d were free and reclaim gave back %d", a.taken, a.freeBefore, a.reclaimedPages)
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		goPressureCache.Stats(&gs)
		if gs.Reclaimed-goReclaimed0 >= MagRounds && gs.DepotFull == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("objcache: pressure: GoReclaimer reclaimed %d Go objects of go-pressure-64 (want at least %d), %d full depot magazines left",
				gs.Reclaimed-goReclaimed0, MagRounds, gs.DepotFull)
		}
	}
}
