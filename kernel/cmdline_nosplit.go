package kernel

// The command line is read during early boot: nosplit.

import (
	"gofly/klog"
	"gofly/sys"
)

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
