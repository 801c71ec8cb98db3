package acpi

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// le reads the little-endian fields of every ACPI structure.
var le = binary.LittleEndian

// The header every table but the RSDP and FACS starts with (ACPI 6.5, 5.2.6).
const (
	headerLen = 36
	lenOff    = 4
	revOff    = 8
	oemIDOff  = 10
	oemIDLen  = 6

	// maxTableLen, far above any real table, rejects a garbage length
	// before it becomes a huge read.
	maxTableLen = 16 << 20
)

// Table is one ACPI table that passed its checksum.
type Table struct {
	Sig   string // signature, e.g. "FACP" for the FADT, "APIC" for the MADT
	Addr  uint64 // physical address
	Len   uint32
	OEMID string // trailing spaces removed
	Data  []byte // the whole table, header included; shared, do not modify
}

// Tables holds the tables reachable from the RSDP: the root table (XSDT or
// RSDT), the tables it lists, and the DSDT, which only the FADT points to.
type Tables struct {
	RSDP   uint64  // physical address of the RSDP
	Errs   []error // one for each table left out because it was unreadable or corrupt
	tables []Table // in discovery order: root, listed tables, DSDT
}

// Load finds the RSDP and reads every table it leads to. It fails only if
// the RSDP or the root table is missing or corrupt; other bad tables are
// skipped and reported in Errs.
func Load(m Machine) (*Tables, error) {
	rsdp, err := FindRSDP(m)
	if err != nil {
		return nil, err
	}
	r, err := m.ReadPhys(rsdp, rsdpV2Len)
	if err != nil {
		return nil, fmt.Errorf("acpi: reading RSDP at %#x: %w", rsdp, err)
	}
	// Prefer the XSDT: its 64-bit entries may point above 4 GiB, and on
	// ACPI 2.0+ firmware the RSDT is kept only for old operating systems.
	root, sig, entLen := uint64(le.Uint32(r[rsdtAddrOff:])), "RSDT", 4
	if x := le.Uint64(r[xsdtAddrOff:]); r[rsdpRevOff] >= 2 && x != 0 {
		root, sig, entLen = x, "XSDT", 8
	}
	rt, err := readTable(m, root, sig)
	if err != nil {
		return nil, err
	}

	t := &Tables{RSDP: rsdp, tables: []Table{rt}}
	for ents := rt.Data[headerLen:]; len(ents) >= entLen; ents = ents[entLen:] {
		addr := uint64(le.Uint32(ents))
		if entLen == 8 {
			addr = le.Uint64(ents)
		}
		if addr == 0 {
			continue // ACPICA skips null entries too
		}
		t.add(readTable(m, addr, ""))
	}
	if f, err := t.FADT(); err == nil && f.DSDT != 0 {
		t.add(readTable(m, f.DSDT, "DSDT"))
	}
	return t, nil
}

func (t *Tables) add(tab Table, err error) {
	if err != nil {
		t.Errs = append(t.Errs, err)
		return
	}
	t.tables = append(t.tables, tab)
}

// readTable reads the table at addr and checks its length and checksum,
// and its signature unless want is empty.
func readTable(m Machine, addr uint64, want string) (Table, error) {
	h, err := m.ReadPhys(addr, headerLen)
	if err != nil {
		return Table{}, fmt.Errorf("acpi: reading table at %#x: %w", addr, err)
	}
	sig := string(h[:4])
	if want != "" && sig != want {
		return Table{}, fmt.Errorf("acpi: table at %#x is %q, want %q", addr, sig, want)
	}
	n := le.Uint32(h[lenOff:])
	if n < headerLen || n > maxTableLen {
		return Table{}, fmt.Errorf("acpi: %s at %#x: bad length %d", sig, addr, n)
	}
	data, err := m.ReadPhys(addr, int(n))
	if err != nil {
		return Table{}, fmt.Errorf("acpi: reading %s at %#x: %w", sig, addr, err)
	}
	if sum(data) != 0 {
		return Table{}, fmt.Errorf("acpi: %s at %#x: bad checksum", sig, addr)
	}
	return Table{
		Sig:   sig,
		Addr:  addr,
		Len:   n,
		OEMID: strings.TrimRight(string(data[oemIDOff:oemIDOff+oemIDLen]), " \x00"),
		Data:  data,
	}, nil
}

// Get returns the first table with signature sig, header included. Tables
// that may repeat, such as SSDTs, are reachable through List.
func (t *Tables) Get(sig string) ([]byte, bool) {
	for _, tab := range t.tables {
		if tab.Sig == sig {
			return tab.Data, true
		}
	}
	return nil, false
}

// List returns every loaded table, for the shell and the boot log.
func (t *Tables) List() []Table {
	return append([]Table(nil), t.tables...)
}
