package vm

// The PV self-test's operations, each one lwkt.TrapCall body (below the
// runtime, MP lock held) on a test map in the Go heap, which the caller
// keeps alive and which each body touches first; the memory calls try a
// lwkt.TrapCallLocal body first (testMemLocal), as a process's do.

import (
	"unsafe"

	"gofly/arch/amd64"
	"gofly/mm"
)

// Test operations (testArgs.op).
const (
	testNew = iota
	testMmap
	testMunmap
	testMadvise
	testFault
	testCheck
	testDestroy
	testCheckAll
	testFork       // fork m into child (a fresh map)
	testFill       // fault in n bytes of pages from addr
	testTearShort  // Destroy by the PV shortcut; ret: TSC cycles
	testTearByPage // Munmap [addr, addr+n) page by page, then Destroy; ret: cycles
	testMprotect
	testFaultFresh // FaultFresh, and Fault under the MP lock when it hands on
)

// testArgs is one operation on m; ret is its result.
type testArgs struct {
	m, child    *Map
	op          int
	addr, n     uintptr
	prot, flags int
	write       bool
	ret         int64
}

// testMemLocal runs a memory-call operation (mmap, munmap, madvise,
// mprotect) under its map's lock alone, without the MP lock, if Alone
// allows it; 0, having done nothing, if not, or if the Go memory it was
// handed is not present (the caller then runs testOp).
//
//go:nosplit
func testMemLocal(arg uintptr) uintptr {
	if !Kernel.Present(arg, unsafe.Sizeof(testArgs{}), true) {
		return 0
	}
	a := (*testArgs)(mm.Ptr(uint64(arg)))
	if !Kernel.Present(uintptr(unsafe.Pointer(a.m)), unsafe.Sizeof(Map{}), true) || !a.lockAlone() {
		return 0
	}
	m := a.m
	a.memCall(m)
	m.Unlock()
	return 1
}

// memCall runs a's memory call (mmap, munmap, madvise, mprotect) in m,
// whose lock the caller holds.
//
//go:nosplit
func (a *testArgs) memCall(m *Map) {
	switch a.op {
	case testMmap:
		a.ret = m.Mmap(a.addr, a.n, a.prot, a.flags)
	case testMunmap:
		a.ret = m.Munmap(a.addr, a.n)
	case testMadvise:
		a.ret = m.Madvise(a.addr, a.n, a.flags) // flags: the advice
	case testMprotect:
		a.ret = m.Mprotect(a.addr, a.n, a.prot)
	}
}

// testMem runs a memory-call operation under the MP lock and its map's
// lock: a root of its own, as the chains below mmap are as deep as
// nosplit allows.
//
//go:nosplit
func testMem(arg uintptr) uintptr {
	if !Kernel.Touch(arg, unsafe.Sizeof(testArgs{}), true) {
		return 0
	}
	a := (*testArgs)(mm.Ptr(uint64(arg)))
	if !Kernel.Touch(uintptr(unsafe.Pointer(a.m)), unsafe.Sizeof(Map{}), true) {
		return 0
	}
	m := a.m
	m.Lock()
	a.memCall(m)
	m.Unlock()
	return 1
}

// lockAlone takes a's map's lock and keeps it if a may run under it
// alone (Alone).
//
//go:nosplit
func (a *testArgs) lockAlone() bool {
	frees := a.op == testMunmap || a.op == testMadvise && a.flags == MadvDontNeed ||
		a.op == testMmap && a.flags&MapFixed != 0
	a.m.Lock()
	if a.m.Alone(a.addr, a.n, frees, a.op == testMmap && a.flags&MapShared != 0) {
		return true
	}
	a.m.Unlock()
	return false
}

// testOp runs one operation of the PV self-test. One function, not a
// caller of one per case: the deepest nosplit chains (a map edit down to
// a PV list's throw) leave no room for another frame.
//
//go:nosplit
func testOp(arg uintptr) uintptr {
	if !Kernel.Touch(arg, unsafe.Sizeof(testArgs{}), true) {
		return 0
	}
	a := (*testArgs)(mm.Ptr(uint64(arg)))
	if a.op == testCheckAll {
		a.ret = int64(CheckAllPV())
		return 1
	}
	if !Kernel.Touch(uintptr(unsafe.Pointer(a.m)), unsafe.Sizeof(Map{}), true) {
		return 0
	}
	m := a.m
	if a.op == testFaultFresh { // takes the map's lock itself
		r := m.FaultFresh(a.addr, a.write, false)
		if r == FaultSlow {
			Refill()
			m.Lock()
			if m.Fault(a.addr, a.write, false) {
				r = FaultServed
			}
			m.Unlock()
		}
		if r == FaultServed {
			a.ret = 1
		}
		return 1
	}
	ok := uintptr(1)
	if a.op == testNew {
		root := mm.Phys.Alloc()
		if root == 0 {
			return 0
		}
		m.Pmap.InitUser(root, &Kernel.Pmap)
		m.Init(pageSize)
		return 1
	}
	m.Lock()
	switch a.op {
	case testFault:
		if m.Fault(a.addr, a.write, false) {
			a.ret = 1
		}
	case testCheck:
		m.CheckPV()
	case testDestroy:
		m.Destroy()
	case testFork:
		ok = 0
		if !Kernel.Touch(uintptr(unsafe.Pointer(a.child)), unsafe.Sizeof(Map{}), true) {
			break
		}
		root := mm.Phys.Alloc()
		if root == 0 {
			break
		}
		a.child.Pmap.InitUser(root, &Kernel.Pmap)
		a.child.Init(pageSize)
		a.child.Lock()
		if m.Fork(a.child) {
			ok = 1
		} else {
			a.child.Destroy()
		}
		a.child.Unlock()
	case testFill:
		for va := a.addr; va < a.addr+a.n; va += pageSize {
			if !m.Fault(va, true, false) {
				ok = 0
				break
			}
		}
	case testTearShort:
		t0 := amd64.Rdtsc()
		m.Destroy()
		a.ret = int64(amd64.Rdtsc() - t0)
	case testTearByPage:
		t0 := amd64.Rdtsc()
		m.Munmap(a.addr, a.n)
		m.Destroy()
		a.ret = int64(amd64.Rdtsc() - t0)
	}
	m.Unlock()
	return ok
}
