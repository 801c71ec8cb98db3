package acpi

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// The files in testdata hold the firmware memory that matters to this
// package, taken from QEMU 7.2 with SeaBIOS:
//
//	qemu-system-x86_64 -M pc|q35 -m 64 -smp 2 -display none -nodefaults \
//		-monitor stdio
//	(qemu) pmemsave 0 0x4000000 "mem"
//
// They keep the EBDA pointer at 0x40E, the first KiB of the EBDA, the RSDP,
// and the tables from the FACS to the end of the RSDT. Each region is an
// 8-byte address and a 4-byte length, both little-endian, then the bytes.
func qemuMachine(t *testing.T, name string) *fake {
	t.Helper()
	b, err := os.ReadFile("testdata/qemu-" + name + ".regions")
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	for len(b) > 0 {
		if len(b) < 12 || len(b) < 12+int(le.Uint32(b[8:])) {
			t.Fatalf("%s: truncated region", name)
		}
		addr, n := le.Uint64(b), int(le.Uint32(b[8:]))
		f.put(addr, b[12:12+n])
		b = b[12+n:]
	}
	return f
}

func TestQEMU(t *testing.T) {
	tests := []struct {
		machine    string
		tables     string
		acpiEnable uint8
		reset      bool // q35's FADT is revision 3 with a reset register; pc's is 1.0
	}{
		{"pc", "RSDT FACP APIC HPET WAET DSDT", 0xF1, false},
		{"q35", "RSDT FACP APIC HPET MCFG WAET DSDT", 0x02, true},
	}
	for _, tt := range tests {
		t.Run(tt.machine, func(t *testing.T) {
			f := qemuMachine(t, tt.machine)
			tabs, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := sigs(tabs); got != tt.tables || len(tabs.Errs) != 0 {
				t.Errorf("tables = %q, Errs = %v; want %q", got, tabs.Errs, tt.tables)
			}
			if oem := tabs.List()[0].OEMID; oem != "BOCHS" {
				t.Errorf("OEM id = %q, want BOCHS", oem)
			}

			fadt, err := tabs.FADT()
			if err != nil {
				t.Fatal(err)
			}
			if fadt.PM1aCnt != 0x604 || fadt.PM1bCnt != 0 || fadt.SMICmd != 0xB2 ||
				fadt.ACPIEnable != tt.acpiEnable || fadt.DSDT != 0x3FE0040 {
				t.Errorf("FADT = %+v", fadt)
			}

			// QEMU's \_S5 is {0, 0, 0, 0}: SLP_TYP 0 is its soft-off.
			f.ports[0x604] = sciEn
			if err := tabs.PowerOff(f); err != nil {
				t.Fatal(err)
			}
			want := []ioWrite{{0x604, sciEn, 16}, {0x604, sciEn | slpEn, 16}}
			if !reflect.DeepEqual(f.writes, want) {
				t.Errorf("PowerOff writes = %#v, want %#v", f.writes, want)
			}

			f.writes = nil
			err = tabs.Reset(f)
			if tt.reset {
				if want := []ioWrite{{0xCF9, 0x0F, 8}}; err != nil || !reflect.DeepEqual(f.writes, want) {
					t.Errorf("Reset = %v, writes %#v; want %#v", err, f.writes, want)
				}
			} else if err == nil || !strings.Contains(err.Error(), "no reset register") {
				t.Errorf("Reset = %v, want no reset register", err)
			}

			madt, err := tabs.MADT()
			if err != nil {
				t.Fatal(err)
			}
			wantMADT := &MADT{
				LocalAPICAddr: 0xFEE00000,
				PCATCompat:    true,
				Processors:    []Processor{{0, 0, true, false}, {1, 1, true, false}},
				IOAPICs:       []IOAPIC{{0, 0xFEC00000, 0}},
				Overrides: []InterruptOverride{
					// The PIT on IO APIC pin 2, then PCI interrupts:
					// level-triggered, active high.
					{0, 0, 2, 0},
					{0, 5, 5, 0x0D}, {0, 9, 9, 0x0D}, {0, 10, 10, 0x0D}, {0, 11, 11, 0x0D},
				},
			}
			if !reflect.DeepEqual(madt, wantMADT) {
				t.Errorf("MADT =\n%+v, want\n%+v", madt, wantMADT)
			}
		})
	}
}
