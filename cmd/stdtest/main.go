// Command stdtest is make stdtest: the Go standard library's own tests as
// Gofly processes, beside Linux with -linux (package internal/stdtest). It
// exits 1 if a package fails or does not run on Gofly, 2 if the run could
// not finish.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"gofly/internal/stdtest"
)

func main() {
	var o stdtest.Options
	pkgs := flag.String("pkgs", "std", `packages to test, space-separated ("std": every standard package with tests)`)
	flag.StringVar(&o.Kernel, "kernel", "build/gofly.elf", "the Gofly image")
	flag.StringVar(&o.Runner, "runner", "build/user/stdrun", "user/stdrun, built static")
	flag.StringVar(&o.Linux, "linux", "", "a Linux bzImage to run the same initramfs under, beside Gofly")
	flag.StringVar(&o.Out, "out", "build/stdtest", "where the binaries and the initramfs go")
	flag.IntVar(&o.SMP, "smp", 2, "QEMU's -smp")
	flag.StringVar(&o.Mem, "mem", "1G", "QEMU's -m")
	flag.Int64Var(&o.Batch, "batch", stdtest.DefaultBatch, "the test binaries' bytes one boot carries (more packages: more boots)")
	flag.DurationVar(&o.Timeout, "timeout", 60*time.Minute, "each boot's limit")
	flag.Parse()
	o.Pkgs = strings.Fields(*pkgs)
	gofly, _, err := stdtest.Run(os.Stdout, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "stdtest: %v\n", err)
		os.Exit(2)
	}
	for _, r := range gofly {
		if r.Status != "PASS" {
			os.Exit(1)
		}
	}
}
