// Command gofly is the shell kernel: Gofly booted into its serial shell.
package main

import (
	"fmt"

	"gofly/kernel"
)

func main() {
	kernel.Start()
	fmt.Println("hello from Go")
	select {}
}
