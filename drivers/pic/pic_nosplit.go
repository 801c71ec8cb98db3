package pic

// The PIC is programmed at boot and acknowledged in trap context: nosplit.

import "gofly/arch/amd64"

const (
	master, masterData = 0x20, 0x21
	slave, slaveData   = 0xA0, 0xA1
	eoi                = 0x20
)

var mask uint16 = 0xFFFF &^ (1 << 2) // all masked but the cascade line

// Init remaps IRQ 0–15 to vectors base … base+15 and masks them all.
//
//go:nosplit
func Init(base uint8) {
	amd64.Outb(master, 0x11) // ICW1: edge, cascade, ICW4 follows
	amd64.Outb(slave, 0x11)
	amd64.Outb(masterData, base) // ICW2: vector offset
	amd64.Outb(slaveData, base+8)
	amd64.Outb(masterData, 1<<2) // ICW3: slave on IRQ 2
	amd64.Outb(slaveData, 2)     // ICW3: slave identity
	amd64.Outb(masterData, 0x01) // ICW4: 8086 mode
	amd64.Outb(slaveData, 0x01)
	write()
}

//go:nosplit
func write() {
	amd64.Outb(masterData, uint8(mask))
	amd64.Outb(slaveData, uint8(mask>>8))
}

// Unmask lets IRQ irq through.
//
//go:nosplit
func Unmask(irq uint8) {
	mask &^= 1 << irq
	write()
}

// EOI acknowledges IRQ irq.
//
//go:nosplit
func EOI(irq uint8) {
	if irq >= 8 {
		amd64.Outb(slave, eoi)
	}
	amd64.Outb(master, eoi)
}

// Spurious reports whether an interrupt on IRQ 7 or 15 is spurious (its
// in-service bit is clear), in which case it must not be acknowledged
// (except the cascade's on the master for IRQ 15).
//
//go:nosplit
func Spurious(irq uint8) bool {
	if irq != 7 && irq != 15 {
		return false
	}
	port := uint16(master)
	if irq == 15 {
		port = slave
	}
	amd64.Outb(port, 0x0B) // OCW3: read the in-service register
	if amd64.Inb(port)&0x80 != 0 {
		return false
	}
	if irq == 15 {
		amd64.Outb(master, eoi)
	}
	return true
}

// Mask stops IRQ irq.
//
//go:nosplit
func Mask(irq uint8) {
	mask |= 1 << irq
	write()
}
