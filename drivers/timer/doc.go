// Package timer owns the kernel's sense of time: the 8254 PIT, which
// drives the scheduler tick (IRQ 0) and serves as the reference against
// which the TSC is calibrated, and the TSC-based monotonic clock.
//
// Invariants:
//   - monotonic: Nanotime never decreases (one CPU; the TSC is monotonic
//     on a CPU).
//
// Everything runs below the Go runtime (clock_gettime, the tick, early
// boot): nosplit, no allocation.
package timer
