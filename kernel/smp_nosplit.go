package kernel

// Application processors arrive here from the trampoline with no g and
// interrupts off: nosplit, allocation-free.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/klog"
	"gofly/lwkt"
)

// cpuOnline[i] is set by CPU i once its scheduler runs.
var cpuOnline [amd64.MaxCPUs]atomic.Bool

// apInit brings application processor cpu up: its descriptor tables and
// SYSCALL path, NX, its local APIC and timer, and its scheduler, whose idle
// thread the caller (apEntry) then becomes. See entry_amd64.s.
//
//go:nosplit
func apInit(cpu int) {
	setupCPU(cpu)
	enableNX()
	apic.Init(false)
	apic.StartTimer(amd64.VectorTimer, tickHz)
	lwkt.StartAP(cpu)
	cpuLocals[cpu].fpu = lwkt.CurrentFPU()
	cpuOnline[cpu].Store(true)
	m := klog.Begin()
	klog.Puts("gofly: cpu ")
	klog.Dec(uint64(cpu))
	klog.Puts(" online, local APIC id ")
	klog.Dec(uint64(apic.ID()))
	klog.Puts("\n")
	m.End()
}
