// The probe's whole program; see main.go. Linux x86-64 system calls: the
// number in AX, arguments in DI, SI, DX.

#include "textflag.h"

#define SYS_write 1
#define SYS_exit_group 231

// start is the ELF entry: SP points at argc, then argv.
TEXT ·start(SB),NOSPLIT|NOFRAME,$0
	MOVQ 0(SP), AX                   // argc
	CMPQ AX, $2
	JLT hello
	MOVQ 16(SP), SI                  // argv[1]
	MOVBQZX 0(SI), AX                // its first letter picks the case
	CMPB AL, $'k'
	JEQ kernelAlias
	CMPB AL, $'l'
	JEQ kernelLow
	CMPB AL, $'n'
	JEQ null
	CMPB AL, $'u'
	JEQ undefined
	CMPB AL, $'d'
	JEQ divide
	CMPB AL, $'p'
	JEQ port
	CMPB AL, $'c'
	JEQ cli
	CMPB AL, $'i'
	JEQ intKernel
	CMPB AL, $'w'
	JEQ writeKernel
	CMPB AL, $'z'
	JEQ writeNull
	CMPB AL, $'s'
	JEQ unknown
	CMPB AL, $'x'
	JEQ exit42
	CMPB AL, $'f'
	JEQ spin
hello:
	MOVL $SYS_write, AX
	MOVL $1, DI
	LEAQ msg<>(SB), SI
	MOVL $18, DX
	SYSCALL
	XORL DI, DI
	JMP exit
kernelAlias:
	MOVQ $0xFFFF800000100000, BX     // upper-half alias of physical 1 MiB
	MOVQ (BX), AX
	JMP exit
kernelLow:
	MOVQ $0x200000, BX               // the kernel's Go image, in its own space only
	MOVQ (BX), AX
	JMP exit
null:
	XORL BX, BX
	MOVQ (BX), AX
	JMP exit
undefined:
	BYTE $0x0F; BYTE $0x0B           // UD2
divide:
	XORL CX, CX
	MOVL $1, AX
	XORL DX, DX
	DIVL CX
	JMP exit
port:
	MOVL $0x3F8, DX
	INB
	JMP exit
cli:
	CLI
	JMP exit
intKernel:
	BYTE $0xCD; BYTE $0x81           // INT $0x81
	JMP exit
writeKernel:
	MOVQ $0xFFFF800000100000, SI
	JMP writeBad
writeNull:
	XORL SI, SI
writeBad:
	MOVL $SYS_write, AX
	MOVL $1, DI
	MOVL $16, DX
	SYSCALL
	NEGQ AX                          // -errno → errno, the exit status
	MOVQ AX, DI
	JMP exit
unknown:
	MOVL $499, AX
	SYSCALL
	NEGQ AX
	MOVQ AX, DI
	JMP exit
exit42:
	MOVL $42, DI
	JMP exit
spin:
	MOVL $SYS_write, AX
	MOVL $1, DI
	LEAQ spinning<>(SB), SI
	MOVL $9, DX
	SYSCALL
forever:
	JMP forever
exit:
	MOVL $SYS_exit_group, AX
	SYSCALL
	BYTE $0x0F; BYTE $0x0B           // not reached

DATA msg<>+0(SB)/8, $"hello fr"
DATA msg<>+8(SB)/8, $"om ring "
DATA msg<>+16(SB)/2, $"3\n"
GLOBL msg<>(SB), RODATA, $18

DATA spinning<>+0(SB)/8, $"spinning"
DATA spinning<>+8(SB)/1, $"\n"
GLOBL spinning<>(SB), RODATA, $9
