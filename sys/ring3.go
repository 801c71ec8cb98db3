package sys

import (
	"unsafe"

	"gofly/arch/amd64"
	"gofly/lwkt/ipiq"
	"gofly/vm"
)

func init() {
	ipiq.Register(idUnload, unloadOn)
	vm.Unload = unloadMap
}

// UserFPU returns the user FXSAVE image of c (16-byte aligned), for the
// goroutine that owns c outside the switch call.
func (c *UserContext) UserFPU() *amd64.FPUState {
	p := uintptr(unsafe.Pointer(&c.fpu[0]))
	return (*amd64.FPUState)(c.fpu[alignFPU(p)-p:])
}
