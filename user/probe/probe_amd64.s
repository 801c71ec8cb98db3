// The probe's whole program; see main.go. Linux x86-64 system calls: the
// number in AX, arguments in DI, SI, DX.

#include "textflag.h"

#define SYS_read 0
#define SYS_write 1
#define SYS_nanosleep 35
#define SYS_getppid 110
#define SYS_pipe2 293
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_rt_sigreturn 15
#define SYS_getpid 39
#define SYS_kill 62
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_exit_group 231
#define SYS_fork 57
#define SYS_execve 59
#define SYS_wait4 61

// loops is how many rounds the L and M cases run.
#define loops 100

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
	CMPB AL, $'b'
	JEQ breakpoint
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
	CMPB AL, $'F'
	JEQ forkWait
	CMPB AL, $'C'
	JEQ forkCOW
	CMPB AL, $'X'
	JEQ execProbe
	CMPB AL, $'e'
	JEQ execMissing
	CMPB AL, $'L'
	JEQ forkLoop
	CMPB AL, $'M'
	JEQ forkExecLoop
	CMPB AL, $'m'
	JEQ eatMemory
	CMPB AL, $'B'
	JEQ forkBomb
	CMPB AL, $'P'
	JEQ faultPages
	CMPB AL, $'r'
	JEQ readLine
	CMPB AL, $'S'
	JEQ forkShared
	CMPB AL, $'U'
	JEQ memCalls
	CMPB AL, $'j'
	JEQ intLocal
	CMPB AL, $'T'
	JEQ blockedTerm
	CMPB AL, $'K'
	JEQ killInfo
	CMPB AL, $'R'
	JEQ restartRead
	CMPB AL, $'I'
	JEQ interruptRead
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
intLocal:
	BYTE $0xCD; BYTE $0x82           // INT $0x82
	JMP exit
breakpoint:
	BYTE $0xCC                       // INT3
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
interruptRead:
	MOVQ $0x04000000, R12            // SA_RESTORER: the read fails with EINTR
	JMP readSignalled
restartRead:
	MOVQ $0x14000000, R12            // SA_RESTORER|SA_RESTART: the read goes on
readSignalled:
	MOVL $SYS_pipe2, AX
	LEAQ fds<>(SB), DI
	XORL SI, SI
	SYSCALL
	TESTQ AX, AX
	JNE failed
	MOVL $SYS_rt_sigaction, AX
	MOVL $10, DI                     // SIGUSR1
	LEAQ usr1Action<>(SB), SI
	MOVQ $countHandler<>(SB), BX
	MOVQ BX, 0(SI)
	MOVQ R12, 8(SI)
	MOVQ $sigreturn<>(SB), BX
	MOVQ BX, 16(SI)
	XORL DX, DX
	MOVL $8, R10
	SYSCALL
	MOVL $SYS_fork, AX
	SYSCALL
	TESTQ AX, AX
	JS failed
	JNE readParent
	CALL nap<>(SB)                   // the child: let the parent block in read,
	MOVL $SYS_getppid, AX
	SYSCALL
	MOVQ AX, DI
	MOVL $SYS_kill, AX               // signal it,
	MOVL $10, SI
	SYSCALL
	CALL nap<>(SB)
	MOVL $SYS_write, AX              // then give it a byte
	MOVL fds<>+4(SB), DI
	LEAQ msg<>(SB), SI
	MOVL $1, DX
	SYSCALL
	XORL DI, DI
	JMP exit
readParent:
	MOVL $SYS_read, AX
	MOVL fds<>(SB), DI
	LEAQ counter<>+8(SB), SI         // any scratch byte
	MOVL $1, DX
	SYSCALL
	MOVQ AX, R13                     // 1 (restarted and read) or -EINTR (-4)
	CALL reap<>(SB)
	MOVQ $1, DI
	CMPQ status<>(SB), $0            // the child exited 0
	JNE exit
	CMPQ counter<>(SB), $1           // the handler ran once
	JNE exit
	MOVQ $42, DI
	CMPQ R13, $1
	JEQ exit
	MOVQ $43, DI
	CMPQ R13, $-4
	JEQ exit
	MOVQ $2, DI
	JMP exit
killInfo:
	MOVL $SYS_rt_sigaction, AX
	MOVL $10, DI                     // SIGUSR1
	LEAQ usr1Action<>(SB), SI
	MOVQ $infoHandler<>(SB), BX      // the action's handler and restorer, set here (no relocations in DATA)
	MOVQ BX, 0(SI)
	MOVQ $0x04000004, 8(SI)          // SA_SIGINFO|SA_RESTORER
	MOVQ $sigreturn<>(SB), BX
	MOVQ BX, 16(SI)
	XORL DX, DX
	MOVL $8, R10
	SYSCALL
	MOVL $SYS_getpid, AX
	SYSCALL
	MOVQ AX, counter<>(SB)           // the PID the handler expects in si_pid
	MOVQ AX, DI
	MOVL $SYS_kill, AX
	MOVL $10, SI
	SYSCALL
	MOVQ status<>(SB), DI            // what the handler found
	JMP exit
blockedTerm:
	MOVL $SYS_rt_sigprocmask, AX
	XORL DI, DI                      // SIG_BLOCK
	LEAQ termMask<>(SB), SI          // SIGTERM
	XORL DX, DX                      // no old mask
	MOVL $8, R10                     // sigsetsize
	SYSCALL
	MOVL $SYS_getpid, AX
	SYSCALL
	MOVQ AX, DI
	MOVL $SYS_kill, AX
	MOVL $15, SI                     // SIGTERM, to itself
	SYSCALL
	MOVQ AX, DI                      // kill's error, if any, is the exit status
	NEGQ DI
	TESTQ AX, AX
	JNE exit
	MOVL $SYS_write, AX              // still running: the signal is pending
	MOVL $1, DI
	LEAQ pending<>(SB), SI
	MOVL $8, DX
	SYSCALL
	MOVL $SYS_rt_sigprocmask, AX
	MOVL $1, DI                      // SIG_UNBLOCK: SIGTERM's default action ends it here
	LEAQ termMask<>(SB), SI
	XORL DX, DX
	MOVL $8, R10
	SYSCALL
	MOVL $4, DI                      // not ended by the unblock
	JMP exit
spin:
	MOVB spinning<>(SB), AX          // read the message: its page faults in here, not in write's copy
	MOVL $SYS_write, AX
	MOVL $1, DI
	LEAQ spinning<>(SB), SI
	MOVL $9, DX
	SYSCALL
forever:
	JMP forever
forkWait:
	MOVL $SYS_fork, AX
	SYSCALL
	TESTQ AX, AX
	JNE parent
	MOVL $7, DI                      // the child: exit status 7
	JMP exit
parent:
	JS failed
	CALL reap<>(SB)
	MOVL status<>(SB), DI            // exit with the child's status
	SHRL $8, DI
	ANDL $0xFF, DI
	JMP exit
forkCOW:
	MOVL $SYS_fork, AX
	SYSCALL
	TESTQ AX, AX
	JNE cowParent
	MOVQ $42, counter<>(SB)          // the child's write copies the page
	MOVQ counter<>(SB), DI
	JMP exit
cowParent:
	JS failed
	CALL reap<>(SB)
	MOVL status<>(SB), DI            // the child's 42, plus the parent's counter: still 0
	SHRL $8, DI
	ANDL $0xFF, DI
	ADDQ counter<>(SB), DI
	JMP exit
forkShared:
	MOVQ $4096, SI
	MOVL $0x21, R10                  // MAP_SHARED|MAP_ANONYMOUS
	CALL mmapRW<>(SB)
	MOVQ AX, BX                      // the page both processes map after the fork
	MOVL $SYS_fork, AX
	SYSCALL
	TESTQ AX, AX
	JNE sharedParent
	MOVQ $42, (BX)                   // the child's write lands in the shared page
	XORL DI, DI
	JMP exit
sharedParent:
	JS failed
	CALL reap<>(SB)
	MOVQ (BX), DI                    // the parent reads the child's 42
	JMP exit
execProbe:
	LEAQ probePath<>(SB), DI         // execve("/probe", {"/probe", "x", NULL}, NULL)
	LEAQ execArgv<>(SB), SI
	LEAQ probePath<>(SB), AX
	MOVQ AX, 0(SI)
	LEAQ argX<>(SB), AX
	MOVQ AX, 8(SI)
	MOVQ $0, 16(SI)
	XORL DX, DX
	MOVL $SYS_execve, AX
	SYSCALL
	NEGQ AX                          // returned: exit with the errno
	MOVQ AX, DI
	JMP exit
execMissing:
	LEAQ missingPath<>(SB), DI
	XORL SI, SI
	XORL DX, DX
	MOVL $SYS_execve, AX
	SYSCALL
	NEGQ AX                          // ENOENT: 2
	MOVQ AX, DI
	JMP exit
forkLoop:
	MOVL $loops, R12                 // fork, the child exits at once, wait: loops times
nextFork:
	MOVL $SYS_fork, AX
	SYSCALL
	TESTQ AX, AX
	JEQ childExit
	JS failed
	CALL reap<>(SB)
	DECL R12
	JNE nextFork
	XORL DI, DI
	JMP exit
forkExecLoop:
	MOVL $loops, R12                 // fork, the child execs "probe x", wait: loops times
nextForkExec:
	MOVL $SYS_fork, AX
	SYSCALL
	TESTQ AX, AX
	JEQ execProbe
	JS failed
	CALL reap<>(SB)
	DECL R12
	JNE nextForkExec
	XORL DI, DI
	JMP exit
childExit:
	XORL DI, DI
	JMP exit
eatMemory:
	MOVQ $(1<<30), SI                // 1 GiB
	MOVL $0x22, R10                  // MAP_PRIVATE|MAP_ANONYMOUS
	CALL mmapRW<>(SB)
	MOVQ AX, BX
	LEAQ (1<<30)(AX), CX
touch:
	MOVB $1, (BX)                    // every page: until the memory runs out
	ADDQ $4096, BX
	CMPQ BX, CX
	JB touch
	XORL DI, DI
	JMP exit
faultPages:
	MOVQ $(8<<20), SI                // 8 MiB, each page written once: 2048 faults
	MOVL $0x22, R10                  // MAP_PRIVATE|MAP_ANONYMOUS
	CALL mmapRW<>(SB)
	MOVQ AX, BX
	LEAQ (8<<20)(AX), CX
faultNext:
	MOVB $1, (BX)
	ADDQ $4096, BX
	CMPQ BX, CX
	JB faultNext
	XORL DI, DI
	JMP exit
memCalls:
	MOVL $1000, R12                  // rounds
memRound:
	MOVQ $(64<<10), SI               // mmap 64 KiB
	MOVL $0x22, R10                  // MAP_PRIVATE|MAP_ANONYMOUS
	CALL mmapRW<>(SB)
	MOVQ AX, BX
	MOVB $1, (BX)                    // four page faults
	MOVB $1, 4096(BX)
	MOVB $1, 8192(BX)
	MOVB $1, 12288(BX)
	MOVL $SYS_mprotect, AX           // mprotect(p, 64 KiB, PROT_READ)
	MOVQ BX, DI
	MOVQ $(64<<10), SI
	MOVL $1, DX
	SYSCALL
	TESTQ AX, AX
	JNE memFailed
	MOVL $SYS_munmap, AX             // munmap(p, 64 KiB): four frames freed
	MOVQ BX, DI
	MOVQ $(64<<10), SI
	SYSCALL
	TESTQ AX, AX
	JNE memFailed
	DECL R12
	JNZ memRound
	XORL DI, DI
	JMP exit
memFailed:
	NEGQ AX                          // exit with the errno
	MOVQ AX, DI
	JMP exit
readLine:
	MOVL $SYS_write, AX              // "ready", then read(0, line, 64) and echo it
	MOVL $1, DI
	LEAQ ready<>(SB), SI
	MOVL $6, DX
	SYSCALL
	XORL AX, AX                      // SYS_read is 0
	XORL DI, DI
	LEAQ line<>(SB), SI
	MOVL $64, DX
	SYSCALL
	TESTQ AX, AX
	JS failed
	MOVQ AX, R12
	MOVQ AX, DX
	MOVL $SYS_write, AX
	MOVL $1, DI
	LEAQ line<>(SB), SI
	SYSCALL
	MOVQ R12, DI                     // exit with the length read
	JMP exit
forkBomb:
	MOVL $8, R12                     // fork 8 times; every child goes on forking
bomb:
	MOVL $SYS_fork, AX
	SYSCALL
	TESTQ AX, AX
	JS bombFailed
	DECL R12
	JNE bomb
	XORL DI, DI
	JMP exit
bombFailed:
	NEGQ AX                          // EAGAIN: 11
	MOVQ AX, DI
	JMP exit
failed:
	MOVL $99, DI
exit:
	MOVL $SYS_exit_group, AX
	SYSCALL
	BYTE $0x0F; BYTE $0x0B           // not reached

DATA msg<>+0(SB)/8, $"hello fr"
DATA msg<>+8(SB)/8, $"om ring "
DATA msg<>+16(SB)/2, $"3\n"
GLOBL msg<>(SB), RODATA, $18

DATA termMask<>+0(SB)/8, $0x4000       // 1 << (SIGTERM-1)
GLOBL termMask<>(SB), RODATA, $8
DATA pending<>+0(SB)/8, $"pending\n"
GLOBL pending<>(SB), RODATA, $8
DATA spinning<>+0(SB)/8, $"spinning"
DATA spinning<>+8(SB)/1, $"\n"
GLOBL spinning<>(SB), RODATA, $9

GLOBL status<>(SB), NOPTR, $8
GLOBL usr1Action<>(SB), NOPTR, $32
GLOBL counter<>(SB), NOPTR, $16
GLOBL fds<>(SB), NOPTR, $8
DATA tenth<>+8(SB)/8, $100000000       // struct timespec: 0 s, 100 ms
GLOBL tenth<>(SB), RODATA, $16
GLOBL execArgv<>(SB), NOPTR, $24

DATA probePath<>+0(SB)/7, $"/probe\x00"
GLOBL probePath<>(SB), RODATA, $7
DATA argX<>+0(SB)/2, $"x\x00"
GLOBL argX<>(SB), RODATA, $2
DATA missingPath<>+0(SB)/8, $"/nothing"
DATA missingPath<>+8(SB)/1, $"\x00"
GLOBL missingPath<>(SB), RODATA, $9

// reap waits for any child (wait4(-1, &status, 0, NULL)); a failed
// wait4 ends the program (99).
// infoHandler is killInfo's SIGUSR1 handler (RSI: the siginfo): status
// becomes 42 if si_code is SI_USER (0) and si_pid this process's, else
// 100 plus si_code's low byte.
TEXT infoHandler<>(SB),NOSPLIT|NOFRAME,$0
	MOVL 8(SI), AX                   // si_code
	MOVL 16(SI), BX                  // si_pid
	MOVQ $100, CX
	ADDB AL, CX
	TESTL AX, AX
	JNE infoDone
	CMPQ BX, counter<>(SB)
	JNE infoDone
	MOVQ $42, CX
infoDone:
	MOVQ CX, status<>(SB)
	RET

// countHandler counts the signals it takes in counter.
TEXT countHandler<>(SB),NOSPLIT|NOFRAME,$0
	INCQ counter<>(SB)
	RET

// nap sleeps 100 ms.
TEXT nap<>(SB),NOSPLIT|NOFRAME,$0
	MOVL $SYS_nanosleep, AX
	LEAQ tenth<>(SB), DI
	XORL SI, SI
	SYSCALL
	RET

// sigreturn is the restorer the handlers return through.
TEXT sigreturn<>(SB),NOSPLIT|NOFRAME,$0
	MOVL $SYS_rt_sigreturn, AX
	SYSCALL

TEXT reap<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ $-1, DI
	LEAQ status<>(SB), SI
	XORL DX, DX
	XORL R10, R10
	MOVL $SYS_wait4, AX
	SYSCALL
	TESTQ AX, AX
	JLE reapFailed
	RET
reapFailed:
	MOVL $99, DI
	MOVL $SYS_exit_group, AX
	SYSCALL
	RET

// mmapRW maps SI bytes of anonymous read-write memory with the flags in
// R10 (mmap(NULL, SI, PROT_READ|PROT_WRITE, R10, -1, 0)) and returns the
// address in AX; a failed mmap ends the program (99).
TEXT mmapRW<>(SB),NOSPLIT|NOFRAME,$0
	XORL DI, DI
	MOVL $3, DX
	MOVQ $-1, R8
	XORL R9, R9
	MOVL $SYS_mmap, AX
	SYSCALL
	CMPQ AX, $-4096
	JAE mmapFailed
	RET
mmapFailed:
	MOVL $99, DI
	MOVL $SYS_exit_group, AX
	SYSCALL
	RET

DATA ready<>+0(SB)/6, $"ready\n"
GLOBL ready<>(SB), RODATA, $6
GLOBL line<>(SB), NOPTR, $64
