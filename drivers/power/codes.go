package power

// Why the kernel stopped, as the value written to isa-debug-exit: QEMU
// exits with Status(code). Each cause has its own code so that boot tests
// can tell a CPU exception from a throw, a Go panic or a failed test. This
// is the one place they are defined.
const (
	CodeThrow      = 1 // a broken kernel invariant (fatal.Throw): status 3
	CodeFault      = 2 // a fatal CPU exception: status 5
	CodePanic      = 3 // the Go program exited with status 2 (unrecovered panic, runtime throw): status 7
	CodeExit       = 4 // the Go program exited with another non-zero status: status 9
	CodeTestFailed = 5 // the boot-time self-tests failed (selftest on the command line): status 11
)

// Status returns QEMU's exit status after the kernel writes code to
// isa-debug-exit.
func Status(code uint8) int { return int(code)<<1 | 1 }
