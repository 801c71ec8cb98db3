package fatal

import "strings"

// onHost is called when no handler is installed; a variable, so that
// Throw's nosplit code makes no direct call into this ordinary Go.
var onHost Handler = hostPanic

// hostPanic is the handler outside the kernel (host unit tests): the
// throw becomes a Go panic the test can see, and the throw is over.
func hostPanic(msg string, _ uintptr) {
	throwing.Store(false)
	panic("fatal: " + msg)
}

// Catch runs f and returns the message of the throw it made, or "" when f
// returned: for host tests, where a throw is a panic. A panic that is not
// a throw goes on.
func Catch(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			s, ok := r.(string)
			if !ok || !strings.HasPrefix(s, "fatal: ") {
				panic(r)
			}
			msg = strings.TrimPrefix(s, "fatal: ")
		}
	}()
	f()
	return ""
}
