package shell

import (
	"fmt"
	"path"
	"strings"
	"syscall"

	"gofly/kernel"
	"gofly/proc"
)

// cmdRun runs a program in ring 3 in the foreground (Ctrl-C sends it
// SIGINT) and prints how it ended. Until Gofly has files, PATH names a multiboot module: the first
// word of its string, or that word's last element ("run hello" and
// "run /hello" both find build/user/hello).
func cmdRun(sh *Shell, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: run PATH [ARG...]")
	}
	m, err := findModule(args[0])
	if err != nil {
		return err
	}
	argv := append([]string{args[0]}, args[1:]...)
	p, err := proc.New(args[0], m.Data, argv, []string{"HOME=/", "TERM=vt100"}, sh.Out)
	if err != nil {
		return fmt.Errorf("%s: %v", args[0], err)
	}
	done := sh.Foreground(func() { p.Kill(syscall.SIGINT) })
	e := p.Run()
	done()
	fmt.Fprintf(sh.Out, "%s: %v\n", args[0], e)
	return nil
}

// findModule returns the module that p names.
func findModule(p string) (kernel.Module, error) {
	mods, _ := kernel.Modules()
	want := strings.TrimPrefix(p, "/")
	for _, m := range mods {
		first, _, _ := strings.Cut(m.Name, " ")
		if first == p || path.Base(first) == want {
			return m, nil
		}
	}
	return kernel.Module{}, fmt.Errorf("%s: no such program (modules: %d; see the modules command)", p, len(mods))
}
