package timer

import (
	"math"
	"math/rand"
	"testing"
)

// synth makes n calibration samples of a TSC running at hz against the
// PIT, one every step TSC cycles: each latch happens at a uniformly random
// point of a bracket width wide, the count is the PIT's whole count at
// that instant, and every outlierEvery-th sample has a bracket a hundred
// times wider (the vCPU was descheduled mid-sample) whose latch is late.
func synth(r *rand.Rand, hz float64, n int, step, width uint64, outlierEvery int) []calSample {
	var s []calSample
	cyclesPerCount := hz / PITHz
	offset := r.Float64() * cyclesPerCount // where in a PIT count sampling starts
	for i := 0; i < n; i++ {
		w := width + uint64(r.Intn(int(width)/4+1))
		if outlierEvery > 0 && i%outlierEvery == outlierEvery-1 {
			w = width * 100
		}
		tsc := uint64(i) * step
		latch := float64(tsc) + r.Float64()*float64(w)
		if w > width*10 {
			latch = float64(tsc + w) // latched at the very end
		}
		s = append(s, calSample{tsc: tsc, width: w, count: uint64((latch + offset) / cyclesPerCount)})
	}
	return s
}

// The fit's rate is within a few standard errors of the truth, and the
// standard error it reports is an honest one: over many trials the errors'
// spread matches it.
func TestFitRateRecoversRate(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, hz := range []float64{1e9, 2_599_998_000, 3.7e9} {
		const trials = 200
		var sumZ2 float64
		for trial := 0; trial < trials; trial++ {
			// About a millisecond: 400 samples 2.5 µs apart, 1 µs brackets.
			s := synth(r, hz, 400, uint64(hz*2.5e-6), uint64(hz*1e-6), 0)
			got, ppm, used := fitRate(s)
			if used != len(s) {
				t.Fatalf("hz %v: fit used %d of %d samples, all of them equally narrow", hz, used, len(s))
			}
			if ppm == 0 || ppm > 100 {
				t.Fatalf("hz %v: standard error %d ppm, want a small non-zero figure", hz, ppm)
			}
			errPPM := (float64(got) - hz) / hz * 1e6
			if errPPM > 5*float64(ppm) || errPPM < -5*float64(ppm) {
				t.Errorf("hz %v: fit %d Hz, %.1f ppm off, beyond five standard errors (%d ppm)", hz, got, errPPM, ppm)
			}
			sumZ2 += errPPM * errPPM / float64(ppm*ppm)
		}
		if rms := math.Sqrt(sumZ2 / trials); rms < 0.5 || rms > 2 {
			t.Errorf("hz %v: errors are %.2f standard errors (RMS): the standard error is not an honest estimate", hz, rms)
		}
	}
}

func TestFitRateDropsWideBrackets(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	hz := 2_599_998_000.0
	s := synth(r, hz, 400, uint64(hz*2.5e-6), uint64(hz*1e-6), 7)
	got, _, used := fitRate(s)
	if want := len(s) - len(s)/7; used != want {
		t.Errorf("fit used %d samples, want the %d narrow ones", used, want)
	}
	if errPPM := (float64(got) - hz) / hz * 1e6; errPPM > 150 || errPPM < -150 {
		t.Errorf("fit %d Hz, %.1f ppm off despite the outliers", got, errPPM)
	}
}

func TestFitRateTooFewSamples(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	s := synth(r, 2e9, calMinFit-1, 5000, 2000, 0)
	if hz, ppm, _ := fitRate(s); hz != 0 || ppm != ^uint64(0) {
		t.Errorf("fitRate on %d samples = %d Hz ± %d ppm, want 0 and ^0", len(s), hz, ppm)
	}
}

func TestCyclesToNs(t *testing.T) {
	tscHz = 2_600_000_000
	mult = (1_000_000_000 << 32) / tscHz
	if got := CyclesToNs(2_600_000_000); got < 999_999_999 || got > 1_000_000_001 {
		t.Errorf("CyclesToNs(one second of cycles) = %d", got)
	}
}

func TestNsToCycles(t *testing.T) {
	tscHz = 2_600_000_000
	mult = (1_000_000_000 << 32) / tscHz
	for _, ns := range []uint64{0, 1, 999, 10_000_000, 1_000_000_000, 3600 * 1_000_000_000} {
		c := NsToCycles(ns)
		// Back to nanoseconds: at most ns, and short of it by no more
		// than a cycle and the conversions' rounding.
		if got := CyclesToNs(c); got > ns || ns-got > 2 {
			t.Errorf("NsToCycles(%d) = %d, which converts back to %d", ns, c, got)
		}
	}
	if got := NsToCycles(^uint64(0)); got != ^uint64(0) {
		t.Errorf("NsToCycles(max) = %d, want the largest interval", got)
	}
}
