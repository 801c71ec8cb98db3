package acpi

import (
	"bytes"
	"errors"
	"fmt"
)

// Machine is what the ACPI code needs from the platform.
type Machine interface {
	ReadPhys(addr uint64, n int) ([]byte, error) // copy of physical memory (the direct map); error if out of range
	Outw(port uint16, v uint16)
	Outb(port uint16, v uint8)
	Inw(port uint16) uint16
}

// RSDP layout (ACPI 6.5, 5.2.5.3). Revision 0 ends after the RSDT address;
// revision 2 adds a length, the XSDT address and an extended checksum.
const (
	rsdpV1Len   = 20
	rsdpV2Len   = 36
	rsdpRevOff  = 15
	rsdtAddrOff = 16
	xsdtAddrOff = 24
)

var rsdpSig = []byte("RSD PTR ")

// Where the BIOS may put the RSDP (ACPI 6.5, 5.2.5.1): the first KiB of the
// EBDA, whose real-mode segment is stored at 0x40E, or the BIOS area.
const (
	ebdaSegPtr = 0x40E
	ebdaScan   = 1024
	biosStart  = 0xE0000
	biosEnd    = 0x100000
)

// FindRSDP returns the physical address of the first RSDP with valid
// checksums, searching the EBDA and then the BIOS area. Candidates with a
// bad checksum are skipped, since the signature can occur by chance in BIOS
// code. UEFI firmware may publish the RSDP only in its system table, which
// this package does not search.
func FindRSDP(m Machine) (uint64, error) {
	seg, err := m.ReadPhys(ebdaSegPtr, 2)
	if err != nil {
		return 0, fmt.Errorf("acpi: reading EBDA pointer: %w", err)
	}
	if ebda := uint64(le.Uint16(seg)) << 4; ebda != 0 {
		if addr, ok := scanRSDP(m, ebda, ebdaScan); ok {
			return addr, nil
		}
	}
	if addr, ok := scanRSDP(m, biosStart, biosEnd-biosStart); ok {
		return addr, nil
	}
	return 0, errors.New("acpi: no RSDP in EBDA or BIOS area")
}

// scanRSDP looks for a valid RSDP on 16-byte boundaries in [start, start+n).
func scanRSDP(m Machine, start uint64, n int) (uint64, bool) {
	mem, err := m.ReadPhys(start, n)
	if err != nil {
		return 0, false
	}
	for off := 0; off < n; off += 16 {
		if bytes.HasPrefix(mem[off:], rsdpSig) && rsdpValid(mem[off:]) {
			return start + uint64(off), true
		}
	}
	return 0, false
}

// rsdpValid reports whether b starts with an RSDP whose checksums add up.
// Revision 2 and later also cover all 36 bytes with the extended checksum;
// like ACPICA, ignore the length field, which only ever says 36.
func rsdpValid(b []byte) bool {
	if len(b) < rsdpV1Len || sum(b[:rsdpV1Len]) != 0 {
		return false
	}
	if b[rsdpRevOff] < 2 {
		return true
	}
	return len(b) >= rsdpV2Len && sum(b[:rsdpV2Len]) == 0
}

// sum is the ACPI checksum: a valid structure's bytes add up to zero.
func sum(b []byte) uint8 {
	var s uint8
	for _, c := range b {
		s += c
	}
	return s
}
