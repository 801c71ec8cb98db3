package kernel

import (
	"fmt"
	"strings"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/mm"
)

// Cmdline returns the multiboot command line.
func Cmdline() string { return string(cmdline[:cmdlineLen]) }

// CmdlineTruncated returns how many command-line bytes did not fit.
func CmdlineTruncated() int { return cmdlineTruncated }

// MemoryMap returns the firmware memory map and how many entries did not
// fit the kernel's table.
func MemoryMap() ([]MemRegion, int) {
	return append([]MemRegion(nil), memMap[:nMemMap]...), memMapLost
}

// Module is a multiboot module: a file the boot loader (QEMU's -initrd)
// put in memory, which mm keeps reserved for the life of the kernel.
type Module struct {
	Name string // the module's string: its file name and arguments
	Addr uint64 // physical (and direct-mapped) address
	Data []byte // its bytes, in place: read-only by convention
}

// Modules returns the multiboot modules in boot-loader order, and how
// many did not fit the kernel's table.
func Modules() ([]Module, int) {
	var out []Module
	for i := 0; i < nModules; i++ {
		r := modules[i]
		var data []byte
		if r.Len > 0 {
			data = unsafe.Slice((*byte)(mm.Direct(r.Base)), r.Len)
		}
		out = append(out, Module{Name: string(moduleNames[i][:moduleNameN[i]]), Addr: r.Base, Data: data})
	}
	return out, modulesLost
}

// Image returns where the boot stub and the Go image sit.
func Image() (stub, goImage mm.Range) { return imageStub, imageGo }

// Stamp is one boot-timeline entry.
type Stamp struct {
	Name string
	TSC  uint64
}

// Timeline returns the boot phases reached so far, in order.
func Timeline() []Stamp {
	var out []Stamp
	for p := Phase(0); p < numPhases; p++ {
		if stamps[p] != 0 {
			out = append(out, Stamp{phaseNames[p], stamps[p]})
		}
	}
	return out
}

// Counters are the trap path's event counts.
type Counters struct {
	IRQs       [16]uint64
	Spurious   uint64
	Stray      uint64
	Signals    uint64
	PageFaults uint64
	// SerialIOAPIC says COM1's IRQ arrives through the I/O APIC.
	SerialIOAPIC bool
}

// TrapCounters returns the trap path's counters.
func TrapCounters() Counters {
	return Counters{irqCount, spuriousIRQs, strayVectors, signalsRaised, pageFaultsSeen, ioapicRouted[irqSerial]}
}

// MemCounts are the memory packages' counters, for the shell's mem.
type MemCounts struct {
	FreePages, TotalPages uint64 // page frames (mm)
	PageTables, Resident  uint64 // page-table pages, resident anonymous pages (pmap)
	PVs, PVFrames         uint64 // PV entries in use, frames pmap's PV bookkeeping keeps
	Stocked               uint64 // frames the CPUs keep for faults without the MP lock (vm)
	ObjectPages           uint64 // pages shared-memory objects hold (vm)
	ObjectTables          uint64 // frames of their page indexes
	MapEntries            int    // kernel address-map entries (vm)
	Faults                uint64 // demand-zero faults served (vm)
	Reclaims              uint64 // times mm ran out of frames and reclaimed the object caches
	ReclaimedPages        uint64 // frames those reclaims gave back
}

// MemCounters copies the memory counters at one instant: below the
// runtime, under the MP lock that guards them (lwkt.TrapCall).
func MemCounters() MemCounts {
	var c MemCounts
	lwkt.TrapCall(memCountsCopy, uintptr(unsafe.Pointer(&c)))
	return c
}

// FaultKinds lists what Fault can raise.
var FaultKinds = []string{"pf", "gp", "ud", "de", "nil", "panic", "trap", "trapsys", "throw", "doublefree", "spin"}

// Fault raises a deliberate fault of the given kind: the CPU exceptions
// (#PF at an unmapped address, #GP, #UD, #DE) are fatal and stop the
// machine with a report; "nil" dereferences a nil pointer, which the caller
// may recover; "panic" panics. Below the runtime (faults_nosplit.go):
// "trap" faults inside the trap path, "trapsys" makes a system call there,
// "throw" throws, "doublefree" frees a
// page frame twice and "spin" takes the MP lock its CPU holds.
func Fault(kind string) error {
	switch kind {
	case "pf":
		p := (*uint64)(mm.Ptr(0x7ff0_0000_0000)) // in the user range, never mapped
		faultSink = *p
	case "gp":
		faultGP()
	case "ud":
		faultUD()
	case "de":
		faultDE()
	case "nil":
		var p *uint64
		faultSink = *p
	case "panic":
		panic("deliberate panic from the fault command")
	case "trap":
		lwkt.TrapCall(faultInTrap, 0)
	case "trapsys":
		lwkt.TrapCall(syscallInTrap, 0)
	case "throw":
		lwkt.TrapCall(throwNow, 0)
	case "doublefree":
		lwkt.TrapCall(doubleFree, 0)
	case "spin":
		lwkt.TrapCall(spinStuck, 0)
	default:
		return fmt.Errorf("fault: unknown kind %q (want one of %s)", kind, strings.Join(FaultKinds, ", "))
	}
	return nil
}

// faultSink keeps the faulting loads from being optimised away.
var faultSink uint64

func faultUD()
func faultDE()
func faultGP()

// Uptime returns the time since the TSC was calibrated at boot.
func Uptime() int64 { return timer.Nanotime() }

// Protections reports whether supervisor-mode execution and access
// prevention are on (setupCPU turns them on where the CPU has them).
func Protections() (smep, smap bool) {
	cr4 := amd64.ReadCR4()
	return cr4&amd64.CR4SMEP != 0, cr4&amd64.CR4SMAP != 0
}
