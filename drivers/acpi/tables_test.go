package acpi

import (
	"strings"
	"testing"
)

func sigs(tabs *Tables) string {
	var s []string
	for _, tab := range tabs.List() {
		s = append(s, tab.Sig)
	}
	return strings.Join(s, " ")
}

func TestLoadPrefersXSDT(t *testing.T) {
	tabs, err := Load(defaultFirmware().build())
	if err != nil {
		t.Fatal(err)
	}
	// OLDT is listed only in the RSDT.
	if got, want := sigs(tabs), "XSDT FACP APIC DSDT"; got != want {
		t.Errorf("tables = %q, want %q", got, want)
	}
	if tabs.RSDP != testBIOSRSDP || len(tabs.Errs) != 0 {
		t.Errorf("RSDP = %#x, Errs = %v", tabs.RSDP, tabs.Errs)
	}
	madt := tabs.List()[2]
	if madt.Addr != testMADT || madt.Len != uint32(len(madt.Data)) || madt.OEMID != "GOFLY" {
		t.Errorf("MADT entry = %+v", madt)
	}
	if b, ok := tabs.Get("DSDT"); !ok || string(b[:4]) != "DSDT" {
		t.Errorf("Get(DSDT) = %q, %v", b, ok)
	}
	if _, ok := tabs.Get("SSDT"); ok {
		t.Error("Get(SSDT) found a table that is not there")
	}
}

func TestLoadRSDT(t *testing.T) {
	for _, rev := range []uint8{0, 2} {
		fw := defaultFirmware()
		fw.rsdpRev = rev
		f := fw.build()
		if rev == 2 {
			// An ACPI 2.0 RSDP with no XSDT address falls back to the RSDT.
			f.put(fw.rsdpAt, rsdp(2, testRSDT, 0))
		}
		tabs, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sigs(tabs), "RSDT FACP APIC OLDT DSDT"; got != want {
			t.Errorf("revision %d: tables = %q, want %q", rev, got, want)
		}
	}
}

func TestLoadSkipsBadTables(t *testing.T) {
	fw := defaultFirmware()
	fw.madt[len(fw.madt)-1]++ // breaks the MADT's checksum
	f := fw.build()
	// A table the kernel cannot reach, beyond the identity map.
	f.put(testXSDT, withBody("XSDT", 1, u64s(testFADT, testMADT, 1<<40, 0)))
	tabs, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sigs(tabs), "XSDT FACP DSDT"; got != want {
		t.Errorf("tables = %q, want %q", got, want)
	}
	if len(tabs.Errs) != 2 || !strings.Contains(tabs.Errs[0].Error(), "APIC at 0x103000: bad checksum") {
		t.Errorf("Errs = %v, want the MADT's checksum and the unreachable table", tabs.Errs)
	}
}

func TestLoadBadRoot(t *testing.T) {
	tests := []struct {
		name string
		root []byte
		want string
	}{
		{"checksum", append(withBody("XSDT", 1, u64s(testFADT))[:43], 0xFF), "bad checksum"},
		{"signature", withBody("RSDT", 1, u32s(testFADT)), `is "RSDT", want "XSDT"`},
		{"length", append([]byte("XSDT"), 8, 0, 0, 0), "bad length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := defaultFirmware().build()
			f.put(testXSDT, tt.root)
			_, err := Load(f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadXDSDT(t *testing.T) {
	const xdsdt = 0x200000
	fw := defaultFirmware()
	fw.fadt = fadtTable(3, 244, func(b []byte) { le.PutUint64(b[fadtXDSDT:], xdsdt) })
	f := fw.build()
	f.put(xdsdt, withBody("DSDT", 2, []byte("new")))
	tabs, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := tabs.Get("DSDT"); string(b[headerLen:]) != "new" {
		t.Errorf("DSDT body = %q, want the one at X_DSDT", b[headerLen:])
	}
}
