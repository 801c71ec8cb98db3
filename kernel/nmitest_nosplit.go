package kernel

// The NMI self-test's body runs below the runtime (TrapCall): nosplit.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/lwkt"
)

// nmiBodyX1 is what nmiBody leaves in X1, the thread's value never is.
const nmiBodyX1 = 0x2222_2222_2222_2222

// nmiSeen says whether nmiBody's NMI arrived.
var nmiSeen atomic.Bool

// nmiBody puts its own value in X1 and takes an NMI of its own CPU inside
// the trap path, waiting for it a bounded time.
//
//go:nosplit
func nmiBody(_ uintptr) uintptr {
	cpu := amd64.CPU()
	before := nmis[cpu].Load()
	nmiSeen.Store(false)
	setX1(nmiBodyX1)
	apic.SendNMI(lwkt.APICID(cpu))
	for i := 0; i < 1<<26 && !nmiSeen.Load(); i++ {
		nmiSeen.Store(nmis[cpu].Load() != before)
		amd64.Pause()
	}
	return 0
}
