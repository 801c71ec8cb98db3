package pmap

import "errors"

// SelfTest's errors: it cannot run.
var (
	errScratch = errors.New("pmap: SelfTest: the scratch address is mapped or page 0")
	errNoFrame = errors.New("pmap: SelfTest: no free frame for the test page or its tables")
)
