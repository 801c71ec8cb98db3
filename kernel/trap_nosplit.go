package kernel

// The trap path runs on the per-CPU trap or fault stack with interrupts
// off and no g of its own (FS:-8 is the interrupted thread's g, which this
// code never uses): nosplit, allocation-free, no pointer stores into the
// Go heap.

import (
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/drivers/pic"
	"gofly/drivers/power"
	"gofly/drivers/timer"
	"gofly/drivers/uart"
	"gofly/klog"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/sys"
	"gofly/vm"
)

// Interrupt and exception counters, for the shell.
var (
	irqCount       [16]uint64
	spuriousIRQs   uint64
	strayVectors   uint64
	signalsRaised  uint64
	pageFaultsSeen uint64
)

// trap serves one trap: the frame f is the interrupted thread's state and
// is what the IRETQ in trapEntry resumes. See entry_amd64.s.
//
//go:nosplit
func trap(f *amd64.Frame) {
	cpu := amd64.CPU()
	c := &cpuLocals[cpu]
	v := f.Vector
	if v == amd64.VectorNMI {
		nmi() // its own stack; may arrive inside the trap path
		return
	}
	if c.frame != 0 {
		// Interrupts are off in the trap path, so this is an exception
		// raised by the trap path itself: a kernel bug, reported without
		// the MP lock (this CPU may hold it) and never resumed.
		nestedFault(f, (*amd64.Frame)(mm.Ptr(uint64(c.frame))))
	}
	c.frame = uintptr(unsafe.Pointer(f))
	if lwkt.ExitTickless() {
		apic.StartTimer(amd64.VectorTimer, tickHz)
	}
	fpu := c.fpu
	// From ring 3: the thread's kernel state again, before anything looks
	// at the frame (sys/ring3_nosplit.go). Its system calls and faults are
	// its goroutine's to serve (proc); interrupts and a machine check stay
	// the kernel's.
	fromUser := f.CS&3 != 0
	if fromUser {
		sys.LeaveUser(f, fpu, uint64(c.ufs))
		c.fpu = lwkt.CurrentFPU() // the thread's kernel FPU state
		fpu = c.fpu
		c.kfpu = c.fpu
	}
	lwkt.SetTrapFrame(f.RSP)
	// Everything but an IPI may touch shared kernel state: take the MP
	// lock for the whole trap (lwkt/mp_nosplit.go). IPI handlers run
	// without it, touching only this CPU's scheduler; a process's page
	// fault first tries its map's lock alone (vm.FaultFresh), and a
	// TrapCallLocal body takes what locks it needs.
	// Nor do a process's system call (its goroutine serves it) and the
	// switch back to ring 3 (sys.Switch): between them they touch the
	// thread's state and its CPU's.
	userFault := v == amd64.VectorPF && fromUser
	userCall := v == amd64.VectorSyscall && fromUser
	switchCall := v == amd64.VectorSyscall && !fromUser && f.RAX == sys.NrSwitch
	locked := v != amd64.VectorIPI && !userFault && v != amd64.VectorTrapCallLocal && !userCall && !switchCall
	if locked {
		lwkt.GetMPLock()
	}
	switch {
	case userFault:
		if !sys.UserFault(false) {
			lwkt.GetMPLock()
			locked = true
			sys.UserFault(true)
		}
	case userCall, v < 32 && fromUser && v != amd64.VectorMC:
	case switchCall:
		if !sys.Switch(f) { // its context must be made present first
			lwkt.GetMPLock()
			locked = true
			sys.Dispatch(f, fpu)
		}
	case v == amd64.VectorSyscall:
		sys.Dispatch(f, fpu)
	case v == amd64.VectorTrapCall, v == amd64.VectorTrapCallLocal:
		lwkt.RunTrapCall(f)
	case v == amd64.VectorTimer:
		apic.EOI()
		countTick(cpu)
		if lwkt.IPIs.Pending(cpu) { // passive messages wait at most a tick
			lwkt.IPIs.Process(cpu)
		}
		lwkt.Tick(timer.Nanotime())
	case v == amd64.VectorIPI:
		apic.EOI()
		lwkt.IPIs.Process(cpu)
	case v == amd64.VectorSpurious:
		spuriousIRQs++
	case v > amd64.VectorIRQ0 && v < amd64.VectorIRQ0+16:
		irq(uint8(v - amd64.VectorIRQ0))
	case v < 32:
		exception(f, fpu)
	default:
		strayVectors++
	}
	for { // until both are done: see lwkt.Unfinished
		lwkt.Flush()
		lwkt.Schedule(f, &c.fpu)
		if !lwkt.Unfinished() {
			break
		}
	}
	fpu = c.fpu
	if !locked && sys.SignalPending() {
		lwkt.GetMPLock() // delivery writes a frame through the address map
		locked = true
	}
	delivered := false
	if locked {
		// Only under the lock: a signal another CPU raises after the
		// check above waits for this thread's next trap.
		delivered = sys.DeliverPending(f, fpu)
		lwkt.RelMPLock()
	}
	// A thread marked for ring 3 goes there, unless a signal handler
	// runs first (its sigreturn comes back here).
	if !delivered {
		if cr3, fs, ufpu := sys.EnterUser(f); cr3 != 0 {
			c.ucr3, c.ufs, c.fpu = uintptr(cr3), uintptr(fs), ufpu
		}
	}
	// The thread that trapped from ring 3 goes on in the kernel where its
	// NrSwitch call returns: that call keeps nothing in X0-X14 and its
	// entry saved no state (entry_amd64.s), so the exit restores none but
	// MXCSR and X15. The user's state is in its image, saved at entry.
	// The exit clears the mark as it takes it.
	if fromUser && f.CS&3 == 0 && c.fpu == c.kfpu {
		c.lazy = 1
	}
	c.frame = 0
}

// nestedFault reports exception f taken while this CPU served the trap
// outer, and stops the machine.
//
//go:nosplit
func nestedFault(f, outer *amd64.Frame) {
	klog.Puts("\ngofly: kernel fault inside the trap path (serving vector ")
	klog.Dec(outer.Vector)
	klog.Puts(")")
	var cr2 uint64
	if f.Vector == amd64.VectorPF {
		cr2 = amd64.ReadCR2()
	}
	recordFault(f, cr2)
	printFault()
	power.Fail(power.CodeFault)
}

// ioapicRouted[n] is set once legacy IRQ n arrives through the I/O APIC
// (acknowledged at the local APIC) rather than the 8259.
var ioapicRouted [16]bool

// countTick counts a timer interrupt on cpu; one CPU counts the
// machine's ticks.
//
//go:nosplit
func countTick(cpu int) {
	if cpu == 0 {
		timer.Tick()
	}
}

//go:nosplit
func irq(n uint8) {
	if !ioapicRouted[n] && pic.Spurious(n) {
		spuriousIRQs++
		return
	}
	irqCount[n]++
	if n == irqSerial {
		uart.Interrupt()
	}
	if ioapicRouted[n] {
		apic.EOI()
	} else {
		pic.EOI(n)
	}
	if n == irqSerial {
		sys.ConsoleInput()
	}
}

// inKernel reports whether a trap interrupted the kernel itself (this
// CPU's trap path or idle thread) rather than a Go thread.
//
//go:nosplit
func inKernel(f *amd64.Frame) bool {
	lo, hi := amd64.TrapStackBounds(amd64.CPU())
	sp := f.RSP
	return sp >= uint64(lo) && sp <= uint64(hi) || lwkt.Current() == lwkt.Idle()
}

// exception handles CPU exceptions. A page fault in a Go thread inside a
// mapped range is demand paging; a nil-page fault becomes SIGSEGV, which Go
// turns into a recoverable panic. Anything else is fatal: the register
// report is printed here, and where the faulting thread is a Go thread it
// is redirected into reportFault to decode the instruction and print its Go
// stack before the machine stops.
//
//go:nosplit
func exception(f *amd64.Frame, fpu uintptr) {
	var cr2 uint64
	kernel := inKernel(f)
	if f.Vector == amd64.VectorPF {
		cr2 = amd64.ReadCR2()
		pageFaultsSeen++
		if !kernel {
			write, exec := f.Error&2 != 0, f.Error&16 != 0
			oom := vm.Kernel.OutOfMemory
			if vm.Kernel.Fault(uintptr(cr2), write, exec) {
				return
			}
			if vm.Kernel.OutOfMemory != oom {
				klog.Puts("gofly: out of memory: no page frame left for a fault at ")
				klog.Hex(cr2)
				klog.Puts("\n")
			}
			// Not into interrupts-off code: its handler would run there.
			if cr2 < 4096 && f.RFLAGS&amd64.FlagIF != 0 && sys.Deliver(f, fpu, sys.SIGSEGV, sys.SEGVMapErr, cr2) {
				signalsRaised++
				return
			}
		}
	}
	if faultRecord.taken {
		klog.Puts("gofly: fault while reporting a fault\n")
		kernel = true
	}
	recordFault(f, cr2)
	printFault()
	if kernel || !injectReport(f) {
		power.Fail(power.CodeFault)
	}
}

// faultRecord is the state of the fatal fault being reported.
var faultRecord struct {
	taken  bool
	frame  amd64.Frame
	cr2    uint64
	thread int32
	code   [16]byte
	ncode  int
}

//go:nosplit
func recordFault(f *amd64.Frame, cr2 uint64) {
	r := &faultRecord
	r.taken = true
	r.frame = *f
	r.cr2 = cr2
	r.thread = lwkt.CurrentThread().ID
	r.ncode = 0
	for i := uint64(0); i < uint64(len(r.code)); i++ {
		if _, ok := kernelPmapExtract(f.RIP + i); !ok {
			break
		}
		r.code[i] = *(*byte)(mm.Ptr(uint64(uintptr(f.RIP + i))))
		r.ncode++
	}
}

//go:nosplit
func printFault() {
	r := &faultRecord
	f := &r.frame
	m := klog.Begin()
	klog.Puts("\ngofly: kernel fault: ")
	switch {
	case f.Vector < 32:
		klog.Puts(amd64.ExceptionNames[f.Vector&31])
	case f.Vector == amd64.VectorSyscall:
		klog.Puts("system call")
	default:
		klog.Puts("interrupt")
	}
	klog.Puts(" (vector ")
	klog.Dec(f.Vector)
	klog.Puts(") error ")
	klog.Hex(f.Error)
	klog.Puts(" cr2 ")
	klog.Hex(r.cr2)
	klog.Puts(" thread ")
	klog.Dec(uint64(r.thread))
	klog.Puts("\n")
	printRegs(f)
	klog.Puts("  code at rip:")
	for i := 0; i < r.ncode; i++ {
		klog.Puts(" ")
		klog.Puts(hexByte[r.code[i]>>4 : r.code[i]>>4+1])
		klog.Puts(hexByte[r.code[i]&15 : r.code[i]&15+1])
	}
	klog.Puts("\n")
	m.End()
}

// printRegs prints the registers saved in f.
//
//go:nosplit
func printRegs(f *amd64.Frame) {
	reg("rip", f.RIP)
	reg("rsp", f.RSP)
	reg("rflags", f.RFLAGS)
	reg("cs", f.CS)
	klog.Puts("\n")
	reg("rax", f.RAX)
	reg("rbx", f.RBX)
	reg("rcx", f.RCX)
	reg("rdx", f.RDX)
	klog.Puts("\n")
	reg("rsi", f.RSI)
	reg("rdi", f.RDI)
	reg("rbp", f.RBP)
	reg("r8", f.R8)
	klog.Puts("\n")
	reg("r9", f.R9)
	reg("r10", f.R10)
	reg("r11", f.R11)
	reg("r12", f.R12)
	klog.Puts("\n")
	reg("r13", f.R13)
	reg("r14", f.R14)
	reg("r15", f.R15)
	klog.Puts("\n")
}

const hexByte = "0123456789abcdef"

//go:nosplit
func reg(name string, v uint64) {
	klog.Puts("  ")
	klog.Puts(name)
	klog.Puts("=")
	klog.Hex(v)
}

// injectReport makes the faulting thread call reportFault when it
// resumes: the faulting RIP is pushed as a return address, so the Go
// traceback continues into the faulting function, as the runtime does for
// sigpanic.
//
//go:nosplit
func injectReport(f *amd64.Frame) bool {
	sp := uintptr(f.RSP - 8)
	if !vm.Kernel.Touch(sp, 8, true) {
		return false
	}
	*(*uint64)(mm.Ptr(uint64(sp))) = f.RIP
	_, _, trampoline, _ := codeAddrs()
	f.RSP = uint64(sp)
	f.RIP = uint64(trampoline)
	f.RFLAGS &^= amd64.FlagTF | amd64.FlagDF
	return true
}
