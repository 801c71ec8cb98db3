// Command spawn runs other programs the way Go programs do, through
// os/exec (vfork, execve, a close-on-exec pipe for exec's errors, wait4),
// and checks what comes back: an exit status, output captured through a
// pipe, output straight to its own stdout, a program that does not exist,
// and a child given other user and group IDs (SysProcAttr.Credential).
// It prints a line per check and exits 0 if all held. With the argument
// "ids" it prints its IDs and what setuid(0) and setgroups say.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ids" {
		printIDs()
		return
	}
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

	// Credentials: os/exec's child calls setgroups, setgid and setuid
	// (as root, it may) before execve, which keeps them; the child, no
	// longer root, cannot take root back.
	ids := exec.Command("/spawn", "ids")
	ids.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1001, Groups: []uint32{1002}}}
	out, err = ids.Output()
	check("a child given uid 1000, gid 1001 and group 1002 has them, real, effective and saved; setuid(0) and setgroups are EPERM for it",
		err == nil && string(out) == "ids 1000 1000 1000 1001 1001 1001 groups [1002] setuid(0) operation not permitted setgroups operation not permitted\n", fmt.Sprintf("%q %v", out, err))
	check("this process is still root", os.Getuid() == 0 && os.Geteuid() == 0 && os.Getgid() == 0, os.Getuid())

	if bad > 0 {
		os.Exit(1)
	}
}

// printIDs prints the process's user and group IDs (real, effective,
// saved), its groups, and the errors of setuid(0) and setgroups, made
// raw on this thread (Go's syscall.Setuid would make them on every
// thread).
func printIDs() {
	ru, eu, su := unix.Getresuid()
	rg, eg, sg := unix.Getresgid()
	groups, _ := unix.Getgroups()
	_, _, e1 := syscall.RawSyscall(syscall.SYS_SETUID, 0, 0, 0)
	_, _, e2 := syscall.RawSyscall(syscall.SYS_SETGROUPS, 0, 0, 0)
	fmt.Printf("ids %d %d %d %d %d %d groups %v setuid(0) %v setgroups %v\n", ru, eu, su, rg, eg, sg, groups, e1, e2)
}
