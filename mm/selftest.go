package mm

import "errors"

// errNoFrame is SelfTest's one error: the test needs a free frame.
var errNoFrame = errors.New("mm: SelfTest: no free frame to test with")
