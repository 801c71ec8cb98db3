package acpi

import (
	"reflect"
	"strings"
	"testing"
)

func TestMADT(t *testing.T) {
	var e []byte
	e = append(e, madtLocalAPIC, 8, 0, 0, 1, 0, 0, 0)                       // CPU 0, enabled
	e = append(e, madtLocalAPIC, 8, 1, 2, 0, 0, 0, 0)                       // CPU 1, disabled
	e = append(e, madtIOAPIC, 12, 3, 0, 0x00, 0x00, 0xC0, 0xFE, 0, 0, 0, 0) // IO APIC 3 at 0xFEC00000
	e = append(e, madtOverride, 10, 0, 0, 2, 0, 0, 0, 0, 0)                 // IRQ 0 -> GSI 2
	e = append(e, madtOverride, 10, 0, 9, 9, 0, 0, 0, 0x0D, 0)              // IRQ 9 level, active high
	e = append(e, 4, 6, 0xFF, 0x05, 0, 1)                                   // Local APIC NMI, skipped
	e = append(e, madtLocalX2APIC, 16, 0, 0)
	e = append(e, u32s(300, apicEnabled, 7)...) // x2APIC 300, UID 7
	e = append(e, madtLocalAPICAddr, 12, 0, 0)
	e = append(e, u64s(0xFEE10000)...)

	tabs, _ := load(t, firmware{
		rsdpAt:  testBIOSRSDP,
		rsdpRev: 2,
		fadt:    fadtTable(3, 244, nil),
		madt:    madtTable(e),
	})
	got, err := tabs.MADT()
	if err != nil {
		t.Fatal(err)
	}
	want := &MADT{
		LocalAPICAddr: 0xFEE10000,
		PCATCompat:    true,
		Processors: []Processor{
			{ACPIID: 0, APICID: 0, Enabled: true},
			{ACPIID: 1, APICID: 2, Enabled: false},
			{ACPIID: 7, APICID: 300, Enabled: true, X2APIC: true},
		},
		IOAPICs: []IOAPIC{{ID: 3, Addr: 0xFEC00000, GSIBase: 0}},
		Overrides: []InterruptOverride{
			{Bus: 0, Source: 0, GSI: 2, Flags: 0},
			{Bus: 0, Source: 9, GSI: 9, Flags: 0x0D},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MADT =\n%+v, want\n%+v", got, want)
	}
}

func TestMADTBadEntries(t *testing.T) {
	tests := map[string][]byte{
		"overruns table": {madtLocalAPIC, 8, 0, 0},
		"zero length":    {4, 0, 0, 0, 0, 0},
		"lone type byte": {madtLocalAPIC},
		"short IO APIC":  {madtIOAPIC, 8, 0, 0, 0, 0, 0xC0, 0xFE},
	}
	for name, e := range tests {
		if m, err := parseMADT(madtTable(e)); err == nil || !strings.HasPrefix(err.Error(), "acpi: MADT") {
			t.Errorf("%s: parseMADT = %+v, %v; want error", name, m, err)
		}
	}
	if _, err := new(Tables).MADT(); err == nil {
		t.Error("MADT without an APIC table succeeded")
	}
}
