#include "textflag.h"

// KEPT counts in BX a register whose low quadword is no longer val.
#define KEPT(reg, val) \
	MOVQ reg, AX; \
	MOVQ val, DX; \
	CMPQ AX, DX; \
	JEQ 2(PC); \
	INCQ BX

// func fpuKept(n int, mxcsr uint32, pages uintptr) (changed int)
//
// Fills X0, X1, X2, X7, X8, X14 and X15 with distinct patterns and sets
// MXCSR to mxcsr, then n times: a getpid system call and a write to the
// next of n fresh pages from pages (a demand-zero fault). Returns how
// many of those registers, and MXCSR, changed meanwhile; MXCSR is put
// back and X15 zeroed (Go's ABI) before it returns.
TEXT ·fpuKept(SB),NOSPLIT,$16-32
	MOVL mxcsr+8(FP), AX
	MOVL AX, 0(SP)
	STMXCSR 8(SP)                    // the caller's, for the way out
	LDMXCSR 0(SP)
	MOVQ $0x1111111111111111, AX
	MOVQ AX, X0
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X1
	MOVQ $0x3333333333333333, AX
	MOVQ AX, X2
	MOVQ $0x4444444444444444, AX
	MOVQ AX, X7
	MOVQ $0x5555555555555555, AX
	MOVQ AX, X8
	MOVQ $0x6666666666666666, AX
	MOVQ AX, X14
	MOVQ $0x7777777777777777, AX
	MOVQ AX, X15
	MOVQ n+0(FP), CX
	MOVQ pages+16(FP), DI
loop:
	MOVQ CX, R12                     // SYSCALL clobbers CX and R11
	MOVQ DI, R13
	MOVQ $39, AX                     // getpid
	SYSCALL
	MOVQ R13, DI
	MOVB $1, (DI)                    // a fresh page: a fault
	ADDQ $4096, DI
	MOVQ R12, CX
	DECQ CX
	JNZ loop
	XORQ BX, BX                      // BX: registers changed
	KEPT(X0, $0x1111111111111111)
	KEPT(X1, $0x2222222222222222)
	KEPT(X2, $0x3333333333333333)
	KEPT(X7, $0x4444444444444444)
	KEPT(X8, $0x5555555555555555)
	KEPT(X14, $0x6666666666666666)
	KEPT(X15, $0x7777777777777777)
	STMXCSR 4(SP)
	MOVL 4(SP), AX
	CMPL AX, 0(SP)
	JEQ 2(PC)
	INCQ BX
	LDMXCSR 8(SP)
	XORPS X15, X15                   // Go's zero register
	MOVQ BX, changed+24(FP)
	RET
