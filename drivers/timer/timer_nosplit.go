package timer

// Clock code serves system calls and the tick in trap context: nosplit.

import (
	"math"
	"math/bits"

	"gofly/arch/amd64"
)

// PITHz is the 8254's input clock.
const PITHz = 1193182

// Ports of the 8254 and the system control port B.
const (
	pitCh2 = 0x42
	pitCmd = 0x43
	portB  = 0x61
)

var (
	tscHz  uint64
	tsc0   uint64
	mult   uint64 // nanoseconds per TSC cycle, as a 32.32 fixed-point number
	tickHz uint64
	ticks  uint64
)

// Calibration: the TSC is timed against PIT channel 2, counting down
// from 0xFFFF, whose count is sampled with the counter-latch command. Each
// sample is bracketed by two TSC reads; the latch happened somewhere in
// between, so a sample whose bracket is wide (the vCPU was descheduled, or
// the port access waited for the emulator's lock) is dropped, and the rate
// is the least-squares slope of TSC cycles against PIT counts over the
// rest. Unlike timing one countdown, whose end is seen only at the next
// poll (and late by however long the poll was held up: the old 5 ms
// countdown read up to 2.4% fast under TCG), the fit averages away both
// the polling latency and the PIT's 838 ns granularity. CalibrateTSC stops
// as soon as the slope's standard error is within calTargetPPM, a tenth of
// the 0.05% the clock must keep: about a millisecond under QEMU.
const (
	pitLatchCh2  = 0x80              // counter latch command, channel 2
	calMinCounts = PITHz / 2000      // sample at least 0.5 ms
	calMaxCounts = PITHz * 25 / 1000 // and at most 25 ms (the countdown lasts 55)
	calTargetPPM = 50                // standard error to stop at
	calCheckGrow = 5                 // fit again once the span grew by a fifth
	calWarmup    = 8                 // first samples, slowed by code translation
	calMinFit    = 16                // samples a fit needs
	calMaxReads  = 1 << 22           // a PIT that never counts ends the wait
)

// calSample is one bracketed reading of channel 2.
type calSample struct {
	tsc   uint64 // first TSC read of the bracket, from the first sample's
	width uint64 // TSC cycles between the bracket's two reads
	count uint64 // PIT counts elapsed since the first sample
}

var (
	// The samples of the calibration under way. Static: the boot stack is
	// small. Used at boot and by MeasureTSC, both alone on the machine
	// (early boot; a trap-context self-test, under the MP lock).
	calSamples [512]calSample
	calN       int

	// What the boot calibration measured, for CalibrationError.
	calibNs  uint64
	calibPPM uint64
	calibN   int
)

// readCh2 latches PIT channel 2 between two TSC reads and returns the
// first TSC, the bracket width and the latched count.
//
//go:nosplit
func readCh2() (tsc, width uint64, count uint16) {
	a := amd64.Rdtsc()
	amd64.Outb(pitCmd, pitLatchCh2)
	b := amd64.Rdtsc()
	lo := amd64.Inb(pitCh2)
	hi := amd64.Inb(pitCh2)
	return a, b - a, uint16(hi)<<8 | uint16(lo)
}

// CalibrateTSC measures the TSC rate against PIT channel 2 (polling,
// interrupts not needed) and starts the monotonic clock at zero.
//
//go:nosplit
func CalibrateTSC() {
	hz, ppm, n, start, counts := sampleTSC(calMinCounts, calMaxCounts, calTargetPPM)
	if hz == 0 {
		hz = 1
	}
	tscHz = hz
	mult = (1_000_000_000 << 32) / tscHz
	tsc0 = start
	calibPPM, calibNs, calibN = ppm, counts*1_000_000_000/PITHz, n
}

// MeasureTSC times the TSC against the PIT again, for ms milliseconds,
// and returns the rate it measured and that rate's standard error in
// parts per million; the clock is left as it is. The caller has the
// machine to itself (interrupts off, other CPUs held off): the self-test
// that checks the calibration's accuracy runs it.
//
//go:nosplit
func MeasureTSC(ms uint64) (hz, ppm uint64) {
	counts := min(PITHz*ms/1000, calMaxCounts)
	hz, ppm, _, _, _ = sampleTSC(counts, counts, 0)
	return hz, ppm
}

// sampleTSC starts channel 2 counting down from 0xFFFF and samples it for
// between minCounts and maxCounts PIT counts, stopping early once the fit's
// standard error is within targetPPM. It returns the rate, its standard
// error, the samples fitted, the TSC of the first sample and the counts
// sampled.
//
//go:nosplit
func sampleTSC(minCounts, maxCounts, targetPPM uint64) (hz, ppm uint64, n int, start, counts uint64) {
	// Gate channel 2 on, speaker off; mode 0 from 0xFFFF: a free countdown
	// longer than the longest calibration.
	amd64.Outb(portB, amd64.Inb(portB)&^0x02|0x01)
	amd64.Outb(pitCmd, 0xB0) // channel 2, lobyte/hibyte, mode 0, binary
	amd64.Outb(pitCh2, 0xFF)
	amd64.Outb(pitCh2, 0xFF)

	calN = 0
	stride := 1 // every stride-th reading is kept
	var first uint16
	nextFit := minCounts
	ppm = ^uint64(0)
	for i := 0; ; i++ {
		tsc, width, c := readCh2()
		if i == 0 {
			first, start = c, tsc
		}
		counts = uint64(first - c)
		if i >= calWarmup && i%stride == 0 {
			if calN == len(calSamples) { // full: keep every other one
				for j := 0; j < len(calSamples)/2; j++ {
					calSamples[j] = calSamples[2*j]
				}
				calN = len(calSamples) / 2
				stride *= 2
			}
			calSamples[calN] = calSample{tsc - start, width, counts}
			calN++
		}
		if counts >= nextFit || counts >= maxCounts || i == calMaxReads {
			hz, ppm, n = fitRate(calSamples[:calN])
			if ppm <= targetPPM || counts >= maxCounts || i == calMaxReads {
				return hz, ppm, n, start, counts
			}
			nextFit = counts + counts/calCheckGrow
		}
	}
}

// fitRate fits TSC cycles against PIT counts over the samples whose
// bracket is at most twice the narrowest, and returns the TSC rate, the
// slope's standard error in parts per million and the samples used; 0 and
// ^0 when too few samples fit.
//
//go:nosplit
func fitRate(samples []calSample) (hz, ppm uint64, used int) {
	minW := ^uint64(0)
	for i := range samples {
		minW = min(minW, samples[i].width)
	}
	limit := 2*minW + 1
	// Two passes, the second about the means, keep the sums small enough
	// for float64 to hold exactly what matters.
	var n, sx, sy float64
	for i := range samples {
		if s := &samples[i]; s.width <= limit {
			n++
			sx += float64(s.count)
			sy += float64(s.tsc) + float64(s.width)/2 // the bracket's middle
		}
	}
	if n < calMinFit {
		return 0, ^uint64(0), int(n)
	}
	mx, my := sx/n, sy/n
	var sxx, sxy, syy float64
	for i := range samples {
		if s := &samples[i]; s.width <= limit {
			dx := float64(s.count) - mx
			dy := float64(s.tsc) + float64(s.width)/2 - my
			sxx += dx * dx
			sxy += dx * dy
			syy += dy * dy
		}
	}
	if sxx <= 0 || sxy <= 0 {
		return 0, ^uint64(0), int(n)
	}
	slope := sxy / sxx // TSC cycles per PIT count
	res := max(syy-slope*sxy, 0)
	se := math.Sqrt(res / (n - 2) / sxx) // SQRTSD, not a call
	return uint64(slope*PITHz + 0.5), uint64(se/slope*1e6 + 0.5), int(n)
}

// CalibrationError returns the standard error of the boot calibration's
// TSC rate in parts per million, how long it sampled (ns), and how many
// samples its fit used.
//
//go:nosplit
func CalibrationError() (ppm, ns uint64, samples int) { return calibPPM, calibNs, calibN }

// SetTickRate records the rate of the scheduler tick (the local APIC
// timer), for TickHz.
//
//go:nosplit
func SetTickRate(hz uint64) { tickHz = hz }

// Tick counts one timer interrupt.
//
//go:nosplit
func Tick() { ticks++ }

// Ticks returns the number of timer interrupts so far.
//
//go:nosplit
func Ticks() uint64 { return ticks }

// TickHz returns the tick rate.
//
//go:nosplit
func TickHz() uint64 { return tickHz }

// TSCHz returns the calibrated TSC frequency.
//
//go:nosplit
func TSCHz() uint64 { return tscHz }

// Clock returns what Nanotime computes from: the TSC at calibration and
// the 32.32 nanoseconds per cycle (a process's vDSO reads the same clock).
//
//go:nosplit
func Clock() (start, nsPerCycle uint64) { return tsc0, mult }

// Nanotime returns nanoseconds since calibration.
//
//go:nosplit
func Nanotime() int64 {
	return int64(CyclesToNs(amd64.Rdtsc() - tsc0))
}

// CyclesToNs converts a TSC interval to nanoseconds.
//
//go:nosplit
func CyclesToNs(c uint64) uint64 {
	hi, lo := bits.Mul64(c, mult)
	return hi<<32 | lo>>32
}

// NsToCycles converts nanoseconds to a TSC interval, CyclesToNs's
// inverse (rounded down; the largest interval when it does not fit).
//
//go:nosplit
func NsToCycles(ns uint64) uint64 {
	if ns>>32 >= mult {
		return ^uint64(0)
	}
	q, _ := bits.Div64(ns>>32, ns<<32, mult)
	return q
}
