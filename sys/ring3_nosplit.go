package sys

// Ring 3, trap side. A user thread is a kernel thread whose goroutine
// (package proc's task loop) waits in the switch call, NrSwitch, while the
// CPU runs its user registers: gVisor's model, chosen in proc/doc.go. The
// switch call marks the thread (lwkt.Thread.UserCtx); at the end of every
// trap that resumes a marked thread, EnterUser swaps its kernel state for
// the user state in its UserContext; at the start of every trap from ring
// 3, LeaveUser swaps back. So the scheduler, migration and signal delivery
// only ever see the thread's kernel state: a preempted user thread is, to
// lwkt, a thread stopped at the return from the switch call, and it enters
// ring 3 again wherever it is resumed.
//
// A system call or an exception from ring 3 ends the switch call (the
// goroutine serves it in Go), but for a page fault its map fills on demand
// (UserFault); an interrupt does not, unless proc asked for the thread
// back (UserContext.Interrupt) or the thread has run to its CPU-time
// Deadline.
//
// Address spaces are loaded lazily: the kernel lies in the upper half,
// which every address space shares, so a trap from ring 3 keeps the
// user's CR3, and so does the kernel code that runs after it, whatever
// thread; only a return to ring 3 in another address space loads its
// root (one TLB flush, where the trap's two used to be). loaded[cpu] is
// the map whose root the CPU holds, counted in its Pmap's active set
// until the CPU loads another; before a map's tables are freed,
// vm.Map.Destroy has every CPU still holding it load the kernel's
// (unloadMap).

import (
	"sync/atomic"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/fatal"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/pmap"
	"gofly/vm"
)

// NrSwitch is Gofly's private system call that runs a user thread: the
// caller passes its *UserContext and the call returns when the thread
// needs its goroutine (UserContext.Vector says why). Above Linux's
// numbers; only the kernel's own program can make it (a ring-3 SYSCALL
// never reaches the call table).
const NrSwitch = 500

// UserContext is one user thread's CPU state. Regs, FSBase and FPU are
// the user's registers (set by proc before the switch, saved by LeaveUser
// after); Root is its address space. Owner: the thread's goroutine outside
// the switch call, the trap path of the CPU running the thread inside it.
// Interrupt alone is written by others (atomically), at any time.
type UserContext struct {
	Regs   amd64.Frame
	FSBase uint64
	Root   uint64
	// Map is the address of the thread's vm.Map, the one over Root, whose
	// demand-zero faults the trap path serves without ending the switch
	// (UserFault), and which the trap path counts as loaded on the CPUs
	// that hold Root (EnterUser): required.
	Map uintptr

	// Why the switch call returned: VectorSyscall, a CPU exception (with
	// its error code, and CR2 for a page fault), or an interrupt vector
	// when Interrupt asked for the thread. OutOfMemory: the page fault
	// failed for want of memory, not of access; BusError: it reached past
	// the end of a mapped file.
	Vector, Error, CR2    uint64
	OutOfMemory, BusError bool

	// Interrupt, when set, makes the next interrupt taken in ring 3 end
	// the switch call (a signal for the process, a kill).
	Interrupt atomic.Uint32

	// Cycles counts the TSC cycles the thread has run in ring 3 (atomic:
	// the shell reads it while the thread runs).
	Cycles  atomic.Uint64
	entered uint64 // the TSC at the last EnterUser

	// Deadline, when not 0, makes the first interrupt taken in ring 3
	// once Cycles has reached it end the switch call: a CPU-time timer
	// of the process may have expired (proc's timers). Set by the
	// thread's goroutine before the switch.
	Deadline uint64

	kframe amd64.Frame // the thread's kernel state, while in ring 3
	kfs    uint64
	// fpu is the user's FXSAVE image: the trap path saves into it and
	// restores from it directly (EnterUser), while the thread's own area
	// holds its kernel state.
	fpu [512 + amd64.FPUAlign]byte
}

//go:nosplit
func alignFPU(p uintptr) uintptr { return (p + amd64.FPUAlign - 1) &^ (amd64.FPUAlign - 1) }

// userFlags are the RFLAGS bits a user thread controls (CF PF AF ZF SF
// TF DF OF AC ID, as Linux's sigreturn allows); EnterUser sets IF and the
// IOPL marker and clears the rest.
const userFlags = 1<<0 | 1<<2 | 1<<4 | 1<<6 | 1<<7 | amd64.FlagTF | amd64.FlagDF | 1<<11 | amd64.FlagAC | 1<<21

// switchUser is NrSwitch: mark the calling thread; the trap's end enters
// ring 3 (EnterUser). RDI is the *UserContext, which the caller keeps
// alive until the call returns.
//
//go:nosplit
func switchUser(regs *amd64.Frame, _ uintptr) int64 {
	ctx := uintptr(regs.RDI)
	if ctx == 0 || !vm.Kernel.Touch(ctx, unsafe.Sizeof(UserContext{}), true) {
		return -EFAULT
	}
	lwkt.CurrentThread().UserCtx = ctx
	return 0
}

// Switch serves NrSwitch from the kernel's own program without the MP
// lock, as switchUser does under it: it marks the calling thread, state
// that is the thread's and its CPU's. False, having done nothing, when
// the context is not present with write access: making it so needs the
// lock, and the trap path then calls Dispatch under it.
//
//go:nosplit
func Switch(f *amd64.Frame) bool {
	ctx := uintptr(f.RDI)
	if ctx == 0 || !vm.Kernel.Present(ctx, unsafe.Sizeof(UserContext{}), true) {
		return false
	}
	switches.Add(1)
	lwkt.CurrentThread().UserCtx = ctx
	f.RAX = 0
	return true
}

// EnterUser turns f, the kernel frame of the thread the trap resumes,
// into its user frame if the thread is marked, and returns the CR3 value
// and FS base the trap's exit loads (cr3 0: stay in the kernel; the CR3
// value is what CR3 holds, the thread's map's root and tag, which
// EnterUser loads itself when it is another's; the FS base
// is set there, in assembly, because Go code after this still reads its
// g through the kernel's) and the FXSAVE area it restores: the context's
// user image, where the next trap from ring 3 saves the user's state in
// turn. The thread's own area keeps its kernel state meanwhile, so no
// image is copied either way. A user RIP or FS base outside the user half
// ends the switch at once with a #GP, as the IRETQ or WRMSR would raise
// in ring 0.
//
//go:nosplit
func EnterUser(f *amd64.Frame) (cr3, fs uint64, fpu uintptr) {
	t := lwkt.CurrentThread()
	if t.UserCtx == 0 || f.CS&3 != 0 {
		return 0, 0, 0
	}
	c := (*UserContext)(mm.Ptr(uint64(t.UserCtx)))
	if c.Regs.RIP >= vm.UserMax || c.FSBase >= vm.UserMax {
		c.Vector, c.Error, c.CR2 = amd64.VectorGP, 0, 0
		t.UserCtx = 0
		return 0, 0, 0
	}
	c.kframe = *f
	c.kfs = amd64.Rdmsr(amd64.MSRFSBase)
	*f = c.Regs
	f.CS, f.SS = amd64.UserCS, amd64.UserDS
	f.RFLAGS = f.RFLAGS&userFlags | amd64.FlagIF | amd64.FlagIOPL1 | 1<<1 // bit 1 is always set
	c.entered = amd64.Rdtsc()
	fatal.Assert(c.Map != 0, "sys: a user context without its map")
	cpu := amd64.CPU()
	if loaded[cpu] != c.Map {
		// The map's shootdowns reach this CPU from its Enter on; the
		// CR3 load comes before the old map's Leave, as Destroy frees a
		// map's tables (its root among them) once no CPU is in its
		// Active set. The trap exit then finds CR3 loaded and writes
		// none, as when the map was loaded already.
		m := (*vm.Map)(mm.Ptr(uint64(c.Map)))
		fatal.Assert(m.Pmap.Root() == c.Root, "sys: a user context whose root is not its map's")
		v := m.Enter(cpu)
		amd64.WriteCR3(v)
		if loaded[cpu] != 0 {
			(*vm.Map)(mm.Ptr(uint64(loaded[cpu]))).Leave(cpu)
		}
		loaded[cpu], loadedCR3[cpu] = c.Map, pmap.CR3(v)
	}
	return loadedCR3[cpu], c.FSBase, alignFPU(uintptr(unsafe.Pointer(&c.fpu[0])))
}

// loaded is, per CPU, the vm.Map whose root its CR3 holds (0: none the
// trap path tracks, the kernel's or a map-less context's), and loadedCR3
// what CR3 then holds (the root and, with PCIDs, its tag). Written by its
// CPU with interrupts off (EnterUser, unloadOn).
var (
	loaded    [amd64.MaxCPUs]uintptr
	loadedCR3 [amd64.MaxCPUs]uint64
)

// idUnload is unloadOn's IPI handler id (lwkt's and the other packages'
// ids come before it).
const idUnload = lwkt.FirstFreeHandler + 32

// unloadMap makes every CPU that still holds m's root load the kernel's,
// and waits for them: vm.Map.Destroy's hook, before m's tables go. The
// caller's process has no thread left, so no CPU loads m again.
//
//go:nosplit
func unloadMap(m *vm.Map) {
	lwkt.Cpusync(m.Pmap.Active(), idUnload, uintptr(unsafe.Pointer(m)), 0)
}

// unloadOn is unloadMap's work on one CPU: if it holds map m, it loads
// the kernel's root (dropping m's translations) and leaves m's active
// set.
//
//go:nosplit
func unloadOn(m, _ uintptr) {
	cpu := amd64.CPU()
	if loaded[cpu] != m {
		return
	}
	amd64.WriteCR3(vm.Kernel.Pmap.Root())
	loaded[cpu], loadedCR3[cpu] = 0, 0
	(*vm.Map)(mm.Ptr(uint64(m))).Leave(cpu)
}

// LeaveUser turns f, a trap frame from ring 3, back into the running
// thread's kernel frame, saving the user state in its UserContext. A
// system call or an exception ends the switch call; an interrupt does so
// only if proc asked (Interrupt, or a Deadline passed), otherwise the thread stays marked and
// EnterUser resumes it when the trap ends, after whatever scheduling the
// interrupt caused. fs is the user's FS base, which the trap entry
// saved, and fpu the area it saved the FPU state in: the context's user
// image, which EnterUser gave the trap path. The trap path then points
// the CPU's FXSAVE area back at the thread's own (lwkt.CurrentFPU), which
// holds its kernel state.
//
//go:nosplit
func LeaveUser(f *amd64.Frame, fpu uintptr, fs uint64) {
	t := lwkt.CurrentThread()
	fatal.Assert(t.UserCtx != 0, "sys: a trap from ring 3 on a thread with no user context")
	c := (*UserContext)(mm.Ptr(uint64(t.UserCtx)))
	fatal.Assert(fpu == alignFPU(uintptr(unsafe.Pointer(&c.fpu[0]))), "sys: a trap from ring 3 saved the FPU state outside its context")
	v := f.Vector
	c.Cycles.Add(amd64.Rdtsc() - c.entered)
	c.Regs = *f
	c.FSBase = fs
	*f = c.kframe
	amd64.Wrmsr(amd64.MSRFSBase, c.kfs)
	c.Vector, c.Error, c.CR2, c.OutOfMemory, c.BusError = v, c.Regs.Error, 0, false, false
	if v == amd64.VectorPF {
		c.CR2 = amd64.ReadCR2()
		if c.Map != 0 {
			return // UserFault decides
		}
	}
	if v < 32 || v == amd64.VectorSyscall || c.Interrupt.Load() != 0 || c.Deadline != 0 && c.Cycles.Load() >= c.Deadline {
		t.UserCtx = 0
	}
}

// UserFault serves the page fault from ring 3 that LeaveUser left for it:
// a demand-zero fill of the thread's map keeps the thread marked (it
// retries the access when EnterUser resumes it); anything else ends the
// switch call, whose goroutine gets the fault. Without the MP lock (mp
// false) it serves what vm.FaultFresh can, under the map's lock alone,
// and returns false for the rest: the caller then takes the MP lock and
// calls it again with mp set, which always serves.
//
//go:nosplit
func UserFault(mp bool) bool {
	t := lwkt.CurrentThread()
	c := (*UserContext)(mm.Ptr(uint64(t.UserCtx)))
	if c.Map == 0 {
		if mp {
			t.UserCtx = 0
		}
		return mp
	}
	m := (*vm.Map)(mm.Ptr(uint64(c.Map)))
	write, exec := c.Error&2 != 0, c.Error&16 != 0
	if !mp {
		switch m.FaultFresh(uintptr(c.CR2), write, exec) {
		case vm.FaultServed:
			return true
		case vm.FaultRefused:
			t.UserCtx = 0
			return true
		}
		return false
	}
	vm.Refill()
	m.Lock()
	oom, bus := m.OutOfMemory, m.BusErrors
	ok := m.Fault(uintptr(c.CR2), write, exec)
	c.OutOfMemory, c.BusError = m.OutOfMemory != oom, m.BusErrors != bus
	m.Unlock()
	if !ok {
		t.UserCtx = 0
	}
	return true
}
