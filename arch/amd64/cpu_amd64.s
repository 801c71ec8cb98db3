// Instructions Go cannot express. See cpu.go for each routine's contract.

#include "textflag.h"

// func Outb(port uint16, v uint8)
TEXT ·Outb(SB),NOSPLIT,$0-3
	MOVW port+0(FP), DX
	MOVB v+2(FP), AX
	OUTB                    // AL -> port DX
	RET

// func Inb(port uint16) uint8
TEXT ·Inb(SB),NOSPLIT,$0-9
	MOVW port+0(FP), DX
	XORQ AX, AX
	INB                     // port DX -> AL
	MOVB AX, ret+8(FP)
	RET

// func Outw(port uint16, v uint16)
TEXT ·Outw(SB),NOSPLIT,$0-4
	MOVW port+0(FP), DX
	MOVW v+2(FP), AX
	OUTW                    // AX -> port DX
	RET

// func Inw(port uint16) uint16
TEXT ·Inw(SB),NOSPLIT,$0-10
	MOVW port+0(FP), DX
	XORQ AX, AX
	INW                     // port DX -> AX
	MOVW AX, ret+8(FP)
	RET

// func Outl(port uint16, v uint32)
TEXT ·Outl(SB),NOSPLIT,$0-8
	MOVW port+0(FP), DX
	MOVL v+4(FP), AX
	OUTL                    // EAX -> port DX
	RET

// func Inl(port uint16) uint32
TEXT ·Inl(SB),NOSPLIT,$0-12
	MOVW port+0(FP), DX
	INL                     // port DX -> EAX
	MOVL AX, ret+8(FP)
	RET

// func Rdmsr(msr uint32) uint64
TEXT ·Rdmsr(SB),NOSPLIT,$0-16
	MOVL msr+0(FP), CX
	RDMSR                   // EDX:EAX = MSR[ECX]
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ret+8(FP)
	RET

// func Wrmsr(msr uint32, v uint64)
TEXT ·Wrmsr(SB),NOSPLIT,$0-16
	MOVL msr+0(FP), CX
	MOVQ v+8(FP), AX
	MOVQ AX, DX
	SHRQ $32, DX            // high half in EDX, low half in EAX
	WRMSR
	RET

// func ReadCR0() uint64
TEXT ·ReadCR0(SB),NOSPLIT,$0-8
	MOVQ CR0, AX
	MOVQ AX, ret+0(FP)
	RET

// func ReadCR2() uint64
TEXT ·ReadCR2(SB),NOSPLIT,$0-8
	MOVQ CR2, AX
	MOVQ AX, ret+0(FP)
	RET

// func ReadCR3() uint64
TEXT ·ReadCR3(SB),NOSPLIT,$0-8
	MOVQ CR3, AX
	MOVQ AX, ret+0(FP)
	RET

// func WriteCR3(v uint64)
TEXT ·WriteCR3(SB),NOSPLIT,$0-8
	MOVQ v+0(FP), AX
	MOVQ AX, CR3
	RET

// func ReadCR4() uint64
TEXT ·ReadCR4(SB),NOSPLIT,$0-8
	MOVQ CR4, AX
	MOVQ AX, ret+0(FP)
	RET

// func WriteCR4(v uint64)
TEXT ·WriteCR4(SB),NOSPLIT,$0-8
	MOVQ v+0(FP), AX
	MOVQ AX, CR4
	RET

// func Invlpg(va uintptr)
TEXT ·Invlpg(SB),NOSPLIT,$0-8
	MOVQ va+0(FP), AX
	INVLPG (AX)
	RET

// func Cli()
TEXT ·Cli(SB),NOSPLIT,$0-0
	CLI
	RET

// func Sti()
TEXT ·Sti(SB),NOSPLIT,$0-0
	STI
	RET

// func Halt()
TEXT ·Halt(SB),NOSPLIT,$0-0
	STI                     // the interrupt shadow covers the next instruction,
	HLT                     // so a pending interrupt wakes this HLT
	RET

// func Rflags() uint64
TEXT ·Rflags(SB),NOSPLIT,$0-8
	PUSHFQ
	POPQ AX
	MOVQ AX, ret+0(FP)
	RET

// func Rdtsc() uint64
TEXT ·Rdtsc(SB),NOSPLIT,$0-8
	RDTSC                   // EDX:EAX = TSC
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ret+0(FP)
	RET

// func Cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·Cpuid(SB),NOSPLIT,$0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func Lgdt(p uintptr)
TEXT ·Lgdt(SB),NOSPLIT,$0-8
	MOVQ p+0(FP), AX
	LGDT (AX)
	RET

// func Lidt(p uintptr)
TEXT ·Lidt(SB),NOSPLIT,$0-8
	MOVQ p+0(FP), AX
	LIDT (AX)
	RET

// func Ltr(sel uint16)
TEXT ·Ltr(SB),NOSPLIT,$0-2
	MOVW sel+0(FP), AX
	LTR AX
	RET

// func ReloadSegments(code, data uint16)
TEXT ·ReloadSegments(SB),NOSPLIT,$0-4
	MOVWQZX data+2(FP), AX
	MOVW AX, DS
	MOVW AX, ES
	MOVW AX, SS
	MOVWQZX code+0(FP), AX
	POPQ DX                 // our return address
	PUSHQ AX                // far return frame: CS ...
	PUSHQ DX                // ... and RIP
	BYTE $0x48; BYTE $0xCB  // LRETQ: pops RIP and CS, reloading CS

// func Fxsave(p uintptr)
TEXT ·Fxsave(SB),NOSPLIT,$0-8
	MOVQ p+0(FP), AX
	FXSAVE64 (AX)
	RET

// func Fxrstor(p uintptr)
TEXT ·Fxrstor(SB),NOSPLIT,$0-8
	MOVQ p+0(FP), AX
	FXRSTOR64 (AX)
	RET

// func Pause()
TEXT ·Pause(SB),NOSPLIT,$0-0
	PAUSE                   // spin-wait hint
	RET

// func CPU() int
TEXT ·CPU(SB),NOSPLIT,$0-8
	MOVQ 0(GS), AX          // cpuLocal.cpu
	MOVQ AX, ret+0(FP)
	RET
