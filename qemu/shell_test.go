package qemu_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// allCommands is every command the shell must offer.
var allCommands = []string{"echo", "uptime", "date", "mem", "cpuinfo", "cmdline", "modules", "load", "ps", "dmesg",
	"syscalls", "cpus", "ipi", "boottime", "sleep", "fault", "selftest", "bench", "objcache", "sysref", "poweroff", "reboot", "help",
	"ls", "cat", "stat", "mkdir", "write", "rm", "truncate", "df", "ccms"}

// TestBootHelp boots to the prompt and checks that help lists every command.
func TestBootHelp(t *testing.T) {
	m := Boot(t, Options{})
	wantContains(t, "boot", m.BootLog, "gofly: booting")
	wantMatch(t, "boot", m.BootLog, bannerGo)
	out := m.Run(t, "help")
	listed := map[string]bool{}
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) > 1 {
			listed[f[0]] = true
		}
	}
	for _, c := range allCommands {
		if !listed[c] {
			t.Errorf("help does not list %q; got:\n%s", c, out)
		}
	}
	m.Poweroff(t)
}

// testAppend is the kernel command line the commands VM boots with.
const testAppend = "loglevel=3 GOFLY_TEST=1"

// TestCommands runs every command that leaves the machine running, in one
// VM, and checks each output for real content.
// TestCommands runs every command at -smp 1, 2 and 4: with more CPUs the
// shell's goroutines, and the runtime's threads, run on all of them.
func TestCommands(t *testing.T) {
	for _, smp := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("smp-%d", smp), func(t *testing.T) { testCommands(t, smp) })
	}
}

func testCommands(t *testing.T, smp int) {
	m := Boot(t, Options{Append: testAppend, SMP: smp})
	cases := []struct {
		name string
		line string
		want []string                 // substrings
		re   *regexp.Regexp           // if set, must match
		more func(*testing.T, string) // further checks
	}{
		{name: "echo", line: "echo hello 'a b'", re: regexp.MustCompile(`^hello a b\n$`)},
		{name: "uptime", line: "uptime", re: regexp.MustCompile(`^up .*, \d+ threads`)},
		{name: "date", line: "date", more: checkDate},
		{name: "mem", line: "mem", want: []string{"memory map", "usable", "pages:", "go heap:"}},
		{name: "cpuinfo", line: "cpuinfo", want: []string{"tsc:", "features:"}},
		{name: "cmdline", line: "cmdline", want: []string{testAppend}},
		{name: "modules", line: "modules", want: []string{"no multiboot modules (boot with -initrd FILE)"}},
		{name: "ps", line: "ps", re: regexp.MustCompile(`(?m)^\s*TID\s.*\n(.*\n)*.*\brunning`)},
		{name: "dmesg", line: "dmesg", want: []string{"gofly: booting"}},
		{name: "syscalls", line: "syscalls", want: []string{"clock_gettime", "mmap", "futex", "IRQ 4 through the I/O APIC"}},
		{name: "boottime", line: "boottime", want: []string{"first prompt"}},
		{name: "sleep", line: "sleep 100ms", re: regexp.MustCompile(`^slept 1\d\dms\n$`)},
		{name: "selftest", line: "selftest", more: checkSelftest},
		{name: "help-one", line: "help sleep", want: []string{"sleep DURATION"}},
		{name: "cpus", line: "cpus", more: func(t *testing.T, out string) { checkCPUs(t, out, smp) }},
		{name: "ipi", line: "ipi", want: []string{"ACTIVE", "PASSIVE", "RAISED"}},
		{name: "bench", line: "bench", want: []string{"lwkt thread switch", "goroutine handoff", "Cache[T]", "sync.Pool", "sysref lookup+put, 100000 live, owner CPU"}},
		{name: "bench-some", line: "bench sysref", re: regexp.MustCompile(`^(bench: sysref [^\n]*\n)+$`)},
		{name: "bench-none", line: "bench nosuch", re: regexp.MustCompile(`^bench: no benchmark's name holds "nosuch"\n$`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := m.Run(t, c.line)
			if strings.TrimSpace(out) == "" {
				t.Fatalf("%q printed nothing", c.line)
			}
			wantContains(t, c.line, out, c.want...)
			if c.re != nil {
				wantMatch(t, c.line, out, c.re)
			}
			if c.more != nil {
				c.more(t, out)
			}
		})
	}
	m.Poweroff(t)
}

// checkDate checks that date prints the host's UTC time, give or take the
// boot and a slow host.
func checkDate(t *testing.T, out string) {
	t.Helper()
	s := strings.TrimSpace(out)
	d, err := time.Parse("Mon Jan _2 15:04:05 UTC 2006", s)
	if err != nil {
		t.Fatalf("date: %q does not parse: %v", s, err)
	}
	now := time.Now().UTC()
	if d.Year() != now.Year() && d.Year() != now.Add(-5*time.Minute).Year() {
		t.Errorf("date: year %d, host says %d", d.Year(), now.Year())
	}
	if skew := now.Sub(d); skew < -5*time.Minute || skew > 5*time.Minute {
		t.Errorf("date: %v is %v off the host's %v", d, skew, now.Format(time.UnixDate))
	}
}

// selftestCounts is the selftest command's last line of its own.
var selftestCounts = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed, (\d+) skipped\r?$`)

// checkSelftest wants the selftest command's counts line, no failure and
// at least 10 self-tests passed, and one ok or skip line per test counted.
// A missing or malformed counts line is a failure.
func checkSelftest(t *testing.T, out string) {
	t.Helper()
	m := wantMatch(t, "selftest", out, selftestCounts)
	if m == nil {
		return
	}
	passed, _ := strconv.Atoi(m[1])
	failed, _ := strconv.Atoi(m[2])
	skipped, _ := strconv.Atoi(m[3])
	if failed != 0 || strings.Contains(out, "FAIL") {
		t.Errorf("selftest: %d self-tests failed:\n%s", failed, out)
	}
	if passed < 10 {
		t.Errorf("selftest: only %d self-tests passed, want at least 10:\n%s", passed, out)
	}
	var oks, skips int
	for _, l := range lines(out) {
		switch {
		case strings.HasPrefix(l, "ok   "):
			oks++
		case strings.HasPrefix(l, "skip "):
			skips++
		}
	}
	if oks != passed || skips != skipped {
		t.Errorf("selftest: %d ok and %d skip lines, but the counts say %d passed and %d skipped:\n%s",
			oks, skips, passed, skipped, out)
	}
}

// TestBadInput feeds the shell bad commands, bad arguments and bad bytes.
// Each must give a one-line error, and the shell must answer afterwards.
func TestBadInput(t *testing.T) {
	m := Boot(t, Options{})
	alive := func(t *testing.T) {
		t.Helper()
		if out := m.Run(t, "echo alive"); out != "alive\n" {
			t.Fatalf("after the bad input, echo alive printed %q", out)
		}
	}
	// oneLine wants out to be exactly one line holding want.
	oneLine := func(t *testing.T, what, out, want string) {
		t.Helper()
		ls := lines(out)
		if len(ls) != 1 || !strings.Contains(ls[0], want) {
			t.Errorf("%s: want one line holding %q; got:\n%s", what, want, out)
		}
	}
	args := []struct{ line, want string }{
		{"frobnicate", `gofly: unknown command "frobnicate"`},
		{"uptime now", "uptime: takes no arguments"},
		{"fault", "fault: usage"},
		{"fault bogus", "unknown kind"},
		{"sleep abc", "bad duration"},
		{"sleep 5m", "out of range"},
		{"sleep", "usage"},
		{"echo 'unterminated", "gofly:"},
	}
	for _, c := range args {
		t.Run(strings.ReplaceAll(c.line, " ", "_"), func(t *testing.T) {
			oneLine(t, c.line, m.Run(t, c.line), c.want)
			alive(t)
		})
	}
	raw := []struct{ name, raw, want string }{
		{"control", "echo \x01\x02 x\r", "gofly: lineedit: control byte 0x01"},
		{"non-utf8", "echo \xff\xfe x\r", "gofly: lineedit: invalid UTF-8"},
		{"c1-control", "echo \xc2\x9b x\r", "gofly: lineedit: control character"},
	}
	for _, c := range raw {
		t.Run(c.name, func(t *testing.T) {
			out := m.Type(t, c.raw)
			// The echo line holds only what was accepted; drop it.
			_, rest, _ := strings.Cut(out, "\n")
			oneLine(t, c.name, rest, c.want)
			alive(t)
		})
	}
	t.Run("ctrl-c", func(t *testing.T) {
		out := m.Type(t, "echo never\x03")
		if out != "echo never^C\n" {
			t.Errorf("Ctrl-C mid-line: want %q then a prompt, got %q", "echo never^C\n", out)
		}
		alive(t)
	})
	t.Run("history", func(t *testing.T) {
		if out := m.Run(t, "echo from history"); out != "from history\n" {
			t.Fatalf("echo from history printed %q", out)
		}
		out := m.Type(t, "\x1b[A\r") // up arrow, Enter
		echo, rest, _ := strings.Cut(out, "\n")
		if !strings.HasSuffix(echo, "echo from history") {
			t.Errorf("up arrow shows %q, want the previous command", echo)
		}
		if rest != "from history\n" {
			t.Errorf("up arrow then Enter printed %q, want %q", rest, "from history\n")
		}
		alive(t)
	})
	m.Poweroff(t)
}

// TestLongLine types a 10,000-byte line in one burst, as a paste would. The
// shell must end it with a "line too long" error, not run a truncated line,
// and answer afterwards. It has its own VM: if input is lost, the console is
// out of step for whatever would follow.
func TestLongLine(t *testing.T) {
	m := Boot(t, Options{})
	const n = 10000
	line := "echo " + strings.Repeat("x", n-len("echo "))
	m.Send(t, line+"\r")
	out, err := m.TryExpect("\n"+Prompt, StepTimeout)
	if err != nil {
		// Find out where the Enter went: end the line and ask the
		// serial driver how much input it dropped.
		m.Send(t, "\x03")
		m.Expect(t, "\n"+Prompt)
		stats := m.Run(t, "syscalls")
		serial := "(no serial line in syscalls)"
		for _, l := range lines(stats) {
			if strings.HasPrefix(l, "serial:") {
				serial = l
			}
		}
		t.Errorf("after a %d-byte line and Enter, no prompt within %v (%v): the Enter was lost; kernel says %q",
			n, StepTimeout, err, serial)
	} else {
		_, rest, _ := strings.Cut(strings.TrimSuffix(out, Prompt), "\n")
		// The count shows that no byte was lost on the way.
		want := regexp.MustCompile(fmt.Sprintf(`^gofly: lineedit: line too long \(%d bytes, limit \d+\)$`, n))
		if ls := lines(rest); len(ls) != 1 || !want.MatchString(ls[0]) {
			t.Errorf("a %d-byte line: want one line matching %q; got:\n%.2000s", n, want, rest)
		}
	}
	if out := m.Run(t, "echo alive"); out != "alive\n" {
		t.Errorf("after the long line, echo alive printed %q", out)
	}
	m.Poweroff(t)
}
