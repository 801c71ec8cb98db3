// Package gotest runs a Go package's own tests, unmodified, as a Gofly
// kernel: the Makefile copies the package's _test.go files from the
// toolchain's GOROOT beside a TestMain that calls Main, and links the test
// binary as the kernel. A multiboot kernel has no argv, so Main takes the
// test flags from the kernel command line (test.run=…, test.v=true, …),
// then powers off with the result (exit_group: 0 powers off, anything else
// is QEMU's failure status).
package gotest

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"gofly/kernel"
)

// Main starts the kernel, applies the command line's test.* flags and runs
// the tests.
func Main(m *testing.M) {
	kernel.Start()
	for _, w := range strings.Fields(kernel.Cmdline()) {
		k, v, ok := strings.Cut(w, "=")
		if !ok || !strings.HasPrefix(k, "test.") {
			continue
		}
		if err := flag.Set(k, v); err != nil {
			fmt.Fprintf(os.Stderr, "gotest: command line %q: %v\n", w, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}
