// Command sigtest checks signal delivery from a Go program's side: a nil
// dereference becomes a recoverable panic (SIGSEGV to the runtime's
// handler, which returns through rt_sigreturn into the panic), a signal
// sent to itself reaches os/signal, a signal it ignores does nothing, and
// kill reaches another process (a child of its own, which waits to be
// killed), and SIGSTOP and SIGCONT stop and continue one (wait4 with
// WUNTRACED and WCONTINUED reports each; a stopped child runs no code;
// SIGKILL ends it). It prints a line per check and exits 0 if all held.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

type node struct{ next *node }

func nilDeref() (msg string) {
	defer func() {
		if e := recover(); e != nil {
			msg = fmt.Sprint(e)
		}
	}()
	var n *node
	return fmt.Sprint(n.next)
}

func main() {
	switch os.Getenv("SIGTEST_CHILD") {
	case "":
	case "exit":
		return
	case "tick":
		for { // a byte every 2 ms, until killed
			os.Stdout.Write([]byte("."))
			time.Sleep(2 * time.Millisecond)
		}
	default:
		time.Sleep(time.Hour) // until killed
		return
	}
	bad := 0
	check := func(what string, ok bool, got any) {
		if ok {
			fmt.Printf("sigtest: %s: ok\n", what)
			return
		}
		bad++
		fmt.Printf("sigtest: %s: FAIL (%v)\n", what, got)
	}

	msg := nilDeref()
	check("nil dereference recovered", msg == "runtime error: invalid memory address or nil pointer dereference", msg)

	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case s := <-c:
		check("SIGUSR1 reaches os/signal", s == syscall.SIGUSR1, s)
	case <-time.After(5 * time.Second):
		check("SIGUSR1 reaches os/signal", false, "nothing in 5s")
	}

	// SIGUSR2's default action ends the process: had the kernel taken
	// it, this check's line would never print.
	signal.Ignore(syscall.SIGUSR2)
	kerr := syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	time.Sleep(10 * time.Millisecond)
	check("an ignored SIGUSR2 does nothing", kerr == nil, kerr)

	self, err := os.Executable()
	chld := make(chan os.Signal, 10)
	signal.Notify(chld, syscall.SIGCHLD)
	child := exec.Command(self)
	child.Env = append(os.Environ(), "SIGTEST_CHILD=1")
	if err == nil {
		err = child.Start()
	}
	if err != nil {
		check("kill reaches another process", false, err)
	} else {
		kerr = syscall.Kill(child.Process.Pid, syscall.SIGTERM)
		child.Wait()
		ws, _ := child.ProcessState.Sys().(syscall.WaitStatus)
		check("kill reaches another process", kerr == nil && ws.Signaled() && ws.Signal() == syscall.SIGTERM, fmt.Sprint(kerr, " ", child.ProcessState))
		select {
		case <-chld:
			check("the child's end sends its parent SIGCHLD", true, nil)
		case <-time.After(5 * time.Second):
			check("the child's end sends its parent SIGCHLD", false, "nothing in 5s")
		}
		signal.Stop(chld)
		err := syscall.Kill(child.Process.Pid, 0)
		check("kill of a process gone is ESRCH", err == syscall.ESRCH, err)
	}

	if err == nil {
		stopChecks(self, check)
		reapChecks(self, check)
	}
	if bad > 0 {
		os.Exit(1)
	}
}

// stopChecks stops and continues a child that writes a byte every 2 ms,
// then kills it stopped.
func stopChecks(self string, check func(string, bool, any)) {
	tick := exec.Command(self)
	tick.Env = append(os.Environ(), "SIGTEST_CHILD=tick")
	out, err := tick.StdoutPipe()
	if err == nil {
		err = tick.Start()
	}
	if err != nil {
		check("SIGSTOP stops a process", false, err)
		return
	}
	pipe := out.(*os.File)
	// read returns how many bytes come within d.
	read := func(d time.Duration) int {
		pipe.SetReadDeadline(time.Now().Add(d))
		n, _ := pipe.Read(make([]byte, 4096))
		return n
	}
	pid := tick.Process.Pid
	started := read(5*time.Second) > 0
	var ws syscall.WaitStatus
	kerr := syscall.Kill(pid, syscall.SIGSTOP)
	wpid, werr := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil)
	check("SIGSTOP stops a process: wait4 with WUNTRACED reports it", started && kerr == nil && werr == nil && wpid == pid && ws.Stopped() && ws.StopSignal() == syscall.SIGSTOP, fmt.Sprint(started, kerr, werr, wpid, ws))
	for read(50*time.Millisecond) > 0 { // what it wrote before the stop
	}
	check("a stopped process runs no code: nothing written in 200 ms", read(200*time.Millisecond) == 0, nil)
	kerr = syscall.Kill(pid, syscall.SIGCONT)
	wpid, werr = syscall.Wait4(pid, &ws, syscall.WCONTINUED, nil)
	check("SIGCONT continues it: wait4 with WCONTINUED reports it, and it writes again", kerr == nil && werr == nil && wpid == pid && ws.Continued() && read(5*time.Second) > 0, fmt.Sprint(kerr, werr, wpid, ws))
	syscall.Kill(pid, syscall.SIGSTOP)
	syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil)
	kerr = syscall.Kill(pid, syscall.SIGKILL)
	wpid, werr = syscall.Wait4(pid, &ws, 0, nil)
	check("SIGKILL ends a stopped process", kerr == nil && werr == nil && wpid == pid && ws.Signaled() && ws.Signal() == syscall.SIGKILL, fmt.Sprint(kerr, werr, wpid, ws))
}

// reapChecks: with SIGCHLD ignored, an ended child is reaped at once, as
// on Linux: the parent's wait4 finds no child (ECHILD).
func reapChecks(self string, check func(string, bool, any)) {
	signal.Ignore(syscall.SIGCHLD)
	defer signal.Reset(syscall.SIGCHLD)
	child := exec.Command(self)
	child.Env = append(os.Environ(), "SIGTEST_CHILD=exit")
	err := child.Run()
	check("with SIGCHLD ignored, an ended child is reaped by the kernel: wait4 is ECHILD", errors.Is(err, syscall.ECHILD), err)
}
