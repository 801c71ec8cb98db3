// Command fuzz makes system calls with numbers and arguments picked at
// random (a fixed seed, or the first argument), to show that no argument
// stops the kernel: every call must return, with a result or an errno.
// Calls that would end, block or unmap the fuzzer itself are left out
// (the list below); memory calls then get a phase of their own, confined
// to the fuzzer's scratch region (memoryCalls). It prints a summary of
// each and exits 0.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
)

// skipped are the calls the fuzzer never makes: they end the process,
// block it, change its memory, descriptors or thread state under the Go
// runtime, or print to the console.
var skipped = map[uintptr]bool{
	syscall.SYS_EXIT: true, syscall.SYS_EXIT_GROUP: true, syscall.SYS_KILL: true, syscall.SYS_TGKILL: true,
	syscall.SYS_TKILL: true, syscall.SYS_MUNMAP: true, syscall.SYS_MMAP: true, syscall.SYS_MREMAP: true,
	syscall.SYS_MADVISE: true, syscall.SYS_MPROTECT: true, syscall.SYS_BRK: true, syscall.SYS_ARCH_PRCTL: true,
	syscall.SYS_CLOSE: true, syscall.SYS_DUP2: true, syscall.SYS_DUP3: true, 436: true, // close_range
	syscall.SYS_WRITE: true, syscall.SYS_WRITEV: true, syscall.SYS_PWRITE64: true, syscall.SYS_PWRITEV: true,
	syscall.SYS_READ: true, syscall.SYS_READV: true, syscall.SYS_PREAD64: true, syscall.SYS_PREADV: true,
	syscall.SYS_FUTEX: true, syscall.SYS_NANOSLEEP: true, syscall.SYS_CLOCK_NANOSLEEP: true,
	syscall.SYS_EPOLL_WAIT: true, syscall.SYS_EPOLL_PWAIT: true, 441: true, // epoll_pwait2
	syscall.SYS_WAIT4: true, syscall.SYS_WAITID: true, syscall.SYS_CLONE: true, 435: true, // clone3
	syscall.SYS_FORK: true, syscall.SYS_VFORK: true, syscall.SYS_EXECVE: true, 322: true, // execveat
	syscall.SYS_PAUSE: true, syscall.SYS_RT_SIGSUSPEND: true, syscall.SYS_RT_SIGTIMEDWAIT: true,
	syscall.SYS_SELECT: true, syscall.SYS_PSELECT6: true, syscall.SYS_POLL: true, syscall.SYS_PPOLL: true,
	syscall.SYS_RT_SIGRETURN: true, syscall.SYS_RT_SIGPROCMASK: true, syscall.SYS_RT_SIGACTION: true,
	syscall.SYS_SIGALTSTACK: true, syscall.SYS_SETITIMER: true, syscall.SYS_ALARM: true,
	syscall.SYS_TIMER_CREATE: true, syscall.SYS_SET_TID_ADDRESS: true, 334: true, // rseq
	335:                           true, // uretprobe: SIGILL outside a uretprobe trampoline
	syscall.SYS_SCHED_SETAFFINITY: true, syscall.SYS_SHUTDOWN: true, syscall.SYS_EPOLL_CTL: true,
	syscall.SYS_SETRLIMIT: true, syscall.SYS_PRLIMIT64: true, syscall.SYS_PRCTL: true,
	syscall.SYS_SYNC: true, syscall.SYS_REBOOT: true, syscall.SYS_ACCEPT: true, syscall.SYS_ACCEPT4: true,
	syscall.SYS_SENDFILE: true, syscall.SYS_SPLICE: true, syscall.SYS_TEE: true, syscall.SYS_VMSPLICE: true,
	syscall.SYS_MSGRCV: true, syscall.SYS_SEMOP: true, syscall.SYS_SEMTIMEDOP: true, syscall.SYS_FLOCK: true,
	syscall.SYS_FCNTL: true, syscall.SYS_IOCTL: true, syscall.SYS_IO_GETEVENTS: true, syscall.SYS_MQ_TIMEDRECEIVE: true,
}

func main() {
	seed, calls := uint64(1), 20000
	if len(os.Args) > 1 {
		if n, err := strconv.ParseUint(os.Args[1], 10, 64); err == nil {
			seed = n
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	// The pointers that are valid point into a scratch region with an
	// inaccessible guard after it, so a call that writes past what the
	// fuzzer meant stops there instead of in the fuzzer's own memory.
	const scratch = 1 << 20
	// Far from where the runtime maps its own memory (MAP_FIXED_NOREPLACE):
	// the memory calls below punch holes in the region, and a mapping the
	// runtime made in one would otherwise be theirs to drop.
	const farAway = 0x7d00_0000_0000
	valid, _, e := syscall.Syscall6(syscall.SYS_MMAP, farAway, 2*scratch, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|0x100000, ^uintptr(0), 0)
	if e != 0 || valid != farAway {
		fmt.Println("fuzz: mmap:", e)
		os.Exit(1)
	}
	if _, _, e := syscall.Syscall6(syscall.SYS_MMAP, valid+scratch, scratch, syscall.PROT_NONE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_FIXED, ^uintptr(0), 0); e != 0 {
		fmt.Println("fuzz: guard:", e)
		os.Exit(1)
	}
	arg := func() uintptr {
		switch r.IntN(8) {
		case 0:
			return 0
		case 1:
			return ^uintptr(0)
		case 2:
			return uintptr(r.IntN(4096))
		case 3:
			return valid + uintptr(r.IntN(scratch))
		case 4:
			return 0xFFFF_8000_0000_0000 + uintptr(r.IntN(1<<30)) // the kernel's alias
		case 5:
			return 0x20_0000 + uintptr(r.IntN(1<<20)) // the kernel's image, in its own space
		case 6:
			return uintptr(1) << r.IntN(64)
		}
		return uintptr(r.Uint64())
	}
	errnos := map[syscall.Errno]int{}
	ok, made := 0, 0
	for made < calls {
		nr := uintptr(r.IntN(460))
		if skipped[nr] {
			continue
		}
		made++
		_, _, e := syscall.Syscall6(nr, arg(), arg(), arg(), arg(), arg(), arg())
		if e == 0 {
			ok++
		} else {
			errnos[e]++
		}
	}
	fmt.Printf("fuzz: seed %d: %d calls returned: %d succeeded, %d ENOSYS, %d other errnos (%d kinds)\n",
		seed, made, ok, errnos[syscall.ENOSYS], made-ok-errnos[syscall.ENOSYS], len(errnos)-1)
	memoryCalls(r, valid, 2*scratch)
}

// memCalls is how many memory calls memoryCalls makes.
const memCalls = 5000

// memoryCalls makes mmap (MAP_FIXED or MAP_FIXED_NOREPLACE, private or
// shared), munmap, mprotect and madvise calls with random arguments
// inside the fuzzer's own region [base, base+size), which nothing else
// uses (the calls above only hand its addresses to the kernel): empty,
// unaligned, overlapping and past-the-end ranges, unknown protections,
// flags and advice. Every call must return; the region's pages are
// touched in between by write(2) from them, which must give a result or
// EFAULT.
func memoryCalls(r *rand.Rand, base, size uintptr) {
	const page = 4096
	addr := func() uintptr {
		a := base + uintptr(r.IntN(int(size/page)))*page
		if r.IntN(10) == 0 {
			a += uintptr(1 + r.IntN(page-1)) // unaligned
		}
		return a
	}
	length := func() uintptr {
		switch r.IntN(10) {
		case 0:
			return 0
		case 1:
			return uintptr(1 + r.IntN(page-1))
		}
		return uintptr(1+r.IntN(64)) * page
	}
	// The region's end is clamped: nothing past it is the fuzzer's to change.
	clamp := func(a, n uintptr) uintptr { return min(n, base+size-min(a, base+size)) }
	prots := []uintptr{0, 1, 2, 3, 4, 5, 7, 8, 0x10, 0x01000000, 0x02000000, 0x03000000}
	advice := []uintptr{0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 23, 25, 5, 6, 7, 26, 100, 101}
	null, _ := syscall.Open("/dev/null", syscall.O_WRONLY, 0)
	errnos := map[syscall.Errno]int{}
	ok := 0
	for range memCalls {
		a := addr()
		n := clamp(a, length())
		var e syscall.Errno
		switch r.IntN(5) {
		case 0:
			flags := uintptr(syscall.MAP_ANON | syscall.MAP_FIXED)
			if r.IntN(3) == 0 {
				flags = syscall.MAP_ANON | 0x100000 // MAP_FIXED_NOREPLACE
			}
			if r.IntN(3) == 0 {
				flags |= syscall.MAP_SHARED
			} else {
				flags |= syscall.MAP_PRIVATE
			}
			if n == 0 {
				n = page // mmap of nothing is EINVAL; map something
			}
			_, _, e = syscall.Syscall6(syscall.SYS_MMAP, a&^(page-1), n, prots[r.IntN(len(prots))]&7, flags, ^uintptr(0), 0)
		case 1:
			_, _, e = syscall.Syscall(syscall.SYS_MUNMAP, a, n, 0)
		case 2:
			_, _, e = syscall.Syscall(syscall.SYS_MPROTECT, a, n, prots[r.IntN(len(prots))])
		case 3:
			_, _, e = syscall.Syscall(syscall.SYS_MADVISE, a, n, advice[r.IntN(len(advice))])
		default: // the kernel reads the region: a result or EFAULT
			_, _, e = syscall.Syscall(syscall.SYS_WRITE, uintptr(null), a, min(n, 3*page))
		}
		if e == 0 {
			ok++
		} else {
			errnos[e]++
		}
	}
	fmt.Printf("fuzz: %d memory calls in its own region returned: %d succeeded, %d errnos (%d kinds)\n",
		memCalls, ok, memCalls-ok, len(errnos))
}
