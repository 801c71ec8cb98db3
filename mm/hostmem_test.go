package mm

// Host memory stands in for RAM: see package hostram.

import (
	"testing"
	"unsafe"

	"gofly/internal/hostram"

	"gofly/fatal"
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

// throws runs f and returns the message of the throw it made.
func throws(f func()) string { return fatal.Catch(f) }
