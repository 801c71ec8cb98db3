package kernel

// Early boot runs before the Go runtime exists: on a static stack, with no
// g (FS:-8 is a zero word), interrupts off. Every function is nosplit and
// allocation-free.

import (
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/drivers/pic"
	"gofly/drivers/rtc"
	"gofly/drivers/timer"
	"gofly/drivers/uart"
	"gofly/fatal"
	"gofly/klog"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/pmap"
	"gofly/random"
	"gofly/sys"
	"gofly/vm"
)

const (
	bootStackSize = 16 << 10
	// m0StackSize is the initial thread's stack; the runtime carves m0's
	// g0 stack (64 KiB) out of it.
	m0StackSize   = 256 << 10
	idleStackSize = 8 << 10
	tickHz        = 1000
	// apicCalibrateUs times the local APIC timer against the TSC; see
	// apic.CalibrateTimer.
	apicCalibrateUs = 250

	// irqSerial is COM1's legacy IRQ line.
	irqSerial = 4
)

var (
	bootStack [bootStackSize]byte
	bootTLS   [2]uint64 // FS base points at bootTLS[1]; FS:-8 reads bootTLS[0]
	bootFS    uintptr   // that FS base, also the idle threads'
	m0Stack   [m0StackSize]byte
	idleStack [idleStackSize]byte
	fpuBufs   [amd64.MaxCPUs][512 + amd64.FPUAlign]byte
	nmiFPUs   [amd64.MaxCPUs][512 + amd64.FPUAlign]byte
	nestStack [amd64.MaxCPUs][nestStackSize]byte
	cpuLocals [amd64.MaxCPUs]cpuLocal

	// Boot image extents, for the memory map listing.
	imageStub, imageGo mm.Range
	reserved           [3 + maxModules]mm.Range
)

// cpuLocal is what the assembly reaches through the GS base, one per CPU.
// Its first word is the CPU's index (amd64.CPU reads GS:0). The GS base is
// its address in the kernel image, in the upper half (amd64.Alias):
// reachable on a user's page tables too, and negative, so the trap entry
// tells the kernel's GS base from a user's (always below 2^47) by the
// sign. Owner: its CPU, interrupts off.
type cpuLocal struct {
	cpu     uintptr
	scratch uintptr // the thread's RSP while SYSCALL switches stacks
	kstack  uintptr // top of the trap stack
	fpu     uintptr // the running thread's FXSAVE area (lwkt repoints it)
	frame   uintptr // the *amd64.Frame of the trap being served; 0 outside the trap path
	nmiFPU  uintptr // FXSAVE area of NMI and #MC, which may arrive inside the trap path
	nest    uintptr // top of the stack a system call made inside the trap path gets
	ucr3    uintptr // the user page tables a return to ring 3 loads (sys.EnterUser's)
	ufs     uintptr // the user FS base: found by an entry from ring 3, loaded by a return there
	// kfpu is the FXSAVE area of the thread a trap from ring 3 took back
	// to its kernel state, and lazy says that the trap's exit resumes that
	// thread where its NrSwitch call returns: the exit then restores no
	// FPU state (trap_nosplit.go).
	kfpu, lazy uintptr
}

// nestStackSize is the stack of a system call made inside the trap path: a
// kernel bug that trap reports and never resumes, so a small one will do.
const nestStackSize = 8 << 10

// eferNXE enables no-execute pages (Intel SDM vol. 4, IA32_EFER).
const eferNXE = 1 << 11

// MSR numbers for entry_amd64.s (go_asm.h exports only this package's
// constants).
const (
	msrFSBase = amd64.MSRFSBase
	msrGSBase = amd64.MSRGSBase
)

// bootInfo mirrors the boot stub's bootinfo block (boot/boot.S), word for
// word.
type bootInfo struct {
	magic, mbinfo        uint64
	goBase, goEnd        uint64
	stubStart, stubEnd   uint64
	tsc0, page0          uint64
	trampoline, trampLen uint64
}

// boot is the stub's bootinfo, copied on entry.
var boot bootInfo

// early brings the machine from the boot stub's state to one the Go
// runtime can start on, and returns the stack pointer to enter
// _rt0_amd64_linux with. See entry_amd64.s.
//
//go:nosplit
func early(info uintptr) uintptr {
	mm.DirectBase = amd64.Alias // the boot stub's tables map it
	boot = *(*bootInfo)(mm.Direct(uint64(info)))
	mark(phaseStub, boot.tsc0)
	mark(phaseEntry, amd64.Rdtsc())
	uart.Init()
	fatal.SetHandler(throwReport)
	klog.Puts("gofly: booting\n")
	if boot.magic != multibootMagic {
		fatal.Throw("boot: not started by a multiboot loader")
	}
	parseMultiboot(boot.mbinfo)
	applyCmdline()

	imageStub = mm.Range{Base: boot.stubStart, Len: boot.stubEnd - boot.stubStart}
	// goBase is physical; goEnd, from the program headers, is in the
	// direct map, where the image is linked.
	imageGo = mm.Range{Base: boot.goBase, Len: boot.goEnd - amd64.Alias - boot.goBase}
	reserved[0] = mm.Range{Base: 0, Len: 1 << 20} // BIOS data, EBDA, ROMs
	reserved[1], reserved[2] = imageStub, imageGo
	copy(reserved[3:], modules[:nModules])
	if !mm.Phys.Init(avail[:nAvail], reserved[:3+nModules]) {
		fatal.Throw("boot: no usable memory for the page bitmap")
	}
	mark(phaseMemory, amd64.Rdtsc())

	enableNX()
	vm.Kernel.Pmap.Init(amd64.ReadCR3(), true)
	mapHighRAM()
	vm.Kernel.InitRange(vm.KernelMin, vm.KernelMax, vm.KernelMin)
	if !vm.Kernel.Pmap.ReserveTop(vm.KernelMin, vm.KernelMax) {
		fatal.Throw("boot: no frames for the kernel's page directory pointer tables")
	}

	_, idlePC, _, _ := codeAddrs()
	setupCPU(0)
	mark(phaseCPU, amd64.Rdtsc())

	pic.Init(amd64.VectorIRQ0) // every line masked: the PIT does not tick
	timer.CalibrateTSC()
	mark(phaseTSC, amd64.Rdtsc())
	apic.Init(true)
	apicUp = true
	apic.CalibrateTimer(apicCalibrateUs)
	mark(phaseCalibrated, amd64.Rdtsc())
	sys.WallBase = rtc.Read().Unix()*1e9 - timer.Nanotime()
	random.Init(sys.WallBase)
	apic.StartTimer(amd64.VectorTimer, tickHz)
	timer.SetTickRate(tickHz)
	uart.EnableRxInterrupt()
	pic.Unmask(irqSerial)

	lwkt.Init(idlePC, uintptr(unsafe.Pointer(&idleStack[0]))+idleStackSize, uint64(bootFS))
	lwktUp = true
	cpuLocals[0].fpu = lwkt.CurrentFPU() // from now on, the running thread's own
	sp := buildStack()
	mark(phaseRuntime, amd64.Rdtsc())
	return sp
}

// setupCPU gives CPU cpu its cpuLocal, descriptor tables and SYSCALL
// path. GS must already point at cpuLocals[cpu].
//
//go:nosplit
func setupCPU(cpu int) {
	syscallPC, _, _, _ := codeAddrs()
	c := &cpuLocals[cpu]
	amd64.Wrmsr(amd64.MSRGSBase, uint64(uintptr(unsafe.Pointer(c))))
	c.cpu = uintptr(cpu)
	c.kstack = amd64.TrapStackTop(cpu)
	c.fpu = (uintptr(unsafe.Pointer(&fpuBufs[cpu][0])) + amd64.FPUAlign - 1) &^ (amd64.FPUAlign - 1) // until lwkt starts
	c.nmiFPU = (uintptr(unsafe.Pointer(&nmiFPUs[cpu][0])) + amd64.FPUAlign - 1) &^ (amd64.FPUAlign - 1)
	c.nest = uintptr(unsafe.Pointer(&nestStack[cpu][0])) + nestStackSize
	amd64.SetupCPU(cpu, vectorStubs())
	amd64.Wrmsr(amd64.MSRSTAR, uint64(amd64.KernelCS)<<32) // SYSCALL loads CS 0x08, SS 0x10
	amd64.Wrmsr(amd64.MSRLSTAR, uint64(syscallPC))
	amd64.Wrmsr(amd64.MSRFMASK, amd64.FlagIF|amd64.FlagDF|amd64.FlagTF|amd64.FlagAC)
	enableSMEP()
	enablePCID(cpu)
}

// enablePCID turns on process-context identifiers (CR4.PCIDE) where the
// CPU has them (CPUID 1 ECX bit 17; QEMU's TCG does not): the boot CPU
// decides (pmap.PCIDs), every other follows, and one that lacks them
// stops the boot, as the CPUs must agree. CR3's tag field must be 0 when
// PCIDE goes on: each CPU runs on the kernel's root then.
//
//go:nosplit
func enablePCID(cpu int) {
	_, _, c, _ := amd64.Cpuid(1, 0)
	has := c&(1<<17) != 0
	if cpu == 0 {
		pmap.PCIDs = has
	}
	if !pmap.PCIDs {
		return
	}
	if !has {
		fatal.Throw("boot: a CPU without the PCIDs the boot CPU has")
	}
	amd64.WriteCR4(amd64.ReadCR4() | amd64.CR4PCIDE)
}

// enableSMEP turns on supervisor-mode execution and access prevention
// where the CPU has them (CPUID 7.0 EBX bits 7 and 20; QEMU's -cpu max
// does): the kernel never executes or touches a user page with a user
// address (it reaches process memory through the direct map), so a ring-0
// fetch from or access to a page with U set is a kernel bug, and faults.
//
//go:nosplit
func enableSMEP() {
	if max, _, _, _ := amd64.Cpuid(0, 0); max < 7 {
		return
	}
	_, b, _, _ := amd64.Cpuid(7, 0)
	cr4 := amd64.ReadCR4()
	if b&(1<<7) != 0 {
		cr4 |= amd64.CR4SMEP
	}
	if b&(1<<20) != 0 {
		cr4 |= amd64.CR4SMAP
	}
	amd64.WriteCR4(cr4)
}

// enableNX turns on no-execute pages when the CPU has them (CPUID
// 0x80000001 EDX bit 20).
//
//go:nosplit
func enableNX() {
	if max, _, _, _ := amd64.Cpuid(0x80000000, 0); max < 0x80000001 {
		return
	}
	if _, _, _, d := amd64.Cpuid(0x80000001, 0); d&(1<<20) != 0 {
		amd64.Wrmsr(amd64.MSREFER, amd64.Rdmsr(amd64.MSREFER)|eferNXE)
		pmap.NXEnabled = true
	}
}

// mapHighRAM extends the boot stub's 0–4 GiB direct map over RAM above
// 4 GiB.
//
//go:nosplit
func mapHighRAM() {
	const fourG, twoM = 1 << 32, 2 << 20
	for _, r := range avail[:nAvail] {
		if r.Base < fourG {
			continue
		}
		for pa := r.Base; pa < r.End(); pa += twoM {
			if !vm.Kernel.Pmap.EnterLarge(uintptr(pa), pa, pmap.Writable|pmap.Global) {
				fatal.Throw("boot: cannot map RAM above 4 GiB")
			}
		}
	}
}

// Auxiliary vector keys the runtime reads.
const (
	atNull   = 0
	atPagesz = 6
	atRandom = 25
)

// buildStack lays out a Linux process's initial stack at the top of
// m0Stack: argc, argv, envp (the NAME=value words of the command line whose
// name is upper case, such as GODEBUG), auxv, then the strings and 16
// random bytes they point to.
//
//go:nosplit
//go:noinline
func buildStack() uintptr {
	top := uintptr(unsafe.Pointer(&m0Stack[0])) + m0StackSize
	strs := top - 4096 // strings and random bytes live in the top page
	at := strs

	argv0 := at
	at = putBytes(at, []byte("gofly"))
	var envp [16]uintptr
	nenv := 0
	for i := 0; i < cmdlineLen && nenv < len(envp); {
		for i < cmdlineLen && cmdline[i] == ' ' {
			i++
		}
		start := i
		for i < cmdlineLen && cmdline[i] != ' ' {
			i++
		}
		if isEnvWord(cmdline[start:i]) && at+uintptr(i-start)+1 < top-32 {
			envp[nenv] = at
			nenv++
			at = putBytes(at, cmdline[start:i])
		}
	}
	rnd := (at + 15) &^ 15
	random.Read((*[16]byte)(mm.Ptr(uint64(rnd)))[:])

	// Words, from the lowest address: argc, argv[0], 0, envp…, 0, then
	// the AT_PAGESZ, AT_RANDOM and AT_NULL pairs.
	words := 3 + nenv + 1 + 6
	sp := (strs - uintptr(words)*8) &^ 15
	w := putWord(sp, 1)
	w = putWord(w, argv0)
	w = putWord(w, 0)
	for j := 0; j < nenv; j++ {
		w = putWord(w, envp[j])
	}
	w = putWord(w, 0)
	w = putWord(w, atPagesz)
	w = putWord(w, 4096)
	w = putWord(w, atRandom)
	w = putWord(w, rnd)
	w = putWord(w, atNull)
	putWord(w, 0)
	return sp
}

// isEnvWord reports whether w looks like NAME=value with an upper-case
// NAME, the command-line words passed to the program's environment.
//
//go:nosplit
func isEnvWord(w []byte) bool {
	for i, c := range w {
		switch {
		case c == '=' && i > 0:
			return true
		case c >= 'A' && c <= 'Z', c == '_', c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return false
}

//go:nosplit
func putBytes(at uintptr, b []byte) uintptr {
	for i, c := range b {
		*(*byte)(mm.Ptr(uint64(at + uintptr(i)))) = c
	}
	*(*byte)(mm.Ptr(uint64(at + uintptr(len(b))))) = 0
	return at + uintptr(len(b)) + 1
}

//go:nosplit
func putWord(at, v uintptr) uintptr {
	*(*uintptr)(mm.Ptr(uint64(at))) = v
	return at + 8
}
