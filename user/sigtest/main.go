// Command sigtest checks signal delivery from a Go program's side: a nil
// dereference becomes a recoverable panic (SIGSEGV to the runtime's
// handler, which returns through rt_sigreturn into the panic), a signal
// sent to itself reaches os/signal, a signal it ignores does nothing, and
// kill reaches another process (a child of its own, which waits to be
// killed). It prints a line per check and exits 0 if all held.
package main

import (
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
	if os.Getenv("SIGTEST_CHILD") != "" {
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

	signal.Ignore(syscall.SIGUSR2)
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	time.Sleep(10 * time.Millisecond)
	check("an ignored SIGUSR2 does nothing", true, nil)

	self, err := os.Executable()
	child := exec.Command(self)
	child.Env = append(os.Environ(), "SIGTEST_CHILD=1")
	if err == nil {
		err = child.Start()
	}
	if err != nil {
		check("kill reaches another process", false, err)
	} else {
		kerr := syscall.Kill(child.Process.Pid, syscall.SIGTERM)
		child.Wait()
		ws, _ := child.ProcessState.Sys().(syscall.WaitStatus)
		check("kill reaches another process", kerr == nil && ws.Signaled() && ws.Signal() == syscall.SIGTERM, fmt.Sprint(kerr, " ", child.ProcessState))
		err := syscall.Kill(child.Process.Pid, 0)
		check("kill of a process gone is ESRCH", err == syscall.ESRCH, err)
	}

	if bad > 0 {
		os.Exit(1)
	}
}
