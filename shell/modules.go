package shell

import (
	"bytes"
	"debug/elf"
	"fmt"

	"gofly/kernel"
)

// cmdModules lists the multiboot modules: name, address, size, and what
// each is (for an ELF file, the facts a loader needs: type, machine,
// entry, loadable segments and whether it wants an interpreter).
func cmdModules(sh *Shell) error {
	mods, lost := kernel.Modules()
	if len(mods) == 0 {
		fmt.Fprintln(sh.Out, "no multiboot modules (boot with -initrd FILE)")
		return nil
	}
	for i, m := range mods {
		fmt.Fprintf(sh.Out, "%d: %q at %#x, %d bytes: %s\n", i, m.Name, m.Addr, len(m.Data), describeELF(m.Data))
	}
	if lost > 0 {
		fmt.Fprintf(sh.Out, "%d more modules did not fit the kernel's table\n", lost)
	}
	return nil
}

// describeELF says what data is, in one line.
func describeELF(data []byte) string {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return "not an ELF file (" + err.Error() + ")"
	}
	defer f.Close()
	loads, interp := 0, false
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			loads++
		case elf.PT_INTERP:
			interp = true
		}
	}
	kind := "static"
	if interp {
		kind = "dynamic (needs an interpreter)"
	}
	return fmt.Sprintf("ELF %s %s %s, %s, entry %#x, %d PT_LOAD segments", f.Class, f.Machine, f.Type, kind, f.Entry, loads)
}
