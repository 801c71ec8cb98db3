// Kernel entry points: the ELF entry the boot stub jumps to, the SYSCALL
// target, the common trap path every IDT stub joins, and the two code
// addresses threads are pointed at (the idle loop and the fault-report
// trampoline). See boot_nosplit.go and trap_nosplit.go.

#include "go_asm.h"
#include "textflag.h"


// entry is the Go image's ELF entry (go build -ldflags=-E). The boot stub
// arrives in 64-bit mode with paging on and interrupts off, DI pointing at
// its bootinfo block (bootInfo in boot_nosplit.go).
TEXT ·entry(SB),NOSPLIT|NOFRAME,$0
	MOVQ DI, R12                     // WRMSR clobbers AX, CX, DX: park the argument
	LEAQ ·bootStack+const_bootStackSize(SB), SP

	LEAQ ·bootTLS+8(SB), AX          // FS base: FS:-8 is bootTLS[0], a nil g
	MOVQ AX, ·bootFS(SB)
	MOVQ AX, DX
	SHRQ $32, DX
	MOVL $const_msrFSBase, CX
	WRMSR
	LEAQ ·cpuLocals(SB), AX          // GS base: CPU 0's cpuLocal
	MOVQ AX, DX
	SHRQ $32, DX
	MOVL $const_msrGSBase, CX
	WRMSR

	SUBQ $16, SP                     // early's ABI0 frame: 1 argument, 1 result
	MOVQ R12, 0(SP)
	CALL ·early(SB)
	MOVQ 8(SP), SP                   // the Linux-style initial stack early built
	STI                              // the runtime starts with interrupts on
	JMP _rt0_amd64_linux(SB)

// apEntry is where an application processor arrives from the trampoline
// (boot/boot.S), in 64-bit mode on the boot page tables with interrupts
// off: DI = its CPU index, SP = its boot stack, which becomes its idle
// thread's stack.
TEXT ·apEntry(SB),NOSPLIT|NOFRAME,$0
	MOVQ DI, R12
	MOVQ ·bootFS(SB), AX             // FS base: the shared boot TLS (nil g)
	MOVQ AX, DX
	SHRQ $32, DX
	MOVL $const_msrFSBase, CX
	WRMSR
	MOVQ R12, AX                     // GS base: &cpuLocals[cpu]
	IMULQ $cpuLocal__size, AX
	LEAQ ·cpuLocals(SB), BX
	ADDQ BX, AX
	MOVQ AX, DX
	SHRQ $32, DX
	MOVL $const_msrGSBase, CX
	WRMSR
	SUBQ $16, SP
	MOVQ R12, 0(SP)
	CALL ·apInit(SB)
	ADDQ $16, SP
	JMP ·idleLoop(SB)                // this context is the CPU's idle thread

// The entry code below (syscallEntry, trapEntry, trapExit and the vector
// stubs), like the whole kernel, lies in the upper half (the image is
// linked in the direct map), which every address space shares: a trap
// from ring 3 arrives on the user's page tables and stays on them (CR3
// is loaded lazily: sys/ring3_nosplit.go). Each path loads the kernel's
// GS base and continues at trapLow; the way out, trapExit, loads the CR3
// the frame returns to when it is another.

// syscallEntry is the SYSCALL target (LSTAR). The CPU left RIP in CX and
// RFLAGS in R11 and cleared IF (FMASK); RSP, GS and CR3 are still the
// caller's. Build an IRETQ frame on the trap stack, as an interrupt would
// have, and join the common path (which always leaves by IRETQ).
TEXT ·syscallEntry(SB),NOSPLIT|NOFRAME,$0
	BTQ $const_flagIOPL1Bit, R11     // IOPL 1: only ring 3 runs with it (amd64.FlagIOPL1)
	JCS user
	MOVQ SP, cpuLocal_scratch(GS)    // caller's RSP
	CMPQ cpuLocal_frame(GS), $0      // made inside the trap path (a bug)?
	JNE nested
	MOVQ cpuLocal_kstack(GS), SP     // this CPU's trap stack
	JMP onstack
nested:
	MOVQ cpuLocal_nest(GS), SP       // not over the frame being served: trap reports it
onstack:
	PUSHQ $const_kernelDS            // SS
	PUSHQ cpuLocal_scratch(GS)       // RSP
	PUSHQ R11                        // RFLAGS
	PUSHQ $const_kernelCS            // CS
	PUSHQ CX                         // RIP
	PUSHQ $0                         // error code
	PUSHQ $const_vectorSyscall       // vector: amd64.VectorSyscall
	JMP ·trapEntry(SB)
user:
	SWAPGS                           // the kernel's GS base: trapEntry sees it and keeps it
	MOVQ SP, cpuLocal_scratch(GS)    // the user's RSP
	MOVQ cpuLocal_kstack(GS), SP     // the trap stack
	PUSHQ $const_userDS              // the frame of a ring-3 trap: SS
	PUSHQ cpuLocal_scratch(GS)       // RSP
	PUSHQ R11                        // RFLAGS
	PUSHQ $const_userCS              // CS
	PUSHQ CX                         // RIP
	PUSHQ $0                         // error code
	PUSHQ $const_vectorSyscall       // vector
	JMP ·trapEntry(SB)

// trapEntry saves the interrupted state as an amd64.Frame, makes the
// kernel's GS base current and continues at trapLow.
//
//	SP+0x00 R15 … SP+0x70 RAX, SP+0x78 vector, SP+0x80 error,
//	SP+0x88 RIP, CS, RFLAGS, RSP, SS
//
// Which GS base is live is read from the MSR, not inferred from the
// frame's CS: an NMI or #MC can land between a SWAPGS and the IRETQ or
// SYSCALL next to it. The kernel's is negative (an upper-half address), a
// user's never is. CR3 is whatever the entry found: the kernel's tables
// are in every address space.
TEXT ·trapEntry(SB),NOSPLIT|NOFRAME,$0
	PUSHQ AX
	PUSHQ BX
	PUSHQ CX
	PUSHQ DX
	PUSHQ SI
	PUSHQ DI
	PUSHQ BP
	PUSHQ R8
	PUSHQ R9
	PUSHQ R10
	PUSHQ R11
	PUSHQ R12
	PUSHQ R13
	PUSHQ R14
	PUSHQ R15
	MOVL $const_msrGSBase, CX
	RDMSR                            // EDX = the GS base's high half
	XORL BX, BX                      // BX: 1 if this entry swapped GS
	TESTL DX, DX
	JS kgs                           // negative: already the kernel's
	SWAPGS
	MOVL $1, BX
kgs:
	MOVQ CR3, AX                     // AX: the CR3 this entry found
	LEAQ ·trapLow(SB), DX            // by register: the linker's nosplit accounting
	JMP DX                           // starts at trapLow (the pushes are the trap stack's)

// trapLow calls trap with the frame and the FXSAVE image, and resumes
// whatever thread the frame then describes, through trapExit. AX and BX
// hold what trapEntry found (CR3, whether it swapped GS).
//
// Go code reads its g at FS:-8, so the trap path needs an FS base it can
// read: a trap from ring 3, or an NMI or #MC that may have hit the few
// instructions where FS is the user's, saves the FS base it found and
// runs on bootFS (a nil g); the user's is kept in cpuLocal.ufs for
// sys.LeaveUser, and the way back to ring 3 loads the one sys.EnterUser
// left there. Other traps keep the interrupted thread's.
TEXT ·trapLow(SB),NOSPLIT|NOFRAME,$0
	MOVQ SP, CX                      // the frame
	SUBQ $48, SP                     // trap's ABI0 frame: the *Frame argument; above it
	MOVQ CX, 0(SP)                   // the FXSAVE area, the entry CR3, the swap flag and
	MOVQ AX, 16(SP)                  // the entry FS base
	MOVQ BX, 24(SP)
	MOVQ const_frameVector(CX), BX   // the vector
	TESTQ $3, (const_frameVector+0x18)(CX) // CS: from ring 3?
	JNE savefs
	CMPQ BX, $const_vectorNMI
	JEQ savefs
	CMPQ BX, $const_vectorMC
	JNE fsdone
savefs:
	MOVL $const_msrFSBase, CX
	RDMSR
	SHLQ $32, DX
	ORQ AX, DX
	MOVQ DX, 32(SP)
	MOVQ 0(SP), CX
	TESTQ $3, (const_frameVector+0x18)(CX)
	JEQ bootfs
	MOVQ DX, cpuLocal_ufs(GS)        // the user's, for LeaveUser
bootfs:
	MOVQ ·bootFS(SB), AX
	MOVQ AX, DX
	SHRQ $32, DX
	MOVL $const_msrFSBase, CX
	WRMSR
fsdone:
	MOVQ cpuLocal_fpu(GS), AX        // the running thread's FXSAVE area
	CMPQ BX, $const_vectorNMI        // NMI and #MC can arrive inside the trap
	JEQ ownarea                      // path, whose registers are not the
	CMPQ BX, $const_vectorMC         // thread's: they use an area of their own
	JNE save
ownarea:
	MOVQ cpuLocal_nmiFPU(GS), AX
save:
	CMPQ BX, $const_vectorSyscall    // NrSwitch from a kernel thread: its
	JNE full                         // caller (Go's Syscall6) keeps nothing
	MOVQ 0(SP), CX                   // in X0-X14 across it, and its MXCSR is
	TESTQ $3, (const_frameVector+0x18)(CX) // the area's already
	JNE full
	CMPQ const_frameRAX(CX), $const_nrSwitch
	JNE full
	MOVQ $0, const_fxsaveX15(AX)     // X15 must read zero if the area is
	MOVQ $0, (const_fxsaveX15+8)(AX) // ever restored at that return
	JMP saved
full:
	FXSAVE64 (AX)                    // before any Go code touches X0-X15
saved:
	MOVQ AX, 8(SP)
	CALL ·trap(SB)                   // may rewrite the frame: a thread switch
	MOVQ 8(SP), AX
	CMPQ AX, cpuLocal_nmiFPU(GS)     // NMI or #MC: restore what it saved
	JEQ restore
	CMPQ cpuLocal_lazy(GS), $0       // back where NrSwitch returns, after a
	JNE lazy                         // trap from ring 3: nothing live to restore
	MOVQ cpuLocal_fpu(GS), AX        // else the resumed thread's (a switch repoints it)
restore:
	FXRSTOR64 (AX)
	JMP restored
lazy:
	MOVQ $0, cpuLocal_lazy(GS)
	LDMXCSR ·defaultMXCSR(SB)        // not the user's rounding and exception masks
	PXOR X15, X15                    // Go's zero register; X0-X14 are dead
restored:
	// Where the frame returns decides FS, CR3 and GS: ring 3 gets the
	// user's (sys.EnterUser left them in ufs and ucr3); an NMI or #MC in
	// ring 0 gets back exactly what it found, which inside the entry or
	// exit windows may be the user's; every other ring-0 return keeps the
	// kernel's GS and FS base and whatever CR3 is loaded.
	MOVQ 0(SP), SI                   // the frame
	TESTQ $3, (const_frameVector+0x18)(SI)
	JEQ ring0
	MOVQ cpuLocal_ufs(GS), AX
	CALL fsload<>(SB)
	MOVQ cpuLocal_ucr3(GS), CX
	MOVL $1, BX
	JMP leave
ring0:
	MOVQ const_frameVector(SI), AX
	CMPQ AX, $const_vectorNMI
	JEQ paranoid
	CMPQ AX, $const_vectorMC
	JEQ paranoid
	MOVQ CR3, CX                     // kept: trapExit writes none
	XORL BX, BX
	JMP leave
paranoid:
	MOVQ 32(SP), AX
	CALL fsload<>(SB)
	MOVQ 16(SP), CX                  // the entry CR3
	MOVQ 24(SP), BX                  // the entry's swap flag
leave:
	ADDQ $48, SP                     // SP: the frame
	MOVQ BX, (const_frameVector+8)(SP) // the error-code slot: SWAPGS on the way out?
	JMP ·trapExit(SB)

// fsload sets the FS base to AX; clobbers AX, CX, DX.
TEXT fsload<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ AX, DX
	SHRQ $32, DX
	MOVL $const_msrFSBase, CX
	WRMSR
	RET

// trapExit loads CR3 (CX) and the registers, swaps GS back if the
// error-code slot says so, and returns.
TEXT ·trapExit(SB),NOSPLIT|NOFRAME,$0
	MOVQ CR3, AX
	CMPQ AX, CX
	JEQ same
	MOVQ CX, CR3
same:
	POPQ R15
	POPQ R14
	POPQ R13
	POPQ R12
	POPQ R11
	POPQ R10
	POPQ R9
	POPQ R8
	POPQ BP
	POPQ DI
	POPQ SI
	POPQ DX
	POPQ CX
	POPQ BX
	POPQ AX
	CMPQ 8(SP), $0                   // the swap flag
	JEQ noswap
	SWAPGS
noswap:
	ADDQ $16, SP                     // drop vector and error code
	IRETQ

// idleLoop is the idle thread: halt with interrupts on until one arrives;
// the trap path then switches to whatever became runnable.
TEXT ·idleLoop(SB),NOSPLIT|NOFRAME,$0
again:
	CLI
	CALL ·idleEntry(SB)              // queued passive messages: raise our own IPI
	STI                              // the interrupt shadow covers HLT
	HLT
	JMP again

// faultTrampoline is where a thread that took a fatal CPU exception
// resumes: the trap path pushed the faulting RIP as if it had been called,
// so Go's traceback from reportFault walks into the faulting function.
TEXT ·faultTrampoline(SB),NOSPLIT|NOFRAME,$0
	CALL ·reportFault(SB)            // ABI0 wrapper: reloads g from TLS, zeroes X15
stop:
	CLI                              // reportFault stops the machine; never resume
	HLT
	JMP stop

// func vectorStubs() *[256]uintptr
TEXT ·vectorStubs(SB),NOSPLIT,$0-8
	MOVQ $·vectorTable(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func codeAddrs() (syscall, idle, trampoline, ap uintptr)
TEXT ·codeAddrs(SB),NOSPLIT,$0-32
	MOVQ $·syscallEntry(SB), AX
	MOVQ AX, syscall+0(FP)
	MOVQ $·idleLoop(SB), AX
	MOVQ AX, idle+8(FP)
	MOVQ $·faultTrampoline(SB), AX
	MOVQ AX, trampoline+16(FP)
	MOVQ $·apEntry(SB), AX
	MOVQ AX, ap+24(FP)
	RET
