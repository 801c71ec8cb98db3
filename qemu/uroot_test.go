package qemu_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// urootCmds are the u-root commands the Makefile packs (UROOT_CMDS).
var urootCmds = strings.Fields("cat cp date echo find gosh grep ls mkdir mv rm sleep wc")

// urootArchive returns the cpio archive of u-root's commands at /bin:
// $GOFLY_UROOT when set (make test builds it), else a fresh build of
// them, as the Makefile makes it.
func urootArchive(t testing.TB) string {
	t.Helper()
	if v := os.Getenv("GOFLY_UROOT"); v != "" {
		return ImageFromEnv(t, "GOFLY_UROOT", v)
	}
	dir := t.TempDir()
	args := []string{"run", "./cmd/initramfs", "-o", filepath.Join(dir, "uroot.cpio")}
	for _, c := range urootCmds {
		out := filepath.Join(dir, c)
		cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", out, "github.com/u-root/u-root/cmds/core/"+c)
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building u-root's %s: %v\n%s", c, err, b)
		}
		args = append(args, "-file", out+":bin/"+c)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packing u-root's commands: %v\n%s", err, b)
	}
	return filepath.Join(dir, "uroot.cpio")
}

// TestUroot boots with u-root's commands at /bin and runs each from the
// Gofly shell, then gosh scripts with pipes, redirections, a missing
// command and a failing one: each output is what the same commands give
// under Linux.
func TestUroot(t *testing.T) {
	archive := urootArchive(t)
	m := Boot(t, Options{SMP: 2, Mem: "256M", QEMUArgs: []string{"-initrd", archive}})
	wantMatch(t, "ls /bin", m.Run(t, "run /bin/ls /bin"),
		regexp.MustCompile(`^`+strings.Join(urootCmds, `\n`)+`\n/bin/ls: exit status 0\n$`))
	wantMatch(t, "ls -l /", m.Run(t, "run /bin/ls -l /"),
		regexp.MustCompile(`^drwxr-xr-x +0 0 0 \w+ +\d+ \d\d:\d\d bin\ndrwxr-xr-x +0 0 0 .* dev\ndtrwxrwxrwx 0 0 0 .* tmp\n/bin/ls: exit status 0\n$`))
	wantMatch(t, "echo", m.Run(t, "run /bin/echo one  two"), regexp.MustCompile(`^one two\n/bin/echo: exit status 0\n$`))
	date, status, _ := strings.Cut(m.Run(t, "run /bin/date"), "\n")
	checkDate(t, date)
	wantMatch(t, "date's status", status, regexp.MustCompile(`^/bin/date: exit status 0\n$`))
	wantMatch(t, "wc", m.Run(t, "run /bin/wc -c /bin/wc"), regexp.MustCompile(`^\d{6,} /bin/wc\n/bin/wc: exit status 0\n$`))
	wantMatch(t, "cat of nothing", m.Run(t, "run /bin/cat /nothing"),
		regexp.MustCompile(`(?m)^cat: open /nothing: no such file or directory\n/bin/cat: exit status 1\n$`))

	// gosh -c: pipes, redirections, the file commands, errors.
	for _, c := range []struct{ script, want string }{
		{`ls /bin | wc -l`, "13\n"},
		{`echo hi > /tmp/x; echo there >> /tmp/x; cat /tmp/x`, "hi\nthere\n"},
		{`mkdir -p /tmp/d/e && cp /tmp/x /tmp/d/e/y && mv /tmp/d/e/y /tmp/z && find /tmp | grep -v x$`, "/tmp\n/tmp/d\n/tmp/d/e\n/tmp/z\n"},
		{`grep -n there /tmp/z; rm -r /tmp/d /tmp/z; ls /tmp`, "2:there\nx\n"},
		{`wc < /tmp/x`, "2 2 9\n"},
		{`sleep 0.2 && echo slept`, "slept\n"},
		{`nosuchcmd; echo status $?`, "\"nosuchcmd\": executable file not found in $PATH\nstatus 127\n"},
		{`cat /nothing || echo failed`, "cat: open /nothing: no such file or directory\nfailed\n"},
		{`cat /tmp/x /nothing 2>/dev/null; echo status $?`, "hi\nthere\nstatus 1\n"},
		{`cat /nothing 2>&1 | wc -l`, "1\n"},
		// cd checks the directory with access(2) (faccessat).
		{`cd /tmp && pwd && ls`, "/tmp\nx\n"},
	} {
		out := m.Run(t, `run /bin/gosh -c "`+c.script+`"`)
		if want := c.want + "/bin/gosh: exit status 0\n"; out != want {
			t.Errorf("gosh -c %q: got\n%s\nwant\n%s", c.script, out, want)
		}
	}
	// A process left in the background when its session's leader ends
	// gets the terminal's hang-up (SIGHUP), as under Linux.
	wantMatch(t, "gosh -c with a background sleep", m.Run(t, `run /bin/gosh -c "sleep 100 &"`), regexp.MustCompile(`^/bin/gosh: exit status 0\n$`))
	waitNoProcs(t, m)
	m.Poweroff(t)
}

// goshDone is what gosh (bubbline) writes when a typed line is done
// being edited and runs: the editor's mouse modes turned off.
const goshDone = "\x1b[?1003l"

// goshPrompt is the key help bubbline draws under its prompt.
const goshPrompt = "toggle key help"

// TestGosh runs u-root's shell interactively, as built by default (the
// bubbline line editor, in raw mode): the console is its terminal. The
// test answers its cursor-position queries as a terminal does, types
// lines with pipes and redirections, a missing command, Ctrl-C of a
// sleep (its group gets SIGINT: the sleep dies, gosh, which catches it,
// goes on), and exits back to the Gofly shell.
func TestGosh(t *testing.T) {
	archive := urootArchive(t)
	m := Boot(t, Options{SMP: 2, Mem: "256M", QEMUArgs: []string{"-initrd", archive}})
	m.Send(t, "run /bin/gosh\r")
	// termenv asks the terminal's colours, each query followed by a
	// cursor-position request: the answer to that says "no colours".
	for range 2 {
		m.Expect(t, "\x1b[6n")
		m.Send(t, "\x1b[1;1R")
	}
	m.Expect(t, goshPrompt)
	for _, c := range []struct{ line, want string }{
		{`ls / | wc -l`, "3\n"},
		{`echo hi > /tmp/x; echo there >> /tmp/x; cat /tmp/x`, "hi\nthere\n"},
		{`grep -c e < /tmp/x`, "1\n"},
		{`nosuchcmd`, "\"nosuchcmd\": executable file not found in $PATH\n"},
	} {
		m.Send(t, c.line+"\r")
		m.Expect(t, goshDone)
		out := m.Expect(t, goshPrompt)
		if !strings.HasPrefix(out, c.want) {
			t.Errorf("gosh: %s: got %q, want it to begin %q", c.line, out, c.want)
		}
	}
	// Ctrl-C before the sleep has started reaches gosh alone, which
	// ignores it: send it until the sleep's end shows.
	m.Send(t, "sleep 100\r")
	m.Expect(t, goshDone)
	killed := false
	for range 15 {
		m.Send(t, "\x03")
		if _, err := m.TryExpect("exit status 130", 2*time.Second); err == nil {
			killed = true
			break
		}
	}
	if !killed {
		t.Fatal("gosh: Ctrl-C did not end sleep 100")
	}
	m.Expect(t, goshPrompt)
	m.Send(t, "exit\r")
	m.Expect(t, "/bin/gosh: exit status 0")
	m.Expect(t, "\n"+Prompt)
	wantMatch(t, "procs after gosh", m.Run(t, "procs"), regexp.MustCompile(`^ +PID +PPID .*NAME\n$`))
	m.Poweroff(t)
}
