// Package qemu_test boots the Gofly image under QEMU (TCG only) and drives
// its serial shell, as a user at a terminal would.
//
// Each test boots its own VM through Boot, which owns everything the tests
// share: where the image comes from (GOFLY_IMAGE, else `make` in the
// repository root), what happens without QEMU (skip, or fail when CI is
// set), the QEMU command line and the timeouts. A Machine then types lines
// and waits for their output and the next prompt, so no step races the
// previous one.
//
// Bounds: every VM runs at most VMTimeout (QEMU is killed after it), every
// wait for output at most StepTimeout, and every VM is waited for, also
// when a test stops early.
package qemu_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	"github.com/hugelgupf/vmtest/qemu"
)

// Prompt is the shell's prompt (shell.Prompt).
const Prompt = "gofly> "

// Timeouts. TCG on a loaded two-core machine is slow, so these are far above
// what an idle machine needs (here: boot to prompt ~0.3 s, any command
// ~0.1 s, any whole test under 1 s).
const (
	VMTimeout   = 2 * time.Minute  // whole life of one QEMU process
	BootTimeout = 60 * time.Second // QEMU start to the first prompt
	StepTimeout = 30 * time.Second // one command to its next prompt
)

// qemuBinary is the emulator the tests run. The machine has no KVM: the
// command line always says -accel tcg.
const qemuBinary = "qemu-system-x86_64"

// Options configure one boot. The zero value is 128 MiB, one CPU, no
// kernel command line, the default image.
type Options struct {
	Mem      string   // -m, e.g. "64M" or "4G"; "" is 128M
	SMP      int      // -smp; 0 is 1
	Append   string   // kernel command line (-append)
	Image    string   // multiboot image; "" is Image(t)
	QEMUArgs []string // more QEMU arguments
	// VMTimeout overrides the package's VMTimeout (never above it).
	VMTimeout time.Duration
	// NoPrompt returns once QEMU runs, without waiting for the shell's
	// prompt (a kernel told to run something else first).
	NoPrompt bool
}

// Machine is one booted VM and its serial console.
type Machine struct {
	VM   *qemu.VM
	Name string
	// BootLog is the console output up to the first prompt.
	BootLog string
}

// RequireQEMU skips t when QEMU is not installed, or fails it when the CI
// environment variable is set: in CI a missing emulator is a broken setup,
// not a reason to pass.
func RequireQEMU(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(qemuBinary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found on PATH and CI is set: install it (apt-get install qemu-system-x86): %v", qemuBinary, err)
		}
		t.Skipf("%s not found on PATH; skipping boot test (set CI to make this a failure)", qemuBinary)
	}
}

// repoRoot is the repository root: go test runs in the package directory,
// qemu/, one level below it.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		t.Fatalf("repository root %s has no Makefile: %v", root, err)
	}
	return root
}

var build struct {
	once  sync.Once
	image string
	err   error
}

// Image returns the multiboot image to boot: $GOFLY_IMAGE if set, else
// build/gofly.elf after running make once in the repository root.
func Image(t testing.TB) string {
	t.Helper()
	if env := os.Getenv("GOFLY_IMAGE"); env != "" {
		return ImageFromEnv(t, "GOFLY_IMAGE", env)
	}
	root := repoRoot(t)
	build.once.Do(func() {
		cmd := exec.Command("make")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("make in %s: %v\n%s", root, err, out)
			return
		}
		build.image = filepath.Join(root, "build", "gofly.elf")
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.image
}

// ImageFromEnv resolves the image path in environment variable name (value
// val). A relative path is taken from the current directory (qemu/) if the
// file is there, else from the repository root, where the Makefile runs go
// test.
func ImageFromEnv(t testing.TB, name, val string) string {
	t.Helper()
	path := val
	if !filepath.IsAbs(path) {
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(repoRoot(t), val)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s=%s: %v", name, val, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("%s=%s: %v", name, val, err)
	}
	return abs
}

// Boot starts a VM for t and waits for the first prompt. The VM is waited
// for when t ends even if the test stopped early (it is killed first); a
// test that expects the VM to exit calls Wait or Poweroff itself.
func Boot(t testing.TB, o Options) *Machine {
	t.Helper()
	RequireQEMU(t)
	if o.Image == "" {
		o.Image = Image(t)
	}
	if o.Mem == "" {
		o.Mem = "128M"
	}
	if o.SMP == 0 {
		o.SMP = 1
	}
	timeout := VMTimeout
	if o.VMTimeout > 0 && o.VMTimeout < timeout {
		timeout = o.VMTimeout
	}
	// The serial port is a stdio chardev with signal=off: QEMU puts the
	// pty in raw mode, and without ISIG a typed Ctrl-C reaches the guest
	// instead of the pty's line discipline. -monitor none keeps vmtest's
	// -nographic from muxing a monitor (and its Ctrl-A escapes) onto it.
	cmd := []string{qemuBinary, "-accel", "tcg,thread=multi", "-m", o.Mem, "-smp", fmt.Sprint(o.SMP),
		"-nic", "none", "-no-reboot", "-display", "none", "-monitor", "none",
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"}
	cmd = append(cmd, o.QEMUArgs...)
	for _, a := range cmd {
		if strings.ContainsAny(a, " \t\n") { // WithQEMUCommand splits on spaces
			t.Fatalf("QEMU argument %q holds a space", a)
		}
	}
	name := t.Name()
	fns := []qemu.Fn{
		qemu.WithQEMUCommand(strings.Join(cmd, " ")),
		qemu.WithKernel(o.Image),
		qemu.WithVMTimeout(timeout),
	}
	if o.Append != "" {
		fns = append(fns, qemu.WithAppendKernel(o.Append))
	}
	vm := qemu.StartT(t, name, qemu.ArchAMD64, fns...)
	m := &Machine{VM: vm, Name: name}
	t.Cleanup(func() {
		// Runs before StartT's check that Wait was called.
		if !vm.Waited() {
			_ = vm.Kill()
			_ = vm.Wait()
		}
	})
	if o.NoPrompt {
		return m
	}
	start := time.Now()
	m.BootLog = m.ExpectTimeout(t, "\n"+Prompt, BootTimeout)
	t.Logf("%s: first prompt after %v", name, time.Since(start).Round(time.Millisecond))
	return m
}

// ExpectTimeout reads the console until s appears and returns what it read,
// carriage returns removed. It fails t if s does not appear within d or the
// VM exits first.
func (m *Machine) ExpectTimeout(t testing.TB, s string, d time.Duration) string {
	t.Helper()
	out, err := m.TryExpect(s, d)
	if err != nil {
		why := "timed out"
		if !os.IsTimeout(err) {
			why = "the console closed: QEMU exited"
		}
		t.Fatalf("%s: waiting %v for %q: %s (%v); read:\n%s", m.Name, d, s, why, err, out)
	}
	return out
}

// TryExpect is ExpectTimeout that returns the error instead of failing.
func (m *Machine) TryExpect(s string, d time.Duration) (string, error) {
	out, err := m.VM.Console.Expect(expect.String(s), expect.WithTimeout(d))
	return clean(out), err
}

// Expect is ExpectTimeout with StepTimeout.
func (m *Machine) Expect(t testing.TB, s string) string {
	t.Helper()
	return m.ExpectTimeout(t, s, StepTimeout)
}

// Send types s on the console, as is.
func (m *Machine) Send(t testing.TB, s string) {
	t.Helper()
	if _, err := m.VM.Console.Send(s); err != nil {
		t.Fatalf("%s: typing %q: %v", m.Name, s, err)
	}
}

// Type types raw (which should end the line) and waits for the next prompt.
// It returns the output, carriage returns removed, up to and without that
// prompt: the echo of what was typed first, then the command's output.
func (m *Machine) Type(t testing.TB, raw string) string {
	t.Helper()
	m.Send(t, raw)
	out := m.Expect(t, "\n"+Prompt)
	return strings.TrimSuffix(out, Prompt)
}

// Run types line and Enter, checks the echo, waits for the next prompt and
// returns the command's output (without the echoed line).
func (m *Machine) Run(t testing.TB, line string) string {
	t.Helper()
	out := m.Type(t, line+"\r")
	echo, rest, _ := strings.Cut(out, "\n")
	if echo != line {
		t.Errorf("%s: typed %q, echoed %q", m.Name, line, echo)
	}
	return rest
}

// ExpectExit reads the console until QEMU exits and returns the output,
// carriage returns removed.
func (m *Machine) ExpectExit(t testing.TB) string {
	t.Helper()
	out, err := m.VM.Console.Expect(expect.EOF, expect.PTSClosed, expect.WithTimeout(StepTimeout))
	if err != nil {
		t.Fatalf("%s: waiting %v for QEMU to exit: %v; read:\n%s", m.Name, StepTimeout, err, clean(out))
	}
	return clean(out)
}

// Wait waits for QEMU to exit and returns its error (nil for status 0).
func (m *Machine) Wait() error { return m.VM.Wait() }

// Poweroff powers the machine off with the shell's poweroff command and
// checks that QEMU exits with status 0. If t has already failed, the
// console may be out of step, so it kills the VM instead.
func (m *Machine) Poweroff(t testing.TB) {
	t.Helper()
	if t.Failed() {
		_ = m.VM.Kill()
		_ = m.Wait()
		return
	}
	m.Send(t, "poweroff\r")
	m.Expect(t, "powering off")
	out := m.ExpectExit(t)
	if err := m.Wait(); err != nil {
		t.Errorf("%s: QEMU exit after poweroff: %v; output after the request:\n%s", m.Name, err, out)
	}
}

// ExitStatus returns QEMU's exit status from Wait's error: 0 for nil, -1
// if QEMU did not exit normally (killed, for instance at VMTimeout).
func ExitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// clean drops carriage returns (the kernel sends CRLF, and the pty turns
// each LF into CRLF again).
func clean(s string) string { return strings.ReplaceAll(s, "\r", "") }

// wantContains fails t for each of subs that out lacks.
func wantContains(t testing.TB, what, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("%s: output lacks %q; got:\n%s", what, s, out)
		}
	}
}

// wantMatch fails t unless re matches out, and returns the submatches.
func wantMatch(t testing.TB, what, out string, re *regexp.Regexp) []string {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Errorf("%s: output does not match %q; got:\n%s", what, re, out)
	}
	return m
}

// lines splits out into its non-empty lines.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}
