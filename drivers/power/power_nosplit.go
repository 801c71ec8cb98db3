package power

// Stopping the machine happens in trap context too: nosplit.

import "gofly/arch/amd64"

// DebugExitPort is where tests attach isa-debug-exit
// (-device isa-debug-exit,iobase=0xf4,iosize=0x04). QEMU exits with status
// (value<<1)|1 when it is written; without the device the write is ignored.
const DebugExitPort = 0xF4

// S5 describes how to enter ACPI sleep state S5.
var S5 struct {
	PM1a, PM1b uint16 // PM1 control ports (0 = absent)
	SlpA, SlpB uint16 // SLP_TYP values
	Valid      bool
}

// Halt stops this CPU for good.
//
//go:nosplit
func Halt() {
	for {
		amd64.Cli()
		hlt()
	}
}

// Fail ends a test run with a failure status (QEMU exits with
// (code<<1)|1), or halts when no debug-exit device is present.
//
//go:nosplit
func Fail(code uint8) {
	amd64.Outb(DebugExitPort, code)
	Halt()
}

// Off enters S5 (QEMU then exits with status 0). It returns only if ACPI
// is unavailable or the write had no effect.
//
//go:nosplit
func Off() {
	if !S5.Valid {
		return
	}
	const slpTyp, slpEn = 7 << 10, 1 << 13
	// Keep the register's other bits (SCI_EN among them), as package acpi does.
	amd64.Outw(S5.PM1a, amd64.Inw(S5.PM1a)&^(slpTyp|slpEn)|S5.SlpA<<10|slpEn)
	if S5.PM1b != 0 {
		amd64.Outw(S5.PM1b, amd64.Inw(S5.PM1b)&^(slpTyp|slpEn)|S5.SlpB<<10|slpEn)
	}
	for i := 0; i < 1000000; i++ {
		amd64.Pause()
	}
}

// Reset restarts the machine through the PCI reset control register
// (0xCF9) and then the keyboard controller; it returns if both fail.
//
//go:nosplit
func Reset() {
	amd64.Outb(0xCF9, 0x02) // prepare a hard reset
	amd64.Outb(0xCF9, 0x06) // and trigger it
	for i := 0; i < 100000; i++ {
		amd64.Pause()
	}
	for amd64.Inb(0x64)&0x02 != 0 { // wait for the controller's input buffer
	}
	amd64.Outb(0x64, 0xFE) // pulse the CPU reset line
	for i := 0; i < 100000; i++ {
		amd64.Pause()
	}
}

// hlt halts until the next NMI (interrupts are off). See halt_amd64.s.
func hlt()
