package sysref

// sysref's in-kernel self-test and benchmark (ktest), above the runtime;
// the bodies are in selftest_nosplit.go. (The self-test imports lwkt:
// when lwkt's own threads become SYSREF resources, it moves to a
// subpackage, as objcache's will.)

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"gofly/ktest"
	"gofly/lwkt"
	"gofly/objcache"
)

var (
	benchCache objcache.FrameCache
	benchClass Class
)

func init() {
	for _, c := range []struct {
		cache *objcache.FrameCache
		class *Class
		name  string
		term  func(uintptr)
	}{{&testCache, &testClass, "selftest", testTerminate}, {&benchCache, &benchClass, "bench", nil}} {
		if err := c.class.InitFrames(c.cache, testObjSize, ClassConfig{Name: c.name, Terminate: c.term, Summary: testSummary}); err != nil {
			panic(err)
		}
	}
	ktest.Register(ktest.Check{Name: "sysref: alloc/activate/lookup/put storm on every CPU, records passed to the next CPU and released there", Run: checkStorm})
	ktest.RegisterBench(ktest.Bench{Name: "sysref", Run: benchSysref})
}

// testSummary describes a test record for `sysref show`.
func testSummary(obj uintptr) string {
	o := tobj(obj)
	return fmt.Sprintf("test record: terminated %d times in this incarnation", o.terms.Load())
}

// checkMu keeps two storms (two shells) apart: they share static rings.
var checkMu sync.Mutex

// stormSteps is how many steps each CPU runs.
const stormSteps = 60

// checkStorm runs the storm on every online CPU at once: each allocates,
// activates and looks up records, hands them to the next CPU, which looks
// them up on their owner and drops the last active reference; the owner
// unindexes them when the passive message arrives. Then every class count
// must be back where it started, every terminate run once, no lookup may
// have returned a record it must not, and every remote release arrived.
func checkStorm() error {
	checkMu.Lock()
	defer checkMu.Unlock()
	var cpus []int
	for m := lwkt.OnlineMask(); m != 0; m &= m - 1 {
		cpus = append(cpus, bits.TrailingZeros64(m))
	}
	for i := range rings {
		rings[i].head.Store(0)
		rings[i].tail.Store(0)
	}
	for _, c := range []interface{ Store(uint64) }{&badTerminate, &badInvisible, &badLookup, &badStale, &badCPU, &stormReleased} {
		c.Store(0)
	}
	s0 := testClass.Stats()
	args := make([]stormArgs, len(cpus))
	errs := make([]error, len(cpus))
	var wg sync.WaitGroup
	run := func(final bool) {
		for i, cpu := range cpus {
			args[i].cpu, args[i].next, args[i].final = cpu, cpus[(i+1)%len(cpus)], final
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = lwkt.OnCPU(cpu, func() error {
					for s := 0; s < stormSteps && (s == 0 || !final); s++ {
						lwkt.TrapCall(stormCall, uintptr(unsafe.Pointer(&args[i])))
					}
					if lwkt.TrapCall(drainCall, 0) != uintptr(cpu) {
						return fmt.Errorf("sysref: the drain for cpu %d ran on another CPU", cpu)
					}
					return nil
				})
			}()
		}
		wg.Wait()
	}
	run(false)
	run(true) // every producer has stopped: consume what the rings hold
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var allocs, consumed uint64
	for _, a := range args {
		allocs += a.allocs
		consumed += a.consumed
	}
	// Releases to another CPU travel as passive messages: they arrive at
	// the owner's next tick or trap (at once if it idles tickless).
	var s1 ClassStats
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s1 = testClass.Stats()
		if s1.Live == s0.Live && s1.RemoteIn == s1.RemoteOut || time.Now().After(deadline) {
			break
		}
	}
	var fails []error
	fail := func(format string, args ...any) { fails = append(fails, fmt.Errorf(format, args...)) }
	for _, b := range []struct {
		n    uint64
		what string
	}{
		{badCPU.Load(), "storm steps ran off their pinned CPU"},
		{badTerminate.Load(), "records terminated twice (ref-terminate-once)"},
		{badInvisible.Load(), "lookups found a record being built or terminated (ref-lookup)"},
		{badLookup.Load(), "lookups of an active record missed it or returned another"},
		{badStale.Load(), "lookups of a released id found a record (sysid-unique)"},
	} {
		if b.n != 0 {
			fail("sysref: %d %s", b.n, b.what)
		}
	}
	d := ClassStats{Allocs: s1.Allocs - s0.Allocs, Terminates: s1.Terminates - s0.Terminates,
		Releases: s1.Releases - s0.Releases, RemoteOut: s1.RemoteOut - s0.RemoteOut, RemoteIn: s1.RemoteIn - s0.RemoteIn}
	switch {
	case allocs == 0:
		fail("sysref: the storm allocated nothing")
	case d.Allocs != allocs:
		fail("sysref: class counted %d allocations, the storm made %d", d.Allocs, allocs)
	case s1.Live != s0.Live:
		fail("sysref: leak: %d test records live after the storm, %d before (%d allocated, %d released, %d sent to their owner, %d arrived)",
			s1.Live, s0.Live, d.Allocs, d.Releases, d.RemoteOut, d.RemoteIn)
	case d.Terminates != allocs || stormReleased.Load() != allocs:
		fail("sysref: %d records allocated, %d terminated, %d terminate handlers finished", allocs, d.Terminates, stormReleased.Load())
	case d.RemoteIn != d.RemoteOut:
		fail("sysref: %d releases sent to their owner by passive IPI, %d arrived", d.RemoteOut, d.RemoteIn)
	case len(cpus) >= 2 && d.RemoteOut == 0:
		fail("sysref: %d CPUs, but no record was released on a CPU that did not own it", len(cpus))
	case consumed == 0:
		fail("sysref: no record crossed a ring")
	}
	if n, err := countClass(&testClass); err != nil {
		fail("%v", err)
	} else if int64(n) != s1.Live {
		fail("sysref: the trees index %d test records, the class counts %d live", n, s1.Live)
	}
	return errors.Join(fails...)
}

// countClass counts the records of class c in every CPU's tree.
func countClass(c *Class) (int, error) {
	n := 0
	err := Walk(func(e Entry) bool {
		if e.Class == classAddr(c) {
			n++
		}
		return true
	})
	return n, err
}

// benchSysref measures, on one CPU: alloc+activate+put of a record (no
// terminate handler), and a lookup (with its put) among 1k and 100k live
// records, local and, with two CPUs, on another CPU (by Cpusync).
func benchSysref() ([]ktest.Result, error) {
	var res []ktest.Result
	err := lwkt.OnCPU(0, func() error {
		const cycles = 100_000
		buf := make([]uintptr, 1000)
		ba := benchArgs{op: benchCycle, objs: uintptr(unsafe.Pointer(&buf[0])), n: len(buf)}
		t0 := time.Now()
		for i := 0; i < cycles/len(buf); i++ {
			lwkt.TrapCall(benchCall, uintptr(unsafe.Pointer(&ba)))
		}
		res = append(res, ktest.Result{Name: "sysref alloc+activate+put", Value: float64(time.Since(t0).Nanoseconds()) / cycles, Unit: "ns/op"})
		for _, live := range []int{1000, 100_000} {
			r, err := benchLookup(live)
			if err != nil {
				return err
			}
			res = append(res, r...)
		}
		return nil
	})
	runtime.KeepAlive(res)
	return res, err
}

// benchLookup allocates live records on this (pinned) CPU, looks each up
// once from here, and once from another CPU if there is one, then puts
// them all.
func benchLookup(live int) ([]ktest.Result, error) {
	const batch = 1000
	objs := make([]uintptr, live)
	call := func(op, from, n int) int {
		a := benchArgs{op: op, objs: uintptr(unsafe.Pointer(&objs[from])), n: n}
		lwkt.TrapCall(benchCall, uintptr(unsafe.Pointer(&a)))
		return a.hits
	}
	made := 0
	for ; made < live; made += batch {
		a := benchArgs{op: benchAlloc, objs: uintptr(unsafe.Pointer(&objs[made])), n: batch}
		if got := int(lwkt.TrapCall(benchCall, uintptr(unsafe.Pointer(&a)))); got != batch {
			made += got
			break
		}
	}
	defer func() {
		for i := 0; i < made; i += batch {
			call(benchPut, i, min(batch, made-i))
		}
	}()
	if made < live {
		return nil, fmt.Errorf("sysref: bench: only %d of %d records could be allocated", made, live)
	}
	var out []ktest.Result
	// ops lookups, per to a TrapCall, of ids taken from objs in turn, so
	// both sizes run the same number of TrapCalls. A remote lookup is a
	// Cpusync, made under the MP lock: a small batch keeps the lock's
	// holds short (1000 of them held it for over a second at -smp 4 on
	// two host cores, which the lock's watchdog reports).
	measure := func(where string, ops, per int) error {
		hits := 0
		t0 := time.Now()
		for i := 0; i < ops; i += per {
			hits += call(benchLookups, i%live, per)
		}
		ns := float64(time.Since(t0).Nanoseconds()) / float64(ops)
		if hits != ops {
			return fmt.Errorf("sysref: bench: %d of %d lookups (%s) found their record", hits, ops, where)
		}
		out = append(out, ktest.Result{Name: fmt.Sprintf("sysref lookup+put, %d live, %s", live, where), Value: ns, Unit: "ns/op"})
		return nil
	}
	if err := measure("owner CPU", 200_000, batch); err != nil {
		return nil, err
	}
	if m := lwkt.OnlineMask() &^ 1; m != 0 {
		if err := lwkt.OnCPU(bits.TrailingZeros64(m), func() error { return measure("other CPU (Cpusync)", 2000, 10) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}
