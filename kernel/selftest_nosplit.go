package kernel

// The allocator's, the page tables' and the address map's self-tests run
// below the runtime, holding the MP lock their guards assert, through
// lwkt.TrapCall: nosplit.

import (
	"gofly/drivers/timer"
	"gofly/mm"
	"gofly/vm"
)

// pmapScratch is the page pmap's self-test maps and unmaps: the top of the
// kernel's map range, which the Go runtime never reaches, in the upper
// half (the test runs on whatever address space its CPU has loaded).
const pmapScratch = vm.KernelMax - 16*mm.PageSize

// Each returns 0 when the test ran, 1 when it could not (its error names
// no broken invariant: a broken one throws).

//go:nosplit
func mmSelfTest(_ uintptr) uintptr { return notRun(mm.Phys.SelfTest()) }

//go:nosplit
func pmapSelfTest(_ uintptr) uintptr { return notRun(vm.Kernel.Pmap.SelfTest(pmapScratch)) }

//go:nosplit
func vmSelfTest(_ uintptr) uintptr { return notRun(vm.Kernel.SelfTest()) }

//go:nosplit
func notRun(err error) uintptr {
	if err != nil {
		return 1
	}
	return 0
}

// tscMeasure re-times the TSC against the PIT for ms milliseconds and
// returns the rate: in trap context, with the PIT and this CPU to itself.
//
//go:nosplit
func tscMeasure(ms uintptr) uintptr {
	hz, _ := timer.MeasureTSC(uint64(ms))
	return uintptr(hz)
}
