#include "textflag.h"

// func hlt()
TEXT ·hlt(SB),NOSPLIT,$0-0
	HLT                     // with IF clear only an NMI wakes us; the caller loops
	RET
