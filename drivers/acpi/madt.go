package acpi

import (
	"errors"
	"fmt"
)

// MADT is the Multiple APIC Description Table (signature APIC, ACPI 6.5,
// 5.2.12): where the interrupt controllers are and which CPUs exist.
type MADT struct {
	LocalAPICAddr uint64 // from the header, or a Local APIC Address Override
	PCATCompat    bool   // dual 8259 PICs are present too and must be masked
	Processors    []Processor
	IOAPICs       []IOAPIC
	Overrides     []InterruptOverride
}

// Processor is one CPU's local APIC, from a Processor Local APIC entry
// (type 0) or a Processor Local x2APIC entry (type 9), which firmware uses
// for APIC ids that do not fit a byte.
type Processor struct {
	ACPIID  uint32 // ACPI processor UID; a byte in type 0 entries
	APICID  uint32
	Enabled bool // false for a hot-plug slot or a CPU firmware disabled; do not start it
	X2APIC  bool // from a type 9 entry
}

// IOAPIC is one I/O APIC (type 1), serving GSIs from GSIBase up.
type IOAPIC struct {
	ID      uint8
	Addr    uint32 // physical address of its registers
	GSIBase uint32
}

// InterruptOverride (type 2) says that bus IRQ Source is wired to GSI, not
// to the GSI of the same number. Flags holds polarity (bits 0-1) and trigger
// mode (bits 2-3); 0 means the bus's default.
type InterruptOverride struct {
	Bus    uint8 // 0, ISA, in practice
	Source uint8
	GSI    uint32
	Flags  uint16
}

// MADT layout: the local APIC address and flags follow the header, then
// variable-length entries.
const (
	madtEntriesOff = headerLen + 8
	pcatCompat     = 1 << 0 // MADT flag
	apicEnabled    = 1 << 0 // Local APIC and x2APIC flag
)

// MADT entry types this package reads, with the length each must have.
const (
	madtLocalAPIC     = 0
	madtIOAPIC        = 1
	madtOverride      = 2
	madtLocalAPICAddr = 5
	madtLocalX2APIC   = 9
)

var madtEntryLen = map[uint8]int{
	madtLocalAPIC:     8,
	madtIOAPIC:        12,
	madtOverride:      10,
	madtLocalAPICAddr: 12,
	madtLocalX2APIC:   16,
}

// MADT parses the MADT.
func (t *Tables) MADT() (*MADT, error) {
	b, ok := t.Get("APIC")
	if !ok {
		return nil, errors.New("acpi: no MADT")
	}
	return parseMADT(b)
}

// parseMADT walks the entries that follow the fixed fields. Each entry
// starts with its type and length; types this package does not use are
// skipped by length.
func parseMADT(b []byte) (*MADT, error) {
	if len(b) < madtEntriesOff {
		return nil, fmt.Errorf("acpi: MADT too short: %d bytes", len(b))
	}
	m := &MADT{
		LocalAPICAddr: uint64(le.Uint32(b[headerLen:])),
		PCATCompat:    le.Uint32(b[headerLen+4:])&pcatCompat != 0,
	}
	for off := madtEntriesOff; off < len(b); {
		if off+2 > len(b) || b[off+1] < 2 || off+int(b[off+1]) > len(b) {
			return nil, fmt.Errorf("acpi: MADT entry at offset %d overruns the table", off)
		}
		e := b[off : off+int(b[off+1])]
		off += len(e)
		if need, ok := madtEntryLen[e[0]]; ok && len(e) < need {
			return nil, fmt.Errorf("acpi: MADT entry type %d at offset %d is %d bytes, want %d", e[0], off-len(e), len(e), need)
		}
		switch e[0] {
		case madtLocalAPIC:
			m.Processors = append(m.Processors, Processor{
				ACPIID:  uint32(e[2]),
				APICID:  uint32(e[3]),
				Enabled: le.Uint32(e[4:])&apicEnabled != 0,
			})
		case madtIOAPIC:
			m.IOAPICs = append(m.IOAPICs, IOAPIC{
				ID:      e[2],
				Addr:    le.Uint32(e[4:]),
				GSIBase: le.Uint32(e[8:]),
			})
		case madtOverride:
			m.Overrides = append(m.Overrides, InterruptOverride{
				Bus:    e[2],
				Source: e[3],
				GSI:    le.Uint32(e[4:]),
				Flags:  le.Uint16(e[8:]),
			})
		case madtLocalAPICAddr:
			m.LocalAPICAddr = le.Uint64(e[4:])
		case madtLocalX2APIC:
			m.Processors = append(m.Processors, Processor{
				ACPIID:  le.Uint32(e[12:]),
				APICID:  le.Uint32(e[4:]),
				Enabled: le.Uint32(e[8:])&apicEnabled != 0,
				X2APIC:  true,
			})
		}
	}
	return m, nil
}
