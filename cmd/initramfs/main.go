// Command initramfs writes a newc cpio initramfs whose /init is one static
// program, for booting Linux on the same work as Gofly in the same QEMU
// (make bench): /dev, /dev/console and /dev/null, /init, and the files -file names
// (programs /init runs). The archive is written with u-root's cpio
// package.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"

	"gofly/internal/stdtest"
)

func main() {
	initPath := flag.String("init", "", "static program to run as /init")
	out := flag.String("o", "", "cpio archive to write")
	var files []string
	flag.Func("file", "a program to add at /NAME, as PATH[:NAME] (NAME: PATH's base name); repeatable", func(s string) error {
		files = append(files, s)
		return nil
	})
	flag.Parse()
	if *initPath == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: initramfs -init PROGRAM [-file PATH[:NAME]]... -o ARCHIVE")
		os.Exit(2)
	}
	if err := write(*initPath, files, *out); err != nil {
		fmt.Fprintf(os.Stderr, "initramfs: %v\n", err)
		os.Exit(1)
	}
}

func write(initPath string, files []string, out string) error {
	prog, err := os.ReadFile(initPath)
	if err != nil {
		return err
	}
	var extra []cpio.Record
	for _, f := range files {
		path, name, ok := strings.Cut(f, ":")
		if !ok {
			name = filepath.Base(path)
		}
		if name == "" || strings.Contains(name, "/") || name == "init" || name == "dev" {
			return fmt.Errorf("-file %s: bad name %q", f, name)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		extra = append(extra, cpio.StaticRecord(data, cpio.Info{Name: name, Mode: cpio.S_IFREG | 0o755}))
	}
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.CharDev("dev/null", 0o666, 1, 3), // what os/exec gives a child for no stdin
		cpio.StaticRecord(prog, cpio.Info{Name: "init", Mode: cpio.S_IFREG | 0o755}),
	}
	recs = append(recs, extra...)
	return stdtest.WriteArchive(out, recs, false)
}
