package proc

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// typeIn feeds s to a fresh TTY in its default (canonical) modes, or
// raw ones, and returns it and its echo.
func typeIn(t *testing.T, s string, raw bool) (*TTY, *bytes.Buffer) {
	t.Helper()
	var echo bytes.Buffer
	tty := NewTTY(&echo)
	if raw {
		tty.tio.lflag &^= unix.ICANON | unix.ECHO | unix.ISIG
		tty.tio.iflag &^= unix.ICRNL
	}
	for i := range len(s) {
		tty.Input(s[i])
	}
	return tty, &echo
}

// readAll takes what reads would, one read each, until none is ready:
// each element is one read's bytes ("EOF" for an end of file).
func readAll(tty *TTY) []string {
	var out []string
	for {
		tty.mu.Lock()
		n, eof := tty.availableLocked()
		switch {
		case n > 0:
			out = append(out, string(tty.queue[:n]))
			tty.takeLocked(n)
		case eof:
			out = append(out, "EOF")
			tty.takeLocked(0)
		}
		tty.mu.Unlock()
		if n == 0 && !eof {
			return out
		}
	}
}

// TestTTYCanonical: lines by Linux's n_tty rules: Enter (CR, read as NL)
// ends one, erase and kill edit it, VEOF hands over a line without a
// delimiter and at a line's start is an end of file; a read takes one
// line at most.
func TestTTYCanonical(t *testing.T) {
	for _, c := range []struct {
		typed string
		reads []string
		echo  string
	}{
		{"ab\x7fc\r", []string{"ac\n"}, "ab\b \bc\n"},
		{"one\rtwo\r", []string{"one\n", "two\n"}, "one\ntwo\n"},
		{"abc\x15d\r", []string{"d\n"}, "abc\b \b\b \b\b \bd\n"},
		{"foo bar\x17x\r", []string{"foo x\n"}, "foo bar\b \b\b \b\b \bx\n"},
		{"ab\x04", []string{"ab"}, "ab"},
		{"\x04", []string{"EOF"}, ""},
		{"a\r\x04b\r", []string{"a\n", "EOF", "b\n"}, "a\nb\n"},
		{"\x7f\x7fx\r", []string{"x\n"}, "x\n"},
		{"a\x01\x7f\r", []string{"a\n"}, "a^A\b \b\b \b\n"},
		{"\x16\x03\r", []string{"\x03\n"}, "^C\n"},
		{"half", nil, "half"},
	} {
		tty, echo := typeIn(t, c.typed, false)
		if got := readAll(tty); strings.Join(got, "|") != strings.Join(c.reads, "|") {
			t.Errorf("typed %q: reads %q, want %q", c.typed, got, c.reads)
		}
		if echo.String() != c.echo {
			t.Errorf("typed %q: echo %q, want %q", c.typed, echo.String(), c.echo)
		}
	}
}

// TestTTYSignals: with ISIG the interrupt character flushes what was
// typed and echoes ^C; a process group gets the signal (checked by the
// boot tests), here none is foreground.
func TestTTYSignals(t *testing.T) {
	tty, echo := typeIn(t, "done\rhalf\x03", false)
	if got := readAll(tty); len(got) != 0 {
		t.Errorf("after ^C: reads %q, want none", got)
	}
	if echo.String() != "done\nhalf^C" {
		t.Errorf("echo %q", echo.String())
	}
	tty.mu.Lock()
	sig := tty.inputLocked(0x1c)
	tty.mu.Unlock()
	if sig != syscall.SIGQUIT {
		t.Errorf("Ctrl-\\ raised %v, want SIGQUIT", sig)
	}
}

// TestTTYRaw: without ICANON bytes are input at once, control characters
// among them; without ISIG Ctrl-C is a byte too.
func TestTTYRaw(t *testing.T) {
	tty, echo := typeIn(t, "a\x03\x7f\r", true)
	if got := readAll(tty); len(got) != 1 || got[0] != "a\x03\x7f\r" {
		t.Errorf("reads %q", got)
	}
	if echo.Len() != 0 {
		t.Errorf("echo %q without ECHO", echo.String())
	}
}

// TestTTYLimits: a line longer than the buffer keeps its first 4095
// bytes and its end; the queue holds no more than the buffer.
func TestTTYLimits(t *testing.T) {
	long := strings.Repeat("x", 2*ttyBuf)
	tty, _ := typeIn(t, long+"\r", false)
	got := readAll(tty)
	if len(got) != 1 || got[0] != strings.Repeat("x", ttyBuf-1)+"\n" {
		t.Errorf("a %d-byte line read as %d reads, first %d bytes", len(long), len(got), len(got[0]))
	}
	tty, _ = typeIn(t, long, true)
	if got := readAll(tty); len(got) != 1 || len(got[0]) != ttyBuf {
		t.Errorf("raw: %d bytes queued, want %d", len(got[0]), ttyBuf)
	}
}

// TestTTYBounds: end-of-file lines take room in the buffer as bytes do,
// so a stream of Ctrl-Ds cannot grow the queue past it; with IXON, Ctrl-S
// and Ctrl-Q are flow control, not input.
func TestTTYBounds(t *testing.T) {
	tty, _ := typeIn(t, strings.Repeat("\x04", 3*ttyBuf), false)
	if n := len(tty.ends); n > ttyBuf {
		t.Errorf("%d Ctrl-Ds queued %d line ends", 3*ttyBuf, n)
	}
	tty, echo := typeIn(t, "a\x13b\x11c\r", false)
	if got := readAll(tty); len(got) != 1 || got[0] != "abc\n" || echo.String() != "abc\n" {
		t.Errorf("with IXON: reads %q, echo %q", got, echo.String())
	}
}

// TestTermiosLayout: TCGETS's struct termios is the kernel's 36 bytes,
// as x/sys/unix's Termios begins; termios2 adds the speeds.
func TestTermiosLayout(t *testing.T) {
	tio := defaultTermios()
	b := make([]byte, termios2Size)
	tio.encode(b)
	var back termios
	back.decode(b)
	if back != tio {
		t.Errorf("decode(encode) = %+v, want %+v", back, tio)
	}
	if b[17+unix.VINTR] != 0x03 || b[17+unix.VEOF] != 0x04 || b[17+unix.VMIN] != 1 {
		t.Errorf("c_cc at the wrong offsets: % x", b[17:36])
	}
	if b[36] != byte(baud&0xff) || b[40] != byte(baud&0xff) {
		t.Errorf("speeds % x", b[36:44])
	}
}
