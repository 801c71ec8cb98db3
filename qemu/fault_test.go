package qemu_test

import (
	"testing"

	"gofly/drivers/power"
)

// TestFaultNil dereferences a nil pointer in the shell: Go's recover must
// catch it, and the shell must go on.
func TestFaultNil(t *testing.T) {
	m := Boot(t, Options{})
	out := m.Run(t, "fault nil")
	wantContains(t, "fault nil", out, "recovered:", "nil pointer dereference")
	if out := m.Run(t, "echo alive"); out != "alive\n" {
		t.Errorf("after fault nil, echo alive printed %q", out)
	}
	checkSelftest(t, m.Run(t, "selftest"))
	m.Poweroff(t)
}

// TestFatalFaults raises each fatal fault in its own VM. The kernel must
// print a report naming the vector, the registers, the decoded faulting
// instruction and the Go stack, then stop QEMU through isa-debug-exit with
// the CPU-exception status; an unrecovered panic ends with the panic
// status.
func TestFatalFaults(t *testing.T) {
	cases := []struct {
		kind   string
		vector string // the report's name for the exception
		insn   string // the decoded faulting instruction's mnemonic
	}{
		{"pf", "#PF page fault", "mov"},
		{"gp", "#GP general protection", "mov"},
		{"ud", "#UD invalid opcode", "ud2"},
		{"de", "#DE divide error", "div"},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			m := Boot(t, Options{})
			m.Send(t, "fault "+c.kind+"\r")
			m.Expect(t, "kernel fault:")
			out := "kernel fault:" + m.ExpectExit(t)
			wantContains(t, "fault "+c.kind, out, "kernel fault: "+c.vector, "rip=",
				"faulting instruction: "+c.insn+" ", "Go stack:", "gofly/kernel.Fault")
			checkExit(t, m, power.CodeFault)
		})
	}
	t.Run("panic", func(t *testing.T) {
		m := Boot(t, Options{})
		m.Send(t, "fault panic\r")
		m.Expect(t, "panic: deliberate panic")
		out := m.ExpectExit(t)
		wantContains(t, "fault panic", out, "goroutine ", "gofly/kernel.Fault", "exited with status 2")
		checkExit(t, m, power.CodePanic)
	})
}

// TestKernelFailures: failures below the runtime end in their reports,
// never in a hang: a fault inside the trap path (which used to spin on the
// MP lock its own CPU held), a throw, a double free in the page allocator
// and a stuck spin (the MP lock taken twice: a warning after a second, the
// throw after ten). At -smp 2, so the throw stops another CPU too.
func TestKernelFailures(t *testing.T) {
	cases := []struct {
		kind string
		code uint8
		want []string
	}{
		{"trap", power.CodeFault, []string{"kernel fault inside the trap path", "#PF page fault", "rip="}},
		{"trapsys", power.CodeFault, []string{"kernel fault inside the trap path (serving vector 129)", "kernel fault: system call (vector 256)"}},
		{"throw", power.CodeThrow, []string{"gofly: throw: kernel: deliberate throw", "called from pc", "serving trap vector 129", "rip="}},
		{"doublefree", power.CodeThrow, []string{"gofly: throw: mm:", "free"}},
		{"spin", power.CodeThrow, []string{"has waited over a second for the MP lock, held by cpu",
			"has waited 10 seconds for the MP lock", "gofly: throw: lwkt: stuck spin"}},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			m := Boot(t, Options{SMP: 2})
			m.Send(t, "fault "+c.kind+"\r")
			out := m.ExpectExit(t)
			wantContains(t, "fault "+c.kind, out, c.want...)
			checkExit(t, m, c.code)
		})
	}
}

// TestSelftestAtBoot: `selftest` on the kernel command line runs the
// self-tests and powers off when they pass (the CI mode of the images built
// by other Go releases).
func TestSelftestAtBoot(t *testing.T) {
	m := Boot(t, Options{Append: "selftest", SMP: 2, NoPrompt: true})
	out := m.ExpectExit(t)
	checkSelftest(t, out)
	if err := m.Wait(); err != nil {
		t.Errorf("QEMU exit after selftest at boot: %v; output:\n%s", err, out)
	}
}

// checkExit waits for QEMU and wants the isa-debug-exit status of code.
func checkExit(t *testing.T, m *Machine, code uint8) {
	t.Helper()
	err := m.Wait()
	if got, want := ExitStatus(err), power.Status(code); got != want {
		t.Errorf("QEMU exit: %v (status %d), want status %d (code %d) from isa-debug-exit", err, got, want, code)
	}
}

// TestPoweroff checks that poweroff stops QEMU with status 0.
func TestPoweroff(t *testing.T) {
	m := Boot(t, Options{})
	m.Poweroff(t)
}

// TestReboot checks that reboot resets the machine; under -no-reboot QEMU
// then exits with status 0.
func TestReboot(t *testing.T) {
	m := Boot(t, Options{})
	m.Send(t, "reboot\r")
	m.Expect(t, "rebooting")
	out := m.ExpectExit(t)
	if err := m.Wait(); err != nil {
		t.Errorf("QEMU exit after reboot: %v; output:\n%s", err, out)
	}
}
