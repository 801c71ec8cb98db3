// Command ttytest checks the terminal from a program's side, each check
// with Linux's outcome (its host test runs it on a fresh pseudo-terminal
// under the host's Linux): the termios modes, raw reads with VMIN and
// VTIME, the window size and SIGWINCH, the ioctls' errors on what is no
// terminal, sessions and process groups (its own, its children's, kill
// of a group), poll, ppoll, select and pselect6, and FIONBIO, FIOCLEX
// and FIONCLEX. Its standard input must be the controlling terminal of
// the session it leads, its group the foreground one; nothing need be
// typed. It prints a line per check and exits 0 if all held.
//
// With TTYTEST_CHILD=ROLE in its environment it plays a child of the
// checks instead (see child).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The generic ioctl requests x/sys/unix does not name (Linux's
// asm-generic/ioctls.h).
const (
	fionread = 0x541b
	fionbio  = 0x5421
	fionclex = 0x5450
	fioclex  = 0x5451
)

// notOpen is a descriptor number nothing here opens.
const notOpen = 987

// bogusPID is no process's ID, nor any group's: Linux's largest pid_max
// is 1<<22, and IDs are below it.
const bogusPID = 1 << 22

func main() {
	if child() {
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "stuck" {
		stuck()
	}
	os.Exit(run(os.Stdout))
}

// stuck ("ttytest stuck") is a program Ctrl-C cannot end: it turns ISIG
// off, ignores SIGINT, says "stuck" and waits forever, for the Gofly
// shell's way out (Ctrl-C three times in a second) to be tested.
func stuck() {
	signal.Ignore(syscall.SIGINT)
	if tio, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		tio.Lflag &^= unix.ISIG
		unix.IoctlSetTermios(0, unix.TCSETS, tio)
	}
	fmt.Println("stuck")
	for {
		time.Sleep(time.Hour)
	}
}

func run(w io.Writer) int {
	bad := 0
	check := func(what string, ok bool, got ...any) {
		if ok {
			fmt.Fprintf(w, "ttytest: %s: ok\n", what)
			return
		}
		bad++
		fmt.Fprintf(w, "ttytest: %s: FAIL %v\n", what, got)
	}
	termiosChecks(check)
	winsizeChecks(check)
	ioctlChecks(check)
	sessionChecks(check)
	childChecks(check)
	pollChecks(check)
	selectChecks(check)
	fdFlagChecks(check)
	if bad > 0 {
		return 1
	}
	return 0
}

// childEnv names a child's role: the checks' children are this program
// run again with it set.
const childEnv = "TTYTEST_CHILD"

// child plays the role childEnv names, if it is set, and reports whether
// it was. "ids" prints its PID, group, session and what its terminal
// ioctls give (TIOCGPGRP, then TIOCSCTTY and TIOCNOTTY, then TIOCGPGRP
// again); "wait" reads its input to the end; "usr1" says "ready", waits
// up to 2 s for SIGUSR1 and says whether it came.
func child() bool {
	switch os.Getenv(childEnv) {
	case "":
		return false
	case "ids":
		fg, gerr := unix.IoctlGetInt(0, unix.TIOCGPGRP)
		sctty := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0)
		notty := unix.IoctlSetInt(0, unix.TIOCNOTTY, 0)
		_, after := unix.IoctlGetInt(0, unix.TIOCGPGRP)
		sid, _ := unix.Getsid(0)
		fmt.Println(os.Getpid(), unix.Getpgrp(), sid, fg, errName(gerr), errName(sctty), errName(notty), errName(after))
	case "wait":
		io.Copy(io.Discard, os.Stdin)
	case "usr1":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGUSR1)
		fmt.Println("ready")
		select {
		case <-c:
			fmt.Println("SIGUSR1")
		case <-time.After(2 * time.Second):
			fmt.Println("nothing")
		}
	default:
		fmt.Println("unknown role")
	}
	return true
}

// errName is err's errno name (EPERM), "ok" for none: a word a child
// can print and its parent compare.
func errName(err error) string {
	var e syscall.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &e) && unix.ErrnoName(e) != "":
		return unix.ErrnoName(e)
	}
	return strings.ReplaceAll(err.Error(), " ", "_")
}
