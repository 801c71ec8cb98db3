// Command gofly is the shell kernel: Gofly booted into its serial shell on
// COM1. With `selftest` on the kernel command line it runs the self-tests
// instead and stops: powered off when all pass, with QEMU exit status
// power.Status(power.CodeTestFailed) otherwise (for CI).
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"gofly/drivers/power"
	"gofly/kernel"
	_ "gofly/msgport" // message ports: no kernel caller yet; their class and self-test
	"gofly/proc"
	"gofly/shell"
)

func main() {
	kernel.Start()
	if err := proc.Init(); err != nil {
		fmt.Fprintf(os.Stderr, "gofly: processes: %v\n", err)
	}
	if err := shell.MountRoot(); err != nil {
		fmt.Fprintf(os.Stderr, "gofly: /: %v\n", err)
	}
	fmt.Printf("Gofly, a Go kernel (%s). Type help for the commands.\n", kernel.GoVersion())
	if slices.Contains(strings.Fields(kernel.Cmdline()), "selftest") {
		if err := shell.Batch("selftest"); err != nil {
			fmt.Fprintf(os.Stderr, "gofly: selftest: %v\n", err)
			power.Fail(power.CodeTestFailed)
		}
		err := shell.Batch("poweroff")
		fmt.Fprintf(os.Stderr, "gofly: %v\n", err)
		os.Exit(1)
	}
	err := shell.Main()
	fmt.Fprintf(os.Stderr, "gofly: shell stopped: %v\n", err)
	os.Exit(1)
}
