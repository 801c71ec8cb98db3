package sys

// Thread and time calls: nosplit, trap context.

import (
	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/lwkt"
)

// clone flags.
const (
	cloneVM           = 0x100
	cloneFS           = 0x200
	cloneFiles        = 0x400
	cloneSighand      = 0x800
	cloneThread       = 0x10000
	cloneSysvsem      = 0x40000
	cloneSettls       = 0x80000
	cloneParentSettid = 0x100000

	cloneSupported = cloneVM | cloneFS | cloneFiles | cloneSighand | cloneThread |
		cloneSysvsem | cloneSettls | cloneParentSettid
)

// clone creates a thread in the one address space. There are no processes
// to fork, so a clone without CLONE_VM|CLONE_THREAD, or with flags this
// kernel does not implement, fails with EINVAL rather than half-working.
//
//go:nosplit
func clone(f *amd64.Frame, fpu uintptr, flags, stack, tls uint64) int64 {
	if flags&(cloneVM|cloneThread) != cloneVM|cloneThread || flags&^cloneSupported&^0xFF != 0 {
		return -EINVAL
	}
	fs := amd64.Rdmsr(amd64.MSRFSBase) // live value; the Thread copy is saved on switch
	if flags&cloneSettls != 0 {
		fs = tls
	}
	ptid := uintptr(f.RDX)
	if flags&cloneParentSettid != 0 && !user(ptid, 4, true) {
		return -EFAULT
	}
	id := lwkt.Clone(f, fpu, stack, fs)
	if id < 0 {
		return -EAGAIN
	}
	if flags&cloneParentSettid != 0 {
		*u32(ptid) = uint32(id)
	}
	return int64(id)
}

// futex operations.
const (
	futexWait          = 0
	futexWake          = 1
	futexPrivate       = 128
	futexClockRealtime = 256
)

//go:nosplit
func futex(addr uintptr, op int, val uint32, timeout uintptr) int64 {
	if addr%4 != 0 {
		return -EINVAL
	}
	switch op &^ (futexPrivate | futexClockRealtime) {
	case futexWait:
		if !user(addr, 4, false) {
			return -EFAULT
		}
		if *u32(addr) != val {
			return -EAGAIN
		}
		var deadline int64
		if timeout != 0 {
			d, errno := relTimeout(timeout)
			if errno != 0 {
				return errno
			}
			deadline = timer.Nanotime() + d
		}
		lwkt.Block(lwkt.WaitFutex, addr, deadline, negErrno(ETIMEDOUT))
		return 0
	case futexWake:
		n := int64(0)
		for i := lwkt.FindBlocked(-1, lwkt.WaitFutex, addr); i >= 0 && n < int64(val); i = lwkt.FindBlocked(i, lwkt.WaitFutex, addr) {
			lwkt.Wakeup(i, 0)
			n++
		}
		return n
	}
	return -ENOSYS
}

// relTimeout reads a relative struct timespec.
//
//go:nosplit
func relTimeout(ts uintptr) (int64, int64) {
	if !user(ts, 16, false) {
		return 0, -EFAULT
	}
	sec, nsec := int64(*u64(ts)), int64(*u64(ts + 8))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, -EINVAL
	}
	if sec > 1<<32 { // far enough in the future to be forever
		sec = 1 << 32
	}
	return sec*1e9 + nsec, 0
}

//go:nosplit
func negErrno(e int64) uint64 { return uint64(-e) }

//go:nosplit
func nanosleep(req uintptr) int64 {
	d, errno := relTimeout(req)
	if errno != 0 {
		return errno
	}
	if d == 0 {
		lwkt.Yield()
		return 0
	}
	lwkt.Block(lwkt.WaitSleep, 0, timer.Nanotime()+d, 0)
	return 0
}

// WallBase is the Unix time in nanoseconds at which Nanotime was zero,
// from the RTC at boot.
var WallBase int64

// Clock ids.
const (
	clockRealtime        = 0
	clockMonotonic       = 1
	clockMonotonicRaw    = 4
	clockRealtimeCoarse  = 5
	clockMonotonicCoarse = 6
	clockBoottime        = 7
)

//go:nosplit
func clockGettime(clk int, tp uintptr) int64 {
	var ns int64
	switch clk {
	case clockMonotonic, clockMonotonicRaw, clockMonotonicCoarse, clockBoottime:
		ns = timer.Nanotime()
	case clockRealtime, clockRealtimeCoarse:
		ns = WallBase + timer.Nanotime()
	default:
		return -EINVAL
	}
	if !user(tp, 16, true) {
		return -EFAULT
	}
	*u64(tp) = uint64(ns / 1e9)
	*u64(tp + 8) = uint64(ns % 1e9)
	return 0
}

//go:nosplit
func archPrctl(code int, addr uint64) int64 {
	const setFS, getFS = 0x1002, 0x1003
	switch code {
	case setFS:
		lwkt.CurrentThread().FSBase = addr
		amd64.Wrmsr(amd64.MSRFSBase, addr)
		return 0
	case getFS:
		if !user(uintptr(addr), 8, true) {
			return -EFAULT
		}
		*u64(uintptr(addr)) = amd64.Rdmsr(amd64.MSRFSBase)
		return 0
	}
	return -EINVAL
}

//go:nosplit
func prctl(option int) int64 {
	const setVMA = 0x53564d41 // PR_SET_VMA: naming anonymous memory; names are not kept
	if option == setVMA {
		return 0
	}
	return -EINVAL
}

// NCPU is the number of CPUs the scheduler runs.
var NCPU = 1

//go:nosplit
func schedGetaffinity(size, mask uintptr) int64 {
	if size < 8 || size%8 != 0 {
		return -EINVAL
	}
	if !user(mask, 8, true) {
		return -EFAULT
	}
	*u64(mask) = 1<<NCPU - 1
	return 8
}

//go:nosplit
func prlimit64(pid, resource int, newLim, oldLim uintptr) int64 {
	const nofile = 7
	const infinity = ^uint64(0)
	if pid != 0 && pid != 1 {
		return -ESRCH
	}
	if resource < 0 || resource > 15 {
		return -EINVAL
	}
	cur, max := infinity, infinity
	if resource == nofile {
		cur, max = MaxFiles, MaxFiles
	}
	if newLim != 0 {
		if !user(newLim, 16, false) {
			return -EFAULT
		}
		if *u64(newLim) > *u64(newLim + 8) {
			return -EINVAL // soft limit above the hard one
		}
		if resource == nofile && *u64(newLim + 8) > MaxFiles {
			return -EPERM
		}
	}
	if oldLim != 0 {
		if !user(oldLim, 16, true) {
			return -EFAULT
		}
		*u64(oldLim) = cur
		*u64(oldLim + 8) = max
	}
	return 0
}

const (
	EPERM = 1
	ESRCH = 3
)

var rngState uint64

// SeedRandom seeds getrandom's generator.
//
//go:nosplit
func SeedRandom(seed uint64) { rngState = seed | 1 }

// Random returns the next value of the kernel's xorshift64* generator.
//
//go:nosplit
func Random() uint64 {
	rngState ^= rngState >> 12
	rngState ^= rngState << 25
	rngState ^= rngState >> 27
	return rngState * 0x2545F4914F6CDD1D
}

//go:nosplit
func getrandom(buf, n uintptr, flags int) int64 {
	const nonblock, random, insecure = 1, 2, 4
	if flags&^(nonblock|random|insecure) != 0 {
		return -EINVAL
	}
	if n > 1<<20 {
		n = 1 << 20 // Linux also returns short counts for large requests
	}
	if !user(buf, n, true) {
		return -EFAULT
	}
	for i := uintptr(0); i < n; i++ {
		*u8(buf + i) = byte(Random() >> 56)
	}
	return int64(n)
}

//go:nosplit
func uname(buf uintptr) int64 {
	const field = 65
	if !user(buf, 6*field, true) {
		return -EFAULT
	}
	for i := uintptr(0); i < 6*field; i++ {
		*u8(buf + i) = 0
	}
	putStr(buf+0*field, "Gofly")
	putStr(buf+1*field, "gofly")
	putStr(buf+2*field, "6.1.0-gofly") // the Linux system-call level served
	putStr(buf+3*field, "#1")
	putStr(buf+4*field, "x86_64")
	return 0
}

//go:nosplit
func putStr(at uintptr, s string) {
	for i := 0; i < len(s); i++ {
		*u8(at + uintptr(i)) = s[i]
	}
}
