package main

import (
	"bytes"
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the program when the checks
// run it as their child.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLinux runs the checks under the host's Linux: each holds there.
func TestLinux(t *testing.T) {
	var out bytes.Buffer
	if run(&out) != 0 {
		t.Fatalf("timertest failed under Linux:\n%s", out.String())
	}
	t.Log(out.String())
}
