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

// throttled is set while Rx is full and the receive interrupt is off.
var throttled bool

// Interrupt drains the receive FIFO into Rx and returns how many bytes it
// read. When Rx fills, it turns the receive interrupt off and leaves the
// rest in the UART: the sender (QEMU's character device, or a terminal
// honouring the FIFO) then waits instead of losing bytes. Resume turns it
// back on.
//
//go:nosplit
func Interrupt() int {
	n := 0
	for amd64.Inb(base+regLSR)&lsrDataReady != 0 {
		if Rx.Len() == RingSize {
			throttled = true
			amd64.Outb(base+regIER, 0)
			break
		}
		Rx.Put(amd64.Inb(base + regData))
		n++
	}
	return n
}

// Resume refills Rx from the UART and turns the receive interrupt back on
// once a reader has emptied at least half of a full Rx.
//
//go:nosplit
func Resume() {
	if !throttled || Rx.Len() > RingSize/2 {
		return
	}
	throttled = false
	Interrupt()
	if !throttled {
		EnableRxInterrupt()
	}
}

// Rx holds received bytes until the console read path takes them.
var Rx Ring
