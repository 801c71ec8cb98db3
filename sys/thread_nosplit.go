package sys

// Thread and time calls: nosplit, trap context.

import (
	"math/bits"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/random"
	"gofly/sysref"
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
func clone(f *amd64.Frame, fpu uintptr) int64 {
	flags, stack, ptid, tls := f.RDI, f.RSI, uintptr(f.RDX), f.R8
	if flags&(cloneVM|cloneThread) != cloneVM|cloneThread || flags&^cloneSupported&^0xFF != 0 {
		return -EINVAL
	}
	fs := amd64.Rdmsr(amd64.MSRFSBase) // live value; the Thread copy is saved on switch
	if flags&cloneSettls != 0 {
		fs = tls
	}
	if flags&cloneParentSettid != 0 && !user(ptid, 4, true) {
		return -EFAULT
	}
	obj, ok := newRecord()
	if !ok {
		return -ENOMEM
	}
	id := lwkt.Clone(f, fpu, stack, fs)
	if id < 0 {
		if obj != 0 {
			sysref.Put(obj) // never activated: straight back to the cache
		}
		return -EAGAIN
	}
	bindRecord(obj, lwkt.FindID(id))
	if flags&cloneParentSettid != 0 {
		*u32(ptid) = uint32(id)
	}
	return int64(id)
}

//go:nosplit
func schedYield(*amd64.Frame, uintptr) int64 {
	lwkt.Yield()
	return 0
}

// exit ends the calling thread.
//
//go:nosplit
func exit(*amd64.Frame, uintptr) int64 {
	detachRecord()
	lwkt.Exit()
	return 0
}

//go:nosplit
func gettid(*amd64.Frame, uintptr) int64 { return int64(lwkt.CurrentThread().ID) }

// getpid: the Go program is process 1.
//
//go:nosplit
func getpid(*amd64.Frame, uintptr) int64 { return 1 }

// rootID answers getppid, getuid, getgid, geteuid and getegid: no parent,
// and everything runs as root.
//
//go:nosplit
func rootID(*amd64.Frame, uintptr) int64 { return 0 }

// futex operations.
const (
	futexWait          = 0
	futexWake          = 1
	futexPrivate       = 128
	futexClockRealtime = 256
)

//go:nosplit
func futex(regs *amd64.Frame, _ uintptr) int64 {
	addr, op, val, timeout := uintptr(regs.RDI), int(regs.RSI), uint32(regs.RDX), uintptr(regs.R10)
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
		// val is an int; Linux wakes at least one waiter even for 0 or a
		// negative count (it tests the count after each wake).
		limit := max(int64(int32(val)), 1)
		n := int64(0)
		for i := lwkt.FindBlocked(-1, lwkt.WaitFutex, addr); i >= 0 && n < limit; i = lwkt.FindBlocked(i, lwkt.WaitFutex, addr) {
			if lwkt.Wakeup(i, 0) { // counts only a waiter this call woke
				n++
			}
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
func nanosleep(regs *amd64.Frame, _ uintptr) int64 {
	d, errno := relTimeout(uintptr(regs.RDI))
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
func clockGettime(regs *amd64.Frame, _ uintptr) int64 {
	clk, tp := int(regs.RDI), uintptr(regs.RSI)
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
func archPrctl(regs *amd64.Frame, _ uintptr) int64 {
	const setFS, getFS = 0x1002, 0x1003
	code, addr := int(regs.RDI), regs.RSI
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
func prctl(regs *amd64.Frame, _ uintptr) int64 {
	const setVMA = 0x53564d41 // PR_SET_VMA: naming anonymous memory; names are not kept
	if int(regs.RDI) == setVMA {
		return 0
	}
	return -EINVAL
}

// schedGetaffinity returns one 64-bit word of mask: the CPUs thread pid
// (0: the caller) may run on, among the online ones.
//
//go:nosplit
func schedGetaffinity(regs *amd64.Frame, _ uintptr) int64 {
	// len is an unsigned int, and Linux's len*8 < nr_cpu_ids check is done
	// in unsigned int too (kernel/sched/core.c), so it wraps as Linux's does.
	size, mask := uint32(regs.RSI), uintptr(regs.RDX)
	if size*8 < uint32(bits.Len64(lwkt.OnlineMask())) || size%8 != 0 {
		return -EINVAL
	}
	i := affinityTarget(int32(regs.RDI))
	if i < 0 {
		return -ESRCH
	}
	if !user(mask, 8, true) {
		return -EFAULT
	}
	online := lwkt.OnlineMask()
	aff := lwkt.Affinity(i)
	if aff == 0 {
		aff = online
	}
	*u64(mask) = aff & online
	return 8
}

// schedSetaffinity confines thread pid (0: the caller) to the CPUs in the
// mask's first 64 bits (Linux reads min(len, its mask size) bytes and
// takes the rest as zero); a mask with no online CPU is EINVAL. A thread
// on a CPU the mask excludes moves off it (lwkt.SetAffinity): the caller
// before this call returns.
//
//go:nosplit
func schedSetaffinity(regs *amd64.Frame, _ uintptr) int64 {
	size, mask := uint32(regs.RSI), uintptr(regs.RDX)
	n := min(size, 8) // Linux copies the mask in first: EFAULT before ESRCH
	if n > 0 && !user(mask, uintptr(n), false) {
		return -EFAULT
	}
	var m uint64
	for k := uint32(0); k < n; k++ {
		m |= uint64(*(*byte)(mm.Ptr(uint64(mask) + uint64(k)))) << (8 * k)
	}
	i := affinityTarget(int32(regs.RDI))
	if i < 0 {
		return -ESRCH
	}
	m &= lwkt.OnlineMask()
	if m == 0 {
		return -EINVAL
	}
	lwkt.SetAffinity(i, m)
	return 0
}

// affinityTarget returns the slot of thread tid (0: the caller), or -1.
//
//go:nosplit
func affinityTarget(tid int32) int32 {
	if tid == 0 {
		return lwkt.Current()
	}
	if tid < 0 {
		return -1
	}
	return lwkt.FindID(tid)
}

//go:nosplit
func prlimit64(regs *amd64.Frame, _ uintptr) int64 {
	pid, resource, newLim, oldLim := int(regs.RDI), int(regs.RSI), uintptr(regs.RDX), uintptr(regs.R10)
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

// getrandom flags.
const (
	grndNonblock = 1
	grndRandom   = 2
	grndInsecure = 4
)

// The most getrandom returns per call (getrandom(2), "Maximum number of
// bytes returned"): 32Mi-1 bytes from the urandom source, 512 from the
// random source (GRND_RANDOM). Callers loop on short counts.
const (
	maxGetrandom       = 1<<25 - 1
	maxGetrandomRandom = 512
)

//go:nosplit
func getrandom(regs *amd64.Frame, _ uintptr) int64 {
	buf, n, flags := uintptr(regs.RDI), uintptr(regs.RSI), uint32(regs.RDX) // flags is an unsigned int
	if flags&^(grndNonblock|grndRandom|grndInsecure) != 0 || flags&(grndInsecure|grndRandom) == grndInsecure|grndRandom {
		return -EINVAL
	}
	// The generator is seeded at boot, before the first caller, so no
	// call would block and GRND_NONBLOCK changes nothing.
	if flags&grndRandom != 0 {
		n = min(n, maxGetrandomRandom)
	} else {
		n = min(n, maxGetrandom)
	}
	if !user(buf, n, true) {
		return -EFAULT
	}
	random.Read(unsafe.Slice((*byte)(mm.Ptr(uint64(buf))), n))
	return int64(n)
}

//go:nosplit
func uname(regs *amd64.Frame, _ uintptr) int64 {
	const field = 65
	buf := uintptr(regs.RDI)
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
