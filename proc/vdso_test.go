package proc

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"
)

// TestVDSOImage parses the vDSO the way Go's runtime does (program
// headers, the dynamic section, DT_HASH, the LINUX_2.6 version) and with
// debug/elf, and checks each function's symbol points at its code.
func TestVDSOImage(t *testing.T) {
	img, err := vdsoImage()
	if err != nil {
		t.Fatal(err)
	}
	if len(img) != pageSize {
		t.Fatalf("image of %d bytes, want a page", len(img))
	}
	// The hashes Go's runtime (vdso_linux_amd64.go) looks them up by.
	for name, want := range map[string]uint32{"__vdso_clock_gettime": 0xd35ec75, "__vdso_gettimeofday": 0x315ca59, vdsoVersion: 0x3ae75f6} {
		if h := elfHash(name); h != want {
			t.Errorf("elfHash(%q) = %#x, want %#x", name, h, want)
		}
	}

	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != elf.ET_DYN || f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		t.Fatalf("type %v machine %v class %v", f.Type, f.Machine, f.Class)
	}
	if len(f.Progs) != 2 || f.Progs[0].Type != elf.PT_LOAD || f.Progs[0].Off != 0 || f.Progs[0].Vaddr != 0 ||
		f.Progs[0].Filesz != pageSize || f.Progs[0].Flags != elf.PF_R|elf.PF_X || f.Progs[1].Type != elf.PT_DYNAMIC {
		t.Fatalf("program headers %+v", f.Progs)
	}
	if so, err := f.DynString(elf.DT_SONAME); err != nil || len(so) != 1 || so[0] != vdsoSoname {
		t.Errorf("DT_SONAME %q, %v", so, err)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	cg, gtod, tm := vdsoFuncs()
	want := map[string]uintptr{"__vdso_clock_gettime": cg, "__vdso_gettimeofday": gtod, "__vdso_time": tm}
	text := f.Section(".text")
	if text == nil || text.Flags&elf.SHF_EXECINSTR == 0 {
		t.Fatal("no executable .text section")
	}
	for _, s := range syms {
		pc, ok := want[s.Name]
		if !ok {
			t.Errorf("unexpected symbol %q", s.Name)
			continue
		}
		delete(want, s.Name)
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || elf.ST_BIND(s.Info) != elf.STB_GLOBAL || s.Section != 7 {
			t.Errorf("%s: info %#x section %d", s.Name, s.Info, s.Section)
		}
		if s.Version != vdsoVersion {
			t.Errorf("%s: version %q, want %q", s.Name, s.Version, vdsoVersion)
		}
		code, err := funcCode(pc)
		if err != nil {
			t.Fatal(err)
		}
		if s.Value < text.Addr || s.Value+s.Size > text.Addr+text.Size || s.Size != uint64(len(code)) ||
			!bytes.Equal(img[s.Value:s.Value+s.Size], code) {
			t.Errorf("%s at %#x size %d: not the function's %d bytes", s.Name, s.Value, s.Size, len(code))
		}
	}
	for name := range want {
		t.Errorf("symbol %s missing", name)
	}

	// The runtime's road: PT_DYNAMIC, then DT_HASH's bucket and chain to
	// each name, whose versym must be LINUX_2.6's verdef index.
	le := binary.LittleEndian
	dyn := map[elf.DynTag]uint64{}
	for off := f.Progs[1].Off; ; off += 16 {
		tag := elf.DynTag(le.Uint64(img[off:]))
		if tag == elf.DT_NULL {
			break
		}
		dyn[tag] = le.Uint64(img[off+8:])
	}
	hash, symtab, strtab, versym, verdef := dyn[elf.DT_HASH], dyn[elf.DT_SYMTAB], dyn[elf.DT_STRTAB], dyn[elf.DT_VERSYM], dyn[elf.DT_VERDEF]
	cstr := func(off uint64) string { return string(img[off : off+uint64(bytes.IndexByte(img[off:], 0))]) }
	version := -1
	for def := verdef; ; {
		flags, ndx, h, aux, next := le.Uint16(img[def+2:]), le.Uint16(img[def+4:]), le.Uint32(img[def+8:]), le.Uint32(img[def+12:]), le.Uint32(img[def+16:])
		if flags&1 == 0 && h == elfHash(vdsoVersion) && cstr(strtab+uint64(le.Uint32(img[def+uint64(aux):]))) == vdsoVersion {
			version = int(ndx)
		}
		if next == 0 {
			break
		}
		def += uint64(next)
	}
	if version < 0 {
		t.Fatal("no LINUX_2.6 verdef")
	}
	nbucket := le.Uint32(img[hash:])
	for _, name := range []string{"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time"} {
		found := false
		for i := le.Uint32(img[hash+8+uint64(elfHash(name)%nbucket)*4:]); i != 0; i = le.Uint32(img[hash+8+uint64(nbucket+i)*4:]) {
			sym := symtab + uint64(i)*elf.Sym64Size
			if cstr(strtab+uint64(le.Uint32(img[sym:]))) == name && int(le.Uint16(img[versym+uint64(i)*2:])&0x7fff) == version {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: not found through DT_HASH with version %d", name, version)
		}
	}
}
