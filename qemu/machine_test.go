package qemu_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMachines boots machines other than the default 128 MiB, one CPU, and
// runs the self-tests on each.
func TestMachines(t *testing.T) {
	cases := []struct {
		name string
		o    Options
	}{
		{"mem-24M", Options{Mem: "24M"}}, // small: 16M boots, but selftest can run out of frames (the kernel's own heap running dry is fatal)
		{"mem-64M", Options{Mem: "64M"}},
		{"mem-4G", Options{Mem: "4G"}},
		{"smp-2", Options{SMP: 2}},
		{"smp-4", Options{SMP: 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			m := Boot(t, c.o)
			checkSelftest(t, m.Run(t, "selftest"))
			checkCPUs(t, m.Run(t, "cpus"), max(c.o.SMP, 1))
			for _, l := range lines(m.Run(t, "cpuinfo")) {
				if strings.HasPrefix(l, "online CPUs:") {
					t.Logf("%s: %s", c.name, l)
				}
			}
			m.Poweroff(t)
			t.Logf("%s: boot, selftest and poweroff took %v", c.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestOtherGoReleases boots the images built with the previous and the
// next Go release ($GOFLY_IMAGE_GO125, $GOFLY_IMAGE_GO127) through
// selftest: the kernel follows Go's releases.
func TestOtherGoReleases(t *testing.T) {
	for _, r := range []struct{ env, version string }{
		{"GOFLY_IMAGE_GO125", "go1.25"},
		{"GOFLY_IMAGE_GO127", "go1.27"},
	} {
		t.Run(r.version, func(t *testing.T) {
			val := os.Getenv(r.env)
			if val == "" {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s is not set and CI is: the Makefile must build the %s image and pass its path in %s", r.env, r.version, r.env)
				}
				t.Skipf("%s is not set", r.env)
			}
			RequireQEMU(t)
			image := ImageFromEnv(t, r.env, val)
			m := Boot(t, Options{Image: image, SMP: 2})
			b := bannerGo.FindStringSubmatch(m.BootLog)
			if b == nil {
				t.Errorf("no banner before the first prompt:\n%s", m.BootLog)
			} else if !strings.HasPrefix(b[1], r.version) {
				t.Errorf("%s=%s was built with %s, want %s", r.env, val, b[1], r.version)
			}
			checkSelftest(t, m.Run(t, "selftest"))
			m.Poweroff(t)
		})
	}
}

var bannerGo = regexp.MustCompile(`Gofly, a Go kernel \((go[0-9.]+[^)]*)\)`)

// cpuLine is one row of the cpus command: index, APIC id, state, idle %,
// switches, ticks, the IPI message counts, then the load, migrations in
// and out, and pull requests.
var cpuLine = regexp.MustCompile(`(?m)^\s*(\d+)\s+(\d+)\s+(online|offline)\s+(\S+)\s+(\S+)\s+(\d+)(?:\s+\d+){3}\s+(\d+)(?:\s+\d+){3}\s*$`)

// checkCPUs checks that cpus lists exactly n processors, all online, CPU 0
// having taken timer ticks (the others may have idled tickless since they
// started).
func checkCPUs(t *testing.T, out string, n int) {
	t.Helper()
	rows := cpuLine.FindAllStringSubmatch(out, -1)
	if len(rows) != n {
		t.Fatalf("cpus lists %d processors, want %d:\n%s", len(rows), n, out)
	}
	for i, r := range rows {
		if r[1] != fmt.Sprint(i) || r[3] != "online" {
			t.Errorf("cpus row %d: %q; want cpu %d online", i, r[0], i)
		}
		if i == 0 && r[6] == "0" {
			t.Errorf("cpu %d has taken no timer ticks: %q", i, r[0])
		}
	}
}
