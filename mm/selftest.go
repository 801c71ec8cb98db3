package mm

import "fmt"

// SelfTest checks the allocator's invariants on the live bitmap. The caller
// holds interrupts off so the counts cannot move under it.
func (a *Allocator) SelfTest() error {
	if n := a.countFree(); n != a.free {
		return fmt.Errorf("mm: bitmap-truth: %d bits set, free count %d", n, a.free)
	}
	pa := a.Alloc()
	if pa == 0 {
		return fmt.Errorf("mm: Alloc failed with %d pages free", a.free)
	}
	if a.IsFree(pa) {
		return fmt.Errorf("mm: bitmap-truth: page %#x allocated but marked free", pa)
	}
	if !isZero(uintptr(pa)) {
		return fmt.Errorf("mm: zeroed: page %#x not zero", pa)
	}
	if msg := a.Free(pa); msg != "" {
		return fmt.Errorf("%s", msg)
	}
	if msg := a.Free(pa); msg == "" {
		return fmt.Errorf("mm: no-double-free: second Free of %#x accepted", pa)
	}
	return nil
}
