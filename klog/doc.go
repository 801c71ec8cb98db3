// Package klog is the kernel log: a fixed ring of text (what `dmesg`
// shows) whose lines are also written to the serial console.
//
// Invariants:
//   - ring-order: Ring returns the most recent RingSize bytes in the order
//     they were logged; older text is overwritten, and Lost says how much.
//
// Every function is nosplit and allocation-free so that trap handlers and
// early boot can log. Each call disables interrupts and takes a spinlock
// for its own duration, so neither an interrupt handler nor another CPU
// can split a piece of a message byte-wise; a message written in several
// pieces from code that may run on two CPUs at once is kept whole with
// Begin/End.
package klog
