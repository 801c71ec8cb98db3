package main

import (
	"strings"
	"testing"
)

// TestOnLinux makes the checks under the host's Linux kernel: what the
// boot test expects of Gofly is what Linux does.
func TestOnLinux(t *testing.T) {
	var out strings.Builder
	if run(&out) != 0 {
		t.Fatalf("nettest under Linux:\n%s", out.String())
	}
	t.Log(out.String())
}
