package shell

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/proc"
	"gofly/vm"
)

// cmdRun runs a program in ring 3 and prints how it ended: in the
// foreground, on the console's terminal (its line discipline: Ctrl-C
// sends SIGINT to the program's group; three within a second kill its
// session, the way out), or in the background when the
// last word is "&" (its PID is printed now, its end when it comes; its
// input is at end of file). PATH is a file of the tree at / (relative:
// from /), where each multiboot module is /NAME ("run hello" and "run
// /hello" both find build/user/hello).
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
	file, err := f.Lookup(args[0])
	if err != nil {
		return err
	}
	argv := append([]string{args[0]}, args[1:]...)
	if background {
		p, err := proc.New(args[0], file, argv, processEnv, proc.OutputTTY(sh.Out))
		if err != nil {
			return fmt.Errorf("%s: %v", args[0], err)
		}
		fmt.Fprintf(sh.Out, "[%d] %s\n", p.PID, args[0])
		go func() { fmt.Fprintf(sh.Out, "[%d] %s: %v\n", p.PID, args[0], p.Run()) }()
		return nil
	}
	// The terminal starts each program in its default modes, as a shell
	// resets it; what was typed ahead for the shell stays the shell's.
	if sh.tty == nil {
		sh.tty = proc.NewTTY(sh.Out)
	}
	sh.tty.Reset()
	p, err := proc.New(args[0], file, argv, processEnv, sh.tty)
	if err != nil {
		return fmt.Errorf("%s: %v", args[0], err)
	}
	var presses []time.Time // the last Ctrl-Cs, for the way out
	done := sh.Foreground(func(b byte) {
		if b == ctrlC {
			presses = append(presses, time.Now())
			if n := len(presses); n >= escapePresses {
				presses = presses[n-escapePresses:]
				if time.Since(presses[0]) < escapeWithin {
					proc.KillSession(p.PID)
					sh.tty.Unread() // the Ctrl-Cs and the rest typed are dropped, as an interrupt's flush
					return
				}
			}
		}
		sh.tty.Input(b)
	})
	e := p.Run()
	done()
	sh.PushBack(sh.tty.Unread())
	fmt.Fprintf(sh.Out, "%s: %v\n", args[0], e)
	return nil
}

// The way out of a program that keeps the terminal and ignores or
// never gets Ctrl-C's SIGINT (raw mode, say): Ctrl-C pressed
// escapePresses times within escapeWithin kills its whole session,
// whatever the terminal's modes. The console has no other terminal to
// kill it from.
const (
	ctrlC         = 0x03
	escapePresses = 3
	escapeWithin  = time.Second
)

// processEnv is the environment the shell gives a program: a login
// shell's few variables, with u-root's commands (/bin) on the PATH.
var processEnv = []string{"HOME=/", "PATH=/bin", "TERM=vt100"}

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
			obj = fmt.Sprintf("obj%d+%d", e.Obj, e.Off) // an object's pages from index Off
		}
		if e.Flags&vm.CopyOnWrite != 0 {
			obj += ",private" // the object's pages until a write copies one
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
