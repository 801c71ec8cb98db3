package power

import "testing"

// TestCodesDistinct: every stop cause has its own QEMU status, and none is
// 0 (a clean power-off) or 1 (QEMU's own failure).
func TestCodesDistinct(t *testing.T) {
	seen := map[int]uint8{}
	for _, c := range []uint8{CodeThrow, CodeFault, CodePanic, CodeExit, CodeTestFailed} {
		s := Status(c)
		if s <= 1 || s > 255 {
			t.Errorf("code %d: status %d out of range", c, s)
		}
		if o, ok := seen[s]; ok {
			t.Errorf("codes %d and %d share status %d", o, c, s)
		}
		seen[s] = c
	}
}
