package sys

// The end of the program: nosplit, trap context.

import (
	"gofly/drivers/power"
	"gofly/klog"
)

// ExitGroup ends the Go program, and with it the kernel: status 0 powers
// the machine off, anything else is a failure that tests see as QEMU's exit
// status (isa-debug-exit), or a halt when that device is absent.
//
//go:nosplit
func ExitGroup(status int) {
	klog.Puts("gofly: program exited with status ")
	klog.Dec(uint64(status))
	klog.Puts("\n")
	if status == 0 {
		power.Off()
		klog.Puts("gofly: ACPI power-off unavailable; halting\n")
		power.Halt()
	}
	power.Fail(uint8(status))
}
