package ktest

import (
	"errors"
	"fmt"
	"testing"
)

func TestSkip(t *testing.T) {
	err := Skip("needs %d CPUs", 2)
	if !IsSkip(err) || err.Error() != "skipped: needs 2 CPUs" {
		t.Fatalf("Skip: %v (IsSkip %v)", err, IsSkip(err))
	}
	if !IsSkip(fmt.Errorf("wrapped: %w", err)) {
		t.Error("a wrapped skip is not recognised")
	}
	if IsSkip(errors.New("skipped: but a failure")) || IsSkip(nil) {
		t.Error("a failure or nil counted as skipped")
	}
}

func TestRegisterKeepsOrder(t *testing.T) {
	old := checks
	defer func() { checks = old }()
	checks = nil
	Register(Check{Name: "a"}, Check{Name: "b"})
	Register(Check{Name: "c"})
	var names string
	for _, c := range Checks() {
		names += c.Name
	}
	if names != "abc" {
		t.Fatalf("order %q, want abc", names)
	}
}
