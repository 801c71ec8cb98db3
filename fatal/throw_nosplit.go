package fatal

// Throw runs wherever an invariant breaks, trap context included:
// nosplit, no allocation.

import "sync/atomic"

// Handler reports a throw: msg, and pc, the address Throw was called
// from. It must be nosplit and must not return.
type Handler func(msg string, pc uintptr)

// handler is the installed Handler: hostPanic until the kernel installs
// its own during early boot (single-threaded, before any throw can run).
var handler Handler = hostPanic

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
	handler(msg, pc)
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
