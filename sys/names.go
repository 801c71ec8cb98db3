package sys

// Names maps the system calls served here to their Linux names.
var Names = map[int]string{
	sysRead: "read", sysWrite: "write", sysClose: "close", sysMmap: "mmap",
	sysMunmap: "munmap", sysRtSigaction: "rt_sigaction", sysRtSigprocmask: "rt_sigprocmask",
	sysRtSigreturn: "rt_sigreturn", sysSchedYield: "sched_yield", sysMadvise: "madvise",
	sysNanosleep: "nanosleep", sysGetpid: "getpid", sysClone: "clone", sysExit: "exit",
	sysUname: "uname", sysFcntl: "fcntl", sysGetuid: "getuid", sysGetgid: "getgid",
	sysGeteuid: "geteuid", sysGetegid: "getegid", sysGetppid: "getppid",
	sysSigaltstack: "sigaltstack", sysPrctl: "prctl", sysArchPrctl: "arch_prctl",
	sysGettid: "gettid", sysFutex: "futex", sysSchedGetaffinity: "sched_getaffinity",
	sysClockGettime: "clock_gettime", sysExitGroup: "exit_group", sysEpollCtl: "epoll_ctl",
	sysTgkill: "tgkill", sysOpenat: "openat", sysEpollPwait: "epoll_pwait",
	sysEventfd2: "eventfd2", sysEpollCreate1: "epoll_create1", sysPrlimit64: "prlimit64",
	sysGetrandom: "getrandom",
}

// LastUnknown returns the number of the most recent unknown system call.
func LastUnknown() uint64 { return lastBad }
