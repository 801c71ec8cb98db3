// Command initramfs writes a newc cpio initramfs: /dev, /dev/console and
// /dev/null, an /init program if -init names one (for booting Linux on the
// same work as Gofly in the same QEMU, make bench), and the files -file
// names, each at a relative path (bin/ls: its directories are made too).
// Gofly unpacks one given as a multiboot module into its tree at /; the
// Makefile packs u-root's commands at /bin this way. The archive is written
// with u-root's cpio package.
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
	flag.Func("file", "a program to add at /NAME, as PATH[:NAME] (NAME: PATH's base name, or a relative path such as bin/ls); repeatable", func(s string) error {
		files = append(files, s)
		return nil
	})
	flag.Parse()
	if *out == "" || *initPath == "" && len(files) == 0 {
		fmt.Fprintln(os.Stderr, "usage: initramfs [-init PROGRAM] [-file PATH[:NAME]]... -o ARCHIVE")
		os.Exit(2)
	}
	if err := write(*initPath, files, *out); err != nil {
		fmt.Fprintf(os.Stderr, "initramfs: %v\n", err)
		os.Exit(1)
	}
}

// write packs the archive; initPath "" means no /init.
func write(initPath string, files []string, out string) error {
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.CharDev("dev/null", 0o666, 1, 3), // what os/exec gives a child for no stdin
	}
	if initPath != "" {
		prog, err := os.ReadFile(initPath)
		if err != nil {
			return err
		}
		recs = append(recs, cpio.StaticRecord(prog, cpio.Info{Name: "init", Mode: cpio.S_IFREG | 0o755}))
	}
	// What each path in the archive is: a directory or a file.
	isDir := map[string]bool{"dev": true, "dev/console": false, "dev/null": false}
	if initPath != "" {
		isDir["init"] = false
	}
	for _, f := range files {
		path, name, ok := strings.Cut(f, ":")
		if !ok {
			name = filepath.Base(path)
		}
		if _, taken := isDir[name]; taken || name == "." || name != filepath.Clean(name) || filepath.IsAbs(name) || strings.HasPrefix(name, "..") {
			return fmt.Errorf("-file %s: bad name %q", f, name)
		}
		// Each directory the name needs comes before it, as Linux's
		// unpacker makes none.
		var dirs []cpio.Record
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			if dir, ok := isDir[d]; ok {
				if !dir {
					return fmt.Errorf("-file %s: %s is a file", f, d)
				}
				break
			}
			isDir[d] = true
			dirs = append([]cpio.Record{cpio.Directory(d, 0o755)}, dirs...)
		}
		recs = append(recs, dirs...)
		isDir[name] = false
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		recs = append(recs, cpio.StaticRecord(data, cpio.Info{Name: name, Mode: cpio.S_IFREG | 0o755}))
	}
	return stdtest.WriteArchive(out, recs, false)
}
