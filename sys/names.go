package sys

// Names maps the number of each system call served to its Linux name, from
// calls.
var Names = func() map[int]string {
	n := 0
	for i := range calls {
		if calls[i].fn != nil {
			n++
		}
	}
	m := make(map[int]string, n) // sized once: no growth at boot
	for nr, c := range &calls {
		if c.fn != nil {
			m[nr] = c.name
		}
	}
	return m
}()

// LastUnknown returns the number of the most recent unknown system call.
func LastUnknown() uint64 { return lastBad }
