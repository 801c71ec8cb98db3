package qemu_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

// TestFiles boots with the probe as a module and a cpio archive holding
// /etc/motd and /bin/hello: the RAM file system at / has both, with /dev;
// the file commands list, read, write, truncate, make and remove files,
// a program runs from a subdirectory, and every bad path or argument is
// a clear error after which the kernel still answers.
func TestFiles(t *testing.T) {
	RequireQEMU(t)
	probe := userProgram(t, "GOFLY_USER_PROBE", "probe")
	hello := userProgram(t, "GOFLY_USER_HELLO", "hello")
	prog, err := os.ReadFile(hello)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "root.cpio")
	af, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	w := cpio.Newc.Writer(af)
	recs := []cpio.Record{
		cpio.Directory("etc", 0o755),
		cpio.StaticFile("etc/motd", "welcome to gofly\n", 0o644),
		cpio.Directory("bin", 0o755),
		cpio.StaticFile("bin/hello", string(prog), 0o755),
	}
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	af.Close()

	m := Boot(t, Options{QEMUArgs: []string{"-initrd", probe + "," + archive}})
	wantMatch(t, "ls /", m.Run(t, "ls /"), regexp.MustCompile(`^drwxr-xr-x +2 +0 .* bin\ndrwxr-xr-x +2 +0 .* dev\ndrwxr-xr-x +2 +0 .* etc\n-rwxr-xr-x +1 +\d+ .* probe\ndtrwxrwxrwx +2 +0 .* tmp\n$`))
	wantMatch(t, "ls /dev", m.Run(t, "ls /dev"), regexp.MustCompile(`^crw-rw-rw- +1 +0 .* null\ncrw-rw-rw- +1 +0 .* urandom\ncrw-rw-rw- +1 +0 .* zero\n$`))
	wantMatch(t, "cat", m.Run(t, "cat /etc/motd"), regexp.MustCompile(`^welcome to gofly\n$`))
	wantMatch(t, "stat", m.Run(t, "stat /etc/motd"), regexp.MustCompile(`^/etc/motd: inode \d+, regular file, -rw-r--r-- \(0644\), 1 links, 17 bytes, 8 blocks, modified \d{4}-`))
	wantContains(t, "run from /bin", m.Run(t, "run /bin/hello"), "hello from ring 3\n/bin/hello: exit status 0")
	m.Run(t, "write /etc/note two words")
	wantMatch(t, "write", m.Run(t, "cat /etc/note"), regexp.MustCompile(`^two words\n$`))
	m.Run(t, "write /etc/note one")
	wantMatch(t, "write replaces", m.Run(t, "cat /etc/note"), regexp.MustCompile(`^one\n$`))
	m.Run(t, "truncate /etc/note 2")
	m.Send(t, "cat /etc/note\r")
	m.Expect(t, "\non"+"gofly> ") // no newline left: the prompt follows at once
	wantMatch(t, "truncated size", m.Run(t, "stat /etc/note"), regexp.MustCompile(`, 2 bytes, 8 blocks,`))
	m.Run(t, "truncate /etc/note 0")
	wantMatch(t, "truncated to 0", m.Run(t, "stat /etc/note"), regexp.MustCompile(`, 0 bytes, 0 blocks,`))
	m.Run(t, "mkdir /tmp/a")
	wantMatch(t, "mkdir", m.Run(t, "ls /tmp"), regexp.MustCompile(`^drwxr-xr-x +2 +0 .* a\n$`))
	wantMatch(t, "df", m.Run(t, "df"), regexp.MustCompile(`^/: ramfs, [1-9]\d* of [1-9]\d* pages used`))
	// Loading wrote the file under a Modifying lock, then marked it clean
	// (its pages are the only copy): no lock is left, and the offsets are
	// one range again.
	wantMatch(t, "ccms", m.Run(t, "ccms /etc/motd"), regexp.MustCompile(`^held 0, waiting 0, CSTs 1\n  cst +\[0, max\] INVALID .*\n$`))
	for line, want := range map[string]string{
		"cat /nothing":                    "cat: lookup /nothing: no such file or directory",
		"ls /probe/x":                     "ls: lookup /probe/x: not a directory",
		"cat /etc":                        "cat: read /etc: is a directory",
		"cat":                             "cat: usage: cat FILE...",
		"mkdir /etc":                      "mkdir: mkdir /etc: file exists",
		"rm /tmp":                         "rm: remove /tmp: directory not empty",
		"rm /":                            "rm: remove /: device or resource busy",
		"rm /nothing":                     "rm: remove /nothing: no such file or directory",
		"truncate /etc/motd x":            `truncate: "x" is not a size in bytes`,
		"truncate /etc/motd -1":           `truncate: "-1" is not a size in bytes`,
		"truncate /etc 1":                 "truncate: truncate /etc: is a directory",
		"write /etc":                      "write: truncate /etc: is a directory",
		"run /nothing":                    "run: lookup /nothing: no such file or directory",
		"run /etc/motd":                   "run: /etc/motd: permission denied", // 0644: execve's EACCES
		"ccms /etc":                       "ccms: ccms /etc: is a directory",
		"ccms /nothing":                   "ccms: lookup /nothing: no such file or directory",
		"ls /" + strings.Repeat("n", 256): "file name too long",
	} {
		wantContains(t, line, m.Run(t, line), want)
	}
	m.Run(t, "rm /tmp/a /tmp /etc/note")
	wantMatch(t, "rm", m.Run(t, "ls /tmp /etc/note"), regexp.MustCompile(`lookup /tmp: no such file or directory\n?.*lookup /etc/note: no such file or directory`))
	wantMatch(t, "still answering", m.Run(t, "echo alive"), regexp.MustCompile(`^alive\n$`))
	m.Poweroff(t)
}
