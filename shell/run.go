package shell

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/proc"
	"gofly/vm"
)

// cmdRun runs a program in ring 3 and prints how it ended: in the
// foreground (Ctrl-C sends it SIGINT), or in the background when the last
// word is "&" (its PID is printed now, its end when it comes). PATH is a
// file of the tree at / (relative: from /), where each multiboot module is
// /NAME ("run hello" and "run /hello" both find build/user/hello).
func cmdRun(sh *Shell, args []string) error {
	background := len(args) > 0 && args[len(args)-1] == "&"
	if background {
		args = args[:len(args)-1]
	}
	if len(args) == 0 {
		return fmt.Errorf("usage: run PATH [ARG...] [&]")
	}
	f, err := root()
	if err != nil {
		return err
	}
	data, err := f.ReadFile(args[0])
	if err != nil {
		return err
	}
	argv := append([]string{args[0]}, args[1:]...)
	p, err := proc.New(args[0], data, argv, []string{"HOME=/", "TERM=vt100"}, sh.Out)
	if err != nil {
		return fmt.Errorf("%s: %v", args[0], err)
	}
	if background {
		fmt.Fprintf(sh.Out, "[%d] %s\n", p.PID, args[0])
		go func() { fmt.Fprintf(sh.Out, "[%d] %s: %v\n", p.PID, args[0], p.Run()) }()
		return nil
	}
	tty := newTTY(sh.Out)
	p.Stdin = tty.lines
	done := sh.Foreground(func() { p.Kill(syscall.SIGINT) }, tty.feed)
	e := p.Run()
	done()
	sh.PushBack(tty.unread())
	fmt.Fprintf(sh.Out, "%s: %v\n", args[0], e)
	return nil
}

// tty is the line discipline a foreground program reads the console
// through (canonical mode): typed bytes are echoed and gathered into a
// line, backspace erases, Enter hands the line over, Ctrl-D at the start
// of a line is end of file. feed runs on the shell's console reader
// alone.
type tty struct {
	out   io.Writer
	line  []byte
	lines chan []byte
	eof   bool
}

// ttyLines bounds the lines typed ahead of the program's reads; past it
// a line is dropped, so the console reader never waits.
const ttyLines = 64

func newTTY(out io.Writer) *tty { return &tty{out: out, lines: make(chan []byte, ttyLines)} }

func (t *tty) feed(b byte) {
	if t.eof {
		return
	}
	switch b {
	case '\r', '\n':
		t.out.Write([]byte("\n"))
		t.send(append(t.line, '\n'))
	case 0x7f, 0x08:
		if len(t.line) > 0 {
			t.line = t.line[:len(t.line)-1]
			t.out.Write([]byte("\b \b"))
		}
	case 0x04: // Ctrl-D
		if len(t.line) == 0 {
			t.eof = true
			close(t.lines)
			return
		}
		t.send(t.line)
	default:
		if b >= 0x20 || b == '\t' {
			t.line = append(t.line, b)
			t.out.Write([]byte{b})
		}
	}
}

// unread returns what the program did not read: the lines handed over
// and the line being typed. The console reader no longer feeds t.
func (t *tty) unread() []byte {
	var b []byte
	for !t.eof {
		select {
		case line, ok := <-t.lines:
			if !ok {
				return append(b, t.line...)
			}
			b = append(b, line...)
			continue
		default:
		}
		break
	}
	return append(b, t.line...)
}

func (t *tty) send(line []byte) {
	select {
	case t.lines <- line:
	default:
	}
	t.line = nil
}

// cmdProcs lists the processes.
func cmdProcs(sh *Shell) error {
	fmt.Fprintf(sh.Out, "%6s %6s %-8s %7s %9s %7s %11s %9s  %s\n", "PID", "PPID", "STATE", "THREADS", "RESIDENT", "TABLES", "USER TIME", "AGE", "NAME")
	for _, p := range proc.Procs() {
		in := p.Info()
		fmt.Fprintf(sh.Out, "%6d %6d %-8s %7d %9d %7d %11v %9v  %s\n", in.PID, in.PPID, in.State, in.Threads,
			in.Resident, in.Tables, in.UserTime.Round(time.Microsecond), in.Age.Round(time.Millisecond), in.Name)
	}
	return nil
}

// process finds the process an argument names.
func process(args []string, usage string) (*proc.Process, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("usage: %s", usage)
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil || pid <= 0 {
		return nil, fmt.Errorf("%q is not a process ID", args[0])
	}
	p, ok := proc.Find(pid)
	if !ok {
		return nil, fmt.Errorf("no process %d", pid)
	}
	return p, nil
}

// cmdVM lists a process's map entries.
func cmdVM(sh *Shell, args []string) error {
	p, err := process(args, "vm PID")
	if err != nil {
		return err
	}
	es := p.Map()
	fmt.Fprintf(sh.Out, "process %d (%s): %d map entries\n", p.PID, p.Name, len(es))
	fmt.Fprintf(sh.Out, "%-33s %-4s %-10s %9s %9s\n", "RANGE", "PROT", "OBJECT", "PAGES", "RESIDENT")
	for _, e := range es {
		obj := "anon"
		if e.Obj != 0 {
			obj = fmt.Sprintf("shm%d+%d", e.Obj, e.Off) // an object's pages from index Off
		}
		if e.Flags&vm.ForkSkip != 0 {
			obj += ",dontfork"
		}
		if e.Flags&vm.ForkWipe != 0 {
			obj += ",wipe"
		}
		fmt.Fprintf(sh.Out, "%#014x-%#014x %-4s %-10s %9d %9d\n", e.Start, e.End, protString(e.Prot), obj, (e.End-e.Start)/4096, e.Resident)
	}
	return nil
}

func protString(p uint8) string {
	b := []byte("---")
	if p&vm.ProtRead != 0 {
		b[0] = 'r'
	}
	if p&vm.ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&vm.ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// cmdPmap summarises a process's page tables.
func cmdPmap(sh *Shell, args []string) error {
	p, err := process(args, "pmap PID")
	if err != nil {
		return err
	}
	in := p.Info()
	fmt.Fprintf(sh.Out, "process %d (%s): %d pages mapped (%d KiB) by %d page-table pages and the root; the upper half is the kernel's\n",
		p.PID, p.Name, in.Resident, in.Resident*4, in.Tables)
	fmt.Fprintf(sh.Out, "memory calls %d (%d without the MP lock), user copies %d (%d without it)\n",
		in.MemCalls, in.MemLocal, in.Copies, in.CopiesLocal)
	return nil
}

// cmdKill sends a signal to a process (default SIGTERM).
func cmdKill(sh *Shell, args []string) error {
	sig := syscall.SIGTERM
	if len(args) == 2 {
		s := unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(args[0]), "SIG"))
		if n, err := strconv.Atoi(args[0]); err == nil && n > 0 && n < 65 {
			s = syscall.Signal(n)
		}
		if s == 0 {
			return fmt.Errorf("unknown signal %q", args[0])
		}
		sig, args = s, args[1:]
	}
	p, err := process(args, "kill [SIGNAL] PID")
	if err != nil {
		return err
	}
	p.Kill(sig)
	return nil
}
