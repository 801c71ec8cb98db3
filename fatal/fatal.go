package fatal

// onHost is called when no handler is installed; a variable, so that
// Throw's nosplit code makes no direct call into this ordinary Go.
var onHost Handler = hostPanic

// hostPanic is the handler outside the kernel (host unit tests): the
// throw becomes a Go panic the test can see, and the throw is over.
func hostPanic(msg string, _ uintptr) {
	throwing.Store(false)
	panic("fatal: " + msg)
}
