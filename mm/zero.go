package mm

func isZero(p uintptr) bool {
	pg := (*[PageSize / 8]uint64)(Ptr(uint64(p)))
	for _, w := range pg {
		if w != 0 {
			return false
		}
	}
	return true
}
