// Command initramfs writes a newc cpio initramfs whose /init is one static
// program, for booting Linux on the same work as Gofly in the same QEMU
// (make bench): /dev and /dev/console, then /init. The archive is written
// with u-root's cpio package.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/u-root/u-root/pkg/cpio"
)

func main() {
	initPath := flag.String("init", "", "static program to run as /init")
	out := flag.String("o", "", "cpio archive to write")
	flag.Parse()
	if *initPath == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: initramfs -init PROGRAM -o ARCHIVE")
		os.Exit(2)
	}
	if err := write(*initPath, *out); err != nil {
		fmt.Fprintf(os.Stderr, "initramfs: %v\n", err)
		os.Exit(1)
	}
}

func write(initPath, out string) error {
	prog, err := os.ReadFile(initPath)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := cpio.Newc.Writer(f)
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.StaticRecord(prog, cpio.Info{Name: "init", Mode: cpio.S_IFREG | 0o755}),
	}
	if err := cpio.WriteRecords(w, recs); err != nil {
		f.Close()
		return err
	}
	if err := cpio.WriteTrailer(w); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
