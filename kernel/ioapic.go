package kernel

import (
	"fmt"
	"unsafe"

	"gofly/drivers/acpi"
	"gofly/drivers/apic"
	"gofly/lwkt"
)

// routeLegacyIRQ moves legacy IRQ irq from the 8259 to the I/O APIC that
// serves its global system interrupt (after the MADT's source overrides),
// delivering it to the boot CPU on its usual vector.
func routeLegacyIRQ(m *acpi.MADT, irq uint8) error {
	gsi, activeLow, level := uint32(irq), false, false // ISA default: edge, active high
	for _, o := range m.Overrides {
		if o.Bus == 0 && o.Source == irq {
			gsi = o.GSI
			switch o.Flags & 3 { // MPS INTI polarity
			case 3:
				activeLow = true
			}
			switch o.Flags >> 2 & 3 { // trigger mode
			case 3:
				level = true
			}
		}
	}
	for _, io := range m.IOAPICs {
		if gsi < io.GSIBase || gsi >= io.GSIBase+apic.IOAPICPins(uint64(io.Addr)) {
			continue
		}
		a := routeArgs{base: uint64(io.Addr), pin: gsi - io.GSIBase, irq: irq, dest: lwkt.APICID(0), activeLow: activeLow, level: level}
		lwkt.TrapCall(routeIRQ, uintptr(unsafe.Pointer(&a)))
		return nil
	}
	return fmt.Errorf("kernel: no I/O APIC serves IRQ %d (GSI %d); it stays on the 8259", irq, gsi)
}
