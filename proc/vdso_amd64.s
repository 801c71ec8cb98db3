// The vDSO's functions (vdso.go). Never called in the kernel: vdsoImage
// copies their bytes into the vDSO page, where a process calls them with
// the System V calling convention (arguments in DI and SI, result in AX;
// only caller-saved registers used). Their one reference, to the clock
// page, is found from their own address: the page just below the text.

#include "textflag.h"

// Offsets in the clock page (vdsoClock in vdso.go).
#define CLK_TSC0 0
#define CLK_MULT 8
#define CLK_WALL 16

// CLOCKPAGE leaves the clock page's address in R8: CALL the next
// instruction (E8 with a zero displacement) and POPQ R8 (41 58) the
// address it pushed, an address in the text page (both hand-encoded: the
// assembler's balance check does not see the CALL's push); round it down
// to the page and step one page below.
#define CLOCKPAGE \
	BYTE $0xE8; LONG $0; \
	BYTE $0x41; BYTE $0x58; \
	ANDQ $~0xfff, R8; \
	SUBQ $4096, R8

// NANOTIME leaves in AX the nanoseconds since the kernel's calibration
// plus R9, as drivers/timer's Nanotime computes them: the TSC (EDX:EAX)
// less the TSC at calibration, times the 32.32 nanoseconds per cycle,
// whose bits 32-95 (SHRQ with two registers is SHRD) are nanoseconds.
// Clobbers DX.
#define NANOTIME \
	RDTSC; \
	SHLQ $32, DX; \
	ORQ DX, AX; \
	SUBQ CLK_TSC0(R8), AX; \
	MULQ CLK_MULT(R8); \
	SHRQ $32, DX, AX; \
	ADDQ R9, AX

// SPLIT divides AX by CX: AX = the quotient, DX = the remainder.
#define SPLIT \
	XORL DX, DX; \
	DIVQ CX

// int __vdso_clock_gettime(clockid_t clk, struct timespec *ts): the
// realtime and monotonic clocks here; any other goes to the system call.
TEXT ·vdsoClockGettime(SB),NOSPLIT|NOFRAME,$0
	CLOCKPAGE
	XORL R9, R9                  // monotonic: no offset
	CMPL DI, $1                  // CLOCK_MONOTONIC
	JEQ read
	CMPL DI, $4                  // CLOCK_MONOTONIC_RAW
	JEQ read
	CMPL DI, $6                  // CLOCK_MONOTONIC_COARSE
	JEQ read
	CMPL DI, $7                  // CLOCK_BOOTTIME
	JEQ read
	MOVQ CLK_WALL(R8), R9        // realtime: the wall clock's offset
	CMPL DI, $0                  // CLOCK_REALTIME
	JEQ read
	CMPL DI, $5                  // CLOCK_REALTIME_COARSE
	JEQ read
	MOVL $228, AX                // clock_gettime(2), DI and SI untouched
	SYSCALL
	RET
read:
	NANOTIME
	MOVQ $1000000000, CX
	SPLIT                        // AX = seconds, DX = nanoseconds
	MOVQ AX, 0(SI)
	MOVQ DX, 8(SI)
	XORL AX, AX                  // 0: success
	RET

// int __vdso_gettimeofday(struct timeval *tv, struct timezone *tz): the
// wall clock in microseconds; the time zone is UTC with no DST.
TEXT ·vdsoGettimeofday(SB),NOSPLIT|NOFRAME,$0
	CLOCKPAGE
	TESTQ DI, DI
	JEQ zone
	MOVQ CLK_WALL(R8), R9
	NANOTIME
	MOVQ $1000000000, CX
	SPLIT                        // AX = seconds, DX = nanoseconds
	MOVQ AX, 0(DI)
	MOVQ DX, AX
	MOVQ $1000, CX
	SPLIT                        // AX = microseconds
	MOVQ AX, 8(DI)
zone:
	TESTQ SI, SI
	JEQ done
	MOVQ $0, 0(SI)               // tz_minuteswest and tz_dsttime: 0
done:
	XORL AX, AX
	RET

// time_t __vdso_time(time_t *t): the wall clock's seconds, also stored
// at t unless t is NULL.
TEXT ·vdsoTime(SB),NOSPLIT|NOFRAME,$0
	CLOCKPAGE
	MOVQ CLK_WALL(R8), R9
	NANOTIME
	MOVQ $1000000000, CX
	SPLIT                        // AX = seconds
	TESTQ DI, DI
	JEQ out
	MOVQ AX, 0(DI)
out:
	RET

// func vdsoFuncs() (clockGettime, gettimeofday, time uintptr)
TEXT ·vdsoFuncs(SB),NOSPLIT,$0-24
	MOVQ $·vdsoClockGettime(SB), AX
	MOVQ AX, clockGettime+0(FP)
	MOVQ $·vdsoGettimeofday(SB), AX
	MOVQ AX, gettimeofday+8(FP)
	MOVQ $·vdsoTime(SB), AX
	MOVQ AX, time+16(FP)
	RET
