// Package timer owns the kernel's sense of time: the TSC-based monotonic
// clock, calibrated at boot against the 8254 PIT (channel 2, whose count
// is sampled between TSC reads and fitted by least squares until the
// rate's standard error is within 50 ppm, about a millisecond), and the
// count of scheduler ticks (which the local APIC timer raises).
//
// Invariants:
//   - tsc-accurate: the calibrated TSC rate is within 0.05% of the PIT's
//     (checked by the kernel's self-test, which times the TSC against the
//     PIT again over 20 ms).
//   - monotonic: Nanotime never decreases on a CPU (the TSC is monotonic
//     there). Across CPUs it relies on the TSCs running in step, which
//     QEMU's and every invariant-TSC CPU's do; the APs do not re-measure.
//
// Locking: tscHz and tickHz are written once by the boot CPU before the
// others start; ticks is written only by CPU 0's timer interrupt. The
// calibration's samples are used by one CPU at a time: the boot CPU at
// boot, then MeasureTSC's caller, in trap context under the MP lock.
//
// Everything runs below the Go runtime (clock_gettime, the tick, early
// boot): nosplit, no allocation.
package timer
