package kernel

// The TrapCall bodies of the kernel's Go code (info.go, smp.go, ioapic.go):
// they run below the runtime, on this CPU's trap stack with interrupts off
// and the MP lock held (lwkt.TrapCall): nosplit, allocation-free, writing
// only into the caller's pointer-free struct at arg.

import (
	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/drivers/pic"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/objcache"
	"gofly/pmap"
	"gofly/sysref"
	"gofly/vm"
)

// dropIdentity unmaps the boot's identity map from the kernel's tables on
// every CPU (pmap.DropLow), once the processors are up.
//
//go:nosplit
func dropIdentity(_ uintptr) uintptr {
	vm.Kernel.Pmap.DropLow()
	lwkt.RequestShootdown()
	return 0
}

// memCountsCopy fills the MemCounts at arg.
//
//go:nosplit
func memCountsCopy(arg uintptr) uintptr {
	c := (*MemCounts)(mm.Ptr(uint64(arg)))
	c.FreePages, c.TotalPages = mm.Phys.FreePages(), mm.Phys.TotalPages()
	c.PageTables, c.Resident = vm.Kernel.Pmap.Tables(), vm.Kernel.Pmap.Resident()
	c.PVs, c.PVFrames = pmap.PVStats()
	c.Stocked = vm.Stocked()
	c.ObjectPages, c.ObjectTables = vm.ObjectPages()
	c.MapEntries, c.Faults = vm.Kernel.Len(), vm.Kernel.Faults
	c.Reclaims, c.ReclaimedPages = mm.Phys.Reclaims, mm.Phys.ReclaimedPages
	return 0
}

// prepareAP sets up the scheduler of application processor cpu (the
// thread table is shared: TrapCall holds the MP lock). It returns 1 on
// success.
//
//go:nosplit
func prepareAP(cpu uintptr) uintptr {
	if lwkt.PrepareAP(int(cpu), uint64(bootFS)) {
		return 1
	}
	return 0
}

// routeArgs is routeIRQ's argument.
type routeArgs struct {
	base             uint64 // the I/O APIC's registers
	pin              uint32
	irq              uint8
	dest             uint32 // local APIC id
	activeLow, level bool
}

// routeIRQ points the I/O APIC pin at legacy IRQ a.irq's vector on the
// CPU a.dest, masks the IRQ at the 8259 and records the routing.
//
//go:nosplit
func routeIRQ(arg uintptr) uintptr {
	a := (*routeArgs)(mm.Ptr(uint64(arg)))
	apic.RouteIRQ(a.base, a.pin, amd64.VectorIRQ0+a.irq, a.dest, a.activeLow, a.level)
	pic.Mask(a.irq)
	ioapicRouted[a.irq%16] = true
	return 0
}

// reclaimCaches is mm's memory-pressure path (mm.SetReclaim): SYSREF
// records other CPUs released while this CPU's caches had no room go
// back to their caches, then every registered cache on this CPU gives
// its magazines and full depot magazines back, and vm its fault stock.
// MP lock held.
//
//go:nosplit
func reclaimCaches() uint64 {
	sysref.Drain()
	return objcache.ReclaimAll() + vm.ReturnStock()
}
