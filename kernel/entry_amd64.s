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

// syscallEntry is the SYSCALL target (LSTAR). The CPU left RIP in CX and
// RFLAGS in R11 and cleared IF (FMASK); RSP is still the caller's. Build
// an IRETQ frame on the trap stack, as an interrupt would have, and join the
// common path (SYSRET cannot return to ring 0).
TEXT ·syscallEntry(SB),NOSPLIT|NOFRAME,$0
	MOVQ SP, cpuLocal_scratch(GS)    // caller's RSP
	CMPQ cpuLocal_frame(GS), $0      // made inside the trap path (a bug)?
	JNE nested
	MOVQ cpuLocal_kstack(GS), SP     // this CPU's trap stack
	JMP onstack
nested:
	MOVQ cpuLocal_nest(GS), SP       // not over the frame being served: trap reports it
onstack:
	PUSHQ $0x10                      // SS
	PUSHQ cpuLocal_scratch(GS)       // RSP
	PUSHQ R11                        // RFLAGS
	PUSHQ $0x08                      // CS
	PUSHQ CX                         // RIP
	PUSHQ $0                         // error code
	PUSHQ $const_vectorSyscall      // vector: amd64.VectorSyscall
	JMP ·trapEntry(SB)

// trapEntry saves the interrupted state as an amd64.Frame plus the FPU
// image, calls trap, and resumes whatever thread the frame then describes.
//
//	SP+0x00 R15 … SP+0x70 RAX, SP+0x78 vector, SP+0x80 error,
//	SP+0x88 RIP, CS, RFLAGS, RSP, SS
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
	MOVQ cpuLocal_fpu(GS), AX        // the running thread's FXSAVE area
	MOVQ const_frameVector(SP), BX   // the vector
	CMPQ BX, $const_vectorNMI        // NMI and #MC can arrive inside the trap
	JEQ ownarea                      // path, whose registers are not the
	CMPQ BX, $const_vectorMC         // thread's: they use an area of their own
	JNE save
ownarea:
	MOVQ cpuLocal_nmiFPU(GS), AX
save:
	FXSAVE64 (AX)                    // before any Go code touches X0-X15
	MOVQ SP, CX
	SUBQ $16, SP                     // trap's ABI0 frame: the *Frame argument,
	MOVQ CX, 0(SP)
	MOVQ AX, 8(SP)                   // and, above it, the area just used
	CALL ·trap(SB)                   // may rewrite the frame: a thread switch
	MOVQ 8(SP), AX
	ADDQ $16, SP
	CMPQ AX, cpuLocal_nmiFPU(GS)     // NMI or #MC: restore what it saved
	JEQ restore
	MOVQ cpuLocal_fpu(GS), AX        // else the resumed thread's (a switch repoints it)
restore:
	FXRSTOR64 (AX)
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
