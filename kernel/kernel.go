package kernel

import (
	"math/bits"
	"runtime"

	"gofly/arch/amd64"
	"gofly/drivers/acpi"
	"gofly/drivers/apic"
	"gofly/drivers/power"
	"gofly/drivers/timer"
	"gofly/klog"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/objcache"
	"gofly/pmap"
	"gofly/sys"
	"gofly/sysref"
	"gofly/vm"
)

// Start finishes bringing the kernel up once the Go runtime runs: it reads
// the ACPI tables (for power-off) and records the timeline. The shell or
// any other Go program calls it first thing in main.
func Start() {
	mark(PhaseMain, amd64.Rdtsc())
	defer Mark(phaseStarted)
	// Once the other processors are up, nothing of the kernel's is in the
	// lower half any more.
	defer lwkt.TrapCall(dropIdentity, 0)
	// Once sysids are seeded (bootSysids, on every path below) and the
	// other CPUs' idle threads exist, the threads made so far get their
	// SYSREF records; threads cloned after bootSysids have theirs.
	defer func() {
		if err := sys.AttachRecords(); err != nil {
			klog.Puts("gofly: " + err.Error() + "\n")
		}
	}()
	// From now on every change to the page allocator, the page tables and
	// the address map asserts the MP lock (early boot ran alone, without
	// it). Set before the other CPUs start.
	mm.Held, pmap.Held, vm.Held = lwkt.HoldsMPLock, lwkt.HoldsMPLock, lwkt.HoldsMPLock
	pmap.Shootdown, lwkt.AfterShootdown = lwkt.RequestShootdownOf, pmap.FreeDeferred // frames wait for the flush
	// Under memory pressure, mm takes back what the object caches hold.
	mm.Phys.SetReclaim(reclaimCaches)
	objcache.InKernel()
	go objcache.GoReclaimer()
	t, err := acpi.Load(machine{})
	if err != nil {
		bootSysids(nil)
		klog.Puts("gofly: acpi: " + err.Error() + "\n")
		return
	}
	ACPI = t
	Mark(phaseACPI)
	m, err := t.MADT()
	bootSysids(m)
	if err != nil {
		klog.Puts("gofly: acpi: " + err.Error() + "; running on the boot CPU only\n")
	} else {
		if err := startAPs(m); err != nil {
			klog.Puts("gofly: " + err.Error() + "\n")
		}
		// The runtime sized itself for one CPU at start-up; now it may use
		// every CPU, and sched_getaffinity (lwkt.OnlineMask) says so.
		runtime.GOMAXPROCS(bits.OnesCount64(lwkt.OnlineMask()))
		if err := routeLegacyIRQ(m, irqSerial); err != nil {
			klog.Puts("gofly: " + err.Error() + "\n")
		}
	}
	fadt, err := t.FADT()
	if err != nil {
		klog.Puts("gofly: acpi: " + err.Error() + "\n")
		return
	}
	a, b, err := t.S5()
	if err != nil {
		klog.Puts("gofly: acpi: " + err.Error() + "\n")
		return
	}
	power.S5.PM1a, power.S5.PM1b = uint16(fadt.PM1aCnt), uint16(fadt.PM1bCnt)
	power.S5.SlpA, power.S5.SlpB = uint16(a), uint16(b)
	power.S5.Valid = fadt.PM1aCnt != 0
}

// bootSysids seeds SYSREF's sysid generator, before any CPU but this one
// runs, for as many CPUs as startAPs may start (nil MADT: this one), from
// the wall clock in µs.
func bootSysids(m *acpi.MADT) {
	// startAPs makes this CPU index 0 and gives the next indices to
	// otherCPUs: count exactly those, whatever the MADT says of this one.
	n := 1
	if m != nil {
		n = min(1+len(otherCPUs(m, apic.ID())), amd64.MaxCPUs)
	}
	sysref.Boot(uint64(sys.WallBase+timer.Nanotime())/1000, n)
}

// ACPI holds the firmware's tables, or nil if they could not be read.
var ACPI *acpi.Tables

// Mark records that the boot reached phase p (the shell marks PhasePrompt).
func Mark(p Phase) { mark(p, amd64.Rdtsc()) }

// GoVersion names the Go release the kernel was built with.
func GoVersion() string { return runtime.Version() }
