package qemu_test

import (
	"testing"
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
// a failure status.
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
			checkFailureExit(t, m)
		})
	}
	t.Run("panic", func(t *testing.T) {
		m := Boot(t, Options{})
		m.Send(t, "fault panic\r")
		m.Expect(t, "panic: deliberate panic")
		out := m.ExpectExit(t)
		wantContains(t, "fault panic", out, "goroutine ", "gofly/kernel.Fault")
		checkFailureExit(t, m)
	})
}

// checkFailureExit waits for QEMU and wants the isa-debug-exit failure
// status.
func checkFailureExit(t *testing.T, m *Machine) {
	t.Helper()
	err := m.Wait()
	if got := ExitStatus(err); got != debugExitFailure {
		t.Errorf("QEMU exit: %v (status %d), want status %d from isa-debug-exit", err, got, debugExitFailure)
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
