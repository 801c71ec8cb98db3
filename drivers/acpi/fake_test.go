package acpi

import "fmt"

// fake is a Machine with sparse physical memory and recorded port I/O.
type fake struct {
	mem    map[uint64]*[pageSize]byte // by page number, allocated on first write
	ports  map[uint16]uint16          // value Inw returns; Outw stores here too
	writes []ioWrite                  // every Outb and Outw, in order

	// sciOnEnable makes writing testACPIEnable to testSMICmd set SCI_EN in
	// testPM1a, as the firmware's SMI handler would.
	sciOnEnable bool
}

type ioWrite struct {
	port  uint16
	v     uint16
	width int // 8 or 16
}

const pageSize = 4096

func newFake() *fake {
	return &fake{mem: map[uint64]*[pageSize]byte{}, ports: map[uint16]uint16{}}
}

func (f *fake) put(addr uint64, b []byte) {
	for i, c := range b {
		a := addr + uint64(i)
		p := f.mem[a/pageSize]
		if p == nil {
			p = new([pageSize]byte)
			f.mem[a/pageSize] = p
		}
		p[a%pageSize] = c
	}
}

// ReadPhys reads zeros from memory never written, like RAM, and fails above
// 4 GiB, where the kernel has no identity map.
func (f *fake) ReadPhys(addr uint64, n int) ([]byte, error) {
	if n < 0 || addr+uint64(n) > 1<<32 {
		return nil, fmt.Errorf("fake: %#x+%d is not identity-mapped", addr, n)
	}
	b := make([]byte, n)
	for i := range b {
		a := addr + uint64(i)
		if p := f.mem[a/pageSize]; p != nil {
			b[i] = p[a%pageSize]
		}
	}
	return b, nil
}

func (f *fake) Inw(port uint16) uint16 { return f.ports[port] }

func (f *fake) Outw(port uint16, v uint16) {
	f.ports[port] = v
	f.writes = append(f.writes, ioWrite{port, v, 16})
}

func (f *fake) Outb(port uint16, v uint8) {
	f.writes = append(f.writes, ioWrite{port, uint16(v), 8})
	if f.sciOnEnable && port == testSMICmd && v == testACPIEnable {
		f.ports[testPM1a] |= sciEn
	}
}

// Where the test firmware puts things. The EBDA and BIOS-area addresses
// are QEMU's; the tables sit just above 1 MiB.
const (
	testEBDA     = 0x9FC00
	testBIOSRSDP = 0xF59E0
	testXSDT     = 0x100000
	testRSDT     = 0x100400
	testFADT     = 0x101000
	testDSDT     = 0x102000
	testMADT     = 0x103000
	testOldTable = 0x104000 // listed only in the RSDT

	testPM1a       = 0x604
	testSMICmd     = 0xB2
	testACPIEnable = 0xF1
)

// firmware describes a test image; build writes it into a fake.
type firmware struct {
	rsdpAt  uint64
	rsdpRev uint8
	fadt    []byte
	dsdtAML []byte
	madt    []byte
}

// defaultFirmware is ACPI 2.0 firmware shaped like QEMU's q35 machine, with
// \_S5 = {5, 5} so that SLP_TYP is visible in the PM1 writes.
func defaultFirmware() firmware {
	return firmware{
		rsdpAt:  testBIOSRSDP,
		rsdpRev: 2,
		fadt:    fadtTable(3, 244, nil),
		dsdtAML: []byte{nameOp, '_', 'S', '5', '_', packageOp, 0x08, 0x04, bytePrefix, 5, bytePrefix, 5, zeroOp, zeroOp},
		madt:    madtTable(nil),
	}
}

func (fw firmware) build() *fake {
	f := newFake()
	f.put(ebdaSegPtr, le.AppendUint16(nil, testEBDA>>4))
	f.put(fw.rsdpAt, rsdp(fw.rsdpRev, testRSDT, testXSDT))
	f.put(testXSDT, withBody("XSDT", 1, u64s(testFADT, testMADT)))
	f.put(testRSDT, withBody("RSDT", 1, u32s(testFADT, testMADT, testOldTable)))
	f.put(testFADT, fw.fadt)
	f.put(testDSDT, withBody("DSDT", 2, fw.dsdtAML))
	f.put(testMADT, fw.madt)
	f.put(testOldTable, withBody("OLDT", 1, nil))
	return f
}

// rsdp builds an RSDP with valid checksums; revision 0 has only 20 bytes.
func rsdp(rev uint8, rsdt uint32, xsdt uint64) []byte {
	b := make([]byte, rsdpV2Len)
	copy(b, rsdpSig)
	copy(b[9:], "GOFLY ")
	b[rsdpRevOff] = rev
	le.PutUint32(b[rsdtAddrOff:], rsdt)
	b[8] = -sum(b[:rsdpV1Len])
	if rev < 2 {
		return b[:rsdpV1Len]
	}
	le.PutUint32(b[20:], rsdpV2Len)
	le.PutUint64(b[xsdtAddrOff:], xsdt)
	b[32] = -sum(b)
	return b
}

// mkTable builds an n-byte table whose body fill writes, at offsets from
// the start of the table, then sets the header and checksum.
func mkTable(sig string, rev uint8, n int, fill func(b []byte)) []byte {
	b := make([]byte, n)
	if fill != nil {
		fill(b)
	}
	copy(b, sig)
	le.PutUint32(b[lenOff:], uint32(n))
	b[revOff] = rev
	copy(b[oemIDOff:], "GOFLY ")
	b[9] = 0
	b[9] = -sum(b)
	return b
}

func withBody(sig string, rev uint8, body []byte) []byte {
	return mkTable(sig, rev, headerLen+len(body), func(b []byte) { copy(b[headerLen:], body) })
}

// fadtTable builds an FADT with QEMU's values: PM1a control at 0x604 in
// both the legacy and the X_ field, SMI_CMD 0xB2, and the reset register at
// port 0xCF9. edit may change fields before the checksum is set.
func fadtTable(rev uint8, n int, edit func(b []byte)) []byte {
	return mkTable("FACP", rev, n, func(b []byte) {
		var f [fadtLen]byte
		le.PutUint32(f[fadtDSDT:], testDSDT)
		le.PutUint32(f[fadtSMICmd:], testSMICmd)
		f[fadtACPIEnable] = testACPIEnable
		le.PutUint32(f[fadtPM1aCnt:], testPM1a)
		le.PutUint32(f[fadtFlags:], resetRegSup)
		putGAS(f[fadtResetReg:], SystemIO, 0xCF9)
		f[fadtResetValue] = 6
		putGAS(f[fadtXPM1aCnt:], SystemIO, testPM1a)
		copy(b, f[:])
		if edit != nil {
			edit(b)
		}
	})
}

func putGAS(b []byte, space AddressSpace, addr uint64) {
	b[0] = byte(space)
	b[1] = 8
	le.PutUint64(b[4:], addr)
}

// madtTable builds a MADT with the local APIC at 0xFEE00000, the PC-AT flag
// set, and the given entries.
func madtTable(entries []byte) []byte {
	body := append(u32s(0xFEE00000, pcatCompat), entries...)
	return withBody("APIC", 3, body)
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = le.AppendUint32(b, x)
	}
	return b
}

func u64s(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = le.AppendUint64(b, x)
	}
	return b
}
