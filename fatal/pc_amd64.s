#include "textflag.h"

// func callerPC() uintptr
// The return address of the function that called callerPC's caller:
// Throw has a frame, so BP is Throw's frame pointer, 8(BP) its return
// address (the call site of Throw).
TEXT ·callerPC(SB),NOSPLIT,$0-8
	MOVQ 8(BP), AX          // Throw's return address
	MOVQ AX, ret+0(FP)
	RET

// func spin()
TEXT ·spin(SB),NOSPLIT,$0-0
	PAUSE                   // spin-wait hint
	RET
