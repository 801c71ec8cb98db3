package apic

// The I/O APIC is programmed at start-up by the boot CPU: nosplit.

import "gofly/mm"

// I/O APIC registers (82093AA data sheet): an index register and a data
// window; redirection entry n is the register pair 0x10+2n (low, high).
const (
	ioRegSel = 0x00
	ioWin    = 0x10
	ioRedir  = 0x10

	redirLevel     = 1 << 15
	redirActiveLow = 1 << 13
)

//go:nosplit
func ioWrite(base uint64, reg, v uint32) {
	*(*uint32)(mm.Direct(base + ioRegSel)) = reg
	*(*uint32)(mm.Direct(base + ioWin)) = v
}

// RouteIRQ makes input pin of the I/O APIC at base deliver vector to the
// CPU with local APIC id dest (fixed delivery, physical destination).
//
//go:nosplit
func RouteIRQ(base uint64, pin uint32, vector uint8, dest uint32, activeLow, level bool) {
	low := uint32(vector)
	if activeLow {
		low |= redirActiveLow
	}
	if level {
		low |= redirLevel
	}
	ioWrite(base, ioRedir+2*pin+1, dest<<24)
	ioWrite(base, ioRedir+2*pin, low)
}

//go:nosplit
func ioRead(base uint64, reg uint32) uint32 {
	*(*uint32)(mm.Direct(base + ioRegSel)) = reg
	return *(*uint32)(mm.Direct(base + ioWin))
}

// IOAPICPins returns how many input pins the I/O APIC at base has (its
// version register's maximum redirection entry, plus one).
//
//go:nosplit
func IOAPICPins(base uint64) uint32 { return ioRead(base, 1)>>16&0xFF + 1 }
