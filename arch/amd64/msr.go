package amd64

// Model-specific registers the kernel uses (Intel SDM vol. 4), defined
// here once. The boot stub (boot/boot.S), assembled apart from Go, repeats
// MSREFER.
const (
	MSRAPICBase = 0x1B
	MSREFER     = 0xC0000080
	MSRSTAR     = 0xC0000081
	MSRLSTAR    = 0xC0000082
	MSRFMASK    = 0xC0000084
	MSRFSBase   = 0xC0000100
	MSRGSBase   = 0xC0000101
	// MSRX2APIC is the first x2APIC register: register offset/16 is added.
	MSRX2APIC = 0x800
)
