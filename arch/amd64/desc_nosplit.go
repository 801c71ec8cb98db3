package amd64

// Descriptor tables. This file runs before the Go runtime starts (SetupCPU
// is called from the kernel's early boot), so every function is nosplit and
// the tables are static arrays of integers.

import "unsafe"

// MaxCPUs bounds the per-CPU tables. CPU sets are uint64 masks and a
// thread's CPU is a uint8: both are checked below when compiling.
const MaxCPUs = 8

var (
	_ [64 - MaxCPUs]byte // CPU masks are uint64
	_ [MaxCPUs - 1]byte  // at least one CPU
)

// Stack sizes. The trap stack carries every interrupt and system call, the
// fault stack every CPU exception; the last three serve one vector each.
const (
	TrapStackSize  = 64 << 10
	FaultStackSize = 32 << 10
	smallStackSize = 8 << 10
)

// IST indices (1-based, as in the gate descriptor).
const (
	istTrap  = 1
	istFault = 2
	istDF    = 3
	istNMI   = 4
	istMC    = 5
)

type cpuTables struct {
	gdt       [7]uint64  // null, code, data, TSS (two slots), user data, user code
	tss       [26]uint32 // 104-byte 64-bit TSS, viewed as dwords
	gdtr      [2]uint64  // pseudo-descriptor: limit at byte 0, base at byte 2
	trapStack [TrapStackSize]byte
	fault     [FaultStackSize]byte
	df, nmi   [smallStackSize]byte
	mc        [smallStackSize]byte
}

var cpus [MaxCPUs]cpuTables

// gate is an IDT entry (Intel SDM vol. 3, 6.14.1, "64-bit mode IDT").
type gate struct {
	offLow  uint16
	sel     uint16
	ist     uint8
	attr    uint8 // present | DPL (0; 3 for #BP) | type 0xE (interrupt gate: clears IF)
	offMid  uint16
	offHigh uint32
	_       uint32
}

var (
	idt  [256]gate
	idtr [2]uint64
)

// SetupCPU builds and loads the GDT, TSS and IDT of CPU cpu. stubs holds
// the entry address of each of the 256 vector stubs.
//
//go:nosplit
func SetupCPU(cpu int, stubs *[256]uintptr) {
	t := &cpus[cpu]
	t.gdt[1] = 0x00AF9A000000FFFF // 64-bit code, DPL 0
	t.gdt[2] = 0x00CF92000000FFFF // data, DPL 0
	t.gdt[5] = 0x00CFF2000000FFFF // data, DPL 3
	t.gdt[6] = 0x00AFFA000000FFFF // 64-bit code, DPL 3

	setIST(t, istTrap, stackTop(t.trapStack[:]))
	setIST(t, istFault, stackTop(t.fault[:]))
	setIST(t, istDF, stackTop(t.df[:]))
	setIST(t, istNMI, stackTop(t.nmi[:]))
	setIST(t, istMC, stackTop(t.mc[:]))
	t.tss[25] = 104 << 16 // I/O map base beyond the limit: no bitmap

	// Every base and entry point the CPU reads on a trap is in the
	// kernel image, in the upper half (Alias), so a trap from ring 3
	// reaches them on the user's page tables.
	base := uint64(uintptr(unsafe.Pointer(&t.tss)))
	// 16-byte TSS descriptor (SDM vol. 3, 8.2.3): limit, base, type 9
	// (available 64-bit TSS), present.
	t.gdt[3] = (104 - 1) | (base&0xFFFFFF)<<16 | 0x89<<40 | (base>>24&0xFF)<<56
	t.gdt[4] = base >> 32

	gdt := uint64(uintptr(unsafe.Pointer(&t.gdt)))
	t.gdtr[0] = uint64(len(t.gdt)*8-1) | gdt<<16
	t.gdtr[1] = gdt >> 48
	Lgdt(uintptr(unsafe.Pointer(&t.gdtr)))
	ReloadSegments(KernelCS, KernelDS)
	Ltr(TSSSel)

	for v := range idt {
		ist := uint8(istTrap)
		switch {
		case v == VectorDF:
			ist = istDF
		case v == VectorNMI:
			ist = istNMI
		case v == VectorMC:
			ist = istMC
		case v < 32:
			ist = istFault
		}
		pc := stubs[v]
		attr := uint8(0x8E)
		if v == VectorBP { // INT3 from ring 3 reaches #BP, not #GP: a debugger's breakpoint
			attr = 0xEE
		}
		idt[v] = gate{
			offLow:  uint16(pc),
			sel:     KernelCS,
			ist:     ist,
			attr:    attr,
			offMid:  uint16(pc >> 16),
			offHigh: uint32(pc >> 32),
		}
	}
	idtBase := uint64(uintptr(unsafe.Pointer(&idt)))
	idtr[0] = uint64(len(idt)*16-1) | idtBase<<16
	idtr[1] = idtBase >> 48
	Lidt(uintptr(unsafe.Pointer(&idtr)))
}

// TrapStackTop returns the top of CPU cpu's trap stack, where the system
// call entry switches to.
//
//go:nosplit
func TrapStackTop(cpu int) uintptr { return stackTop(cpus[cpu].trapStack[:]) }

// TrapStackBounds returns CPU cpu's trap stack [lo, hi).
//
//go:nosplit
func TrapStackBounds(cpu int) (lo, hi uintptr) {
	s := cpus[cpu].trapStack[:]
	return uintptr(unsafe.Pointer(&s[0])), stackTop(s)
}

//go:nosplit
func setIST(t *cpuTables, n int, top uintptr) {
	// IST n is the 64-bit field at byte offset 36 + 8*(n-1), i.e. dwords
	// 9+2(n-1) (low) and 10+2(n-1) (high).
	i := 9 + 2*(n-1)
	t.tss[i] = uint32(top)
	t.tss[i+1] = uint32(uint64(top) >> 32)
}

//go:nosplit
func stackTop(s []byte) uintptr {
	return (uintptr(unsafe.Pointer(&s[0])) + uintptr(len(s))) &^ 15
}
