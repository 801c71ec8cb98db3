package vm

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"unsafe"

	"gofly/ktest"
	"gofly/lwkt"
)

func init() {
	ktest.Register(ktest.Check{
		Name: fmt.Sprintf("vm: PV entries: %d random mmap/munmap/madvise/mprotect/fault/fork/exit operations over process maps on every CPU (faults and memory calls with and without the MP lock; private pages copy-on-write between a map and its fork, shared memory in objects), each map checked after each, every map at the end", pvTestOps),
		Run:  checkPVRandom,
	})
}

// pvTestOps is the number of operations, shared out among the CPUs.
const pvTestOps = 10000

// pvTestWindow is the range the operations aim at: small, so entries are
// clipped, merged and refilled often.
const (
	pvTestBase  = 0x10_0000_0000
	pvTestPages = 64
)

var errTestFrame = errors.New("vm: PV self-test: no frame for a map")

// run does one operation on m: a memory call under its map's lock alone
// when it may (testMemLocal), everything else under the MP lock.
func (a *testArgs) run() error {
	switch a.op {
	case testMmap, testMunmap, testMadvise, testMprotect:
		if lwkt.TrapCallLocal(testMemLocal, uintptr(unsafe.Pointer(a))) != 0 {
			pvTestAlone.Add(1)
			return nil
		}
		if lwkt.TrapCall(testMem, uintptr(unsafe.Pointer(a))) == 0 {
			return errTestFrame
		}
		return nil
	}
	if lwkt.TrapCall(testOp, uintptr(unsafe.Pointer(a))) == 0 {
		return errTestFrame
	}
	return nil
}

// pvTestAlone counts the memory calls the test ran without the MP lock.
var pvTestAlone atomic.Uint64

// checkPVRandom runs the random operations on a map per CPU (a goroutine
// pinned there); a broken invariant throws from CheckPV.
func checkPVRandom() error {
	online := lwkt.OnlineMask()
	cpus := bits.OnesCount64(online)
	errs := make(chan error, cpus)
	for c := range 64 {
		if online&(1<<c) == 0 {
			continue
		}
		go func() {
			errs <- lwkt.OnCPU(c, func() error { return pvRandom(uint64(c), pvTestOps/cpus) })
		}()
	}
	var first error
	for range cpus {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	if pvTestAlone.Load() == 0 {
		return errors.New("vm: PV self-test: no memory call ran without the MP lock")
	}
	all := testArgs{op: testCheckAll}
	return all.run()
}

// pvRandom runs ops operations on two maps of its own, each either the
// other's fork or fresh: writes to pages they share copy them. An exit
// destroys one (by the PV shortcut) and forks the other in its place.
func pvRandom(seed uint64, ops int) error {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	maps := [2]*Map{new(Map), new(Map)}
	for _, m := range maps {
		if err := (&testArgs{m: m, op: testNew}).run(); err != nil {
			return err
		}
	}
	page := func() uintptr { return pvTestBase + uintptr(r.IntN(pvTestPages))*pageSize }
	for i := 0; i < ops; i++ {
		w := r.IntN(2)
		a := testArgs{m: maps[w]}
		switch k := r.IntN(100); {
		case k < 25:
			a.op, a.addr, a.n = testMmap, page(), uintptr(1+r.IntN(8))*pageSize
			a.prot, a.flags = r.IntN(4), MapPrivate|MapAnonymous|MapFixed
			if r.IntN(4) == 0 {
				a.flags = MapShared | MapAnonymous | MapFixed // an object, shared with forks
			}
		case k < 35:
			a.op, a.addr, a.n = testMunmap, page(), uintptr(1+r.IntN(8))*pageSize
		case k < 40:
			a.op, a.addr, a.n = testMadvise, page(), uintptr(1+r.IntN(8))*pageSize
			a.flags = []int{MadvDontNeed, MadvDontNeed, MadvDontFork, MadvDoFork, MadvWipeOnFork, MadvKeepOnFork}[r.IntN(6)]
		case k < 45:
			a.op, a.addr, a.n, a.prot = testMprotect, page(), uintptr(1+r.IntN(8))*pageSize, r.IntN(8)
		case k < 70:
			a.op, a.addr, a.write = testFault, page()+uintptr(r.IntN(pageSize)), r.IntN(2) == 0
		case k < 97:
			a.op, a.addr, a.write = testFaultFresh, page()+uintptr(r.IntN(pageSize)), r.IntN(2) == 0
		default: // exit, and fork the survivor in the dead one's place
			if err := (&testArgs{m: maps[w], op: testDestroy}).run(); err != nil {
				return err
			}
			maps[w] = new(Map)
			a = testArgs{m: maps[1-w], child: maps[w], op: testFork}
		}
		if err := a.run(); err != nil {
			return err
		}
		if a.op == testMmap && a.ret != int64(a.addr) {
			return fmt.Errorf("vm: PV self-test: mmap MAP_FIXED at %#x: %d", a.addr, a.ret)
		}
		for _, m := range maps {
			if err := (&testArgs{m: m, op: testCheck}).run(); err != nil {
				return err
			}
		}
	}
	for _, m := range maps {
		if err := (&testArgs{m: m, op: testDestroy}).run(); err != nil {
			return err
		}
	}
	return nil
}
