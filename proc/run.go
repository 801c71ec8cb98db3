package proc

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
	"gofly/pmap"
	"gofly/sys"
)

// Exit is how a process ended: its exit status, or the signal that
// killed it (Signal != 0) with what the CPU reported.
type Exit struct {
	Status int
	Signal syscall.Signal
	Fault  string // the exception behind Signal: what, where
}

// String is the line the shell prints.
func (e Exit) String() string {
	if e.Signal != 0 {
		return fmt.Sprintf("killed by %s (%s): %s", unix.SignalName(e.Signal), e.Signal, e.Fault)
	}
	return fmt.Sprintf("exit status %d", e.Status)
}

// WaitStatus is e as wait4 reports it.
func (e Exit) WaitStatus() int {
	if e.Signal != 0 {
		return int(e.Signal)
	}
	return e.Status << 8
}

// Process is one running program: a single thread, for now, in its own
// address space. Used by the goroutine that runs it.
type Process struct {
	Name   string
	space  *Space
	ctx    *sys.UserContext
	stdout io.Writer
	exit   *Exit
}

// Run loads the static executable data (named name) into a new address
// space with argv and envp, runs it in ring 3 on this goroutine until it
// exits or is killed, and frees everything it had. Its file descriptors 1
// and 2 write to stdout.
func Run(name string, data []byte, argv, envp []string, stdout io.Writer) (Exit, error) {
	img, err := Parse(data)
	if err != nil {
		return Exit{}, err
	}
	space, err := NewSpace()
	if err != nil {
		return Exit{}, err
	}
	defer space.Destroy()
	if err := space.Load(img, data); err != nil {
		return Exit{}, err
	}
	var random [16]byte
	if n, err := unix.Getrandom(random[:], 0); err != nil || n != len(random) {
		return Exit{}, fmt.Errorf("getrandom: %d bytes, %v", n, err)
	}
	sp, err := space.SetupStack(img, argv, envp, random)
	if err != nil {
		return Exit{}, err
	}
	p := &Process{Name: name, space: space, ctx: newContext(img.Entry, sp, space.pm.Root()), stdout: stdout}
	return p.run()
}

// newContext is a user thread's first state: at entry with the stack sp,
// the registers zero and the FPU as after FNINIT, with every SSE
// exception masked (MXCSR 0x1F80), as Linux starts a program.
func newContext(entry, sp, root uint64) *sys.UserContext {
	c := new(sys.UserContext)
	c.Regs.RIP, c.Regs.RSP = entry, sp
	c.Root = root
	f := c.UserFPU()
	f[0], f[1] = 0x7F, 0x03                       // FCW 0x037F
	f[24], f[25], f[26], f[27] = 0x80, 0x1F, 0, 0 // MXCSR
	return c
}

// run switches to ring 3 until the process ends, serving each system call
// and fault that brings the thread back.
func (p *Process) run() (Exit, error) {
	for p.exit == nil {
		_, _, errno := syscall.Syscall(sys.NrSwitch, uintptr(unsafe.Pointer(p.ctx)), 0, 0)
		runtime.KeepAlive(p.ctx)
		if errno != 0 {
			return Exit{}, fmt.Errorf("proc: switch to ring 3: %w", errno)
		}
		switch v := p.ctx.Vector; {
		case v == amd64.VectorSyscall:
			p.syscall()
		case v < 32:
			p.fault(v)
		}
	}
	return *p.exit, nil
}

// fault ends the process with the signal Linux sends for exception v
// (arch/x86/kernel/traps.c); there are no handlers yet, and every one of
// these kills by default.
func (p *Process) fault(v uint64) {
	c := p.ctx
	sig := syscall.SIGSEGV
	switch v {
	case amd64.VectorDE, 16, 19: // #DE, #MF, #XM
		sig = syscall.SIGFPE
	case 1, 3: // #DB, #BP
		sig = syscall.SIGTRAP
	case amd64.VectorUD:
		sig = syscall.SIGILL
	case 11, 12, 17: // #NP, #SS, #AC
		sig = syscall.SIGBUS
	}
	what := exceptionName(v)
	if v == amd64.VectorPF {
		what = fmt.Sprintf("%s at %#x (%s)", what, c.CR2, pfError(c.Error))
	} else if c.Error != 0 {
		what = fmt.Sprintf("%s, error %#x", what, c.Error)
	}
	p.exit = &Exit{Signal: sig, Fault: fmt.Sprintf("%s, ip %#x sp %#x", what, c.Regs.RIP, c.Regs.RSP)}
}

// pfError spells a page fault's error code.
func pfError(e uint64) string {
	s := "read"
	switch {
	case e&16 != 0:
		s = "instruction fetch"
	case e&2 != 0:
		s = "write"
	}
	if e&1 != 0 {
		return s + ", protection"
	}
	return s + ", not mapped"
}

// exceptionName names CPU exception v.
func exceptionName(v uint64) string {
	names := map[uint64]string{0: "#DE divide error", 1: "#DB debug", 3: "#BP breakpoint", 4: "#OF overflow",
		5: "#BR bound range", 6: "#UD invalid opcode", 11: "#NP segment not present", 12: "#SS stack fault",
		13: "#GP general protection", 14: "#PF page fault", 16: "#MF x87 error", 17: "#AC alignment check", 19: "#XM SIMD exception"}
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("exception %d", v)
}

// Linux x86-64 system call numbers served so far.
const (
	nrWrite     = 1
	nrExit      = 60
	nrExitGroup = 231
)

// syscall serves the system call in p.ctx.Regs and puts the result in RAX.
func (p *Process) syscall() {
	r := &p.ctx.Regs
	var ret int64
	switch r.RAX {
	case nrWrite:
		ret = p.write(int(int32(r.RDI)), r.RSI, r.RDX)
	case nrExit, nrExitGroup: // one thread: exit is the process's
		p.exit = &Exit{Status: int(r.RDI & 0xFF)}
		return
	default:
		ret = -int64(syscall.ENOSYS)
	}
	r.RAX = uint64(ret)
}

// write serves write(2) for the console descriptors, in chunks of at
// most copyChunk: the whole range must lie in the user half (Linux's
// access_ok), and a page that cannot be read ends the write there.
func (p *Process) write(fd int, buf, n uint64) int64 {
	if fd != 1 && fd != 2 {
		return -int64(syscall.EBADF)
	}
	n = min(n, maxRW)
	if buf+n < buf || buf+n > userMax {
		return -int64(syscall.EFAULT)
	}
	var done uint64
	for done < n {
		b, err := p.space.CopyIn(buf+done, min(n-done, copyChunk))
		if err != nil {
			break
		}
		if _, err := p.stdout.Write(b); err != nil {
			return -int64(syscall.EIO)
		}
		done += uint64(len(b))
	}
	if done == 0 && n > 0 {
		return -int64(syscall.EFAULT)
	}
	return int64(done)
}

// copyChunk bounds the kernel buffer one step of a copy uses.
const copyChunk = 64 << 10

// errFault is a user address the process may not read.
var errFault = errors.New("bad address")

// maxRW is the most one read or write moves, as Linux caps it
// (MAX_RW_COUNT: INT_MAX rounded down to a page).
const maxRW = 0x7FFFF000

// CopyIn copies n bytes at user address va out of s, or fails with a bad
// address when any byte is outside the user half or on a page without
// user access.
func (s *Space) CopyIn(va, n uint64) ([]byte, error) {
	if va+n < va || va+n > userMax {
		return nil, errFault
	}
	for pg := va &^ (pageSize - 1); pg < va+n; pg += pageSize {
		if s.Flags(pg)&pmap.User == 0 {
			return nil, errFault
		}
	}
	b, ok := s.Read(va, int(n))
	if !ok {
		return nil, errFault
	}
	return b, nil
}
