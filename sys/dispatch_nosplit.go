package sys

// System calls are served in trap context, with interrupts off and no g:
// every function here, and every handler in calls, is nosplit and
// allocation-free.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/klog"
	"gofly/lwkt"
)

// MaxNr bounds the system call numbers: calls and the counters.
const MaxNr = 512

// A handler serves one system call. It takes its arguments from the
// caller's registers in regs (RDI, RSI, RDX, R10, R8, R9, in Linux's order)
// and returns the result or a negated errno, which Dispatch puts in RAX.
// fpu is the FXSAVE image of the calling thread.
type handler func(regs *amd64.Frame, fpu uintptr) int64

type sysCall struct {
	name string // Linux's
	fn   handler
}

// calls is the one table of the system calls served, indexed by Linux
// x86-64 number. It is initialised statically: Dispatch runs before the
// Go runtime, and so before any package init.
var calls = [MaxNr]sysCall{
	0:   {"read", read},
	1:   {"write", write},
	3:   {"close", closeFD},
	9:   {"mmap", mmap},
	11:  {"munmap", munmap},
	13:  {"rt_sigaction", rtSigaction},
	14:  {"rt_sigprocmask", rtSigprocmask},
	15:  {"rt_sigreturn", rtSigreturn},
	24:  {"sched_yield", schedYield},
	28:  {"madvise", madvise},
	35:  {"nanosleep", nanosleep},
	39:  {"getpid", getpid},
	56:  {"clone", clone},
	60:  {"exit", exit},
	63:  {"uname", uname},
	72:  {"fcntl", fcntl},
	102: {"getuid", rootID},
	104: {"getgid", rootID},
	107: {"geteuid", rootID},
	108: {"getegid", rootID},
	110: {"getppid", rootID},
	131: {"sigaltstack", sigaltstack},
	157: {"prctl", prctl},
	158: {"arch_prctl", archPrctl},
	186: {"gettid", gettid},
	202: {"futex", futex},
	203: {"sched_setaffinity", schedSetaffinity},
	204: {"sched_getaffinity", schedGetaffinity},
	228: {"clock_gettime", clockGettime},
	231: {"exit_group", exitGroup},
	233: {"epoll_ctl", epollCtl},
	234: {"tgkill", tgkill},
	257: {"openat", openat},
	281: {"epoll_pwait", epollPwait},
	290: {"eventfd2", eventfd},
	291: {"epoll_create1", epollCreate},
	302: {"prlimit64", prlimit64},
	318: {"getrandom", getrandom},

	NrSwitch: {"gofly_switch", switchUser},
}

// Errno values.
const (
	EPERM     = 1
	ENOENT    = 2
	ESRCH     = 3
	EINTR     = 4
	EBADF     = 9
	EAGAIN    = 11
	ENOMEM    = 12
	EFAULT    = 14
	EEXIST    = 17
	EINVAL    = 22
	EMFILE    = 24
	ESPIPE    = 29
	ENOSYS    = 38
	ETIMEDOUT = 110
)

// counts, unknown and lastBad are guarded by the MP lock, which Dispatch
// runs under; switches counts NrSwitch's calls, which Switch serves
// without it.
var (
	counts   [MaxNr]uint64
	unknown  uint64
	lastBad  uint64 // number of the last unknown call, for the log
	switches atomic.Uint64
)

// Count returns how often system call nr was made.
//
//go:nosplit
func Count(nr int) uint64 {
	if nr == NrSwitch {
		return counts[nr] + switches.Load()
	}
	return counts[nr]
}

// Unknown returns how many calls returned ENOSYS for an unknown number.
//
//go:nosplit
func Unknown() uint64 { return unknown }

// Trace, when set (loglevel=7), logs every system call, one line each:
//
//	[sys] 45438us +192us t3 35 0x1ad970d43f00 0x0 0x0
//
// the monotonic clock, the time since the previous call (which includes
// printing the previous line: some 40 µs under TCG), the thread, the
// call's number and its first three arguments.
var Trace bool

// lastTrace is the TSC of the previous traced call (MP lock).
var lastTrace uint64

// traceStamp starts a trace line with the monotonic time in microseconds
// and the time since the previous traced call, so gaps show where the
// caller spent its time (running, faulting, or blocked).
//
//go:nosplit
func traceStamp() {
	now := amd64.Rdtsc()
	klog.Puts("[sys] ")
	klog.Dec(uint64(timer.Nanotime()) / 1000)
	klog.Puts("us +")
	if lastTrace != 0 {
		klog.Dec(timer.CyclesToNs(now-lastTrace) / 1000)
	} else {
		klog.Dec(0)
	}
	klog.Puts("us")
	lastTrace = now
}

// Dispatch serves the system call in f: number in RAX, arguments in RDI,
// RSI, RDX, R10, R8, R9, result (or negated errno) back in RAX. fpu is the
// FXSAVE image of the calling thread (clone copies it).
//
//go:nosplit
func Dispatch(f *amd64.Frame, fpu uintptr) {
	nr := f.RAX
	if nr < MaxNr {
		counts[nr]++
	}
	if Trace {
		m := klog.Begin()
		traceStamp()
		klog.Puts(" t")
		klog.Dec(uint64(lwkt.CurrentThread().ID))
		klog.Puts(" ")
		klog.Dec(nr)
		klog.Puts(" ")
		klog.Hex(f.RDI)
		klog.Puts(" ")
		klog.Hex(f.RSI)
		klog.Puts(" ")
		klog.Hex(f.RDX)
		klog.Puts("\n")
		m.End()
	}
	if nr >= MaxNr || calls[nr].fn == nil {
		unknown++
		lastBad = nr
		f.RAX = negErrno(ENOSYS)
		return
	}
	f.RAX = uint64(calls[nr].fn(f, fpu))
}

//go:nosplit
func negErrno(e int64) uint64 { return uint64(-e) }
