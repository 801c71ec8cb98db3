// Package ktest is the registry of in-kernel self-tests and benchmarks.
// Each package registers its own, from an init function in the file that
// holds them (a package's self-tests and benchmarks live in that package);
// the shell's selftest and bench commands run what is registered, in
// registration order within a package and package initialisation order
// across packages.
//
// A check that cannot run on this machine (one CPU where it needs two)
// returns Skip(reason): it is reported as skipped, never as passed.
//
// Locking: registration happens during package initialisation only;
// afterwards the lists are read-only.
package ktest

import (
	"errors"
	"fmt"
)

// Check is one in-kernel self-test: Run returns nil when the invariant
// holds, Skip(...) when it cannot be checked here, an error otherwise.
type Check struct {
	Name string
	Run  func() error
}

// Result is one benchmark figure.
type Result struct {
	Name  string
	Value float64
	Unit  string
}

// Bench is one in-kernel benchmark: Run returns its figures, measured
// side by side in one run.
type Bench struct {
	Name string
	Run  func() ([]Result, error)
}

var (
	checks  []Check
	benches []Bench
)

// Register adds self-tests. Call it from an init function.
func Register(c ...Check) { checks = append(checks, c...) }

// RegisterBench adds benchmarks. Call it from an init function.
func RegisterBench(b ...Bench) { benches = append(benches, b...) }

// Checks returns every registered self-test.
func Checks() []Check { return checks }

// Benches returns every registered benchmark.
func Benches() []Bench { return benches }

// skipped is the error of a check that could not run.
type skipped struct{ reason string }

func (s skipped) Error() string { return "skipped: " + s.reason }

// Skip returns the error a check gives when it cannot run here.
func Skip(format string, args ...any) error { return skipped{fmt.Sprintf(format, args...)} }

// IsSkip reports whether err says a check was skipped.
func IsSkip(err error) bool {
	var s skipped
	return errors.As(err, &s)
}
