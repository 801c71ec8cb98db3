package objcache

// The depot's and the slab's spinlocks, and the calls through funcvals held
// as integers. Everything here runs in trap context (no g, interrupts off,
// this CPU's trap stack): nosplit, no allocation, no Go pointer stores.

import (
	"sync/atomic"
	"unsafe"

	"gofly/mm"
)

// spinlock is a test-and-test-and-set lock: one CAS to take it, plain
// loads while it is held by another CPU. Its holder is always inside a
// critical section (the trap path), so it is never preempted while
// holding it, and holds it only across a few list operations.
type spinlock struct {
	v atomic.Uint32 // 1 while held
}

// lock takes l, and reports whether it had to wait (contention).
//
//go:nosplit
func (l *spinlock) lock() (contested bool) {
	for !l.v.CompareAndSwap(0, 1) {
		contested = true
		for l.v.Load() != 0 {
			spinWait()
		}
	}
	return contested
}

// unlock releases l.
//
//go:nosplit
func (l *spinlock) unlock() { l.v.Store(0) }

// yieldFn is the funcval of a function called on each turn of a spin: 0
// in the kernel (the holder runs on another CPU with interrupts off and
// finishes soon); host tests set it to runtime.Gosched, because there a
// holder is a goroutine the Go scheduler may have descheduled.
var yieldFn uintptr

//go:nosplit
func spinWait() {
	if f := yieldFn; f != 0 {
		(*(*func())(unsafe.Pointer(&f)))()
	}
}

// funcval returns the funcval address of f, which must be a top-level
// function: a closure's funcval lives on the heap, and the cache holds it
// as an integer the collector does not see. Called only above the runtime
// (Init); kept here beside its inverse calls.
//
//go:nosplit
func funcval[F any](f F) uintptr { return *(*uintptr)(unsafe.Pointer(&f)) }

// callCtor runs the constructor held as funcval fv on obj.
//
//go:nosplit
func callCtor(fv, obj uintptr) bool {
	return (*(*func(uintptr) bool)(unsafe.Pointer(&fv)))(obj)
}

// callDtor runs the destructor (or page free) held as funcval fv on obj.
//
//go:nosplit
func callFree(fv, obj uintptr) {
	(*(*func(uintptr))(unsafe.Pointer(&fv)))(obj)
}

// callAlloc runs the page allocator held as funcval fv.
//
//go:nosplit
func callAlloc(fv uintptr) uintptr {
	return (*(*func() uintptr)(unsafe.Pointer(&fv)))()
}

// ptr turns a memory address into a pointer, through mm's one audited
// conversion.
//
//go:nosplit
func ptr(a uintptr) unsafe.Pointer { return mm.Ptr(uint64(a)) }
