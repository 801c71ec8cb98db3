// RDRAND and RDSEED. See rand.go for each routine's contract.

#include "textflag.h"

// Tries before giving up. Intel's DRNG guide: ten RDRAND failures in a row
// mean the DRNG is broken (5.2.1); RDSEED fails whenever the conditioner is
// momentarily empty, so it gets more tries, with a PAUSE between them
// (5.3.1).
#define RDRAND_TRIES 10
#define RDSEED_TRIES 100

// func Rdrand() (v uint64, ok bool)
TEXT ·Rdrand(SB),NOSPLIT,$0-9
	MOVL $RDRAND_TRIES, CX  // tries left
rdrand:
	RDRANDQ AX              // AX = random bits; CF=1 if they are valid
	JCS rdrandok            // CF=1: done
	DECL CX                 // CF=0: one try fewer
	JNZ rdrand              // try again while any are left
	MOVQ $0, v+0(FP)        // no value
	MOVB $0, ok+8(FP)       // ok = false
	RET
rdrandok:
	MOVQ AX, v+0(FP)        // the value
	MOVB $1, ok+8(FP)       // ok = true
	RET

// func Rdseed() (v uint64, ok bool)
TEXT ·Rdseed(SB),NOSPLIT,$0-9
	MOVL $RDSEED_TRIES, CX  // tries left
rdseed:
	RDSEEDQ AX              // AX = entropy bits; CF=1 if they are valid
	JCS rdseedok            // CF=1: done
	PAUSE                   // CF=0: let the conditioner refill
	DECL CX                 // one try fewer
	JNZ rdseed              // try again while any are left
	MOVQ $0, v+0(FP)        // no value
	MOVB $0, ok+8(FP)       // ok = false
	RET
rdseedok:
	MOVQ AX, v+0(FP)        // the value
	MOVB $1, ok+8(FP)       // ok = true
	RET
