package sys

// Names maps the number of each system call served to its Linux name, from
// calls.
var Names = func() map[int]string {
	m := make(map[int]string)
	for nr, c := range &calls {
		if c.fn != nil {
			m[nr] = c.name
		}
	}
	return m
}()

// LastUnknown returns the number of the most recent unknown system call.
func LastUnknown() uint64 { return lastBad }
