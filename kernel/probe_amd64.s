#include "go_asm.h"
#include "textflag.h"

// func fpuProbe(body func(uintptr) uintptr, x1 uint64) uint64
// Puts x1 in X1, runs body below the runtime as TrapCall does (INT), and
// returns what X1 holds after: the thread's own value, if the trap path
// kept its FPU image whatever body did.
TEXT ·fpuProbe(SB),NOSPLIT,$0-24
	MOVQ x1+8(FP), AX
	MOVQ AX, X1                      // the thread's value
	MOVQ body+0(FP), DI              // funcval of the function to run
	MOVQ $0, SI
	INT $const_vectorTrapCall        // the trap path runs body
	MOVQ X1, AX                      // what the thread has now
	MOVQ AX, ret+16(FP)
	RET

// func setX1(v uint64)
TEXT ·setX1(SB),NOSPLIT,$0-8
	MOVQ v+0(FP), AX
	MOVQ AX, X1                      // the trap path's value, in the body
	RET

// func syscallInstr()
// A SYSCALL instruction (getpid), for the fault command's system call
// made inside the trap path.
TEXT ·syscallInstr(SB),NOSPLIT,$0-0
	MOVQ $39, AX                     // getpid
	SYSCALL
	RET
