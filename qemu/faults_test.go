package qemu_test

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// faultbenchLine is user/faultbench's result.
var faultbenchLine = regexp.MustCompile(`faultbench: one process (\d+) faults/s, two at once (\d+) faults/s, two / one ([\d.]+) x`)

// faultRates parses faultbench's line out of out.
func faultRates(t testing.TB, what, out string) (one, two, ratio float64) {
	t.Helper()
	m := faultbenchLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: no faultbench result in:\n%s", what, out)
	}
	one, _ = strconv.ParseFloat(m[1], 64)
	two, _ = strconv.ParseFloat(m[2], 64)
	ratio, _ = strconv.ParseFloat(m[3], 64)
	return one, two, ratio
}

// BenchmarkFaults runs user/faultbench (the probe's 2048 demand-zero
// faults in one process, then in two at once) at -smp 2, three boots,
// and reports the median faults per second and ratio; with
// $GOFLY_LINUX_KERNEL and $GOFLY_LINUX_FAULTS (make bench) it boots Linux
// on the same programs in turn with Gofly (faultbench as /init, huge
// pages off), side by side. Under TCG, QEMU delivers every exception
// holding its global lock, which bounds the ratio for both kernels.
func BenchmarkFaults(b *testing.B) {
	probe := userProgram(b, "GOFLY_USER_PROBE", "probe")
	fb := userProgram(b, "GOFLY_USER_FAULTBENCH", "faultbench")
	kern, initrd := os.Getenv("GOFLY_LINUX_KERNEL"), os.Getenv("GOFLY_LINUX_FAULTS")
	var gofly, linux [][]float64 // per boot: one, two, ratio
	for range 3 {
		m := Boot(b, Options{SMP: 2, Mem: "256M", QEMUArgs: []string{"-initrd", probe + "," + fb}})
		o, t, r := faultRates(b, "Gofly", m.Run(b, "run faultbench"))
		gofly = append(gofly, []float64{o, t, r})
		m.Poweroff(b)
		if kern != "" && initrd != "" {
			o, t, r := faultRates(b, "Linux", linuxInit(b, kern, "GOFLY_LINUX_FAULTS", initrd))
			linux = append(linux, []float64{o, t, r})
		}
	}
	med := medianOf
	b.Logf("Gofly [one two ratio] per boot: %v", gofly)
	b.ReportMetric(med(gofly, 0), "one-faults/s")
	b.ReportMetric(med(gofly, 1), "two-faults/s")
	b.ReportMetric(med(gofly, 2), "two/one")
	if kern != "" && initrd != "" {
		b.Logf("Linux [one two ratio] per boot: %v", linux)
		b.ReportMetric(med(linux, 0), "linux-one-faults/s")
		b.ReportMetric(med(linux, 1), "linux-two-faults/s")
		b.ReportMetric(med(linux, 2), "linux-two/one")
		b.ReportMetric(med(gofly, 0)/med(linux, 0), "gofly/linux-one")
	}
}

// medianOf returns the median of column k of rows (one per boot).
func medianOf(rows [][]float64, k int) float64 {
	x := make([]float64, 0, len(rows))
	for _, r := range rows {
		x = append(x, r[k])
	}
	slices.Sort(x)
	return x[len(x)/2]
}

// linuxInit boots the Linux kernel kern (from $GOFLY_LINUX_KERNEL) at
// -smp 2 with 256 MiB on the initramfs initrd (from $env), whose /init
// runs a benchmark and ends, and returns the console's output.
func linuxInit(b *testing.B, kern, env, initrd string) string {
	b.Helper()
	lm := Boot(b, Options{Image: ImageFromEnv(b, "GOFLY_LINUX_KERNEL", kern), SMP: 2, Mem: "256M", NoPrompt: true,
		QEMUArgs: []string{"-initrd", ImageFromEnv(b, env, initrd)},
		Append:   "console=ttyS0 quiet panic=-1"})
	out := lm.ExpectExit(b)
	_ = lm.Wait() // Linux ends in a panic (init exited): its status says nothing
	return out
}
