// Package shell is Gofly's serial shell: it reads the console (file
// descriptor 0, the COM1 UART) a byte at a time through a lineedit.Editor,
// splits each line into words with u-root's shlex, and runs the named
// command. The prompt is exactly "gofly> "; tests and tools wait for it.
//
// Every command writes to an io.Writer and returns an error; the shell
// prints errors as one line ("name: what went wrong") and prompts again, so
// no input can stop it. The one deliberate exception is `fault`, whose
// CPU-exception kinds and "panic" exist to stop the kernel for tests.
//
// The shell is ordinary Go running in a goroutine above the runtime; it
// reads kernel state through package kernel and the subsystem packages'
// snapshot functions, which copy with interrupts off.
package shell
