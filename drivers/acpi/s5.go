package acpi

import (
	"bytes"
	"errors"
	"fmt"
)

// AML opcodes that can appear in the \_S5 object (ACPI 6.5, 20.2).
const (
	zeroOp     = 0x00
	oneOp      = 0x01
	nameOp     = 0x08
	bytePrefix = 0x0A
	packageOp  = 0x12
	rootChar   = '\\'
)

var (
	s5Name     = []byte("_S5_")
	errS5Trunc = errors.New(`acpi: \_S5 package truncated`)
)

// slpTypMax is the largest value the 3-bit SLP_TYP field holds.
const slpTypMax = 7

// S5 returns SLP_TYPa and SLP_TYPb for the soft-off state, read from the
// DSDT's \_S5 package.
func (t *Tables) S5() (slpTypA, slpTypB uint8, err error) {
	dsdt, ok := t.Get("DSDT")
	if !ok {
		return 0, 0, errors.New("acpi: no DSDT")
	}
	return findS5(dsdt[headerLen:])
}

// findS5 finds the object Name (_S5, Package () {a, b, ...}) in aml and
// returns a and b. Compiled, that is
//
//	NameOp ['\'] "_S5_" PackageOp PkgLength NumElements a b ...
//
// where iASL encodes each small integer as ZeroOp, OneOp or BytePrefix and a
// byte. Other hits of "_S5_", such as references to the name, lack the
// NameOp in front and are skipped.
func findS5(aml []byte) (slpTypA, slpTypB uint8, err error) {
	for i := 0; ; {
		j := bytes.Index(aml[i:], s5Name)
		if j < 0 {
			return 0, 0, errors.New(`acpi: no \_S5 object in DSDT`)
		}
		at := i + j
		i = at + 1
		named := at >= 1 && aml[at-1] == nameOp ||
			at >= 2 && aml[at-1] == rootChar && aml[at-2] == nameOp
		end := at + len(s5Name)
		if named && end < len(aml) && aml[end] == packageOp {
			return parseS5(aml[end+1:])
		}
	}
}

// parseS5 reads the package that follows PackageOp.
func parseS5(p []byte) (slpTypA, slpTypB uint8, err error) {
	if len(p) == 0 {
		return 0, 0, errS5Trunc
	}
	// PkgLength's top two bits count the bytes that follow its lead byte.
	n := 1 + int(p[0]>>6)
	if len(p) < n+1 {
		return 0, 0, errS5Trunc
	}
	if elems := p[n]; elems < 2 {
		return 0, 0, fmt.Errorf(`acpi: \_S5 package has %d elements, want at least 2`, elems)
	}
	p = p[n+1:]
	var v [2]uint8
	for k := range v {
		switch {
		case len(p) == 0 || p[0] == bytePrefix && len(p) < 2:
			return 0, 0, errS5Trunc
		case p[0] == zeroOp || p[0] == oneOp:
			v[k], p = p[0], p[1:]
		case p[0] == bytePrefix:
			v[k], p = p[1], p[2:]
		default:
			return 0, 0, fmt.Errorf(`acpi: \_S5 element %d: unsupported AML encoding %#02x`, k, p[0])
		}
		if v[k] > slpTypMax {
			return 0, 0, fmt.Errorf(`acpi: \_S5 element %d: SLP_TYP %d does not fit 3 bits`, k, v[k])
		}
	}
	return v[0], v[1], nil
}
