package shell

import (
	"errors"
	"fmt"
	"strings"

	"gofly/sysref"
)

// cmdSysref serves `sysref ls [CLASS]` and `sysref show SYSID`. The
// shell names the command before an error, so sysref's own prefix goes.
func cmdSysref(sh *Shell, args []string) error {
	err := sysrefCmd(sh, args)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "sysref: "))
	}
	return nil
}

func sysrefCmd(sh *Shell, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: sysref ls [CLASS] | sysref show SYSID")
	}
	switch args[0] {
	case "ls":
		if len(args) > 2 {
			return fmt.Errorf("usage: sysref ls [CLASS]")
		}
		return sysrefLs(sh, args[1:])
	case "show":
		if len(args) != 2 {
			return fmt.Errorf("usage: sysref show SYSID")
		}
		id, err := sysref.ParseSysid(args[1])
		if err != nil {
			return err
		}
		info, err := sysref.Find(id)
		if err != nil {
			return err
		}
		fmt.Fprintf(sh.Out, "sysid %#x\n  class %s\n  state %s\n  refs %d\n  owner cpu %d\n  address %#x\n", info.Sysid, info.Class, info.State, info.Refs, info.Owner, info.Addr)
		if info.Summary != "" {
			fmt.Fprintf(sh.Out, "  %s\n", info.Summary)
		}
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (ls or show)", args[0])
}

// sysrefLs prints each class's counts, then every record (of one class).
func sysrefLs(sh *Shell, args []string) error {
	classes := sysref.Classes()
	if len(args) == 1 {
		c := sysref.ClassByName(args[0])
		if c == nil {
			var names []string
			for _, c := range classes {
				names = append(names, c.Name())
			}
			return fmt.Errorf("no class %q (classes: %s)", args[0], strings.Join(names, ", "))
		}
		classes = []*sysref.Class{c}
	}
	names := map[uintptr]string{}
	fmt.Fprintf(sh.Out, "%-10s %8s %10s %10s %10s %10s\n", "CLASS", "LIVE", "ALLOCS", "TERMINATE", "RELEASES", "REMOTE")
	for _, c := range classes {
		s := c.Stats()
		names[c.Addr()] = c.Name()
		fmt.Fprintf(sh.Out, "%-10s %8d %10d %10d %10d %10s\n", s.Name, s.Live, s.Allocs, s.Terminates, s.Releases, fmt.Sprintf("%d/%d", s.RemoteIn, s.RemoteOut))
	}
	fmt.Fprintf(sh.Out, "%-20s %-10s %4s %-12s %5s\n", "SYSID", "CLASS", "CPU", "STATE", "REFS")
	n := 0
	err := sysref.Walk(func(e sysref.Entry) bool {
		name, ok := names[e.Class]
		if !ok {
			return true
		}
		fmt.Fprintf(sh.Out, "%#-20x %-10s %4d %-12s %5d\n", e.Sysid, name, sysref.Owner(e.Sysid), e.State, e.Refs)
		n++
		return true
	})
	fmt.Fprintf(sh.Out, "%d records\n", n)
	return err
}
