package shell

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"gofly/kernel"
	"gofly/proc"
	"gofly/shell/lineedit"
)

// Prompt is what the shell prints when it waits for a line.
const Prompt = "gofly> "

// Limits of the line editor.
const (
	MaxLine     = 4096
	HistorySize = 64
)

// Command is one shell command.
type Command struct {
	Usage string // arguments, for help and usage errors
	Help  string // one line
	Run   func(sh *Shell, args []string) error
}

// Shell is one console session.
type Shell struct {
	ed   *lineedit.Editor
	Out  io.Writer
	cmds map[string]*Command
	// Prompted is called after each prompt is printed.
	Prompted func()

	// mu guards input, where typed bytes go while a command runs (a
	// foreground program's terminal), pending, the bytes typed for the
	// line editor and not yet taken, in the order typed (a program
	// that takes the terminal gets them first, as they would be in a
	// terminal's queue; what it leaves unread comes back to their
	// front), and readErr, the console's read error.
	mu      sync.Mutex
	input   func(b byte)
	pending []byte
	readErr error

	// tty is the console's terminal, which foreground programs get
	// (cmdRun makes it; the shell's goroutine alone touches the field).
	tty *proc.TTY
}

// PushBack gives the line editor input a program left unread, before
// anything typed since.
func (sh *Shell) PushBack(b []byte) {
	sh.mu.Lock()
	sh.pending = append(append([]byte(nil), b...), sh.pending...)
	sh.mu.Unlock()
}

// Foreground hands every byte typed to input, those typed ahead and
// not yet taken first, until the returned function is called: a command
// that runs a program gives it the console (its terminal makes Ctrl-C a
// signal).
func (sh *Shell) Foreground(input func(b byte)) (done func()) {
	sh.mu.Lock()
	sh.input = input
	for _, b := range sh.pending {
		input(b)
	}
	sh.pending = nil
	sh.mu.Unlock()
	return func() {
		sh.mu.Lock()
		sh.input = nil
		sh.mu.Unlock()
	}
}

// take hands bytes the console delivered to the foreground program's
// input, if one runs, else queues them for the line editor. The input is
// called under mu: once Foreground's done has returned, no byte reaches
// it.
func (sh *Shell) take(bs []byte, err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, b := range bs {
		if sh.input != nil {
			sh.input(b)
		} else {
			sh.pending = append(sh.pending, b)
		}
	}
	if err != nil {
		sh.readErr = err
	}
}

// next takes the next byte for the line editor; ok is false when none
// is queued (err: the console's read error, once all is taken).
func (sh *Shell) next() (b byte, ok bool, err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.pending) == 0 {
		return 0, false, sh.readErr
	}
	b = sh.pending[0]
	sh.pending = sh.pending[1:]
	return b, true, nil
}

// New returns a shell writing to out with the given commands (plus help).
func New(out io.Writer, cmds map[string]*Command) *Shell {
	sh := &Shell{ed: lineedit.New(Prompt, MaxLine, HistorySize), Out: out, cmds: cmds}
	cmds["help"] = &Command{"", "list the commands", (*Shell).help}
	return sh
}

// Start prints the first prompt.
func (sh *Shell) Start() { sh.prompt() }

func (sh *Shell) prompt() {
	sh.Out.Write(sh.ed.Prompt())
	if sh.Prompted != nil {
		sh.Prompted()
	}
}

// Feed takes one input byte, running a command when a line completes.
func (sh *Shell) Feed(b byte) {
	out, ev := sh.ed.Feed(b)
	if len(out) > 0 {
		sh.Out.Write(out)
	}
	switch ev.Kind {
	case lineedit.Line:
		sh.Exec(ev.Line)
		sh.prompt()
	case lineedit.Error:
		fmt.Fprintf(sh.Out, "gofly: %v\n", ev.Err)
		sh.prompt()
	case lineedit.Interrupt, lineedit.EOF:
		sh.prompt()
	}
}

// Exec runs one command line and prints its error, if any.
func (sh *Shell) Exec(line string) {
	words, err := split(line)
	if err != nil {
		fmt.Fprintf(sh.Out, "gofly: %v\n", err)
		return
	}
	if len(words) == 0 {
		return
	}
	c, ok := sh.cmds[words[0]]
	if !ok {
		fmt.Fprintf(sh.Out, "gofly: unknown command %q; type help for the list\n", words[0])
		return
	}
	if err := c.Run(sh, words[1:]); err != nil {
		fmt.Fprintf(sh.Out, "%s: %v\n", words[0], err)
	}
}

// Batch runs one command line on the console without a session and
// returns the command's error (for commands named on the kernel command
// line).
func Batch(line string) error {
	words, err := split(line)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return nil
	}
	c, ok := Commands()[words[0]]
	if !ok {
		return fmt.Errorf("unknown command %q", words[0])
	}
	return c.Run(New(os.Stdout, Commands()), words[1:])
}

// Run serves the console until reading it fails. A goroutine reads it, so
// a running program's terminal (Foreground) gets each byte at once
// (Ctrl-C among them); otherwise bytes queue, unbounded, for the line
// editor, which takes them between commands.
func (sh *Shell) Run(in io.Reader) error {
	ready := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := in.Read(buf)
			sh.take(buf[:n], err)
			select {
			case ready <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	sh.Start()
	for {
		<-ready
		for {
			b, ok, err := sh.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			sh.Feed(b) // may run a program, which takes what follows
		}
	}
}

func (sh *Shell) help(args []string) error {
	if len(args) > 0 {
		c, ok := sh.cmds[args[0]]
		if !ok {
			return fmt.Errorf("no command %q", args[0])
		}
		fmt.Fprintf(sh.Out, "%s %s\n    %s\n", args[0], c.Usage, c.Help)
		return nil
	}
	names := make([]string, 0, len(sh.cmds))
	for n := range sh.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := sh.cmds[n]
		fmt.Fprintf(sh.Out, "  %-22s %s\n", strings.TrimSpace(n+" "+c.Usage), c.Help)
	}
	return nil
}

// Main runs the kernel shell on the console. It returns only if the
// console cannot be read.
func Main() error {
	sh := New(os.Stdout, Commands())
	sh.Prompted = func() { kernel.Mark(kernel.PhasePrompt) }
	return sh.Run(os.Stdin)
}
