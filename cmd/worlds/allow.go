package main

import "strings"

// The allowlist: splittable functions that below-runtime code may call.
// It is kept to the runtime's panic helpers that the compiler itself emits
// on the failure path of a check it inserted (an index or slice bound, a
// zero divisor, a negative shift count, an unsafe.Slice length). Such a
// call runs only when the check fails, and then the kernel is going down
// anyway: a panic on a trap stack is fatal whatever the callee's prologue
// does, and the linker already counts these helpers' frames in the
// 792-byte nosplit budget.
// Anything else splittable reached from below the runtime is an error.
//
// Keys are symbol names without the ELF ABI suffix (.abi0); an entry that
// ends in '*' is a prefix (a family whose members vary between releases).
var allowed = map[string]string{
	// Bounds checks. Go 1.25 and later emit CALL runtime.panicBounds (an
	// assembly stub that decodes the failing check from the call site) and
	// it calls the Go function panicBounds64.
	"runtime.panicBounds*": "bounds-check failure (Go >= 1.25)",
	// Go 1.24 and earlier: one assembly stub per kind of bound
	// (panicIndex, panicSliceAlen, ...) jumping to a goPanic* Go function.
	"runtime.panicIndex*":   "bounds-check failure (Go <= 1.24)",
	"runtime.panicSlice*":   "slice-bound failure (Go <= 1.24)",
	"runtime.goPanicIndex*": "bounds-check failure (Go <= 1.24)",
	"runtime.goPanicSlice*": "slice-bound failure (Go <= 1.24)",
	// Integer division by zero and x/0 remainders, when the divisor is
	// not a constant.
	"runtime.panicdivide": "division-by-zero check",
	// Shift by a signed count that is negative.
	"runtime.panicshift": "negative shift-count check",
	// unsafe.Slice(p, n) and unsafe.String(p, n) with a variable n: the
	// compiler checks n against the address space and p against nil.
	"runtime.panicunsafeslice*":  "unsafe.Slice length or nil-pointer check",
	"runtime.panicunsafestring*": "unsafe.String length or nil-pointer check",
	// Nil checks compile to a faulting load, which enters panicmem through
	// sigpanic, not through a call; listed in case a release emits them
	// as calls (the kernel reports a fault below the runtime itself).
	"runtime.panicmem*": "nil-check failure",
}

// isAllowed reports whether below-runtime code may call the function name.
func isAllowed(name string) bool {
	name = baseName(name)
	for k := range allowed {
		if p, ok := strings.CutSuffix(k, "*"); ok {
			if strings.HasPrefix(name, p) {
				return true
			}
		} else if name == k {
			return true
		}
	}
	return false
}

// baseName strips the ABI suffix the Go linker adds to ELF symbol names of
// ABI0 (assembly, or wrapper) functions.
func baseName(name string) string {
	for _, s := range []string{".abi0", ".abiinternal"} {
		if n, ok := strings.CutSuffix(name, s); ok {
			return n
		}
	}
	return name
}

// isMorestack reports whether name is one of the runtime's stack-growth
// entries, which only a splittable function's prologue calls:
// morestack (closures), morestack_noctxt, and morestackc (the check of
// //go:systemstack functions, which compares SP with g.stackguard0 too).
func isMorestack(name string) bool {
	switch baseName(name) {
	case "runtime.morestack", "runtime.morestack_noctxt", "runtime.morestackc":
		return true
	}
	return false
}

// aboveRuntime lists assembly TEXT symbols of gofly packages that are not
// roots although they live in .s files: they run on a goroutine's own
// stack with its own g in TLS, so a splittable callee's prologue checks the
// right bounds. Every entry is a deliberate crossing into ordinary Go.
var aboveRuntime = map[string]string{
	// A thread that took a fatal CPU exception resumes here on its own
	// goroutine stack, with the faulting RIP pushed as a return address
	// (injectReport in kernel/trap_nosplit.go, as the runtime injects
	// sigpanic): reportFault is ordinary Go by design. The trap path has
	// already printed the register report before it gets here.
	"gofly/kernel.faultTrampoline": "resumes the faulting goroutine into reportFault",
}
