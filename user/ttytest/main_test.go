package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// onPTY set in its environment makes the test binary run the checks: the
// program as it runs on a terminal.
const onPTY = "TTYTEST_ON_PTY"

// TestMain serves the checks' children, and the checks themselves on a
// terminal: the test binary runs itself.
func TestMain(m *testing.M) {
	if child() {
		os.Exit(0)
	}
	if os.Getenv(onPTY) != "" {
		os.Exit(run(os.Stdout))
	}
	os.Exit(m.Run())
}

// TestOnLinux makes the checks under the host's Linux kernel, on a fresh
// pseudo-terminal whose session they lead, as Gofly's shell runs a
// program on its console: what the boot test expects of Gofly is what
// Linux does.
func TestOnLinux(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), onPTY+"=1")
	ptmx, err := pty.StartWithAttrs(cmd, nil, &syscall.SysProcAttr{Setsid: true, Setctty: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	kill := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer kill.Stop()
	var out bytes.Buffer
	_, err = io.Copy(&out, ptmx)
	if err != nil && !errors.Is(err, syscall.EIO) { // EIO: every slave closed
		t.Error(err)
	}
	werr := cmd.Wait()
	text := strings.ReplaceAll(out.String(), "\r\n", "\n") // ONLCR
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	bad := werr != nil || len(lines) == 0
	for _, l := range lines {
		if !strings.HasPrefix(l, "ttytest: ") || !strings.HasSuffix(l, ": ok") {
			bad = true
		}
	}
	if bad {
		t.Fatalf("ttytest under Linux (%v):\n%s", werr, text)
	}
	t.Logf("%d checks:\n%s", len(lines), text)
}
