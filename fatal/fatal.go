package fatal

// SetHandler installs the kernel's throw handler. The kernel calls it
// once during early boot.
func SetHandler(h Handler) { handler = h }

// hostPanic is the handler outside the kernel (host unit tests): the
// throw becomes a Go panic the test can see, and the throw is over.
func hostPanic(msg string, _ uintptr) {
	throwing.Store(false)
	panic("fatal: " + msg)
}
