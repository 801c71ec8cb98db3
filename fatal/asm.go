package fatal

// callerPC returns the address its caller was called from. See pc_amd64.s.
func callerPC() uintptr

// spin is the spin-wait hint.
func spin()
