package qemu_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// objcacheLine is the objcache command's summary line of one cache.
var objcacheLine = regexp.MustCompile(`(?m)^(\S+): size (\d+), magazine (\d+), live (\d+), peak (\d+), limit (\w+), depot full (\d+) empty (\d+), hits (\d+), misses (\d+), fails (\d+), reclaimed (\d+), slab pages (\d+)$`)

// objcacheCPU is one CPU's row under it.
var objcacheCPU = regexp.MustCompile(`^  (\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)/(\d+) +(\d+)$`)

// TestObjcache runs the self-tests (whose storm uses the selftest-64
// cache on every CPU and reclaims it, and sysref's storm), then the
// objcache and sysref commands (testSysref), at -smp 1, 2 and 4, and checks the test cache's figures: the pre-fill's
// peak, everything reclaimed (live 0, no slab page, no round in any
// magazine, no full depot magazine), hits and misses counted, one row per
// CPU.
func TestObjcache(t *testing.T) {
	for _, smp := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("smp-%d", smp), func(t *testing.T) { testObjcache(t, smp) })
	}
}

func testObjcache(t *testing.T, smp int) {
	m := Boot(t, Options{Append: testAppend, SMP: smp})
	checkSelftest(t, m.Run(t, "selftest"))
	// The memory-pressure check ran mm out of frames at least once, and
	// the caches gave frames back.
	mem := m.Run(t, "mem")
	if f := wantMatch(t, "mem", mem, regexp.MustCompile(`out of frames (\d+) times, object caches gave back (\d+)`)); f != nil && (f[1] == "0" || f[2] == "0") {
		t.Errorf("mem after selftest: want a reclaim that gave frames back:\n%s", mem)
	}
	out := m.Run(t, "objcache")
	testSysref(t, m, smp)
	m.Poweroff(t)

	var found bool
	ls := lines(out)
	for i, l := range ls {
		f := objcacheLine.FindStringSubmatch(l)
		if f == nil || f[1] != "selftest-64" {
			continue
		}
		found = true
		n := func(j int) int64 { v, _ := strconv.ParseInt(f[j], 10, 64); return v }
		size, capacity, live, peak := n(2), n(3), n(4), n(5)
		full, empty, hits, misses, reclaimed, pages := n(7), n(8), n(9), n(10), n(12), n(13)
		if size != 64 || capacity != 16 || f[6] != "160" {
			t.Errorf("selftest-64: size %d, magazine %d, limit %s; want 64, 16, 160:\n%s", size, capacity, f[6], out)
		}
		if live != 0 || pages != 0 || full != 0 || empty != 32 {
			t.Errorf("selftest-64 not wholly reclaimed after selftest: live %d, slab pages %d, depot full %d empty %d:\n%s",
				live, pages, full, empty, out)
		}
		if peak != 160 {
			t.Errorf("selftest-64: peak %d, want the pre-fill, 160:\n%s", peak, out)
		}
		// Two checks ran; each constructed 160 objects and reclaimed them
		// (the every-CPU one is skipped on one CPU).
		runs := int64(2)
		if smp == 1 {
			runs = 1
		}
		if misses != 160*runs || reclaimed != misses || hits < misses {
			t.Errorf("selftest-64: hits %d, misses %d, reclaimed %d; want misses = reclaimed = %d and more hits:\n%s",
				hits, misses, reclaimed, 160*runs, out)
		}
		rows := 0
		for _, r := range ls[i+2:] {
			c := objcacheCPU.FindStringSubmatch(r)
			if c == nil {
				break
			}
			rows++
			if c[2] != "0" || c[3] != "0" {
				t.Errorf("selftest-64: cpu %s still caches %s+%s objects:\n%s", c[1], c[2], c[3], out)
			}
			if gets, _ := strconv.Atoi(c[4]); gets == 0 {
				t.Errorf("selftest-64: cpu %s made no Get: the storm did not run on it:\n%s", c[1], out)
			}
		}
		if rows != smp {
			t.Errorf("selftest-64: %d CPU rows, want %d:\n%s", rows, smp, out)
		}
	}
	if !found {
		t.Errorf("objcache does not list selftest-64:\n%s", out)
	}
	if !strings.Contains(out, "bench-64: size 64") {
		t.Errorf("objcache does not list bench-64:\n%s", out)
	}
}

// sysrefClass is one class's row of `sysref ls`.
var sysrefClass = regexp.MustCompile(`(?m)^(\S+) +(-?\d+) +(\d+) +(\d+) +(\d+) +(\d+)/(\d+)$`)

// psRow is a thread of ps with its tid and sysid.
var psRow = regexp.MustCompile(`(?m)^ *(\d+) (0x[0-9a-f]+) +\d+ `)

// testSysref checks `sysref ls` after the self-tests' storm (the test
// class back to no live record, every allocation terminated and released
// once, releases by passive IPI sent and arrived, at least one with two
// CPUs) and the errors for bad input.
func testSysref(t *testing.T, m *Machine, smp int) {
	out := m.Run(t, "sysref ls selftest")
	f := wantMatch(t, "sysref ls selftest", out, sysrefClass)
	if f == nil {
		return
	}
	n := func(j int) int64 { v, _ := strconv.ParseInt(f[j], 10, 64); return v }
	live, allocs, terms, rels, in, sent := n(2), n(3), n(4), n(5), n(6), n(7)
	if f[1] != "selftest" || live != 0 || allocs == 0 || terms != allocs || rels != allocs || in != sent {
		t.Errorf("sysref ls selftest after the storm: want live 0, allocs = terminates = releases > 0, remote in = out:\n%s", out)
	}
	if (smp > 1) != (sent > 0) {
		t.Errorf("sysref ls selftest at -smp %d: %d releases by passive IPI:\n%s", smp, sent, out)
	}
	wantContains(t, "sysref ls selftest", out, "0 records")
	wantContains(t, "sysref ls", m.Run(t, "sysref ls"), "selftest", "bench", "thread", "port", "SYSID")

	// Every thread ps lists has a sysid, the thread class counts them
	// all, and sysref show finds each thread's record.
	ps := m.Run(t, "ps")
	rows := psRow.FindAllStringSubmatch(ps, -1)
	if len(rows) < 2+smp {
		t.Fatalf("ps lists %d threads with a sysid, want at least %d (idle threads and the shell's):\n%s", len(rows), 2+smp, ps)
	}
	out = m.Run(t, "sysref ls thread")
	if f := wantMatch(t, "sysref ls thread", out, sysrefClass); f != nil && f[2] != strconv.Itoa(len(rows)) {
		t.Errorf("sysref ls thread: %s live, ps lists %d threads:\n%s\n%s", f[2], len(rows), out, ps)
	}
	for _, r := range rows {
		show := m.Run(t, "sysref show "+r[2])
		wantContains(t, "sysref show "+r[2], show, "class thread", "state active", "thread tid "+r[1]+":")
	}
	for _, c := range []struct{ line, want string }{
		{"sysref ls nosuch", `sysref: no class "nosuch" (classes: `},
		{"sysref show zz", `sysref: "zz" is not a sysid`},
		{"sysref show 0", `sysref: "0" is not a sysid`},
		{"sysref show 0x1ffffffffffffffffff", `is not a sysid`},
		{"sysref show 0x" + strings.Repeat("f", 16), "sysref: no resource has sysid 0xffffffffffffffff"},
		{"sysref show 1 2", "usage: sysref show SYSID"},
		{"sysref frob", `unknown subcommand "frob"`},
		{"sysref", "usage: sysref ls [CLASS] | sysref show SYSID"},
	} {
		wantContains(t, c.line, m.Run(t, c.line), c.want)
	}
}
