package proc

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/vm"
)

// A handler serves one system call of thread t from its registers r (the
// arguments in RDI, RSI, RDX, R10, R8, R9) and returns the result or a
// negated errno. Numbers and names are Linux's (the syscall package's).
type handler func(t *Thread, r *amd64.Frame) int64

// nCalls bounds Linux's x86-64 system call numbers (the highest is in
// the 400s; x32's carry bit 30 and are ENOSYS here).
const nCalls = 512

// calls is the handlers by number: an array, indexed, not the map
// callTable builds, whose lookup cost about 0.3 µs a call under TCG.
var calls [nCalls]handler

// init fills calls (the table's handlers reach syscall, which reads it:
// a package-level initializer would be a cycle).
func init() {
	for nr, h := range callTable() {
		if nr >= nCalls {
			panic(fmt.Sprintf("proc: system call %d past the table's %d", nr, nCalls))
		}
		calls[nr] = h
	}
}

func callTable() map[uint64]handler {
	return map[uint64]handler{
		syscall.SYS_READ:              sysRead,
		syscall.SYS_WRITE:             sysWrite,
		syscall.SYS_CLOSE:             sysClose,
		syscall.SYS_FCNTL:             sysFcntl,
		syscall.SYS_OPENAT:            sysOpenat,
		syscall.SYS_PREAD64:           sysPread64,
		syscall.SYS_PWRITE64:          sysPwrite64,
		syscall.SYS_LSEEK:             sysLseek,
		syscall.SYS_FSTAT:             sysFstat,
		syscall.SYS_NEWFSTATAT:        sysNewfstatat,
		syscall.SYS_ACCESS:            sysAccess,
		syscall.SYS_FACCESSAT:         sysFaccessat,
		unix.SYS_FACCESSAT2:           sysFaccessat2,
		syscall.SYS_GETDENTS64:        sysGetdents64,
		syscall.SYS_MKDIRAT:           sysMkdirat,
		syscall.SYS_UNLINKAT:          sysUnlinkat,
		syscall.SYS_FTRUNCATE:         sysFtruncate,
		syscall.SYS_FSYNC:             sysFsync,
		syscall.SYS_FDATASYNC:         sysFsync,
		syscall.SYS_CHDIR:             sysChdir,
		syscall.SYS_FCHDIR:            sysFchdir,
		syscall.SYS_GETCWD:            sysGetcwd,
		syscall.SYS_RENAMEAT:          sysRenameat,
		syscall.SYS_READV:             sysReadv,
		syscall.SYS_READLINKAT:        sysReadlinkat,
		syscall.SYS_SYMLINKAT:         sysSymlinkat,
		unix.SYS_CLOSE_RANGE:          sysCloseRange,
		syscall.SYS_FCHMODAT:          sysFchmodat,
		unix.SYS_FCHMODAT2:            sysFchmodat,
		syscall.SYS_FCHMOD:            sysFchmod,
		syscall.SYS_UMASK:             sysUmask,
		syscall.SYS_FCHOWNAT:          sysFchownat,
		syscall.SYS_LINKAT:            sysLinkat,
		syscall.SYS_MKNODAT:           sysMknodat,
		syscall.SYS_MKNOD:             sysMknodat,
		syscall.SYS_LINK:              sysLinkat,
		syscall.SYS_CHOWN:             sysFchownat,
		syscall.SYS_LCHOWN:            sysFchownat,
		syscall.SYS_FCHOWN:            sysFchown,
		syscall.SYS_GETGROUPS:         sysGetgroups,
		syscall.SYS_SETGROUPS:         sysSetgroups,
		syscall.SYS_IOCTL:             sysIoctl,
		syscall.SYS_SOCKET:            sysSocket,
		syscall.SYS_SOCKETPAIR:        sysSocketpair,
		syscall.SYS_BIND:              sysBind,
		syscall.SYS_LISTEN:            sysListen,
		syscall.SYS_CONNECT:           sysConnect,
		syscall.SYS_ACCEPT:            sysAccept4,
		syscall.SYS_ACCEPT4:           sysAccept4,
		syscall.SYS_GETSOCKNAME:       sysGetsockname,
		syscall.SYS_GETPEERNAME:       sysGetpeername,
		syscall.SYS_SHUTDOWN:          sysShutdown,
		syscall.SYS_SETSOCKOPT:        sysSetsockopt,
		syscall.SYS_GETSOCKOPT:        sysGetsockopt,
		syscall.SYS_SENDTO:            sysSendto,
		syscall.SYS_RECVFROM:          sysRecvfrom,
		syscall.SYS_SELECT:            sysSelect,
		syscall.SYS_PSELECT6:          sysPselect6,
		syscall.SYS_POLL:              sysPoll,
		syscall.SYS_PPOLL:             sysPpoll,
		syscall.SYS_SETPGID:           sysSetpgid,
		syscall.SYS_GETPGID:           sysGetpgid,
		syscall.SYS_GETPGRP:           sysGetpgrp,
		syscall.SYS_SETSID:            sysSetsid,
		syscall.SYS_GETSID:            sysGetsid,
		syscall.SYS_UTIMENSAT:         sysUtimensat,
		syscall.SYS_TRUNCATE:          sysTruncate,
		unix.SYS_STATX:                sysStatx,
		syscall.SYS_WRITEV:            sysReadv,
		unix.SYS_RENAMEAT2:            sysRenameat,
		syscall.SYS_MMAP:              sysMmap,
		syscall.SYS_MUNMAP:            sysMunmap,
		syscall.SYS_MADVISE:           sysMadvise,
		syscall.SYS_MINCORE:           sysMincore,
		syscall.SYS_MPROTECT:          sysMprotect,
		syscall.SYS_RT_SIGACTION:      sysRtSigaction,
		syscall.SYS_RT_SIGPROCMASK:    sysRtSigprocmask,
		syscall.SYS_RT_SIGRETURN:      sysRtSigreturn,
		syscall.SYS_SIGALTSTACK:       sysSigaltstack,
		syscall.SYS_ARCH_PRCTL:        sysArchPrctl,
		syscall.SYS_PRCTL:             sysPrctl,
		syscall.SYS_GETTID:            func(t *Thread, _ *amd64.Frame) int64 { return int64(t.TID) },
		syscall.SYS_GETPID:            func(t *Thread, _ *amd64.Frame) int64 { return int64(t.p.PID) },
		syscall.SYS_GETPPID:           sysGetppid,
		syscall.SYS_FORK:              sysFork,
		syscall.SYS_WAIT4:             sysWait4,
		syscall.SYS_EXECVE:            sysExecve,
		syscall.SYS_VFORK:             sysVfork,
		syscall.SYS_PIPE2:             sysPipe2,
		syscall.SYS_SPLICE:            sysSplice,
		syscall.SYS_DUP:               sysDup,
		syscall.SYS_DUP2:              sysDup,
		syscall.SYS_DUP3:              sysDup,
		syscall.SYS_GETUID:            idCall(func(c *creds) uint32 { return c.ruid }),
		syscall.SYS_GETEUID:           idCall(func(c *creds) uint32 { return c.euid }),
		syscall.SYS_GETGID:            idCall(func(c *creds) uint32 { return c.rgid }),
		syscall.SYS_GETEGID:           idCall(func(c *creds) uint32 { return c.egid }),
		syscall.SYS_SETUID:            setCall(false, setIDArgs),
		syscall.SYS_SETGID:            setCall(true, setIDArgs),
		syscall.SYS_SETREUID:          setCall(false, setREIDArgs),
		syscall.SYS_SETREGID:          setCall(true, setREIDArgs),
		syscall.SYS_SETRESUID:         setCall(false, setRESIDArgs),
		syscall.SYS_SETRESGID:         setCall(true, setRESIDArgs),
		syscall.SYS_GETRESUID:         getRESCall(false),
		syscall.SYS_GETRESGID:         getRESCall(true),
		syscall.SYS_SCHED_GETAFFINITY: sysSchedGetaffinity,
		syscall.SYS_SCHED_YIELD:       func(*Thread, *amd64.Frame) int64 { runtime.Gosched(); return 0 },
		syscall.SYS_CLOCK_GETTIME:     sysClockGettime,
		syscall.SYS_CLOCK_GETRES:      sysClockGetres,
		syscall.SYS_GETTIMEOFDAY:      sysGettimeofday,
		syscall.SYS_TIME:              sysTime,
		syscall.SYS_NANOSLEEP:         sysNanosleep,
		syscall.SYS_SETITIMER:         sysSetitimer,
		syscall.SYS_GETITIMER:         sysGetitimer,
		syscall.SYS_ALARM:             sysAlarm,
		syscall.SYS_GETRUSAGE:         sysGetrusage,
		syscall.SYS_TIMER_CREATE:      sysTimerCreate,
		syscall.SYS_TIMER_SETTIME:     sysTimerSettime,
		syscall.SYS_TIMER_GETTIME:     sysTimerGettime,
		syscall.SYS_TIMER_GETOVERRUN:  sysTimerGetoverrun,
		syscall.SYS_TIMER_DELETE:      sysTimerDelete,
		syscall.SYS_FUTEX:             sysFutex,
		syscall.SYS_CLONE:             sysClone,
		syscall.SYS_TGKILL:            sysTgkill,
		syscall.SYS_KILL:              sysKill,
		syscall.SYS_PRLIMIT64:         sysPrlimit64,
		syscall.SYS_UNAME:             sysUname,
		unix.SYS_GETRANDOM:            sysGetrandom,
		syscall.SYS_EVENTFD2:          sysEventfd2,
		syscall.SYS_EPOLL_CREATE1:     sysEpollCreate1,
		syscall.SYS_EPOLL_CTL:         sysEpollCtl,
		syscall.SYS_EPOLL_PWAIT:       sysEpollPwait,
		syscall.SYS_EPOLL_WAIT:        sysEpollPwait,
		syscall.SYS_EPOLL_CREATE:      sysEpollCreate,
	}
}

// syscall serves the system call in t's registers; false when the thread
// is done (it exited, or the process ended).
func (t *Thread) syscall() bool {
	r := &t.ctx.Regs
	switch r.RAX {
	case syscall.SYS_EXIT:
		t.exitThread(int(r.RDI & 0xFF))
		return false
	case syscall.SYS_EXIT_GROUP:
		t.p.end(Exit{Status: int(r.RDI & 0xFF)})
		return false
	}
	nr := r.RAX
	if nr >= nCalls || calls[nr] == nil {
		r.RAX = uint64(errno(syscall.ENOSYS))
		return true
	}
	h := calls[nr]
	r.RAX = uint64(h(t, r))
	t.restart = 0
	if int64(r.RAX) == errno(syscall.EINTR) && restartable(nr) {
		t.restart = nr + 1
	}
	return true
}

// restartable says whether Linux restarts system call nr when a signal
// whose handler has SA_RESTART interrupts it (its ERESTARTSYS calls):
// the reads and writes, opens, waits and socket calls that block. The
// others a signal interrupts fail with EINTR whatever the handler asks:
// the sleeps, poll, select and epoll (ERESTARTNOHAND and
// ERESTART_RESTARTBLOCK, which Linux restarts only when no handler ran:
// a signal that runs none never interrupts a call here).
func restartable(nr uint64) bool {
	switch nr {
	case syscall.SYS_READ, syscall.SYS_WRITE, syscall.SYS_READV, syscall.SYS_WRITEV,
		syscall.SYS_PREAD64, syscall.SYS_PWRITE64, syscall.SYS_OPENAT, syscall.SYS_WAIT4,
		syscall.SYS_ACCEPT, syscall.SYS_ACCEPT4, syscall.SYS_CONNECT, syscall.SYS_RECVFROM,
		syscall.SYS_SENDTO:
		return true
	}
	return false
}

func errno(e syscall.Errno) int64 { return -int64(e) }

// sysMmap maps anonymous memory; the descriptor of an anonymous mapping
// is ignored, as Linux ignores it.
func sysMmap(t *Thread, r *amd64.Frame) int64 {
	addr, length, prot, flags := r.RDI, r.RSI, int(int32(r.RDX)), int(int32(r.R10))
	if flags&unix.MAP_ANONYMOUS != 0 { // Linux ignores fd and offset then
		return t.p.space.Mmap(addr, length, prot, flags)
	}
	return mmapFile(t, addr, length, prot, r.R10, int(int32(r.R8)), r.R9)
}

func sysMunmap(t *Thread, r *amd64.Frame) int64 { return t.p.space.Munmap(r.RDI, r.RSI) }

func sysMprotect(t *Thread, r *amd64.Frame) int64 {
	return t.p.space.Mprotect(r.RDI, r.RSI, int(r.RDX)) // all 64 bits: Linux refuses any unknown one
}

// sysMincore is mincore(2): a byte per page of [addr, addr+length) at
// vec, 1 where the page is resident: mapped in the process's tables or,
// in a mapping of a file or shared memory, held by its object (Linux's
// page cache). EINVAL for addr not page-aligned, ENOMEM for a range
// that leaves the user half or meets an unmapped page, EFAULT for vec.
func sysMincore(t *Thread, r *amd64.Frame) int64 {
	addr, length, vec := r.RDI, r.RSI, r.RDX
	if addr%pageSize != 0 {
		return errno(syscall.EINVAL)
	}
	pages := (length + pageSize - 1) / pageSize
	end := addr + pages*pageSize
	if length > userMax || end < addr || end > userMax {
		return errno(syscall.ENOMEM)
	}
	if pages == 0 {
		return 0
	}
	if vec+pages < vec || vec+pages > userMax {
		return errno(syscall.EFAULT)
	}
	space := t.p.space
	entries := space.Entries()
	// A chunk at a time, as Linux copies it: a range may be all of the
	// user half.
	const chunk = 4096
	out := make([]byte, chunk)
	frames := make([]uint64, chunk)
	for va := addr; va < end; {
		i := slices.IndexFunc(entries, func(e MapEntry) bool { return uint64(e.Start) <= va && va < uint64(e.End) })
		if i < 0 {
			return errno(syscall.ENOMEM)
		}
		e := entries[i]
		n := min((uint64(e.End)-va)/pageSize, (end-va)/pageSize, chunk)
		part := out[:n]
		if !space.resident(va, part) {
			return errno(syscall.ENOMEM)
		}
		if e.Obj != 0 { // the object's pages count, mapped here or not
			vm.FilePages(e.Obj, e.Off+(va-uint64(e.Start))/pageSize, frames[:n])
			for k, f := range frames[:n] {
				if f != 0 {
					part[k] = 1
				}
			}
		}
		if space.CopyOut(vec+(va-addr)/pageSize, part) != nil {
			return errno(syscall.EFAULT)
		}
		va += n * pageSize
	}
	return 0
}

func sysMadvise(t *Thread, r *amd64.Frame) int64 {
	return t.p.space.Madvise(r.RDI, r.RSI, int(int32(r.RDX)))
}

// Linux constants x/sys does not export.
const (
	cloneSignal = 0xff // CSIGNAL: clone's exit signal
	saNoCldStop = 1    // SA_NOCLDSTOP: no SIGCHLD for a child's stop or continuation
	saNoCldWait = 2    // SA_NOCLDWAIT: children are reaped as they end
	ssDisable   = 2    // sigaltstack SS_DISABLE
	minSigStack = 2048 // MINSIGSTKSZ
	archSetFS   = 0x1002
	archGetFS   = 0x1003
	rlimNLimits = 16
)

// Signal state: handlers, masks and alternate stacks (delivery is in
// signal.go).

const (
	nSig          = 65 // signals 1-64
	sigactionSize = 32 // struct sigaction: handler, flags, restorer, mask
	sigsetSize    = 8
)

func sysRtSigaction(t *Thread, r *amd64.Frame) int64 {
	sig, act, oact := int(int32(r.RDI)), r.RSI, r.RDX
	if r.R10 != sigsetSize || sig < 1 || sig >= nSig || act != 0 && (sig == int(syscall.SIGKILL) || sig == int(syscall.SIGSTOP)) {
		return errno(syscall.EINVAL)
	}
	var in []byte
	if act != 0 {
		b, err := t.p.space.CopyIn(act, sigactionSize)
		if err != nil {
			return errno(syscall.EFAULT)
		}
		in = b
	}
	t.p.mu.Lock()
	old := t.p.actions[sig]
	if in != nil {
		copy(t.p.actions[sig][:], in)
	}
	t.p.mu.Unlock()
	if oact != 0 && t.p.space.CopyOut(oact, old[:]) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

func sysRtSigprocmask(t *Thread, r *amd64.Frame) int64 {
	how, set, oset := int(int32(r.RDI)), r.RSI, r.RDX
	if r.R10 != sigsetSize {
		return errno(syscall.EINVAL)
	}
	var in uint64
	if set != 0 {
		b, err := t.p.space.CopyIn(set, sigsetSize)
		if err != nil {
			return errno(syscall.EFAULT)
		}
		in = binary.LittleEndian.Uint64(b) &^ (1<<(syscall.SIGKILL-1) | 1<<(syscall.SIGSTOP-1))
		if how < unix.SIG_BLOCK || how > unix.SIG_SETMASK {
			return errno(syscall.EINVAL)
		}
	}
	t.p.mu.Lock()
	old := t.sigmask
	if set != 0 {
		switch how {
		case unix.SIG_BLOCK:
			t.sigmask |= in
		case unix.SIG_UNBLOCK:
			t.sigmask &^= in
		case unix.SIG_SETMASK:
			t.sigmask = in
		}
	}
	t.p.mu.Unlock()
	if oset != 0 && t.p.space.CopyOut(oset, binary.LittleEndian.AppendUint64(nil, old)) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

func sysSigaltstack(t *Thread, r *amd64.Frame) int64 {
	ss, oss := r.RDI, r.RSI
	var in []byte
	if ss != 0 {
		b, err := t.p.space.CopyIn(ss, uint64(len(t.alt)))
		if err != nil {
			return errno(syscall.EFAULT)
		}
		flags := binary.LittleEndian.Uint32(b[8:])
		if flags&^ssDisable != 0 {
			return errno(syscall.EINVAL)
		}
		if flags == 0 && binary.LittleEndian.Uint64(b[16:]) < minSigStack {
			return errno(syscall.ENOMEM)
		}
		in = b
	}
	t.p.mu.Lock()
	old := t.alt
	if in != nil {
		copy(t.alt[:], in)
	}
	t.p.mu.Unlock()
	if binary.LittleEndian.Uint64(old[16:]) == 0 {
		binary.LittleEndian.PutUint32(old[8:], ssDisable)
	}
	if oss != 0 && t.p.space.CopyOut(oss, old[:]) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

func sysArchPrctl(t *Thread, r *amd64.Frame) int64 {
	switch r.RDI {
	case archSetFS:
		if r.RSI >= userMax {
			return errno(syscall.EPERM)
		}
		t.ctx.FSBase = r.RSI
		return 0
	case archGetFS:
		if t.p.space.CopyOut(r.RSI, binary.LittleEndian.AppendUint64(nil, t.ctx.FSBase)) != nil {
			return errno(syscall.EFAULT)
		}
		return 0
	}
	return errno(syscall.EINVAL)
}

// sysPrctl knows PR_SET_NAME (accepted); naming a mapping (PR_SET_VMA,
// which Go makes after each mmap) is EINVAL, as on a Linux built without
// anonymous VMA names.
func sysPrctl(t *Thread, r *amd64.Frame) int64 {
	switch r.RDI {
	case unix.PR_SET_NAME:
		return 0
	case unix.PR_SET_KEEPCAPS: // kept, as every process is root with every capability
		if r.RSI > 1 {
			return errno(syscall.EINVAL)
		}
		t.p.mu.Lock()
		t.p.keepCaps = r.RSI == 1
		t.p.mu.Unlock()
		return 0
	case unix.PR_GET_KEEPCAPS:
		t.p.mu.Lock()
		defer t.p.mu.Unlock()
		if t.p.keepCaps {
			return 1
		}
		return 0
	}
	return errno(syscall.EINVAL)
}

// ngroupsMax is NGROUPS_MAX: the most supplementary groups a process has.
const ngroupsMax = 65536

// sysGetgroups is getgroups(2): the supplementary groups setgroups gave
// (none at first, as Linux's init has); size 0 asks how many.
func sysGetgroups(t *Thread, r *amd64.Frame) int64 {
	size := int(int32(r.RDI))
	t.p.mu.Lock()
	gs := t.p.groups
	t.p.mu.Unlock()
	switch {
	case size < 0:
		return errno(syscall.EINVAL)
	case size == 0:
		return int64(len(gs))
	case size < len(gs):
		return errno(syscall.EINVAL)
	}
	b := make([]byte, 0, 4*len(gs))
	for _, g := range gs {
		b = binary.LittleEndian.AppendUint32(b, g)
	}
	if t.p.space.CopyOut(r.RSI, b) != nil {
		return errno(syscall.EFAULT)
	}
	return int64(len(gs))
}

// sysSetgroups is setgroups(2): a privileged process (effective user ID
// 0) may give itself any groups; another gets EPERM.
func sysSetgroups(t *Thread, r *amd64.Frame) int64 {
	size := int(int32(r.RDI))
	if size < 0 || size > ngroupsMax {
		return errno(syscall.EINVAL)
	}
	if c := t.p.credsOf(); !c.privileged() {
		return errno(syscall.EPERM)
	}
	b, err := t.p.space.CopyIn(r.RSI, uint64(4*size))
	if err != nil {
		return errno(syscall.EFAULT)
	}
	gs := make([]uint32, size)
	for i := range gs {
		gs[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	t.p.mu.Lock()
	t.p.groups = gs
	t.p.mu.Unlock()
	return 0
}

func sysSchedGetaffinity(t *Thread, r *amd64.Frame) int64 {
	size, mask := uint32(r.RSI), r.RDX
	online := lwkt.OnlineMask()
	if size*8 < uint32(bits.Len64(online)) || size%8 != 0 {
		return errno(syscall.EINVAL)
	}
	if pid := int(int32(r.RDI)); pid != 0 && !t.p.hasThread(pid) {
		return errno(syscall.ESRCH)
	}
	if t.p.space.CopyOut(mask, binary.LittleEndian.AppendUint64(nil, online)) != nil {
		return errno(syscall.EFAULT)
	}
	return 8
}

func (p *Process) hasThread(tid int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.threads[tid]
	return ok
}

func sysClockGettime(t *Thread, r *amd64.Frame) int64 {
	var ts unix.Timespec
	switch clk := int32(r.RDI); clk {
	case unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID:
		// Time in ring 3 only: the kernel's time serving the calls is
		// not counted per process.
		c := t.ctx.Cycles.Load()
		if clk == unix.CLOCK_PROCESS_CPUTIME_ID {
			c = t.p.userCycles()
		}
		ts = unix.NsecToTimespec(int64(timer.CyclesToNs(c)))
	default:
		if err := unix.ClockGettime(clk, &ts); err != nil {
			return errno(err.(syscall.Errno))
		}
	}
	if t.p.space.CopyOut(r.RSI, timespecBytes(ts.Sec, ts.Nsec)) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// sysClockGetres: every clock clock_gettime serves counts nanoseconds
// (the coarse ones too), so its resolution is 1 ns; res may be NULL.
func sysClockGetres(t *Thread, r *amd64.Frame) int64 {
	switch int32(r.RDI) {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID,
		unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME:
	default:
		return errno(syscall.EINVAL)
	}
	if r.RSI != 0 && t.p.space.CopyOut(r.RSI, timespecBytes(0, 1)) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// sysGettimeofday: the wall clock in microseconds; the time zone, when
// asked for, is UTC without DST (Linux's default sys_tz).
func sysGettimeofday(t *Thread, r *amd64.Frame) int64 {
	if r.RDI != 0 {
		now := time.Now().UnixNano()
		if t.p.space.CopyOut(r.RDI, timespecBytes(now/1e9, now%1e9/1e3)) != nil {
			return errno(syscall.EFAULT)
		}
	}
	if r.RSI != 0 && t.p.space.CopyOut(r.RSI, make([]byte, 8)) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// sysTime returns the wall clock's seconds, stored at the argument too
// unless it is NULL.
func sysTime(t *Thread, r *amd64.Frame) int64 {
	sec := time.Now().Unix()
	if r.RDI != 0 && t.p.space.CopyOut(r.RDI, binary.LittleEndian.AppendUint64(nil, uint64(sec))) != nil {
		return errno(syscall.EFAULT)
	}
	return sec
}

func timespecBytes(sec, nsec int64) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(sec))
	return binary.LittleEndian.AppendUint64(b, uint64(nsec))
}

// readTimespec reads a struct timespec at va: EFAULT, or EINVAL when it
// is not a valid duration.
func (p *Process) readTimespec(va uint64) (time.Duration, syscall.Errno) {
	b, err := p.space.CopyIn(va, 16)
	if err != nil {
		return 0, syscall.EFAULT
	}
	return duration(b, 1e9)
}

// duration reads a struct timespec (unit 1e9: nanoseconds) or timeval
// (1e6: microseconds) from b's two 64-bit words, saturating at the
// largest duration: EINVAL, as Linux, for negative seconds or a fraction
// of a second out of range.
func duration(b []byte, unit int64) (time.Duration, syscall.Errno) {
	sec, frac := int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || frac < 0 || frac >= unit {
		return 0, syscall.EINVAL
	}
	if sec >= int64(1<<63-1)/1e9-1 {
		return 1<<63 - 1, 0
	}
	return time.Duration(sec)*time.Second + time.Duration(frac*(1e9/unit)), 0
}

// sysNanosleep sleeps; a signal or the thread's end interrupts it
// (EINTR, with the time left in rem).
func sysNanosleep(t *Thread, r *amd64.Frame) int64 {
	d, e := t.p.readTimespec(r.RDI)
	if e != 0 {
		return errno(e)
	}
	start := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return 0
	case <-t.cancelled():
		if rem := r.RSI; rem != 0 {
			left := max(d-time.Since(start), 0)
			t.p.space.CopyOut(rem, timespecBytes(int64(left/time.Second), int64(left%time.Second)))
		}
		return errno(syscall.EINTR)
	}
}

// sysTgkill and sysKill send a signal to the process itself or one of
// its threads (signal.go).
func sysTgkill(t *Thread, r *amd64.Frame) int64 {
	tgid, tid, sig := int(int32(r.RDI)), int(int32(r.RSI)), int(int32(r.RDX))
	if tgid <= 0 || tid <= 0 || sig < 0 || sig >= nSig {
		return errno(syscall.EINVAL)
	}
	if tgid != t.p.PID {
		return errno(syscall.ESRCH)
	}
	t.p.mu.Lock()
	to, ok := t.p.threads[tid]
	t.p.mu.Unlock()
	if !ok {
		return errno(syscall.ESRCH)
	}
	return t.p.signal(sig, to)
}

// sysKill is kill(2): sig to process pid, any live one (root may signal
// every process); 0 every process of the caller's group, -PGID of group
// PGID (ESRCH if it has none); -1 every process but the caller; sig 0
// only checks that the targets live. The siginfo says SI_USER, with the
// sender's PID and real UID.
func sysKill(t *Thread, r *amd64.Frame) int64 {
	pid, sig := int(int32(r.RDI)), int(int32(r.RSI))
	if sig < 0 || sig >= nSig {
		return errno(syscall.EINVAL)
	}
	info := t.p.userInfo()
	switch {
	case pid == t.p.PID:
		return t.p.send(sig, nil, nil, info)
	case pid == 0 || pid < -1:
		pgid := -pid
		if pid == 0 {
			_, pgid = t.p.session()
		}
		if signalGroup(pgid, sig, info) == 0 {
			return errno(syscall.ESRCH)
		}
		return 0
	case pid == -1:
		sent := false
		for _, p := range Procs() {
			if p != t.p {
				p.send(sig, nil, nil, info)
				sent = true
			}
		}
		if !sent {
			return errno(syscall.ESRCH)
		}
		return 0
	}
	p, ok := Find(pid)
	if !ok {
		return errno(syscall.ESRCH)
	}
	return p.send(sig, nil, nil, info)
}

// Resource limits: descriptors as the kernel's own program has them,
// Linux's default stack, everything else unlimited. A new limit is
// checked and accepted, not enforced.
func sysPrlimit64(t *Thread, r *amd64.Frame) int64 {
	pid, resource, newLim, oldLim := int(int32(r.RDI)), int(int32(r.RSI)), r.RDX, r.R10
	if pid != 0 && pid != t.p.PID {
		return errno(syscall.ESRCH)
	}
	if resource < 0 || resource >= rlimNLimits {
		return errno(syscall.EINVAL)
	}
	cur, max := uint64(unix.RLIM_INFINITY), uint64(unix.RLIM_INFINITY)
	switch resource {
	case unix.RLIMIT_NOFILE:
		cur, max = 1024, 4096
	case unix.RLIMIT_STACK:
		cur = StackSize
	}
	if newLim != 0 {
		b, err := t.p.space.CopyIn(newLim, 16)
		if err != nil {
			return errno(syscall.EFAULT)
		}
		if binary.LittleEndian.Uint64(b) > binary.LittleEndian.Uint64(b[8:]) {
			return errno(syscall.EINVAL)
		}
	}
	if oldLim != 0 && t.p.space.CopyOut(oldLim, timespecBytes(int64(cur), int64(max))) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

func sysUname(t *Thread, r *amd64.Frame) int64 {
	const field = 65
	var b [6 * field]byte
	for i, s := range []string{"Gofly", "gofly", "6.1.0-gofly", "#1", "x86_64"} {
		copy(b[i*field:], s)
	}
	if t.p.space.CopyOut(r.RDI, b[:]) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

func sysGetrandom(t *Thread, r *amd64.Frame) int64 {
	buf, n, flags := r.RDI, min(r.RSI, 32<<20), int(r.RDX) // Linux returns at most 32 MiB per call
	if buf+n < buf || buf+n > userMax {
		return errno(syscall.EFAULT)
	}
	var done uint64
	for done < n { // a chunk at a time: the kernel's buffer stays small
		b := make([]byte, min(n-done, copyChunk))
		got, err := unix.Getrandom(b, flags)
		if err != nil {
			if done > 0 {
				break
			}
			return errno(err.(syscall.Errno))
		}
		if t.p.space.CopyOut(buf+done, b[:got]) != nil {
			if done > 0 {
				break
			}
			return errno(syscall.EFAULT)
		}
		done += uint64(got)
		if got < len(b) {
			break
		}
	}
	return int64(done)
}

// sysClone makes a thread (CLONE_VM, CLONE_THREAD, CLONE_SIGHAND: what
// the Go runtime and pthreads ask for) or, without CLONE_VM, a process
// (fork; the low byte is the signal its end sends the parent, SIGCHLD
// as a rule), or with CLONE_VM|CLONE_VFORK a vfork. The
// child resumes at the same instruction with RAX 0, on newsp if given.
func sysClone(t *Thread, r *amd64.Frame) int64 {
	flags, newsp, ptid, ctid, tls := r.RDI, r.RSI, r.RDX, r.R10, r.R8
	if flags&unix.CLONE_SETTLS != 0 && tls >= userMax {
		return errno(syscall.EPERM)
	}
	const thread = unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND
	const unknownForFork = unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND | unix.CLONE_VFORK | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_SETTID | unix.CLONE_CHILD_CLEARTID | unix.CLONE_PIDFD
	exitSig := int(flags & cloneSignal)
	switch {
	case flags&unix.CLONE_THREAD == 0 && exitSig >= nSig:
		return errno(syscall.EINVAL)
	case flags&unix.CLONE_VM == 0 && flags&unknownForFork == 0:
		return t.fork(newsp, flags&unix.CLONE_SETTLS != 0, tls, false, exitSig)
	case flags&(unix.CLONE_VM|unix.CLONE_VFORK|unix.CLONE_THREAD) == unix.CLONE_VM|unix.CLONE_VFORK &&
		flags&(unknownForFork&^(unix.CLONE_VM|unix.CLONE_VFORK)) == 0:
		return t.fork(newsp, flags&unix.CLONE_SETTLS != 0, tls, true, exitSig)
	case flags&thread != thread:
		return errno(syscall.ENOSYS)
	}
	p := t.p
	c := &Thread{p: p, TID: int(nextID.Add(1)), ctx: newContext(p.space), quit: make(chan struct{}), stopped: make(chan struct{})}
	c.ctx.Regs = t.ctx.Regs
	c.ctx.Regs.RAX = 0
	if newsp != 0 {
		c.ctx.Regs.RSP = newsp
	}
	c.ctx.FSBase = t.ctx.FSBase
	if flags&unix.CLONE_SETTLS != 0 {
		c.ctx.FSBase = tls
	}
	*c.ctx.UserFPU() = *t.ctx.UserFPU()
	id := binary.LittleEndian.AppendUint32(nil, uint32(c.TID))
	if flags&unix.CLONE_PARENT_SETTID != 0 && p.space.CopyOut(ptid, id) != nil {
		return errno(syscall.EFAULT)
	}
	if flags&unix.CLONE_CHILD_SETTID != 0 && p.space.CopyOut(ctid, id) != nil {
		return errno(syscall.EFAULT)
	}
	if flags&unix.CLONE_CHILD_CLEARTID != 0 {
		c.clearTID = ctid
	}
	p.mu.Lock()
	if p.exit != nil {
		p.mu.Unlock()
		return errno(syscall.EINTR)
	}
	c.sigmask = t.sigmask
	p.threads[c.TID] = c
	p.wg.Add(1)
	p.mu.Unlock()
	go c.run()
	return int64(c.TID)
}
