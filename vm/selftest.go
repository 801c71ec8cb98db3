package vm

import (
	"fmt"

	"gofly/mm"
)

// SelfTest checks sorted-disjoint and no-user-below on m. The caller holds
// interrupts off.
func (m *Map) SelfTest() error {
	for i := 0; i < m.n; i++ {
		e := m.entries[i]
		if e.Start >= e.End || e.Start%mm.PageSize != 0 || e.End%mm.PageSize != 0 {
			return fmt.Errorf("vm: sorted-disjoint: entry %d [%#x, %#x) malformed", i, e.Start, e.End)
		}
		if i > 0 && m.entries[i-1].End > e.Start {
			return fmt.Errorf("vm: sorted-disjoint: entries %d and %d overlap or are out of order", i-1, i)
		}
		if e.Start < m.userMin {
			return fmt.Errorf("vm: no-user-below: entry %d starts at %#x below %#x", i, e.Start, m.userMin)
		}
	}
	return nil
}
