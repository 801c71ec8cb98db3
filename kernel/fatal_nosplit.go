package kernel

// The fatal stop runs wherever a broken invariant is found, including
// before the runtime: nosplit.

import (
	"gofly/drivers/power"
	"gofly/klog"
	"gofly/sys"
)

// fatal prints msg and stops the machine with a failure status.
//
//go:nosplit
func fatal(msg string) {
	klog.Puts("gofly: fatal: ")
	klog.Puts(msg)
	klog.Puts("\n")
	power.Fail(failKernel)
}

// failKernel is the isa-debug-exit code of a kernel failure (QEMU exits
// with status 3).
const failKernel = 1

// applyCmdline acts on the kernel's own command-line settings:
// loglevel=0 silences the console log, loglevel=7 traces system calls.
//
//go:nosplit
func applyCmdline() {
	for i := 0; i+9 <= cmdlineLen; i++ {
		if (i == 0 || cmdline[i-1] == ' ') && string(cmdline[i:i+9]) == "loglevel=" && i+9 < cmdlineLen {
			switch cmdline[i+9] {
			case '0':
				klog.Quiet = true
			case '7':
				sys.Trace = true
			}
		}
	}
}
