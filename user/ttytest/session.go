package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sessionChecks: this program leads its session and group, the
// terminal's foreground one, and Linux's errors for what a session
// leader may not do and for groups and processes that are not there.
func sessionChecks(check func(string, bool, ...any)) {
	pid := os.Getpid()
	sid, serr := unix.Getsid(0)
	pgrp := unix.Getpgrp()
	pgid, gerr := unix.Getpgid(0)
	check("getsid(0), getpgrp and getpgid(0) are the PID: a session leader", serr == nil && gerr == nil &&
		sid == pid && pgrp == pid && pgid == pid, pid, sid, serr, pgrp, pgid, gerr)
	fg, ferr := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	tsid, terr := unix.IoctlGetInt(0, unix.TIOCGSID)
	check("TIOCGPGRP is its group, TIOCGSID its session", ferr == nil && terr == nil && fg == pgrp && tsid == sid, fg, ferr, tsid, terr)
	e1 := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, pgrp)
	e2 := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, bogusPID)
	e3 := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, -1)
	check("TIOCSPGRP of its group; of no group ESRCH, a negative one EINVAL", e1 == nil &&
		errors.Is(e2, syscall.ESRCH) && errors.Is(e3, syscall.EINVAL), e1, e2, e3)
	err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0)
	check("TIOCSCTTY of its own controlling terminal does nothing", err == nil, err)
	_, err = unix.Setsid()
	check("setsid by a group leader is EPERM", errors.Is(err, syscall.EPERM), err)
	e1 = unix.Setpgid(0, 0)
	e2 = unix.Setpgid(0, -1)
	e3 = unix.Setpgid(bogusPID, 0)
	check("setpgid of a session leader is EPERM, to a negative group EINVAL, of no process ESRCH",
		errors.Is(e1, syscall.EPERM) && errors.Is(e2, syscall.EINVAL) && errors.Is(e3, syscall.ESRCH), e1, e2, e3)
	_, e1 = unix.Getpgid(bogusPID)
	_, e2 = unix.Getsid(bogusPID)
	e3 = unix.Kill(-bogusPID, 0)
	check("getpgid, getsid of no process, kill of no group: ESRCH", errors.Is(e1, syscall.ESRCH) &&
		errors.Is(e2, syscall.ESRCH) && errors.Is(e3, syscall.ESRCH), e1, e2, e3)
	err = unix.Kill(0, 0)
	check("kill(0, 0): its own group", err == nil, err)
}

// ids is what an "ids" child says of itself: its PID, group and session,
// TIOCGPGRP's group and error, then the errors of TIOCSCTTY, TIOCNOTTY
// and TIOCGPGRP after them.
type ids struct {
	pid, pgid, sid, fg              int
	fgErr, sctty, notty, fgErrAfter string
}

// startChild makes a child of role, its input the terminal's unless set
// later, with attr.
func startChild(self, role string, attr *syscall.SysProcAttr) *exec.Cmd {
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	cmd.SysProcAttr = attr
	return cmd
}

// childIDs runs an "ids" child with attr.
func childIDs(self string, attr *syscall.SysProcAttr) (ids, error) {
	var c ids
	out, err := startChild(self, "ids", attr).Output()
	if err != nil {
		return c, err
	}
	if _, err := fmt.Sscan(string(out), &c.pid, &c.pgid, &c.sid, &c.fg, &c.fgErr, &c.sctty, &c.notty, &c.fgErrAfter); err != nil {
		return c, fmt.Errorf("%v in %q", err, out)
	}
	return c, nil
}

// lineOf reads a line from r, without its newline.
func lineOf(r *bufio.Reader) string {
	s, _ := r.ReadString('\n')
	return strings.TrimSuffix(s, "\n")
}

// childChecks: a child's group and session, plain, with Setpgid and with
// Setsid, and what it may do with the terminal; setpgid of a child
// that has called execve; kill of a child's group.
func childChecks(check func(string, bool, ...any)) {
	self, err := os.Executable()
	if err != nil {
		check("os.Executable", false, err)
		return
	}
	pgrp := unix.Getpgrp()
	sid, _ := unix.Getsid(0)
	c, err := childIDs(self, nil)
	check("a child is in its parent's group and session, TIOCGPGRP its group", err == nil &&
		c.pgid == pgrp && c.sid == sid && c.fg == pgrp && c.fgErr == "ok", err, c)
	check("a child's TIOCSCTTY is EPERM: it leads no session", err == nil && c.sctty == "EPERM", err, c)
	check("a child's TIOCNOTTY gives the terminal up: TIOCGPGRP then ENOTTY", err == nil &&
		c.notty == "ok" && c.fgErrAfter == "ENOTTY", err, c)
	c, err = childIDs(self, &syscall.SysProcAttr{Setpgid: true})
	check("a Setpgid child leads a group of its own in its parent's session", err == nil &&
		c.pgid == c.pid && c.pid != pgrp && c.sid == sid && c.fg == pgrp, err, c)
	c, err = childIDs(self, &syscall.SysProcAttr{Setsid: true})
	check("a Setsid child leads a session and group of its own, without the terminal (TIOCGPGRP, TIOCNOTTY ENOTTY; TIOCSCTTY EPERM)",
		err == nil && c.sid == c.pid && c.pgid == c.pid && c.fgErr == "ENOTTY" && c.sctty == "EPERM" && c.notty == "ENOTTY", err, c)

	cmd := startChild(self, "wait", nil)
	cmd.Stdin = nil
	in, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		check("setpgid of a child after its execve is EACCES", false, err)
	} else {
		// Start returns once the child has called execve; the pause is
		// for a kernel that tells the parent a little before it marks the
		// child.
		time.Sleep(50 * time.Millisecond)
		err = unix.Setpgid(cmd.Process.Pid, cmd.Process.Pid)
		in.Close()
		werr := cmd.Wait()
		check("setpgid of a child after its execve is EACCES", errors.Is(err, syscall.EACCES) && werr == nil, err, werr)
	}

	mine := make(chan os.Signal, 1)
	signal.Notify(mine, syscall.SIGUSR1)
	defer signal.Stop(mine)
	cmd = startChild(self, "usr1", &syscall.SysProcAttr{Setpgid: true})
	cmd.Stdin = nil
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		check("kill(-PGID, SIGUSR1) reaches a child's group, not the sender's", false, err)
		return
	}
	r := bufio.NewReader(out)
	ready := lineOf(r)
	kerr := unix.Kill(-cmd.Process.Pid, syscall.SIGUSR1)
	got := lineOf(r)
	werr := cmd.Wait()
	check("kill(-PGID, SIGUSR1) reaches a child's group, not the sender's", ready == "ready" && kerr == nil &&
		got == "SIGUSR1" && werr == nil && !gotSignal(mine, 20*time.Millisecond), ready, kerr, got, werr)
}
