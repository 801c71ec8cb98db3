// callC calls fn(a, b) with the System V calling convention (a vDSO
// function) on the goroutine's stack: not NOSPLIT, so the prologue leaves
// at least the runtime's stack guard (over 900 bytes) below the frame,
// more than a vDSO function uses.

#include "textflag.h"

// func callC(fn, a, b uintptr) uintptr
TEXT ·callC(SB),0,$16-32
	MOVQ fn+0(FP), AX
	MOVQ a+8(FP), DI             // first argument
	MOVQ b+16(FP), SI            // second argument
	MOVQ SP, R12                 // callee-saved in C: keeps Go's SP
	ANDQ $~15, SP                // the C ABI's alignment at a call
	CALL AX
	MOVQ R12, SP
	MOVQ AX, ret+24(FP)
	RET
