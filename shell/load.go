package shell

import (
	"bytes"
	"debug/elf"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"gofly/kernel"
	"gofly/pmap"
	"gofly/proc"
	"gofly/vfs"
	"gofly/vm"
)

// cmdLoad builds an address space from multiboot module N (a static
// executable, the file /NAME of the tree), checks every segment's bytes
// and permissions through the new map and page tables, and destroys it:
// the first half of running a program.
func cmdLoad(sh *Shell, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: load N (a module number from the modules command)")
	}
	mods, _ := kernel.Modules()
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 || n >= len(mods) {
		return fmt.Errorf("no module %q (%d modules)", args[0], len(mods))
	}
	m := mods[n]
	file, e := proc.Program(vfs.ModulePath(m.Name))
	if e != 0 {
		return fmt.Errorf("module %d (%s): %v", n, m.Name, e)
	}
	img, err := proc.ParseAt(file, file.Stat().Size)
	if err != nil {
		return fmt.Errorf("module %d (%s): %v", n, m.Name, err)
	}
	sp, err := proc.NewSpace()
	if err != nil {
		return err
	}
	defer sp.Destroy()
	if err := sp.Load(img, file); err != nil {
		return err
	}
	// Read as the program would: pages fault in (a file page maps the
	// file's object, read-only until a write copies it).
	read := func(va uint64, n int) ([]byte, bool) {
		b, err := sp.CopyIn(va, uint64(n))
		return b, err == nil
	}
	entries := sp.Entries()
	for _, g := range img.Segments {
		got, ok := read(g.Vaddr, int(g.Filesz))
		if !ok || !bytes.Equal(got, m.Data[g.Off:g.Off+g.Filesz]) {
			return fmt.Errorf("segment at %#x: the file's bytes do not read back", g.Vaddr)
		}
		bss, ok := read(g.Vaddr+g.Filesz, int(g.Memsz-g.Filesz))
		if !ok || bytes.Count(bss, []byte{0}) != len(bss) {
			return fmt.Errorf("segment at %#x: memory past the file bytes is not zero", g.Vaddr)
		}
		i := slices.IndexFunc(entries, func(e proc.MapEntry) bool { return uint64(e.Start) <= g.Vaddr && g.Vaddr < uint64(e.End) })
		if i < 0 {
			return fmt.Errorf("segment at %#x: no map entry", g.Vaddr)
		}
		prot, f := entries[i].Prot, sp.Flags(g.Vaddr)
		if (prot&vm.ProtWrite != 0) != (g.Flags&elf.PF_W != 0) || (prot&vm.ProtExec != 0) != (g.Flags&elf.PF_X != 0) {
			return fmt.Errorf("segment at %#x (%v): map entry protection %#x", g.Vaddr, g.Flags, prot)
		}
		if f&pmap.User == 0 || f&pmap.Writable != 0 && g.Flags&elf.PF_W == 0 || pmap.NXEnabled && (f&pmap.NoExec == 0) != (g.Flags&elf.PF_X != 0) {
			return fmt.Errorf("segment at %#x (%v): page flags %#x", g.Vaddr, g.Flags, f)
		}
	}
	fmt.Fprintf(sh.Out, "module %d (%s): entry %#x, %d segments, %d pages and %d page tables mapped; bytes and permissions verified\n",
		n, m.Name, img.Entry, len(img.Segments), sp.Resident(), sp.Tables())

	// The initial stack: the module's string as argv, a small environment.
	argv, envp := strings.Fields(m.Name), processEnv
	// AT_RANDOM's bytes from the kernel's getrandom (crypto/rand would
	// link a 32 MiB FIPS DRBG buffer into the image).
	var random [16]byte
	if n, err := unix.Getrandom(random[:], 0); err != nil || n != len(random) {
		return fmt.Errorf("getrandom: %d bytes, %v", n, err)
	}
	top, err := sp.SetupStack(img, argv, envp, random)
	if err != nil {
		return err
	}
	gotArgv, gotEnvp, aux, err := proc.ReadStack(read, top)
	if err != nil {
		return err
	}
	if !slices.Equal(gotArgv, argv) || !slices.Equal(gotEnvp, envp) {
		return fmt.Errorf("stack reads back argv %q envp %q", gotArgv, gotEnvp)
	}
	for _, a := range aux {
		if a.Type == proc.AtPhdr {
			phdrs, ok := read(a.Val, int(img.Phent*img.Phnum))
			if !ok || !bytes.Equal(phdrs, m.Data[img.Phoff:img.Phoff+img.Phent*img.Phnum]) {
				return fmt.Errorf("AT_PHDR %#x does not read the program headers", a.Val)
			}
		}
	}
	fmt.Fprintf(sh.Out, "stack: sp %#x, argv %q, %d environment strings, %d auxv entries; AT_PHDR reads the program headers\n",
		top, gotArgv, len(gotEnvp), len(aux))
	sp.Destroy()
	fmt.Fprintln(sh.Out, "address space destroyed")
	return nil
}
