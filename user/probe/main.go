// Command probe is a ring-3 test program that needs no runtime: its ELF
// entry is start (probe_amd64.s; built with -ldflags=-E=main.start), a
// few instructions that do one thing, chosen by the first letter of
// argv[1], and exit through exit_group. Gofly's boot tests run it to check
// what a process may and may not do; each case has Linux's outcome:
//
//	(none)  write "hello from ring 3" to stdout, exit 0
//	k       read the kernel's alias of physical memory: SIGSEGV
//	l       read a kernel-image address (only the kernel maps it): SIGSEGV
//	n       read address 0: SIGSEGV
//	u       ud2: SIGILL
//	d       divide by zero: SIGFPE
//	p       inb from a port (IOPL 1 is not enough in ring 3): SIGSEGV
//	c       cli: SIGSEGV
//	i       int $0x81, the kernel's private vector: SIGSEGV
//	j       int $0x82, its other private vector (no MP lock): SIGSEGV
//	b       int3, a breakpoint (its gate is open to ring 3): SIGTRAP
//	w       write(1, a kernel address, 16): exit with the errno (EFAULT, 14)
//	z       write(1, NULL, 16): exit with the errno (14)
//	s       an unknown system call (499): exit with the errno (ENOSYS, 38)
//	x       exit_group(42)
//	f       print "spinning", then spin forever (until killed)
//	F       fork; the child exits 7, the parent waits and exits with its status
//	C       fork; the child writes 42 to a data word and exits with it; the
//	        parent waits and exits with that plus its own word (0: 42)
//	S       mmap a MAP_SHARED|MAP_ANONYMOUS page, fork; the child writes 42
//	        there and exits 0; the parent waits and exits with what it
//	        reads there (42)
//	X       execve("/probe", {"/probe", "x"}): the new image exits 42
//	e       execve("/nothing"): exit with the errno (ENOENT, 2)
//	L       100 times: fork, the child exits, wait (the fork+exit bench)
//	M       100 times: fork, the child execs "/probe x", wait (fork+exec+wait)
//	m       mmap 1 GiB and write every page: out of memory, SIGKILL (where
//	        memory is smaller, as Linux's OOM killer does)
//	r       print "ready", read a line from stdin, write it back, exit with
//	        its length (0 at end of file)
//	P       mmap 8 MiB and write each page once: 2048 page faults (bench)
//	U       1000 times: mmap 64 KiB, write 4 pages, mprotect it read-only,
//	        munmap it (the memory-call bench); exit 0, or with the errno
//	T       block SIGTERM, send it to itself, print "pending", unblock it:
//	        its default action ends the process then (exit 4 if not)
//	K       handle SIGUSR1 with SA_SIGINFO, kill itself with it: exit 42 if
//	        the handler saw si_code SI_USER and its own PID in si_pid
//	R       block in read(2) on a pipe; a child sends SIGUSR1, whose
//	        handler has SA_RESTART, then writes a byte: the read goes on
//	        and gets it (exit 42)
//	I       the same without SA_RESTART: the read fails with EINTR (43)
//	B       a fork bomb: fork 8 times, every child too; a failed fork (at
//	        the process limit: EAGAIN, 11) ends the process with the errno
//
// main never runs.
package main

func start()

func main() { start() }
