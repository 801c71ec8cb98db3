package main

import (
	"os"
	"strings"
	"testing"
)

// TestMain serves the cross-process check's child: the test binary runs
// itself with readerEnv set.
func TestMain(m *testing.M) {
	if reader() {
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOnLinux makes the checks under the host's Linux kernel: what the
// boot test expects of Gofly is what Linux does.
func TestOnLinux(t *testing.T) {
	var out strings.Builder
	if run(&out, 20) != 0 {
		t.Fatalf("pipetest under Linux:\n%s", out.String())
	}
	t.Log(out.String())
}
