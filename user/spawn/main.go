// Command spawn runs other programs the way Go programs do, through
// os/exec (vfork, execve, a close-on-exec pipe for exec's errors, wait4),
// and checks what comes back: an exit status, output captured through a
// pipe, output straight to its own stdout, a program that does not exist.
// It prints a line per check and exits 0 if all held.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

func main() {
	bad := 0
	check := func(what string, ok bool, got any) {
		if ok {
			fmt.Printf("spawn: %s: ok\n", what)
			return
		}
		bad++
		fmt.Printf("spawn: %s: FAIL (%v)\n", what, got)
	}

	err := exec.Command("/probe", "x").Run()
	var ee *exec.ExitError
	check("/probe x exits 42", errors.As(err, &ee) && ee.ExitCode() == 42, err)

	out, err := exec.Command("/hello").Output()
	check("/hello's output through a pipe", err == nil && string(out) == "hello from ring 3\n", fmt.Sprintf("%q %v", out, err))

	cmd := exec.Command("/hello")
	cmd.Stdout = os.Stdout
	check("/hello on our stdout", cmd.Run() == nil, err)

	err = exec.Command("/nothing").Run()
	check("/nothing does not exist", err != nil && strings.Contains(err.Error(), "no such file or directory"), err)

	// A relative path runs from the child's working directory (execve
	// resolves it from there), and /proc/self/exe is then absolute.
	rel := exec.Command("./hello")
	rel.Dir = "/"
	out, err = rel.Output()
	check("./hello from its directory", err == nil && string(out) == "hello from ring 3\n", fmt.Sprintf("%q %v", out, err))

	if bad > 0 {
		os.Exit(1)
	}
}
