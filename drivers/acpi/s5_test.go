package acpi

import (
	"strings"
	"testing"
)

func TestFindS5(t *testing.T) {
	const name = "_S5_"
	pkg := func(prefix string, body ...byte) []byte {
		return append([]byte(prefix+name), body...)
	}
	tests := []struct {
		name string
		aml  []byte
		a, b uint8
		err  string // substring of the error; "" for none
	}{
		{"BytePrefix", pkg("\x08", packageOp, 0x0A, 0x04, bytePrefix, 5, bytePrefix, 7, zeroOp, zeroOp), 5, 7, ""},
		{"ZeroOp OneOp", pkg("\x08", packageOp, 0x06, 0x04, oneOp, zeroOp, zeroOp, zeroOp), 1, 0, ""},
		{"root prefix", pkg("\x08\\", packageOp, 0x06, 0x02, zeroOp, bytePrefix, 3), 0, 3, ""},
		// Decompiled: Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero }),
		// preceded by a Return (Package ...) ending in 0x00; from QEMU 7.2.
		{"QEMU", []byte{0x00, 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x3b, 0x5c}, 0, 0, ""},
		{"two-byte PkgLength", pkg("\x08", packageOp, 0x40|0x05, 0x01, 0x04, bytePrefix, 6, oneOp), 6, 1, ""},
		{"reference before definition", append(
			pkg("\x70", 0x60), // Store (_S5_, Local0): no NameOp
			pkg("\x08", packageOp, 0x06, 0x02, bytePrefix, 2, bytePrefix, 2)...), 2, 2, ""},
		{"missing", []byte("\x08_S4_\x12\x06\x02\x0a\x05\x0a\x05"), 0, 0, `no \_S5`},
		{"name of a method", pkg("\x14", 0x05, 0x00), 0, 0, `no \_S5`},
		{"one element", pkg("\x08", packageOp, 0x04, 0x01, bytePrefix, 5), 0, 0, "1 elements"},
		{"truncated", pkg("\x08", packageOp, 0x06, 0x02, bytePrefix, 5, bytePrefix), 0, 0, "truncated"},
		{"no PkgLength", pkg("\x08", packageOp), 0, 0, "truncated"},
		{"WordPrefix", pkg("\x08", packageOp, 0x07, 0x02, 0x0B, 5, 0, zeroOp), 0, 0, "encoding 0x0b"},
		{"too big", pkg("\x08", packageOp, 0x06, 0x02, bytePrefix, 8, zeroOp), 0, 0, "does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, err := findS5(tt.aml)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("findS5 = %d, %d, %v; want error %q", a, b, err, tt.err)
				}
				return
			}
			if err != nil || a != tt.a || b != tt.b {
				t.Fatalf("findS5 = %d, %d, %v; want %d, %d", a, b, err, tt.a, tt.b)
			}
		})
	}
}

func TestS5NeedsDSDT(t *testing.T) {
	if _, _, err := new(Tables).S5(); err == nil {
		t.Error("S5 without a DSDT succeeded")
	}
}
