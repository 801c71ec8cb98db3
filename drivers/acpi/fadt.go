package acpi

import "errors"

// FADT holds the fields of the Fixed ACPI Description Table (signature FACP,
// ACPI 6.5, 5.2.9) that power-off and reset use. Ports are 0 when absent.
type FADT struct {
	Revision   uint8
	DSDT       uint64 // X_DSDT when nonzero, else DSDT
	SMICmd     uint16 // port that takes ACPIEnable; 0 on machines without legacy mode
	ACPIEnable uint8
	PM1aCnt    uint16 // PM1a control block port
	PM1bCnt    uint16 // PM1b control block port, on split chipsets only
	Flags      uint32
	ResetReg   GenericAddress // meaningful only if ResetSupported
	ResetValue uint8
}

// GenericAddress is a Generic Address Structure (ACPI 6.5, 5.2.3.2).
type GenericAddress struct {
	Space      AddressSpace
	BitWidth   uint8
	BitOffset  uint8
	AccessSize uint8
	Address    uint64
}

// AddressSpace says which bus a GenericAddress is on.
type AddressSpace uint8

// The address spaces this package uses; ACPI defines more.
const (
	SystemMemory AddressSpace = 0
	SystemIO     AddressSpace = 1
)

// FADT field offsets. Older, shorter FADTs end before the later fields;
// parseFADT reads those as zero.
const (
	fadtDSDT       = 40
	fadtSMICmd     = 48
	fadtACPIEnable = 52
	fadtPM1aCnt    = 64
	fadtPM1bCnt    = 68
	fadtFlags      = 112
	fadtResetReg   = 116
	fadtResetValue = 128
	fadtXDSDT      = 140
	fadtXPM1aCnt   = 172
	fadtXPM1bCnt   = 184
	fadtLen        = 196 // through X_PM1b_CNT_BLK, the last field read
)

// resetRegSup is the FADT flag RESET_REG_SUP: ResetReg and ResetValue are
// valid.
const resetRegSup = 1 << 10

// FADT parses the FADT.
func (t *Tables) FADT() (*FADT, error) {
	b, ok := t.Get("FACP")
	if !ok {
		return nil, errors.New("acpi: no FADT")
	}
	return parseFADT(b), nil
}

// parseFADT reads an FADT of any revision. Like ACPICA, it copies the table
// into a zeroed full-size buffer, so fields past the end of an old FADT
// read as zero and need no length checks.
func parseFADT(b []byte) *FADT {
	var f [fadtLen]byte
	copy(f[:], b)
	fadt := &FADT{
		Revision:   f[revOff],
		DSDT:       le.Uint64(f[fadtXDSDT:]),
		SMICmd:     port32(le.Uint32(f[fadtSMICmd:])),
		ACPIEnable: f[fadtACPIEnable],
		PM1aCnt:    ioPort(gas(f[fadtXPM1aCnt:]), le.Uint32(f[fadtPM1aCnt:])),
		PM1bCnt:    ioPort(gas(f[fadtXPM1bCnt:]), le.Uint32(f[fadtPM1bCnt:])),
		Flags:      le.Uint32(f[fadtFlags:]),
		ResetReg:   gas(f[fadtResetReg:]),
		ResetValue: f[fadtResetValue],
	}
	if fadt.DSDT == 0 {
		fadt.DSDT = uint64(le.Uint32(f[fadtDSDT:]))
	}
	return fadt
}

// ResetSupported reports whether ResetReg and ResetValue may be used: they
// exist only from FADT revision 2, and only if the firmware sets
// RESET_REG_SUP.
func (f *FADT) ResetSupported() bool {
	return f.Revision >= 2 && f.Flags&resetRegSup != 0 && f.ResetReg.Address != 0
}

func gas(b []byte) GenericAddress {
	return GenericAddress{
		Space:      AddressSpace(b[0]),
		BitWidth:   b[1],
		BitOffset:  b[2],
		AccessSize: b[3],
		Address:    le.Uint64(b[4:]),
	}
}

// port returns g's I/O port, or false if g is unset, not in I/O space, or
// beyond the 64 KiB port space.
func (g GenericAddress) port() (uint16, bool) {
	if g.Space != SystemIO || g.Address == 0 || g.Address > 0xFFFF {
		return 0, false
	}
	return uint16(g.Address), true
}

// ioPort picks a register's port: the 64-bit X_ field when it is set and
// in I/O space, else the legacy 32-bit field.
func ioPort(x GenericAddress, legacy uint32) uint16 {
	if p, ok := x.port(); ok {
		return p
	}
	return port32(legacy)
}

// port32 narrows a legacy 32-bit port field, treating impossible values as
// absent.
func port32(v uint32) uint16 {
	if v > 0xFFFF {
		return 0
	}
	return uint16(v)
}
