package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sameModes reports whether a and b have the same flags and control
// characters (TCGETS leaves the speeds unset).
func sameModes(a, b *unix.Termios) bool {
	return a.Iflag == b.Iflag && a.Oflag == b.Oflag && a.Cflag == b.Cflag && a.Lflag == b.Lflag && a.Cc == b.Cc
}

// termiosChecks: the terminal starts cooked; raw mode reads back and
// its reads with nothing typed return at once (VMIN 0, VTIME 0) or
// after VTIME tenths of a second; the first modes come back.
func termiosChecks(check func(string, bool, ...any)) {
	orig, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		check("TCGETS on the terminal", false, err)
		return
	}
	// What a Linux console and a fresh pseudo-terminal share.
	check("TCGETS: cooked (ICANON, ECHO, ISIG, ICRNL, OPOST|ONLCR; VINTR ^C, VEOF ^D, VERASE DEL, VMIN 1)",
		orig.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) == unix.ICANON|unix.ECHO|unix.ISIG && orig.Iflag&unix.ICRNL != 0 &&
			orig.Oflag&(unix.OPOST|unix.ONLCR) == unix.OPOST|unix.ONLCR && orig.Cc[unix.VINTR] == 0x03 &&
			orig.Cc[unix.VEOF] == 0x04 && orig.Cc[unix.VERASE] == 0x7f && orig.Cc[unix.VMIN] == 1, *orig)
	t2, err := unix.IoctlGetTermios(0, unix.TCGETS2)
	check("TCGETS2: the same modes, speeds 38400", err == nil && sameModes(t2, orig) && t2.Ispeed == 38400 && t2.Ospeed == 38400, err, t2)

	raw := *orig
	raw.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 0, 0
	err = unix.IoctlSetTermios(0, unix.TCSETS, &raw)
	got, gerr := unix.IoctlGetTermios(0, unix.TCGETS)
	check("TCSETS raw (no ICANON, ECHO, ISIG; VMIN 0, VTIME 0) reads back", err == nil && gerr == nil && sameModes(got, &raw), err, gerr, got)
	buf := make([]byte, 16)
	t0 := time.Now()
	n, rerr := unix.Read(0, buf)
	el := time.Since(t0)
	check("raw, VMIN 0, VTIME 0: a read with nothing typed is 0 at once", n == 0 && rerr == nil && el < 100*time.Millisecond, n, rerr, el)
	raw.Cc[unix.VTIME] = 2
	err = unix.IoctlSetTermios(0, unix.TCSETSW, &raw)
	t0 = time.Now()
	n, rerr = unix.Read(0, buf)
	el = time.Since(t0)
	check("TCSETSW raw, VMIN 0, VTIME 2: a read is 0 after 0.2 s", err == nil && n == 0 && rerr == nil &&
		el >= 100*time.Millisecond && el < 2*time.Second, err, n, rerr, el)
	n, ferr := unix.IoctlGetInt(0, fionread)
	check("FIONREAD on the terminal with nothing typed: 0", ferr == nil && n == 0, n, ferr)
	err = unix.IoctlSetTermios(0, unix.TCSETSF, orig)
	got, gerr = unix.IoctlGetTermios(0, unix.TCGETS)
	check("TCSETSF restores the first modes", err == nil && gerr == nil && sameModes(got, orig), err, gerr, got)
}

// gotSignal reports whether c receives a signal within d.
func gotSignal(c <-chan os.Signal, d time.Duration) bool {
	select {
	case <-c:
		return true
	case <-time.After(d):
		return false
	}
}

// winsizeChecks: the window size reads back as set, and a change (not
// the same size again) sends SIGWINCH to the foreground group, which is
// this program's.
func winsizeChecks(check func(string, bool, ...any)) {
	orig, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	check("TIOCGWINSZ", err == nil, err)
	if err != nil {
		return
	}
	c := make(chan os.Signal, 4)
	signal.Notify(c, syscall.SIGWINCH)
	defer signal.Stop(c) // the restoring resize's SIGWINCH, if late, is ignored
	want := unix.Winsize{Col: 100, Row: 40}
	err = unix.IoctlSetWinsize(0, unix.TIOCSWINSZ, &want)
	got, gerr := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	check("TIOCSWINSZ 100x40 reads back", err == nil && gerr == nil && *got == want, err, gerr, got)
	check("a new size sends SIGWINCH to the foreground group", err == nil && gotSignal(c, time.Second), err)
	err = unix.IoctlSetWinsize(0, unix.TIOCSWINSZ, &want)
	check("the same size again sends none", err == nil && !gotSignal(c, 100*time.Millisecond), err)
	err = unix.IoctlSetWinsize(0, unix.TIOCSWINSZ, orig)
	got, gerr = unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	check("TIOCSWINSZ restores the first size", err == nil && gerr == nil && *got == *orig, err, gerr, got, orig)
}

// ioctlChecks: the terminal requests on what is no terminal, the input
// count of a pipe, and flushing the terminal's input.
func ioctlChecks(check func(string, bool, ...any)) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		check("pipe2", false, err)
		return
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	_, perr := unix.IoctlGetTermios(p[0], unix.TCGETS)
	_, wperr := unix.IoctlGetWinsize(p[1], unix.TIOCGWINSZ)
	var ferr error = syscall.ENOENT
	if self, err := os.Executable(); err == nil {
		if fd, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			_, ferr = unix.IoctlGetTermios(fd, unix.TCGETS)
			unix.Close(fd)
		}
	}
	_, berr := unix.IoctlGetTermios(notOpen, unix.TCGETS)
	check("TCGETS or TIOCGWINSZ on a pipe, TCGETS on a regular file: ENOTTY; on a descriptor not open EBADF",
		errors.Is(perr, syscall.ENOTTY) && errors.Is(wperr, syscall.ENOTTY) && errors.Is(ferr, syscall.ENOTTY) && errors.Is(berr, syscall.EBADF),
		perr, wperr, ferr, berr)
	unix.Write(p[1], []byte("abc"))
	n, err := unix.IoctlGetInt(p[0], fionread)
	check("FIONREAD on a pipe: the bytes in it", err == nil && n == 3, n, err)
	e1 := unix.IoctlSetInt(0, unix.TCFLSH, unix.TCIFLUSH)
	e2 := unix.IoctlSetInt(0, unix.TCFLSH, 7)
	check("TCFLSH TCIFLUSH on the terminal; an unknown queue is EINVAL", e1 == nil && errors.Is(e2, syscall.EINVAL), e1, e2)
}
