package qemu_test

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// clockLine is user/clocktest's bench result.
var clockLine = regexp.MustCompile(`clocktest: time.Now (\d+) ns, getpid (\d+) ns`)

// clockCosts parses clocktest's bench line out of out.
func clockCosts(tb testing.TB, what, out string) (now, getpid float64) {
	tb.Helper()
	m := clockLine.FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("%s: no clocktest result in:\n%s", what, out)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	g, _ := strconv.ParseFloat(m[2], 64)
	return n, g
}

// BenchmarkClock runs user/clocktest's bench (time.Now through the vDSO,
// and a getpid system call, each the mean of many) at -smp 2, three
// boots, and reports the medians; with $GOFLY_LINUX_KERNEL and
// $GOFLY_LINUX_CLOCK (make bench) it boots Linux on the same program
// (clocktest as /init) in turn with Gofly, side by side.
func BenchmarkClock(b *testing.B) {
	ct := userProgram(b, "GOFLY_USER_CLOCKTEST", "clocktest")
	kern, initrd := os.Getenv("GOFLY_LINUX_KERNEL"), os.Getenv("GOFLY_LINUX_CLOCK")
	var gofly, linux [][]float64 // per boot: time.Now, getpid, in ns
	for range 3 {
		m := Boot(b, Options{SMP: 2, Mem: "256M", QEMUArgs: []string{"-initrd", ct}})
		n, g := clockCosts(b, "Gofly", m.Run(b, "run clocktest bench"))
		gofly = append(gofly, []float64{n, g})
		m.Poweroff(b)
		if kern != "" && initrd != "" {
			n, g := clockCosts(b, "Linux", linuxInit(b, kern, "GOFLY_LINUX_CLOCK", initrd))
			linux = append(linux, []float64{n, g})
		}
	}
	med := medianOf
	b.Logf("Gofly [time.Now getpid] ns per boot: %v", gofly)
	b.ReportMetric(med(gofly, 0), "now-ns")
	b.ReportMetric(med(gofly, 1), "getpid-ns")
	if kern != "" && initrd != "" {
		b.Logf("Linux [time.Now getpid] ns per boot: %v", linux)
		b.ReportMetric(med(linux, 0), "linux-now-ns")
		b.ReportMetric(med(linux, 1), "linux-getpid-ns")
		b.ReportMetric(med(gofly, 0)/med(linux, 0), "gofly/linux-now")
		b.ReportMetric(med(gofly, 1)/med(linux, 1), "gofly/linux-getpid")
	}
}
