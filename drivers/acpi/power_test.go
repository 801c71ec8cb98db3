package acpi

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, fw firmware) (*Tables, *fake) {
	t.Helper()
	f := fw.build()
	tabs, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return tabs, f
}

func TestPowerOff(t *testing.T) {
	tabs, f := load(t, defaultFirmware())
	f.ports[testPM1a] = sciEn | 7<<slpTypShift // stale SLP_TYP bits are replaced
	if err := tabs.PowerOff(f); err != nil {
		t.Fatal(err)
	}
	typ := uint16(sciEn | 5<<slpTypShift)
	want := []ioWrite{{testPM1a, typ, 16}, {testPM1a, typ | slpEn, 16}}
	if !reflect.DeepEqual(f.writes, want) {
		t.Errorf("writes = %#v, want %#v", f.writes, want)
	}
}

func TestPowerOffPM1b(t *testing.T) {
	const pm1b = 0x608
	fw := defaultFirmware()
	fw.fadt = fadtTable(3, 244, func(b []byte) { le.PutUint32(b[fadtPM1bCnt:], pm1b) })
	fw.dsdtAML = []byte{nameOp, '_', 'S', '5', '_', packageOp, 0x06, 0x02, bytePrefix, 5, oneOp}
	tabs, f := load(t, fw)
	f.ports[testPM1a] = sciEn
	if err := tabs.PowerOff(f); err != nil {
		t.Fatal(err)
	}
	a, b := uint16(sciEn|5<<slpTypShift), uint16(sciEn|1<<slpTypShift)
	want := []ioWrite{{testPM1a, a, 16}, {pm1b, b, 16}, {testPM1a, a | slpEn, 16}, {pm1b, b | slpEn, 16}}
	if !reflect.DeepEqual(f.writes, want) {
		t.Errorf("writes = %#v, want %#v", f.writes, want)
	}
}

func TestPowerOffEnablesACPI(t *testing.T) {
	tabs, f := load(t, defaultFirmware())
	f.sciOnEnable = true
	if err := tabs.PowerOff(f); err != nil {
		t.Fatal(err)
	}
	typ := uint16(sciEn | 5<<slpTypShift)
	want := []ioWrite{{testSMICmd, testACPIEnable, 8}, {testPM1a, typ, 16}, {testPM1a, typ | slpEn, 16}}
	if !reflect.DeepEqual(f.writes, want) {
		t.Errorf("writes = %#v, want %#v", f.writes, want)
	}
}

func TestPowerOffEnableTimeout(t *testing.T) {
	defer func(d time.Duration) { enablePoll = d }(enablePoll)
	enablePoll = 0
	tabs, f := load(t, defaultFirmware())
	err := tabs.PowerOff(f) // SCI_EN never comes on
	if err == nil || !strings.Contains(err.Error(), "SCI_EN still clear") {
		t.Errorf("PowerOff error = %v, want SCI_EN timeout", err)
	}
	// The sleep is tried anyway.
	if n := len(f.writes); n != 3 || f.writes[n-1] != (ioWrite{testPM1a, 5<<slpTypShift | slpEn, 16}) {
		t.Errorf("writes = %#v, want ACPI_ENABLE then the two PM1a writes", f.writes)
	}
}

func TestPowerOffNoSMICmd(t *testing.T) {
	// Without SMI_CMD the chipset is taken to be in ACPI mode already.
	fw := defaultFirmware()
	fw.fadt = fadtTable(3, 244, func(b []byte) { le.PutUint32(b[fadtSMICmd:], 0) })
	tabs, f := load(t, fw)
	if err := tabs.PowerOff(f); err != nil {
		t.Fatal(err)
	}
	if len(f.writes) != 2 || f.writes[0].port != testPM1a {
		t.Errorf("writes = %#v, want only the two PM1a writes", f.writes)
	}
}

func TestPowerOffErrors(t *testing.T) {
	noS5 := defaultFirmware()
	noS5.dsdtAML = []byte{nameOp, '_', 'S', '4', '_', packageOp, 0x06, 0x02, zeroOp, zeroOp}
	noPM1 := defaultFirmware()
	noPM1.fadt = fadtTable(3, 244, func(b []byte) {
		le.PutUint32(b[fadtPM1aCnt:], 0)
		putGAS(b[fadtXPM1aCnt:], SystemIO, 0)
	})
	for name, fw := range map[string]firmware{`no \_S5`: noS5, "no PM1a control": noPM1} {
		tabs, f := load(t, fw)
		if err := tabs.PowerOff(f); err == nil || len(f.writes) != 0 {
			t.Errorf("%s: PowerOff = %v, writes %#v; want error and no writes", name, err, f.writes)
		}
	}
}

func TestReset(t *testing.T) {
	tabs, f := load(t, defaultFirmware())
	if err := tabs.Reset(f); err != nil {
		t.Fatal(err)
	}
	if want := []ioWrite{{0xCF9, 6, 8}}; !reflect.DeepEqual(f.writes, want) {
		t.Errorf("writes = %#v, want %#v", f.writes, want)
	}
}

func TestResetUnsupported(t *testing.T) {
	tests := map[string][]byte{
		"ACPI 1.0":   fadtTable(1, 116, nil),
		"flag clear": fadtTable(3, 244, func(b []byte) { le.PutUint32(b[fadtFlags:], 0) }),
		"memory space": fadtTable(3, 244, func(b []byte) {
			putGAS(b[fadtResetReg:], SystemMemory, 0xFED00000)
		}),
	}
	for name, fadt := range tests {
		fw := defaultFirmware()
		fw.fadt = fadt
		tabs, f := load(t, fw)
		if err := tabs.Reset(f); err == nil || len(f.writes) != 0 {
			t.Errorf("%s: Reset = %v, writes %#v; want error and no writes", name, err, f.writes)
		}
	}
}
