package apic

// Local APIC access runs at boot and in trap context: nosplit.

import (
	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/mm"
)

// Local APIC registers (Intel SDM vol. 3, 11.4.1; byte offsets in the xAPIC
// page, MSR 0x800 + offset/16 in x2APIC mode).
const (
	regID      = 0x020
	regVersion = 0x030
	regTPR     = 0x080
	regEOI     = 0x0B0
	regSVR     = 0x0F0
	regICRLow  = 0x300
	regICRHigh = 0x310
	regTimer   = 0x320
	regLINT0   = 0x350
	regLINT1   = 0x360
	regError   = 0x370
	regInitial = 0x380
	regCurrent = 0x390
	regDivide  = 0x3E0

	apicBaseX2     = 1 << 10
	apicBaseGlobal = 1 << 11

	svrEnable     = 1 << 8
	lvtMasked     = 1 << 16
	lvtExtINT     = 0x7 << 8 // delivery mode: the 8259's vector
	lvtNMI        = 0x4 << 8
	timerPeriodic = 1 << 17
	divideBy16    = 0x3
)

var (
	base    uint64 // xAPIC MMIO base (physical == virtual)
	x2      bool   // x2APIC mode
	timerHz uint64 // local APIC timer ticks per second (divide by 16)
)

//go:nosplit
func read(reg uint32) uint32 {
	if x2 {
		return uint32(amd64.Rdmsr(amd64.MSRX2APIC + reg>>4))
	}
	return *(*uint32)(mm.Direct(base + uint64(reg)))
}

//go:nosplit
func write(reg, v uint32) {
	if x2 {
		amd64.Wrmsr(amd64.MSRX2APIC+reg>>4, uint64(v))
		return
	}
	*(*uint32)(mm.Direct(base + uint64(reg))) = v
}

// Init enables this CPU's local APIC: x2APIC mode when the CPU has it,
// software-enabled with amd64.VectorSpurious, the timer stopped. On the boot CPU
// LINT0 passes the 8259 PIC's interrupts through (ExtINT) and LINT1 takes
// NMIs, as the firmware wires them; other CPUs mask both.
//
//go:nosplit
func Init(boot bool) {
	b := amd64.Rdmsr(amd64.MSRAPICBase)
	if _, _, c, _ := amd64.Cpuid(1, 0); c&(1<<21) != 0 {
		b |= apicBaseX2 | apicBaseGlobal
		amd64.Wrmsr(amd64.MSRAPICBase, b)
		x2 = true
	} else {
		base = b &^ 0xFFF &^ (1 << 63)
	}
	write(regTPR, 0)
	if boot {
		write(regLINT0, lvtExtINT)
		write(regLINT1, lvtNMI)
	} else {
		write(regLINT0, lvtMasked)
		write(regLINT1, lvtMasked)
	}
	write(regError, lvtMasked)
	write(regTimer, lvtMasked)
	write(regSVR, svrEnable|amd64.VectorSpurious)
}

// ID returns this CPU's local APIC id.
//
//go:nosplit
func ID() uint32 {
	if x2 {
		return read(regID)
	}
	return read(regID) >> 24
}

// X2APIC reports whether the local APICs run in x2APIC mode.
//
//go:nosplit
func X2APIC() bool { return x2 }

// EOI acknowledges the interrupt being served.
//
//go:nosplit
func EOI() { write(regEOI, 0) }

// CalibrateTimer measures the local APIC timer against the TSC (already
// calibrated against the PIT) over about us microseconds. The rate is the
// count divided by the TSC cycles actually elapsed between the two
// reads, not by the nominal interval, so a short window is accurate: at
// QEMU's 62.5 MHz (1 GHz / 16), 250 µs is 15,000 counts, better than
// 0.01%, and the rate only paces the scheduler tick.
//
//go:nosplit
func CalibrateTimer(us uint64) {
	write(regDivide, divideBy16)
	write(regTimer, lvtMasked)
	write(regInitial, 0xFFFFFFFF)
	t0 := amd64.Rdtsc()
	end := t0 + us*timer.TSCHz()/1e6
	for amd64.Rdtsc() < end {
		amd64.Pause()
	}
	elapsed := 0xFFFFFFFF - read(regCurrent)
	cycles := amd64.Rdtsc() - t0
	write(regInitial, 0)
	ns := cycles * 1e9 / timer.TSCHz()   // < 1.8e19 for any window under 7 s at 2.6 GHz
	timerHz = uint64(elapsed) * 1e9 / ns // elapsed < 2^32: the product fits
}

// TimerHz returns the calibrated local APIC timer rate.
//
//go:nosplit
func TimerHz() uint64 { return timerHz }

// StartTimer makes this CPU's local APIC timer interrupt hz times a second
// on vector.
//
//go:nosplit
func StartTimer(vector uint8, hz uint64) {
	write(regDivide, divideBy16)
	write(regTimer, timerPeriodic|uint32(vector))
	write(regInitial, uint32(timerHz/hz))
}

// OneShot makes this CPU's local APIC timer interrupt once on vector after
// ns nanoseconds (at least one count, at most 2^32-1 counts: about a
// minute at QEMU's rate; an earlier interrupt is harmless, the caller
// re-arms), or never when ns is 0: tickless idle.
//
//go:nosplit
func OneShot(vector uint8, ns uint64) {
	write(regDivide, divideBy16)
	if ns == 0 {
		write(regInitial, 0) // stops the count
		write(regTimer, lvtMasked|uint32(vector))
		return
	}
	count := uint64(0xFFFFFFFF)
	if ns < count*1e9/max(timerHz, 1) {
		count = max(1, ns*timerHz/1e9) // ns < 2^32/timerHz s: the product fits
	}
	write(regTimer, uint32(vector)) // one-shot mode, unmasked
	write(regInitial, uint32(count))
}

// ICR delivery modes and flags (Intel SDM vol. 3, 11.6.1).
const (
	icrNMI        = 0x4 << 8
	icrAllButSelf = 0x3 << 18 // destination shorthand
	icrInit       = 0x5 << 8
	icrStartup    = 0x6 << 8
	icrAssert     = 1 << 14
	icrPending    = 1 << 12 // xAPIC: delivery status
)

// SendInit sends an INIT IPI to the CPU with local APIC id id.
//
//go:nosplit
func SendInit(id uint32) { sendICR(id, icrInit|icrAssert) }

// SendStartup sends a start-up IPI: the CPU with local APIC id id starts in
// real mode at page*4096.
//
//go:nosplit
func SendStartup(id uint32, page uint8) { sendICR(id, icrStartup|icrAssert|uint32(page)) }

// sendICR sends one IPI. In xAPIC mode that takes two register writes
// (destination, then command), so interrupts are off between them: an
// interrupt handler that sent its own IPI in between would retarget this
// one. x2APIC writes both halves in one WRMSR.
//
//go:nosplit
func sendICR(id, low uint32) {
	if x2 {
		amd64.Wrmsr(amd64.MSRX2APIC+regICRLow>>4, uint64(id)<<32|uint64(low))
		return
	}
	fl := amd64.Rflags()
	amd64.Cli()
	write(regICRHigh, id<<24)
	write(regICRLow, low)
	for read(regICRLow)&icrPending != 0 {
		amd64.Pause()
	}
	if fl&amd64.FlagIF != 0 {
		amd64.Sti()
	}
}

// SendNMIToOthers sends an NMI to every CPU but this one (the
// all-excluding-self shorthand): the throw stops the machine with it,
// reaching CPUs that spin with interrupts off too.
//
//go:nosplit
func SendNMIToOthers() { sendICR(0, icrNMI|icrAssert|icrAllButSelf) }

// SendNMI sends an NMI to the CPU with local APIC id id (this one too).
//
//go:nosplit
func SendNMI(id uint32) { sendICR(id, icrNMI|icrAssert) }

// SendIPI sends a fixed interrupt on vector to the CPU with local APIC id
// id.
//
//go:nosplit
func SendIPI(id uint32, vector uint8) { sendICR(id, icrAssert|uint32(vector)) }
