// Deliberate faults for the shell's `fault` command and the boot tests.
// See info.go.

#include "textflag.h"

// func faultUD()
TEXT ·faultUD(SB),NOSPLIT,$0-0
	UD2                              // #UD: invalid opcode
	RET

// func faultDE()
TEXT ·faultDE(SB),NOSPLIT,$0-0
	XORQ CX, CX
	MOVQ $1, AX
	XORQ DX, DX
	DIVQ CX                          // #DE: divide by zero
	RET

// func faultGP()
TEXT ·faultGP(SB),NOSPLIT,$0-0
	MOVQ $0x8000000000000000, AX     // non-canonical address
	MOVQ (AX), AX                    // #GP
	RET
