// Package timer owns the kernel's sense of time: the TSC-based monotonic
// clock, calibrated at boot against the 8254 PIT (channel 2, polled), and
// the count of scheduler ticks (which the local APIC timer raises).
//
// Invariants:
//   - monotonic: Nanotime never decreases (one CPU; the TSC is monotonic
//     on a CPU).
//
// Everything runs below the Go runtime (clock_gettime, the tick, early
// boot): nosplit, no allocation.
package timer
