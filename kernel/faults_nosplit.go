package kernel

// Deliberate failures below the runtime, for the fault command: each runs
// through lwkt.TrapCall, in trap context.

import (
	"gofly/fatal"
	"gofly/lwkt"
	"gofly/mm"
)

// faultInTrap reads an address that is never mapped from inside the trap
// path: the nested-fault report.
//
//go:nosplit
func faultInTrap(_ uintptr) uintptr {
	return uintptr(*(*uint64)(mm.Ptr(0x7ff0_0000_0000)))
}

// syscallInTrap makes a system call from inside the trap path: it must be
// reported on a stack of its own, not over the frame being served.
//
//go:nosplit
func syscallInTrap(_ uintptr) uintptr {
	syscallInstr()
	return 0
}

// throwNow throws.
//
//go:nosplit
func throwNow(_ uintptr) uintptr {
	fatal.Throw("kernel: deliberate throw from the fault command")
	return 0
}

// doubleFree frees one page frame twice: mm's allocator must throw.
//
//go:nosplit
func doubleFree(_ uintptr) uintptr {
	pa := mm.Phys.Alloc()
	mm.Phys.Free(pa)
	mm.Phys.Free(pa)
	return 0
}

// spinStuck takes the MP lock its trap path already holds: the spin
// watchdog warns after a second and throws after ten.
//
//go:nosplit
func spinStuck(_ uintptr) uintptr {
	lwkt.GetMPLock()
	return 0
}
