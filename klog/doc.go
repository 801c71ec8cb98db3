// Package klog is the kernel log: a fixed ring of text (what `dmesg`
// shows) whose lines are also written to the serial console.
//
// Invariants:
//   - ring-order: Ring returns the most recent RingSize bytes in the order
//     they were logged; older text is overwritten, and Lost says how much.
//
// Every function is nosplit and allocation-free so that trap handlers and
// early boot can log. Each call disables interrupts for its own duration,
// so a message from an interrupt handler cannot split another byte-wise.
package klog
