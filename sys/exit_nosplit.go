package sys

// The end of the program: nosplit, trap context.

import (
	"gofly/arch/amd64"
	"gofly/drivers/power"
	"gofly/klog"
)

// exitGroup is exit_group(2).
//
//go:nosplit
func exitGroup(regs *amd64.Frame, _ uintptr) int64 {
	ExitGroup(int(regs.RDI))
	return 0
}

// ExitGroup ends the Go program, and with it the kernel: status 0 powers
// the machine off, anything else is a failure that tests see as QEMU's exit
// status (isa-debug-exit, failCode), or a halt when that device is absent.
//
//go:nosplit
func ExitGroup(status int) {
	m := klog.Begin()
	klog.Puts("gofly: program exited with status ")
	klog.Dec(uint64(status))
	klog.Puts("\n")
	m.End()
	if status == 0 {
		power.Off()
		klog.Puts("gofly: ACPI power-off unavailable; halting\n")
		power.Halt()
	}
	power.Fail(failCode(status))
}

// failCode is the power code for a non-zero exit status. The Go runtime
// exits with 2 on an unrecovered panic or a fatal error; anything else,
// 128+signal for a signal death included, is an ordinary failed exit.
//
//go:nosplit
func failCode(status int) uint8 {
	if status == 2 {
		return power.CodePanic
	}
	return power.CodeExit
}
