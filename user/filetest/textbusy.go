package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// childEnv makes a run of this program (or its host test binary) end at
// once with status 0: the checks below run copies of it.
const childEnv = "FILETEST_CHILD=exit"

func init() {
	if os.Getenv("FILETEST_CHILD") == "exit" {
		os.Exit(0)
	}
}

// textBusyChecks: a running program's file cannot be opened for writing
// or truncated (ETXTBSY), nor can a file open for writing be run; once
// the writer is closed it runs.
func textBusyChecks(check func(string, bool, ...any), dir string) {
	exe, err := os.Executable()
	if err != nil {
		check("text busy: os.Executable", false, err)
		return
	}
	_, werr := os.OpenFile(exe, os.O_WRONLY, 0)
	terr := os.Truncate(exe, 0)
	check("text busy: this program's file opens for writing, or truncates, with ETXTBSY",
		errors.Is(werr, syscall.ETXTBSY) && errors.Is(terr, syscall.ETXTBSY), werr, terr)

	src, err := os.Open(exe)
	if err != nil {
		check("text busy: open this program's file", false, err)
		return
	}
	defer src.Close()
	cp := filepath.Join(dir, "busy-copy")
	w, err := os.OpenFile(cp, os.O_CREATE|os.O_WRONLY, 0o755)
	if err == nil {
		_, err = io.Copy(w, src)
	}
	if err != nil {
		check("text busy: copy this program", false, err)
		return
	}
	run := func() ([]byte, error) {
		c := exec.Command(cp)
		c.Env = append(os.Environ(), childEnv)
		return c.CombinedOutput()
	}
	_, rerr := run()
	w.Close()
	out, aerr := run()
	check("text busy: a file open for writing runs with ETXTBSY, and once closed runs",
		errors.Is(rerr, syscall.ETXTBSY) && aerr == nil, rerr, aerr, string(out))
}
