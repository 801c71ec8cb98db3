package qemu_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"gofly/drivers/power"
)

// Go's own tests, unmodified, booted as the kernel (internal/gotest; the
// Makefile builds the image and passes it in $GOFLY_IMAGE_ATOMIC).

// atomicCase is the sync/atomic case that found Go's threads stuck on CPU
// 0 (issue 8): 100 goroutines taking turns with runtime.Gosched at
// GOMAXPROCS=2. Linux 6.1 in the same QEMU takes 1.0–1.1 s.
const atomicCase = "test.run=TestNilDeref|TestValueCompareAndSwapConcurrent test.v=true test.short=true"

var casPass = regexp.MustCompile(`--- PASS: TestValueCompareAndSwapConcurrent \(([0-9.]+)s\)`)

// atomicImage returns the sync/atomic test kernel; without one it fails
// under CI and skips elsewhere.
func atomicImage(t testing.TB) string {
	val := os.Getenv("GOFLY_IMAGE_ATOMIC")
	if val == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GOFLY_IMAGE_ATOMIC is not set and CI is: the Makefile must build Go's sync/atomic tests as a kernel")
		}
		t.Skip("GOFLY_IMAGE_ATOMIC is not set")
	}
	RequireQEMU(t)
	return ImageFromEnv(t, "GOFLY_IMAGE_ATOMIC", val)
}

// runAtomic boots the sync/atomic tests with args at smp CPUs and returns
// how long TestValueCompareAndSwapConcurrent said it took.
func runAtomic(t testing.TB, smp int, args string) time.Duration {
	t.Helper()
	m := Boot(t, Options{Image: atomicImage(t), SMP: smp, Append: args, NoPrompt: true})
	out := m.ExpectExit(t)
	if err := m.Wait(); err != nil {
		t.Fatalf("sync/atomic tests at -smp %d: QEMU exit %v (status %d; %d means a test failed); output:\n%s",
			smp, err, ExitStatus(err), power.Status(power.CodeExit), out)
	}
	return casDuration(t, fmt.Sprintf("sync/atomic tests at -smp %d", smp), out)
}

// casDuration returns the time TestValueCompareAndSwapConcurrent reported
// in out, and fails t when it did not pass.
func casDuration(t testing.TB, what, out string) time.Duration {
	t.Helper()
	r := casPass.FindStringSubmatch(out)
	if r == nil {
		t.Fatalf("%s: no PASS line for TestValueCompareAndSwapConcurrent:\n%s", what, out)
	}
	s, err := strconv.ParseFloat(r[1], 64)
	if err != nil {
		t.Fatalf("%s: bad duration %q: %v", what, r[1], err)
	}
	return time.Duration(s * float64(time.Second))
}

// TestGoSyncAtomic runs Go's sync/atomic tests, unmodified, as the kernel
// at -smp 1 and 2: every test passes (the whole package at -test.short;
// the CAS case again, the one that found the threads piling on CPU 0).
func TestGoSyncAtomic(t *testing.T) {
	for _, smp := range []int{1, 2} {
		t.Run(fmt.Sprintf("smp-%d", smp), func(t *testing.T) {
			m := Boot(t, Options{Image: atomicImage(t), SMP: smp, Append: "test.short=true", NoPrompt: true})
			out := m.ExpectExit(t)
			if err := m.Wait(); err != nil {
				t.Fatalf("sync/atomic tests: QEMU exit %v (status %d); output:\n%s", err, ExitStatus(err), out)
			}
			wantContains(t, "sync/atomic tests", out, "PASS\n", "gofly: program exited with status 0")
			d := runAtomic(t, smp, atomicCase)
			t.Logf("-smp %d: TestValueCompareAndSwapConcurrent took %v", smp, d)
		})
	}
}

// BenchmarkSyncAtomic boots the CAS case five times at -smp 2 and reports
// its median and worst time, as the test itself measured it; with
// $GOFLY_LINUX_KERNEL and $GOFLY_LINUX_ATOMIC (make bench) it boots Linux
// on the same test binary in turn with Gofly, and reports Linux's median
// and Gofly's median over it. (Gofly before the balancer: about 10 s in
// half the boots.)
func BenchmarkSyncAtomic(b *testing.B) {
	kern, initrd := os.Getenv("GOFLY_LINUX_KERNEL"), os.Getenv("GOFLY_LINUX_ATOMIC")
	var gofly, linux []time.Duration
	for range 5 {
		gofly = append(gofly, runAtomic(b, 2, atomicCase))
		if kern != "" && initrd != "" {
			linux = append(linux, runLinuxAtomic(b, kern, initrd))
		}
	}
	slices.Sort(gofly)
	b.Logf("TestValueCompareAndSwapConcurrent at -smp 2 over 5 boots: Gofly %v", gofly)
	b.ReportMetric(gofly[2].Seconds(), "median-s")
	b.ReportMetric(gofly[4].Seconds(), "worst-s")
	if len(linux) > 0 {
		slices.Sort(linux)
		b.Logf("Linux %v", linux)
		b.ReportMetric(linux[2].Seconds(), "linux-median-s")
		b.ReportMetric(linux[4].Seconds(), "linux-worst-s")
		b.ReportMetric(gofly[2].Seconds()/linux[2].Seconds(), "gofly/linux")
	}
}

// runLinuxAtomic boots Linux with the sync/atomic test binary as /init on
// the CAS case (arguments after "--" go to init; its exit panics the
// kernel, and panic=-1 with -no-reboot ends QEMU).
func runLinuxAtomic(b *testing.B, kern, initrd string) time.Duration {
	b.Helper()
	m := Boot(b, Options{Image: ImageFromEnv(b, "GOFLY_LINUX_KERNEL", kern), SMP: 2, Mem: "512M", NoPrompt: true,
		QEMUArgs: []string{"-initrd", ImageFromEnv(b, "GOFLY_LINUX_ATOMIC", initrd)},
		Append:   "console=ttyS0 quiet panic=-1 -- -test.run=TestNilDeref|TestValueCompareAndSwapConcurrent -test.v -test.short"})
	out := m.ExpectExit(b)
	_ = m.Wait() // Linux ends in a panic (init exited): its status says nothing
	return casDuration(b, "Linux", out)
}
