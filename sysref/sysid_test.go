package sysref

import (
	"strings"
	"sync"
	"testing"

	"gofly/arch/amd64"
	"gofly/fatal"
)

// TestSysidsReboots simulates boots with different CPU counts, one
// goroutine per CPU allocating concurrently (per-CPU state: no lock), and
// checks every id ever made is distinct, names its CPU in the low bits,
// grows on each CPU, and sits above every id of the boots before.
func TestSysidsReboots(t *testing.T) {
	const perCPU = 5000
	seen := map[uint64]bool{}
	stamp := uint64(1_785_000_000_000_000) // µs, Nov 2026
	var prevMax uint64
	for boot, ncpus := range []int{1, 3, 8, 2, 4, 1, 5} {
		var s Sysids
		s.Boot(stamp, ncpus)
		ids := make([][]uint64, ncpus)
		var wg sync.WaitGroup
		for cpu := range ncpus {
			wg.Go(func() {
				for range perCPU {
					ids[cpu] = append(ids[cpu], s.Alloc(cpu))
				}
			})
		}
		wg.Wait()
		bootMin, bootMax := ^uint64(0), uint64(0)
		for cpu, l := range ids {
			for i, id := range l {
				if seen[id] {
					t.Fatalf("boot %d cpu %d: id %#x reused", boot, cpu, id)
				}
				seen[id] = true
				if s.Owner(id) != cpu || int(id&(1<<CPUBits-1))%int(s.Fit()) != cpu {
					t.Fatalf("boot %d: id %#x owner %d, made by cpu %d", boot, id, s.Owner(id), cpu)
				}
				if i > 0 && id <= l[i-1] {
					t.Fatalf("boot %d cpu %d: id %#x after %#x", boot, cpu, id, l[i-1])
				}
				bootMin, bootMax = min(bootMin, id), max(bootMax, id)
			}
		}
		if bootMin <= prevMax {
			t.Fatalf("boot %d: smallest id %#x not above the last boot's largest %#x", boot, bootMin, prevMax)
		}
		prevMax = bootMax
		// The next boot comes as soon as the documented condition
		// allows: the stamp advances by (K+1)·F/2^B µs, rounded up.
		step := (uint64(perCPU+1)*s.Fit() + 1<<CPUBits - 1) >> CPUBits
		stamp += step
	}
}

// TestSysidsLayout checks the bit layout on one id.
func TestSysidsLayout(t *testing.T) {
	var s Sysids
	s.Boot(0x1234, 3) // F = 4
	if s.Fit() != 4 {
		t.Fatalf("Fit %d for 3 CPUs", s.Fit())
	}
	for cpu := range 3 {
		if id := s.Alloc(cpu); id != 0x1234<<CPUBits|uint64(cpu) {
			t.Fatalf("cpu %d first id %#x", cpu, id)
		}
		if id := s.Alloc(cpu); id != 0x1234<<CPUBits|uint64(cpu)+4 {
			t.Fatalf("cpu %d second id %#x", cpu, id)
		}
	}
}

func TestSysidsThrows(t *testing.T) {
	var s Sysids
	for _, c := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"no cpus", func() { s.Boot(1, 0) }, "ncpus out of range"},
		{"too many cpus", func() { s.Boot(1, amd64.MaxCPUs+1) }, "ncpus out of range"},
		{"zero stamp", func() { s.Boot(0, 1) }, "boot stamp"},
		{"huge stamp", func() { s.Boot(StampLimit, 1) }, "boot stamp"},
		{"before boot", func() { var z Sysids; z.Alloc(0) }, "not booted"},
		{"cpu beyond fit", func() { s.Boot(1, 2); s.Alloc(2) }, "cpu out of range"},
		{"exhausted", func() { s.Boot(StampLimit-1, 1); s.cpu[0].next = ^uint64(0); s.Alloc(0) }, "exhausted"},
	} {
		if msg := fatal.Catch(c.f); !strings.Contains(msg, c.msg) {
			t.Errorf("%s: throw %q, want %q", c.name, msg, c.msg)
		}
	}
}

func TestSysidsNoAlloc(t *testing.T) {
	var s Sysids
	s.Boot(99, 8)
	if n := testing.AllocsPerRun(100, func() { _ = s.Alloc(7) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
