package lwkt

import "gofly/arch/amd64"

// TrapCall runs fn(arg) below the runtime and returns its result: on this
// CPU's trap stack, entered through VectorTrapCall, with interrupts off and
// the MP lock held, as every system call runs. It is the only way Go code
// gets "this CPU, no switch, no interrupt" (lwkt/doc.go, Go code and the
// CPU): the goroutine stays inside one INT instruction while fn runs, so
// neither the Go scheduler nor the kernel's can move it.
//
// fn must be a function declared //go:nosplit in a *_nosplit.go file (not
// a closure: nothing it captured could be reached safely): it runs with
// the interrupted goroutine's g in TLS, so it must not allocate, grow the
// stack, block or store Go pointers. `make worlds` checks every call.
// To pass more than a word, pass uintptr(unsafe.Pointer(&v)) in the call
// expression itself: the object then stays put until TrapCall returns.
// Go heap memory is paged in on first touch, and a page fault inside the
// trap path is fatal: a body that writes a large or fresh Go buffer makes
// it present first with vm.Kernel.Touch (the MP lock is held).
//
//go:noescape
func TrapCall(fn func(arg uintptr) uintptr, arg uintptr) uintptr

// TrapCallLocal is TrapCall without the MP lock: fn runs in trap context
// holding nothing, and takes what it touches under locks of its own (a
// process's map's, say). Interrupts are off, so it must not wait for a
// lock whose holder may wait for this CPU, and it cannot take the MP
// lock, which comes first in every lock order. Nor can it make a Go
// page present (vm.Kernel.Touch needs the MP lock): it reports a page
// that is not, and its caller falls back to TrapCall.
//
//go:noescape
func TrapCallLocal(fn func(arg uintptr) uintptr, arg uintptr) uintptr

// trapCallVector and trapCallLocalVector are amd64's, for
// trapcall_amd64.s.
const (
	trapCallVector      = amd64.VectorTrapCall
	trapCallLocalVector = amd64.VectorTrapCallLocal
)
