package qemu_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
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
	{"w", "probe: exit status 14"}, // EFAULT
	{"z", "probe: exit status 14"},
	{"s", "probe: exit status 38"}, // ENOSYS
	{"x", "probe: exit status 42"},
}

// memFrames is what `mem` reports of the frames: free, and held by the
// kernel's own address space (page tables, resident pages).
var memFrames = regexp.MustCompile(`pages: \d+ total \([^)]*\), (\d+) free[^\n]*\npmap: (\d+) page-table pages, (\d+) resident`)

// notUser returns the frames that are free or the kernel program's own:
// every frame but those of user address spaces (and the fixed boot-time
// ones), so it is the same whenever no process runs, however much the
// kernel's Go heap has grown meanwhile.
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

// TestRing3 runs the probe in ring 3 at 1, 2 and 4 CPUs: a hello, and
// every bad action (kernel addresses read directly and passed to write,
// privileged instructions, the kernel's private vector, faults), each
// ending as on Linux while the kernel goes on answering. Every frame of
// every address space goes back to mm: the frames that are free or the
// kernel's own are as many after all the runs as before.
func TestRing3(t *testing.T) {
	probe := userProgram(t, "GOFLY_USER_PROBE", "probe")
	hello := userProgram(t, "GOFLY_USER_HELLO", "hello")
	for _, smp := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("smp-%d", smp), func(t *testing.T) {
			RequireQEMU(t)
			m := Boot(t, Options{SMP: smp, QEMUArgs: []string{"-initrd", probe + "," + hello}})
			before := notUser(t, m)
			for _, c := range probeCases {
				line := "run probe " + c.arg
				wantContains(t, line, m.Run(t, line), c.want)
			}
			// A Go program: the runtime's threads, futexes, mmap'd heap
			// filled on demand, signal bookkeeping.
			wantContains(t, "run hello", m.Run(t, "run hello"), "hello from ring 3\nhello: exit status 0")
			if after := notUser(t, m); after != before {
				t.Errorf("%d frames free or the kernel's after every case, %d before: address spaces leak", after, before)
			}
			// A program that never stops: Ctrl-C kills it with SIGINT,
			// and what was typed meanwhile waits for the shell.
			m.Send(t, "run probe f\r")
			m.Expect(t, "spinning")
			m.Send(t, "echo typed ahead")
			m.Send(t, "\x03")
			wantContains(t, "Ctrl-C", m.Expect(t, "\n"+Prompt), "probe: killed by SIGINT (interrupt)")
			wantContains(t, "typed ahead", m.Type(t, "\r"), "echo typed ahead\ntyped ahead")
			wantContains(t, "run /probe", m.Run(t, "run /probe"), "probe: exit status 0")
			wantContains(t, "run nothing", m.Run(t, "run nothing"), "run: nothing: no such program")
			wantContains(t, "run", m.Run(t, "run"), "run: usage: run PATH [ARG...]")
			wantContains(t, "echo", m.Run(t, "echo still here"), "still here")
			m.Poweroff(t)
		})
	}
}
