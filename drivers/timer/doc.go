// Package timer owns the kernel's sense of time: the TSC-based monotonic
// clock, calibrated at boot against the 8254 PIT (channel 2, polled), and
// the count of scheduler ticks (which the local APIC timer raises).
//
// Invariants:
//   - monotonic: Nanotime never decreases on a CPU (the TSC is monotonic
//     there). Across CPUs it relies on the TSCs running in step, which
//     QEMU's and every invariant-TSC CPU's do; the APs do not re-measure.
//
// Locking: tscHz and tickHz are written once by the boot CPU before the
// others start; ticks is written only by CPU 0's timer interrupt.
//
// Everything runs below the Go runtime (clock_gettime, the tick, early
// boot): nosplit, no allocation.
package timer
