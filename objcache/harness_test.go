package objcache

// The host stand-ins for the kernel: a page source over hostram's window
// (memory the Go heap does not own, like mm's frames), and a ctor/dtor
// pair that tracks every object's state in its own memory with atomics, so
// that a double hand-out, a lost object or a dtor of a live object shows.

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"gofly/fatal"
	"gofly/internal/hostram"
)

func init() { yieldFn = funcval(runtime.Gosched) }

// The page pool.
var (
	poolOnce  sync.Once
	poolMu    sync.Mutex
	poolFree  []uintptr
	poolOut   atomic.Int64 // pages handed out
	poolLimit atomic.Int64 // most pages out at once (0: the whole window)
	poolBase  uintptr
	poolEnd   uintptr
)

func setupPool(tb testing.TB) {
	tb.Helper()
	base, n := hostram.Window(tb)
	poolOnce.Do(func() {
		poolBase, poolEnd = uintptr(base), uintptr(base+n)
		for p := poolEnd - PageSize; p >= poolBase; p -= PageSize {
			poolFree = append(poolFree, p)
		}
	})
	if poolOut.Load() != 0 {
		tb.Fatalf("%d pages still out from an earlier test", poolOut.Load())
	}
	poolLimit.Store(0)
}

func testPageAlloc() uintptr {
	poolMu.Lock()
	defer poolMu.Unlock()
	if l := poolLimit.Load(); l != 0 && poolOut.Load() >= l || len(poolFree) == 0 {
		return 0
	}
	p := poolFree[len(poolFree)-1]
	poolFree = poolFree[:len(poolFree)-1]
	poolOut.Add(1)
	return p
}

func testPageFree(p uintptr) {
	if p&(PageSize-1) != 0 || p < poolBase || p >= poolEnd {
		fail("page free of %#x, not a pool page", p)
		return
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	poolFree = append(poolFree, p)
	poolOut.Add(-1)
}

// Object states, kept in an object's second word (the slab's free list
// uses the first while the memory is free): magic^addr while cached,
// magic^addr^1 while handed out, anything else while unconstructed.
const magic = 0x0bc0ffee00000000

func word1(obj uintptr) *uint64 { return (*uint64)(ptr(obj + 8)) }

func cachedMark(obj uintptr) uint64 { return magic ^ uint64(obj) }
func outMark(obj uintptr) uint64    { return magic ^ uint64(obj) ^ 1 }

// ctor/dtor counters and checks.
var (
	ctors, dtors atomic.Int64
	constructed  atomic.Int64 // ctors - dtors, checked against ctorLimit
	ctorLimit    atomic.Int64
	ctorFailEach atomic.Int64 // fail every n-th ctor (0: never)
	ctorCalls    atomic.Int64
	ctorFails    atomic.Int64
)

func testCtor(obj uintptr) bool {
	if n := ctorFailEach.Load(); n != 0 && ctorCalls.Add(1)%n == 0 {
		ctorFails.Add(1)
		return false
	}
	w := word1(obj)
	old := atomic.LoadUint64(w)
	if old == cachedMark(obj) || old == outMark(obj) {
		fail("ctor of %#x, already constructed", obj)
	}
	if !atomic.CompareAndSwapUint64(w, old, cachedMark(obj)) {
		fail("ctor of %#x raced", obj)
	}
	ctors.Add(1)
	if n, l := constructed.Add(1), ctorLimit.Load(); l != 0 && n > l {
		fail("limit: %d objects constructed, limit %d", n, l)
	}
	return true
}

func testDtor(obj uintptr) {
	if !atomic.CompareAndSwapUint64(word1(obj), cachedMark(obj), 0) {
		fail("dtor of %#x, which is not a cached constructed object (word %#x)", obj, atomic.LoadUint64(word1(obj)))
	}
	dtors.Add(1)
	constructed.Add(-1)
}

// gotten checks an object Get returned and marks it handed out.
func gotten(obj uintptr) {
	if !atomic.CompareAndSwapUint64(word1(obj), cachedMark(obj), outMark(obj)) {
		fail("Get returned %#x, which is not cached and constructed (word %#x): handed out twice?", obj, atomic.LoadUint64(word1(obj)))
	}
}

// putting marks an object about to be Put.
func putting(obj uintptr) {
	if !atomic.CompareAndSwapUint64(word1(obj), outMark(obj), cachedMark(obj)) {
		fail("Put of %#x, which is not handed out", obj)
	}
}

// Failures found inside ctor/dtor/page calls, which have no *testing.T.
var (
	failMu   sync.Mutex
	failures []string
)

func fail(format string, args ...any) {
	failMu.Lock()
	defer failMu.Unlock()
	if len(failures) < 20 {
		failures = append(failures, fmt.Sprintf(format, args...))
	}
}

// resetHarness clears the counters; checkHarness reports failures.
func resetHarness(tb testing.TB) {
	setupPool(tb)
	ctors.Store(0)
	dtors.Store(0)
	constructed.Store(0)
	ctorLimit.Store(0)
	ctorFailEach.Store(0)
	ctorCalls.Store(0)
	ctorFails.Store(0)
	failMu.Lock()
	failures = nil
	failMu.Unlock()
}

func checkHarness(tb testing.TB) {
	tb.Helper()
	failMu.Lock()
	defer failMu.Unlock()
	for _, f := range failures {
		tb.Error(f)
	}
}

// newCache makes a FrameCache on the Go heap (so that -race sees its fields)
// with the test page source, ctor and dtor.
func newCache(tb testing.TB, cfg Config) *FrameCache {
	tb.Helper()
	if cfg.Size == 0 {
		cfg.Size = 48
	}
	cfg.Ctor, cfg.Dtor = testCtor, testDtor
	cfg.PageAlloc, cfg.PageFree = testPageAlloc, testPageFree
	if cfg.Limit != 0 {
		ctorLimit.Store(int64(cfg.Limit))
	}
	c := new(FrameCache)
	if err := c.Init(cfg); err != nil {
		tb.Fatal(err)
	}
	return c
}

// drain reclaims every CPU at quiescence and checks nothing is left: every
// object destroyed, every page back.
func drain(t *testing.T, c *FrameCache) {
	t.Helper()
	for cpu := 0; cpu < int(c.ncpu); cpu++ {
		c.Reclaim(cpu)
	}
	var s Stats
	c.Stats(&s)
	if s.Live != 0 || s.InUse != 0 || s.Pages != 0 || poolOut.Load() != 0 {
		t.Errorf("after reclaiming every CPU: live %d, slab in use %d, slab pages %d, pool pages out %d; want all 0",
			s.Live, s.InUse, s.Pages, poolOut.Load())
	}
	if ctors.Load() != dtors.Load() {
		t.Errorf("ctors %d, dtors %d after a full reclaim", ctors.Load(), dtors.Load())
	}
	if err := c.Check(); err != nil {
		t.Error(err)
	}
}

// catch returns the message of the throw f made, or "".
func catch(f func()) string { return fatal.Catch(f) }
