package uart

// UART access happens in trap context and early boot: nosplit throughout.

import "gofly/arch/amd64"

// COM1 is the first serial port's I/O base.
const COM1 = 0x3F8

// Register offsets from the I/O base (8250/16550 data sheet).
const (
	regData = 0 // RBR (read) / THR (write); divisor low with DLAB
	regIER  = 1 // interrupt enable; divisor high with DLAB
	regFCR  = 2 // FIFO control (write)
	regLCR  = 3 // line control
	regMCR  = 4 // modem control
	regLSR  = 5 // line status

	lsrDataReady = 1 << 0
	lsrTHREmpty  = 1 << 5
)

var base uint16 = COM1

// Init programs the port: 115200 baud, 8 data bits, no parity, one stop
// bit, FIFOs on, interrupts off.
//
//go:nosplit
func Init() {
	amd64.Outb(base+regIER, 0)
	amd64.Outb(base+regLCR, 0x80) // DLAB: expose the divisor latch
	amd64.Outb(base+regData, 1)   // divisor 1: 115200 baud
	amd64.Outb(base+regIER, 0)
	amd64.Outb(base+regLCR, 0x03) // 8N1, DLAB off
	amd64.Outb(base+regFCR, 0xC7) // enable and clear FIFOs, 14-byte trigger
	amd64.Outb(base+regMCR, 0x0B) // DTR, RTS, OUT2 (OUT2 gates the IRQ line)
}

// EnableRxInterrupt asks the UART to raise its IRQ when data arrives.
//
//go:nosplit
func EnableRxInterrupt() {
	amd64.Outb(base+regIER, 0x01)
}

// Putc transmits b, waiting for the transmit holding register to empty.
//
//go:nosplit
func Putc(b byte) {
	for amd64.Inb(base+regLSR)&lsrTHREmpty == 0 {
		amd64.Pause()
	}
	amd64.Outb(base+regData, b)
}

// Interrupt drains the receive FIFO into Rx and returns how many bytes it
// read.
//
//go:nosplit
func Interrupt() int {
	n := 0
	for amd64.Inb(base+regLSR)&lsrDataReady != 0 {
		Rx.Put(amd64.Inb(base + regData))
		n++
	}
	return n
}

// Rx holds received bytes until the console read path takes them.
var Rx Ring
