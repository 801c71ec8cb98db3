package mm

// Host memory stands in for RAM: see package hostram.

import (
	"strings"
	"testing"
	"unsafe"

	"gofly/internal/hostram"
)

// hostRAM returns the window of host memory used as RAM.
func hostRAM(t testing.TB) (base, n uint64) { return hostram.Window(t) }

// fill writes byte v over [pa, pa+n) of host "physical" memory.
func fill(pa, n uint64, v byte) {
	b := unsafe.Slice((*byte)(Ptr(pa)), n)
	for i := range b {
		b[i] = v
	}
}

// pageIsZero reports whether the 4 KiB page at pa reads as zeros.
func pageIsZero(pa uint64) bool {
	for _, w := range (*[PageSize / 8]uint64)(Ptr(pa)) {
		if w != 0 {
			return false
		}
	}
	return true
}

// throws runs f and returns the message of the throw it made (on the host
// fatal.Throw panics with "fatal: "+msg), or "" when f returned.
func throws(f func()) (msg string) {
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
