// Command gofly is the shell kernel: Gofly booted into its serial shell on
// COM1.
package main

import (
	"fmt"
	"os"

	"gofly/kernel"
	"gofly/shell"
)

func main() {
	kernel.Start()
	fmt.Printf("Gofly, a Go kernel (%s). Type help for the commands.\n", kernel.GoVersion())
	err := shell.Main()
	fmt.Fprintf(os.Stderr, "gofly: shell stopped: %v\n", err)
	os.Exit(1)
}
