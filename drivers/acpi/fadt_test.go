package acpi

import (
	"reflect"
	"testing"
)

func TestParseFADT(t *testing.T) {
	qemu := FADT{
		Revision:   3,
		DSDT:       testDSDT,
		SMICmd:     testSMICmd,
		ACPIEnable: testACPIEnable,
		PM1aCnt:    testPM1a,
		Flags:      resetRegSup,
		ResetReg:   GenericAddress{Space: SystemIO, BitWidth: 8, Address: 0xCF9},
		ResetValue: 6,
	}
	tests := []struct {
		name string
		fadt []byte
		want func(f *FADT)
	}{
		{"QEMU-like", fadtTable(3, 244, nil), func(f *FADT) {}},
		{"X_ fields preferred", fadtTable(3, 244, func(b []byte) {
			le.PutUint32(b[fadtPM1aCnt:], 0x1004)
			putGAS(b[fadtXPM1bCnt:], SystemIO, 0x1008)
			le.PutUint64(b[fadtXDSDT:], 0x1_0000_0000)
		}), func(f *FADT) { f.PM1bCnt, f.DSDT = 0x1008, 0x1_0000_0000 }},
		{"X_ field in memory space", fadtTable(3, 244, func(b []byte) {
			le.PutUint32(b[fadtPM1aCnt:], 0x1004)
			putGAS(b[fadtXPM1aCnt:], SystemMemory, 0xFED00000)
		}), func(f *FADT) { f.PM1aCnt = 0x1004 }},
		{"ACPI 1.0, 116 bytes", fadtTable(1, 116, nil), func(f *FADT) {
			f.Revision, f.ResetReg, f.ResetValue = 1, GenericAddress{}, 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := qemu
			tt.want(&want)
			if got := parseFADT(tt.fadt); !reflect.DeepEqual(*got, want) {
				t.Errorf("parseFADT =\n%+v, want\n%+v", *got, want)
			}
		})
	}
}

func TestResetSupported(t *testing.T) {
	tests := []struct {
		name string
		edit func(b []byte)
		rev  uint8
		want bool
	}{
		{"supported", nil, 3, true},
		{"revision 1", nil, 1, false},
		{"flag clear", func(b []byte) { le.PutUint32(b[fadtFlags:], 0) }, 3, false},
		{"no address", func(b []byte) { putGAS(b[fadtResetReg:], SystemIO, 0) }, 3, false},
	}
	for _, tt := range tests {
		if got := parseFADT(fadtTable(tt.rev, 244, tt.edit)).ResetSupported(); got != tt.want {
			t.Errorf("%s: ResetSupported = %v, want %v", tt.name, got, tt.want)
		}
	}
}
