package sysref

// String names a state, for `sysref show` and test failures.
func (s State) String() string {
	switch s {
	case Free:
		return "free"
	case Building:
		return "building"
	case Active:
		return "active"
	case Terminating:
		return "terminating"
	case Dead:
		return "dead"
	}
	return "bad-state"
}

// String names a Put result.
func (p PutResult) String() string {
	switch p {
	case PutHeld:
		return "held"
	case PutTerminate:
		return "terminate"
	case PutLast:
		return "last"
	}
	return "bad-put-result"
}
