#include "go_asm.h"
#include "textflag.h"

// func TrapCall(fn func(arg uintptr) uintptr, arg uintptr) uintptr
// The trap path finds fn (a funcval pointer) in DI and arg in SI, and
// leaves the result in AX (RunTrapCall); it saves and restores the rest.
TEXT ·TrapCall(SB),NOSPLIT,$0-24
	MOVQ fn+0(FP), DI         // funcval of the function to run
	MOVQ arg+8(FP), SI        // its argument
	INT $const_trapCallVector // the trap path runs it and returns here
	MOVQ AX, ret+16(FP)       // its result
	RET

// func TrapCallLocal(fn func(arg uintptr) uintptr, arg uintptr) uintptr
// TrapCall through the vector the trap path serves without the MP lock.
TEXT ·TrapCallLocal(SB),NOSPLIT,$0-24
	MOVQ fn+0(FP), DI              // funcval of the function to run
	MOVQ arg+8(FP), SI             // its argument
	INT $const_trapCallLocalVector // the trap path runs it and returns here
	MOVQ AX, ret+16(FP)            // its result
	RET
