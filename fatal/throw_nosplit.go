package fatal

// Throw runs wherever an invariant breaks, trap context included:
// nosplit, no allocation.

import (
	"sync/atomic"
	"unsafe"
)

// Handler reports a throw: msg, and pc, the address Throw was called
// from. It must be nosplit and must not return.
type Handler func(msg string, pc uintptr)

// handler is the installed Handler's funcval address, held as a uintptr
// so that installing it below the runtime stores no Go pointer; 0 until
// the kernel installs its own during early boot, and on the host, where
// hostPanic serves.
var handler uintptr

// SetHandler installs h, a top-level function (not a closure). The kernel
// calls it once, first thing in early boot.
//
//go:nosplit
func SetHandler(h Handler) { handler = *(*uintptr)(unsafe.Pointer(&h)) }

// throwing is set by the first Throw (one-throw).
var throwing atomic.Bool

// Throw reports a broken invariant and stops the machine. It never
// returns.
//
//go:nosplit
func Throw(msg string) {
	pc := callerPC()
	if !throwing.CompareAndSwap(false, true) {
		for { // another CPU is reporting: wait for its NMI
			spin()
		}
	}
	if handler == 0 {
		onHost(msg, pc)
	}
	h := handler
	(*(*Handler)(unsafe.Pointer(&h)))(msg, pc)
	for {
		spin()
	}
}

// Assert throws msg unless ok.
//
//go:nosplit
func Assert(ok bool, msg string) {
	if !ok {
		Throw(msg)
	}
}

// Throwing reports whether a throw is being reported; the NMI handler
// then stops its CPU.
//
//go:nosplit
func Throwing() bool { return throwing.Load() }
