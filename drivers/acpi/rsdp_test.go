package acpi

import "testing"

func TestFindRSDP(t *testing.T) {
	good := rsdp(2, testRSDT, testXSDT)
	badSum := rsdp(2, testRSDT, testXSDT)
	badSum[9] ^= 1 // OEM id, under the first checksum
	badExt := rsdp(2, testRSDT, testXSDT)
	badExt[xsdtAddrOff] ^= 1 // under the extended checksum only
	v1 := append(rsdp(0, testRSDT, 0), "garbage after a revision 0 RSDP"...)

	type blob struct {
		addr uint64
		b    []byte
	}
	tests := []struct {
		name  string
		blobs []blob
		want  uint64 // 0: not found
	}{
		{"EBDA", []blob{{testEBDA + 0x40, good}}, testEBDA + 0x40},
		{"BIOS area", []blob{{0xE1230, good}}, 0xE1230},
		{"EBDA before BIOS area", []blob{{0xE0000, good}, {testEBDA, good}}, testEBDA},
		{"last slot of BIOS area", []blob{{0xFFFF0, good[:16]}}, 0}, // cut off at 1 MiB
		{"revision 0", []blob{{0xF0000, v1}}, 0xF0000},
		{"bad checksum", []blob{{0xF0000, badSum}}, 0},
		{"bad extended checksum", []blob{{0xF0000, badExt}}, 0},
		{"bad then good", []blob{{0xE0000, badSum}, {0xE0010, badExt}, {0xF0000, good}}, 0xF0000},
		{"not 16-byte aligned", []blob{{0xF0008, good}}, 0},
		{"nothing", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.put(ebdaSegPtr, le.AppendUint16(nil, testEBDA>>4))
			for _, b := range tt.blobs {
				f.put(b.addr, b.b)
			}
			got, err := FindRSDP(f)
			if tt.want == 0 {
				if err == nil {
					t.Fatalf("FindRSDP = %#x, want error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FindRSDP = %#x, %v; want %#x", got, err, tt.want)
			}
		})
	}
}
