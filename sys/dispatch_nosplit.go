package sys

// System calls are served in trap context, with interrupts off and no g:
// every function here is nosplit and allocation-free.

import (
	"gofly/arch/amd64"
	"gofly/klog"
	"gofly/lwkt"
)

// Linux x86-64 system call numbers served here.
const (
	sysRead             = 0
	sysWrite            = 1
	sysClose            = 3
	sysMmap             = 9
	sysMunmap           = 11
	sysRtSigaction      = 13
	sysRtSigprocmask    = 14
	sysRtSigreturn      = 15
	sysSchedYield       = 24
	sysMadvise          = 28
	sysNanosleep        = 35
	sysGetpid           = 39
	sysClone            = 56
	sysExit             = 60
	sysUname            = 63
	sysFcntl            = 72
	sysGetuid           = 102
	sysGetgid           = 104
	sysGeteuid          = 107
	sysGetegid          = 108
	sysGetppid          = 110
	sysSigaltstack      = 131
	sysPrctl            = 157
	sysArchPrctl        = 158
	sysGettid           = 186
	sysFutex            = 202
	sysSchedGetaffinity = 204
	sysClockGettime     = 228
	sysExitGroup        = 231
	sysEpollCtl         = 233
	sysTgkill           = 234
	sysOpenat           = 257
	sysEpollPwait       = 281
	sysEventfd2         = 290
	sysEpollCreate1     = 291
	sysPrlimit64        = 302
	sysGetrandom        = 318

	// MaxNr bounds the per-number counters.
	MaxNr = 512
)

// Errno values.
const (
	ENOENT    = 2
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

var (
	counts  [MaxNr]uint64
	unknown uint64
	lastBad uint64 // number of the last unknown call, for the log
)

// Count returns how often system call nr was made.
//
//go:nosplit
func Count(nr int) uint64 { return counts[nr] }

// Unknown returns how many calls returned ENOSYS for an unknown number.
//
//go:nosplit
func Unknown() uint64 { return unknown }

// Trace, when set (loglevel=7), logs every system call.
var Trace bool

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
		klog.Puts("[sys] t")
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
	}
	a0, a1, a2, a3, a4 := uintptr(f.RDI), uintptr(f.RSI), uintptr(f.RDX), uintptr(f.R10), uintptr(f.R8)
	var r int64
	switch nr {
	case sysRead:
		r = read(int(a0), a1, a2)
	case sysWrite:
		r = write(int(a0), a1, a2)
	case sysClose:
		r = closeFD(int(a0))
	case sysMmap:
		r = mmap(a0, a1, int(a2), int(a3), int(int32(a4)))
	case sysMunmap:
		r = munmap(a0, a1)
	case sysMadvise:
		r = madvise(a0, a1, int(a2))
	case sysRtSigaction:
		r = rtSigaction(int(a0), a1, a2, a3)
	case sysRtSigprocmask:
		r = rtSigprocmask(int(a0), a1, a2, a3)
	case sysRtSigreturn:
		rtSigreturn(f, fpu)
		return // registers, RAX included, come from the signal frame
	case sysSigaltstack:
		r = sigaltstack(a0, a1)
	case sysTgkill:
		r = tgkill(int32(a0), int32(a1), int(a2))
	case sysSchedYield:
		lwkt.Yield()
	case sysNanosleep:
		r = nanosleep(a0)
	case sysClone:
		r = clone(f, fpu, uint64(a0), uint64(a1), uint64(f.R8))
	case sysExit:
		lwkt.Exit()
	case sysExitGroup:
		ExitGroup(int(a0))
	case sysFutex:
		r = futex(a0, int(a1), uint32(a2), a3)
	case sysGettid:
		r = int64(lwkt.CurrentThread().ID)
	case sysGetpid:
		r = 1
	case sysGetppid, sysGetuid, sysGetgid, sysGeteuid, sysGetegid:
		r = 0
	case sysArchPrctl:
		r = archPrctl(int(a0), uint64(a1))
	case sysPrctl:
		r = prctl(int(a0))
	case sysSchedGetaffinity:
		r = schedGetaffinity(a1, a2)
	case sysClockGettime:
		r = clockGettime(int(a0), a1)
	case sysFcntl:
		r = fcntl(int(a0), int(a1), a2)
	case sysOpenat:
		r = -ENOENT // no file system yet
	case sysPrlimit64:
		r = prlimit64(int(a0), int(a1), a2, a3)
	case sysEpollCreate1:
		r = epollCreate(int(a0))
	case sysEpollCtl:
		r = epollCtl(int(a0), int(a1), int(a2), a3)
	case sysEpollPwait:
		r = epollPwait(int(a0), a1, int(a2), int(int32(a3)))
	case sysEventfd2:
		r = eventfd(uint64(a0), int(a1))
	case sysGetrandom:
		r = getrandom(a0, a1, int(a2))
	case sysUname:
		r = uname(a0)
	default:
		unknown++
		lastBad = nr
		r = -ENOSYS
	}
	f.RAX = uint64(r)
}
