package main

import (
	"strings"
	"testing"
)

// TestOnLinux runs the checks under the host's Linux kernel, in a
// temporary directory: what the boot test expects of Gofly is what Linux
// does.
func TestOnLinux(t *testing.T) {
	var out strings.Builder
	if run(&out, t.TempDir()) != 0 {
		t.Fatalf("filetest under Linux:\n%s", out.String())
	}
	t.Log(out.String())
}
