package sysref

// The below-runtime half of sysref's self-test (selftest.go): the test
// class's terminate handler and the storm's TrapCall bodies. Each storm
// CPU runs stormCall from a goroutine pinned to it; records travel from
// CPU i to CPU i+1 (mod n) over a single-producer single-consumer ring,
// carrying the producer's reference, so the consumer's last Put releases
// a record another CPU owns.

import (
	"sync/atomic"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/mm"
	"gofly/objcache"
)

// testObj is a resource of the test class.
type testObj struct {
	Record
	terms atomic.Uint32 // terminate runs in this incarnation
	id    uint64        // the sysid Alloc gave it, kept by the test
}

const testObjSize = int(unsafe.Sizeof(testObj{}))

//go:nosplit
func tobj(a uintptr) *testObj { return (*testObj)(mm.Ptr(uint64(a))) }

var (
	testCache objcache.FrameCache
	testClass Class

	// Storm failures, by kind (any CPU adds).
	badTerminate  atomic.Uint64 // terminate ran twice in one incarnation
	badInvisible  atomic.Uint64 // a lookup found a record before Activate or while it terminated
	badLookup     atomic.Uint64 // a lookup of a live, active id missed or returned another record
	badStale      atomic.Uint64 // a lookup of a released id returned something
	badCPU        atomic.Uint64 // a storm step ran on another CPU than its goroutine was pinned to
	stormReleased atomic.Uint64 // records whose last Put ran in the storm
)

// testTerminate is the test class's terminate handler. It checks the
// design note's rules for references taken during termination: a
// temporary reference is allowed and does not make the record visible,
// and the base reference's Put is the last.
//
//go:nosplit
func testTerminate(obj uintptr) {
	o := tobj(obj)
	if o.terms.Add(1) != 1 {
		badTerminate.Add(1)
	}
	Get(obj) // a temporary reference, taken while terminating
	if got := Lookup(o.id); got != 0 {
		badInvisible.Add(1)
		Put(got)
	}
	Put(obj)             // the temporary: others still hold the base
	stormReleased.Add(1) // counted before the last Put: the record may be reused at once
	Put(obj)             // the base reference: the record is released
}

// stormRing carries records (address and sysid) from one CPU to the next.
// Single producer (CPU i), single consumer (CPU i+1 mod n).
type stormRing struct {
	head, tail atomic.Uint64 // produced, consumed
	_          [48]byte
	obj        [stormRingSize]uintptr
	id         [stormRingSize]uint64
}

const (
	stormRingSize = 64
	stormBatch    = 8 // records each step allocates and consumes
	staleKeep     = 16
)

var (
	rings [amd64.MaxCPUs]stormRing
	// stale[cpu] holds the ids of records whose last reference cpu dropped:
	// lookups of them must fail from then on (ids are never reused).
	stale [amd64.MaxCPUs][staleKeep]uint64
)

// StormArgs is stormCall's argument block.
type stormArgs struct {
	cpu, next int  // this CPU, and the one its records go to
	final     bool // consume what is left, produce nothing
	allocs    uint64
	fails     uint64
	consumed  uint64
}

// stormCall is one storm step on CPU a.cpu (TrapCall body, MP lock held).
//
//go:nosplit
func stormCall(arg uintptr) uintptr {
	if !touch(arg, unsafe.Sizeof(stormArgs{})) {
		return 0
	}
	a := (*stormArgs)(mm.Ptr(uint64(arg)))
	me := amd64.CPU()
	if me != a.cpu {
		badCPU.Add(1)
		return 0
	}
	if !a.final {
		out := &rings[uint(a.next)%amd64.MaxCPUs]
		for k := 0; k < stormBatch; k++ {
			obj := Alloc(&testClass)
			if obj == 0 {
				a.fails++
				continue
			}
			a.allocs++
			o := tobj(obj)
			o.terms.Store(0)
			o.id = o.sysid
			if got := Lookup(o.id); got != 0 { // Building: invisible
				badInvisible.Add(1)
				Put(got)
			}
			Activate(obj)
			h := out.head.Load()
			if h-out.tail.Load() == stormRingSize {
				Put(obj) // the ring is full: release here
				continue
			}
			out.obj[h%stormRingSize], out.id[h%stormRingSize] = obj, o.id
			out.head.Store(h + 1)
		}
	}
	in := &rings[uint(me)%amd64.MaxCPUs]
	for k := 0; k < stormBatch || a.final; k++ {
		t := in.tail.Load()
		if t == in.head.Load() {
			break
		}
		obj, id := in.obj[t%stormRingSize], in.id[t%stormRingSize]
		in.tail.Store(t + 1)
		got := Lookup(id) // on the producing CPU, by Cpusync, when it is another
		if got != obj || tobj(obj).terms.Load() != 0 {
			badLookup.Add(1)
		}
		if got != 0 {
			Put(got)
		}
		Put(obj) // the producer's reference: the last active one
		a.consumed++
		st := &stale[uint(me)%amd64.MaxCPUs]
		st[a.consumed%staleKeep] = id
	}
	for _, id := range stale[uint(me)%amd64.MaxCPUs] {
		if id != 0 {
			if got := Lookup(id); got != 0 {
				badStale.Add(1)
				Put(got)
			}
		}
	}
	return 0
}

// drainCall puts this CPU's deferred records back (TrapCall body); it
// returns the CPU it ran on.
//
//go:nosplit
func drainCall(_ uintptr) uintptr {
	Drain()
	return uintptr(amd64.CPU())
}

// benchArgs is benchCall's argument block: objs is a Go slice's backing
// array of n addresses, which the body fills or empties.
type benchArgs struct {
	op   int // benchAlloc, benchLookup, benchPut, benchCycle
	objs uintptr
	n    int
	hits int
}

const (
	benchAlloc   = iota // allocate and activate n records into objs
	benchLookups        // look up (and put back) n ids taken from objs in turn
	benchPut            // put the n records of objs
	benchCycle          // n times: alloc, activate, put
)

// benchCall runs one batch of a sysref benchmark (TrapCall body).
//
//go:nosplit
func benchCall(arg uintptr) uintptr {
	if !touch(arg, unsafe.Sizeof(benchArgs{})) {
		return 0
	}
	a := (*benchArgs)(mm.Ptr(uint64(arg)))
	if !touch(a.objs, uintptr(a.n)*8) {
		return 0
	}
	objs := unsafe.Slice((*uintptr)(mm.Ptr(uint64(a.objs))), a.n)
	switch a.op {
	case benchAlloc:
		for i := range objs {
			obj := Alloc(&benchClass)
			if obj == 0 {
				return uintptr(i)
			}
			tobj(obj).id = rec(obj).sysid
			Activate(obj)
			objs[i] = obj
		}
	case benchLookups:
		for _, obj := range objs {
			if got := Lookup(tobj(obj).id); got != 0 {
				a.hits++
				Put(got)
			}
		}
	case benchPut:
		for _, obj := range objs {
			Put(obj)
		}
	case benchCycle:
		for range objs {
			obj := Alloc(&benchClass)
			if obj == 0 {
				return 0
			}
			Activate(obj)
			Put(obj)
		}
	}
	return uintptr(a.n)
}
