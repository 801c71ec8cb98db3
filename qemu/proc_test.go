package qemu_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// probeCases are the probe program's cases (user/probe) and how each
// must end: Linux's outcome for the same binary.
var probeCases = []struct{ arg, want string }{
	{"", "hello from ring 3\nprobe: exit status 0"},
	{"k", "probe: killed by SIGSEGV (segmentation fault): #PF page fault at 0xffff800000100000 (read, protection), ip 0x"},
	{"l", "probe: killed by SIGSEGV (segmentation fault): #PF page fault at 0x200000 (read, not mapped), ip 0x"},
	{"n", "probe: killed by SIGSEGV (segmentation fault): #PF page fault at 0x0 (read, not mapped), ip 0x"},
	{"u", "probe: killed by SIGILL (illegal instruction): #UD invalid opcode, ip 0x"},
	{"d", "probe: killed by SIGFPE (floating point exception): #DE divide error, ip 0x"},
	{"p", "probe: killed by SIGSEGV (segmentation fault): #GP general protection, ip 0x"},
	{"c", "probe: killed by SIGSEGV (segmentation fault): #GP general protection, ip 0x"},
	{"i", "probe: killed by SIGSEGV (segmentation fault): #GP general protection, error 0x812, ip 0x"},
	{"j", "probe: killed by SIGSEGV (segmentation fault): #GP general protection, error 0x822, ip 0x"},
	{"b", "probe: killed by SIGTRAP (trace/breakpoint trap): #BP breakpoint, ip 0x"},
	{"w", "probe: exit status 14"}, // EFAULT
	{"z", "probe: exit status 14"},
	{"s", "probe: exit status 38"}, // ENOSYS
	{"x", "probe: exit status 42"},
	{"F", "probe: exit status 7"},                           // fork, the child's status through wait4
	{"C", "probe: exit status 42"},                          // copy-on-write: the child's write is its own
	{"S", "probe: exit status 42"},                          // shared memory: the child's write is the parent's too
	{"U", "probe: exit status 0"},                           // mmap, faults, mprotect, munmap: 1000 rounds
	{"X", "probe: exit status 42"},                          // execve of /probe x
	{"e", "probe: exit status 2"},                           // execve of a missing file: ENOENT
	{"T", "pending\nprobe: killed by SIGTERM (terminated)"}, // a blocked signal waits for its unblock
	{"K", "probe: exit status 42"},                          // kill's siginfo: SI_USER and the sender's PID
	// Bad actors: memory until it runs out (the kernel keeps its reserve
	// and kills the process as Linux's OOM killer does); a fork bomb.
	{"m", "probe: killed by SIGKILL (killed): out of memory: no frame for its page at 0x"},
}

// memFrames is what `mem` reports of the frames: free, held by the
// kernel's own address space (page tables, resident pages), kept by the
// PV bookkeeping (its slab and page-list heads, which stay once made),
// and stocked for faults without the MP lock.
var memFrames = regexp.MustCompile(`pages: \d+ total \([^)]*\), (\d+) free[^\n]*\npmap: (\d+) page-table pages, (\d+) resident[^\n]*\npv: \d+ entries in use[^,]*, (\d+) frames kept for them; (\d+) frames stocked`)

// notUser returns the frames that are free, the kernel program's own or
// the PV bookkeeping's: every frame but those of user address spaces (and
// the fixed boot-time ones), so it is the same whenever no process runs,
// however much the kernel's Go heap has grown meanwhile.
func notUser(t *testing.T, m *Machine) int {
	t.Helper()
	f := wantMatch(t, "mem", m.Run(t, "mem"), memFrames)
	if f == nil {
		return 0
	}
	n := 0
	for _, s := range f[1:] {
		v, _ := strconv.Atoi(s)
		n += v
	}
	return n
}

// TestRing3 runs the probe in ring 3 at 1, 2 and 4 CPUs, and at 2 with
// SMEP and SMAP on: a hello, and
// every bad action (kernel addresses read directly and passed to write,
// privileged instructions, the kernel's private vector, faults), each
// ending as on Linux while the kernel goes on answering. Every frame of
// every address space goes back to mm: the frames that are free or the
// kernel's own are as many after all the runs as before.
func TestRing3(t *testing.T) {
	probe := userProgram(t, "GOFLY_USER_PROBE", "probe")
	hello := userProgram(t, "GOFLY_USER_HELLO", "hello")
	gcstress := userProgram(t, "GOFLY_USER_GCSTRESS", "gcstress")
	spawn := userProgram(t, "GOFLY_USER_SPAWN", "spawn")
	fuzz := userProgram(t, "GOFLY_USER_FUZZ", "fuzz")
	sigtest := userProgram(t, "GOFLY_USER_SIGTEST", "sigtest")
	memtest := userProgram(t, "GOFLY_USER_MEMTEST", "memtest")
	faultbench := userProgram(t, "GOFLY_USER_FAULTBENCH", "faultbench")
	filetest := userProgram(t, "GOFLY_USER_FILETEST", "filetest")
	pipetest := userProgram(t, "GOFLY_USER_PIPETEST", "pipetest")
	ttytest := userProgram(t, "GOFLY_USER_TTYTEST", "ttytest")
	nettest := userProgram(t, "GOFLY_USER_NETTEST", "nettest")
	clocktest := userProgram(t, "GOFLY_USER_CLOCKTEST", "clocktest")
	timertest := userProgram(t, "GOFLY_USER_TIMERTEST", "timertest")
	for _, c := range []struct {
		smp int
		cpu string // QEMU's -cpu: max has SMEP and SMAP, which the kernel turns on
	}{{1, ""}, {2, ""}, {4, ""}, {2, "max"}} {
		name := fmt.Sprintf("smp-%d", c.smp)
		args := []string{"-initrd", strings.Join([]string{probe, hello, gcstress, spawn, fuzz, sigtest, memtest, faultbench, filetest, pipetest, ttytest, nettest, clocktest, timertest}, ",")}
		if c.cpu != "" {
			name += "-cpu-" + c.cpu
			args = append(args, "-cpu", c.cpu)
		}
		smp := c.smp
		t.Run(name, func(t *testing.T) {
			RequireQEMU(t)
			m := Boot(t, Options{SMP: smp, Mem: "256M", QEMUArgs: args}) // room for the modules twice: as loaded and in the tree
			if c.cpu == "max" {
				wantContains(t, "cpuinfo", m.Run(t, "cpuinfo"), "SMEP true; SMAP true")
			}
			before := notUser(t, m)
			for _, c := range probeCases {
				line := "run probe " + c.arg
				wantContains(t, line, m.Run(t, line), c.want)
			}
			// A Go program: the runtime's threads, futexes, mmap'd heap
			// filled on demand, signal bookkeeping.
			wantContains(t, "run hello", m.Run(t, "run hello"), "hello from ring 3\nhello: exit status 0")
			// Threads on every CPU allocating while the collector runs,
			// timers through the netpoller (epoll, eventfd).
			wantMatch(t, "run gcstress", m.Run(t, "run gcstress"), regexp.MustCompile(
				fmt.Sprintf(`gcstress: %d workers x 100 rounds, [1-9]\d* GC cycles, 0 bad sums, .*\ngcstress: exit status 0`, 2*smp)))
			// Go's os/exec: vfork, execve, the close-on-exec error
			// pipe, output through a pipe and the netpoller, wait4.
			wantContains(t, "run spawn", m.Run(t, "run spawn"), "spawn: /probe x exits 42: ok\n"+
				"spawn: /hello's output through a pipe: ok\nhello from ring 3\nspawn: /hello on our stdout: ok\n"+
				"spawn: /nothing does not exist: ok\nspawn: ./hello from its directory: ok\n"+
				"spawn: a child given uid 1000, gid 1001 and group 1002 has them, real, effective and saved; setuid(0) and setgroups are EPERM for it: ok\n"+
				"spawn: this process is still root: ok\nspawn: exit status 0")
			// Signals: a nil dereference's SIGSEGV becomes a recovered
			// panic; a signal reaches os/signal; an ignored one does
			// nothing; kill reaches another process; with SIGCHLD
			// ignored the kernel reaps an ended child.
			wantContains(t, "run sigtest", m.Run(t, "run sigtest"), "sigtest: nil dereference recovered: ok\n"+
				"sigtest: SIGUSR1 reaches os/signal: ok\nsigtest: an ignored SIGUSR2 does nothing: ok\n"+
				"sigtest: kill reaches another process: ok\nsigtest: the child's end sends its parent SIGCHLD: ok\n"+
				"sigtest: kill of a process gone is ESRCH: ok\n"+
				"sigtest: SIGSTOP stops a process: wait4 with WUNTRACED reports it: ok\n"+
				"sigtest: a stopped process runs no code: nothing written in 200 ms: ok\n"+
				"sigtest: SIGCONT continues it: wait4 with WCONTINUED reports it, and it writes again: ok\n"+
				"sigtest: SIGKILL ends a stopped process: ok\n"+
				"sigtest: with SIGCHLD ignored, an ended child is reaped by the kernel: wait4 is ECHILD: ok\nsigtest: exit status 0")
			// mprotect: pages and contents kept, refused accesses fault
			// at their addresses, EFAULT from a PROT_NONE buffer, Linux's
			// errors, another thread's access gone when the call returns.
			wantMatch(t, "run memtest", m.Run(t, "run memtest"), regexp.MustCompile(`(memtest: [^\n]*: ok\n){21}memtest: exit status 0`))
			wantMatch(t, "run filetest", m.Run(t, "run filetest"), regexp.MustCompile(`(filetest: [^\n]*: ok\n){100}filetest: exit status 0`))
			// Pipes: 100 MiB through large writes whose pages are lent
			// copy-on-write while the writer rewrites its buffer, odd
			// sizes and offsets, another process, PIPE_BUF atomicity,
			// shared memory and PROT_NONE sources, EPIPE; the lent pages
			// come back (the frame count below).
			wantMatch(t, "run pipetest", m.Run(t, "run pipetest"), regexp.MustCompile(`pipetest: 100 MiB in 1 MiB writes[^\n]*: ok\n(pipetest: [^\n]*: ok\n){6}pipetest: exit status 0`))
			// Its writers lent pages, the one that rewrites its buffer
			// broke loans, and its pipe then copied instead (proc/pipe.go,
			// noLend): more pages than it broke.
			if f := wantMatch(t, "mem after pipetest", m.Run(t, "mem"), regexp.MustCompile(`pipes: (\d+) pages lent by large writes, (\d+) of them [^;]*; (\d+) pages copied after such a loan`)); f != nil {
				lent, _ := strconv.Atoi(f[1])
				broken, _ := strconv.Atoi(f[2])
				held, _ := strconv.Atoi(f[3])
				if lent == 0 || broken == 0 || held <= broken {
					t.Errorf("after pipetest: %d pages lent, %d broken, %d copied after a broken loan; want loans, broken ones, and more copied than broken", lent, broken, held)
				}
			}
			// The console as a terminal (termios, raw reads, the window
			// size and SIGWINCH), sessions and process groups, poll and
			// select, FIONBIO: each check also passes under Linux on a
			// pseudo-terminal (its host test).
			wantMatch(t, "run ttytest", m.Run(t, "run ttytest"), regexp.MustCompile(`^(ttytest: [^\n]*: ok\n){43}ttytest: exit status 0\n$`))
			// Sockets: TCP over the loopback through Go's net and
			// net/http, AF_UNIX socketpair, AF_UNIX listeners at paths
			// and abstract names, UDP and AF_UNIX datagrams (also under
			// Linux, its host test).
			wantMatch(t, "run nettest", m.Run(t, "run nettest"), regexp.MustCompile(`^(nettest: [^\n]*: ok\n){38}nettest: exit status 0\n$`))
			// The vDSO: found by Go's runtime, each function agreeing
			// with the system calls, a write to it private (also under
			// Linux, its host test; Gofly allows the mprotect).
			wantMatch(t, "run clocktest", m.Run(t, "run clocktest"), regexp.MustCompile(`^(clocktest: [^\n]*: ok\n){18}clocktest: \(the vDSO was made writable and written\)\n(clocktest: [^\n]*: ok\n){1}clocktest: exit status 0\n$`))
			// Interval timers: setitimer's three, alarm, POSIX timers on
			// real and CPU clocks, Go's CPU profiler collecting samples,
			// Linux's errors (also under Linux, its host test).
			wantMatch(t, "run timertest", m.Run(t, "run timertest"), regexp.MustCompile(`^(timertest: [^\n]*: ok\n){36}timertest: exit status 0\n$`))
			// The way out of a program Ctrl-C cannot end (ISIG off,
			// SIGINT ignored): three Ctrl-Cs within a second.
			m.Send(t, "run ttytest stuck\r")
			m.Expect(t, "\nstuck") // its line, not the echo of the command
			m.Send(t, "\x03\x03\x03")
			wantContains(t, "the way out", m.Expect(t, "\n"+Prompt), "ttytest: killed by SIGKILL")
			// Processes faulting side by side (os/exec of the probe's
			// P case, one and two at once); make bench measures it.
			wantMatch(t, "run faultbench", m.Run(t, "run faultbench -rounds 1"),
				regexp.MustCompile(`faultbench: one process [1-9]\d* faults/s, two at once [1-9]\d* faults/s, .*\nfaultbench: exit status 0`))
			// Random system calls with random arguments (a seed per
			// boot), then memory calls in the fuzzer's own region:
			// every one returns.
			seed := fmt.Sprint(smp)
			wantMatch(t, "run fuzz", m.Run(t, "run fuzz "+seed), regexp.MustCompile(`fuzz: seed `+seed+`: 20000 calls returned: .*\nfuzz: 5000 memory calls in its own region returned: .*\nfuzz: exit status 0`))
			// A fork bomb: it ends (its first process with status 0, or
			// EAGAIN's 11 if a fork met the process limit), and so do all
			// its orphans.
			wantMatch(t, "run probe B", m.Run(t, "run probe B"), regexp.MustCompile(`probe: exit status (0|11)\n`))
			waitNoProcs(t, m)
			if after := notUser(t, m); after != before {
				t.Errorf("%d frames free or the kernel's after every case, %d before: address spaces leak", after, before)
			}
			// Console input: a line typed to a foreground program
			// (echoed, backspace erasing), then end of file (Ctrl-D).
			m.Send(t, "run probe r\r")
			m.Expect(t, "ready")
			m.Send(t, "hellx\x7fo tty\r")
			wantContains(t, "a line read", m.Expect(t, "\n"+Prompt), "hello tty\nprobe: exit status 10")
			m.Send(t, "run probe r\r")
			m.Expect(t, "ready")
			m.Send(t, "\x04")
			wantContains(t, "end of file", m.Expect(t, "\n"+Prompt), "probe: exit status 0")
			// A program that never stops: Ctrl-C kills it with SIGINT
			// and, as Linux's terminal does, discards the line typed
			// meanwhile (echoed, then ^C).
			m.Send(t, "run probe f\r")
			m.Expect(t, "spinning")
			m.Send(t, "echo typed ahead")
			m.Send(t, "\x03")
			wantContains(t, "Ctrl-C", m.Expect(t, "\n"+Prompt), "echo typed ahead^Cprobe: killed by SIGINT (interrupt)")
			wantMatch(t, "the line typed is gone", m.Type(t, "\r"), regexp.MustCompile(`^\n$`))
			// A line typed ahead, unread when the program ends, is the
			// shell's.
			m.Send(t, "run probe s\r")
			m.Send(t, "echo typed ahead\r")
			out := m.Expect(t, "\n"+Prompt)
			out += m.Expect(t, "\n"+Prompt)
			wantContains(t, "typed ahead", out, "probe: exit status 38\n"+Prompt+"echo typed ahead\ntyped ahead\n")
			testProcs(t, m)
			wantContains(t, "run /probe", m.Run(t, "run /probe"), "probe: exit status 0")
			wantContains(t, "run nothing", m.Run(t, "run nothing"), "run: lookup nothing: no such file or directory")
			wantContains(t, "run", m.Run(t, "run"), "run: usage: run PATH [ARG...] [&]")
			wantContains(t, "echo", m.Run(t, "echo still here"), "still here")
			m.Poweroff(t)
		})
	}
}

// waitNoProcs polls procs until no process is left (StepTimeout).
func waitNoProcs(t *testing.T, m *Machine) {
	t.Helper()
	deadline := time.Now().Add(StepTimeout)
	for {
		out := m.Run(t, "procs")
		if strings.Count(out, "\n") <= 1 { // the header alone
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left after %v:\n%s", StepTimeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// syncConsole types a marker command and reads up to the prompt after
// its output: everything printed before it is consumed, whichever order
// a background program's output and the prompts came in.
func syncConsole(t *testing.T, m *Machine) {
	t.Helper()
	m.Send(t, "echo sync-marker\r")
	m.Expect(t, "sync-marker") // the echo of the line
	m.Expect(t, "sync-marker") // the output
	m.Expect(t, Prompt)
}

// testProcs runs the probe's spinning case in the background and checks
// procs, vm and pmap on it, then kill, and the commands' errors.
func testProcs(t *testing.T, m *Machine) {
	// The program's output and the shell's prompt race: wait for
	// both, then for the output of a marker command, which follows
	// everything typed before it.
	m.Send(t, "run probe f &\r")
	f := wantMatch(t, "run probe f &", m.Expect(t, "spinning"), regexp.MustCompile(`\[(\d+)\] probe`))
	if f == nil {
		return
	}
	pid := f[1]
	syncConsole(t, m)
	wantMatch(t, "procs", m.Run(t, "procs"), regexp.MustCompile(`(?m)^ +`+pid+` +1 running +1 +\d+ +\d+ +[0-9.]+[mµ]?s +[0-9.]+[mµ]?s  probe$`))
	// The probe's text at 0x400000, read-only executable, the file's
	// object's pages from the first, resident (it runs); its 8 MiB stack
	// entry below the top of the user half.
	vmOut := m.Run(t, "vm "+pid)
	wantMatch(t, "vm", vmOut, regexp.MustCompile(`process `+pid+` \(probe\): \d+ map entries\n.*\n0x00000000400000-0x[0-9a-f]+ r-x  obj\d+\+0,private +(\d+) +[1-9]\d*\n(?s:.*)0x007fffff7ff000-0x007ffffffff000 rw-  anon +2048 +[1-9]\d*\n`))
	objects := len(regexp.MustCompile(`(?m)^0x[0-9a-f-x]+ [-rwx]{3}  obj`).FindAllString(vmOut, -1))
	// The loader's mmaps of its bss and stack, and its one write(2)
	// copying its message in (a page the probe has read first), all ran
	// under the map's lock alone; those of objects (the executable's
	// file pages, the vDSO) took the MP lock.
	if c := wantMatch(t, "pmap", m.Run(t, "pmap "+pid), regexp.MustCompile(`process `+pid+` \(probe\): [1-9]\d* pages mapped \(\d+ KiB\) by [1-9]\d* page-table pages and the root.*\nmemory calls ([1-9]\d*) \((\d+) without the MP lock\), user copies 1 \(1 without it\)`)); c != nil {
		if calls, alone := mustAtoi(t, c[1]), mustAtoi(t, c[2]); objects < 3 || alone != calls-objects {
			t.Errorf("pmap: %d memory calls, %d of them without the MP lock; want all but the %d of objects", calls, alone, objects)
		}
	}
	// Stopped and continued: procs shows it.
	m.Run(t, "kill STOP "+pid)
	wantMatch(t, "procs of a stopped process", m.Run(t, "procs"), regexp.MustCompile(`(?m)^ +`+pid+` +1 stopped +1 `))
	m.Run(t, "kill CONT "+pid)
	wantMatch(t, "procs of a continued process", m.Run(t, "procs"), regexp.MustCompile(`(?m)^ +`+pid+` +1 running +1 `))
	m.Send(t, "kill "+pid+"\r")
	m.Expect(t, "["+pid+"] probe: killed by SIGTERM (terminated)")
	syncConsole(t, m)
	if out := m.Run(t, "procs"); strings.Contains(out, "probe") {
		t.Errorf("procs after kill still lists the probe:\n%s", out)
	}
	for line, want := range map[string]string{
		"vm 99999":    "vm: no process 99999",
		"vm x":        `vm: "x" is not a process ID`,
		"pmap":        "pmap: usage: pmap PID",
		"kill FOO 2":  `kill: unknown signal "FOO"`,
		"kill -1":     `kill: "-1" is not a process ID`,
		"procs extra": `procs: takes no arguments`,
	} {
		wantContains(t, line, m.Run(t, line), want)
	}
}

// mustAtoi is strconv.Atoi of a number a pattern matched.
func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
