package proc

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// prog is one program header of a test executable.
type prog struct {
	typ                       elf.ProgType
	flags                     elf.ProgFlag
	off, vaddr, filesz, memsz uint64
}

// mkELF builds a 64-bit little-endian ELF with the given header fields
// and program headers, padded to size bytes.
func mkELF(class elf.Class, machine elf.Machine, typ elf.Type, entry uint64, progs []prog, size int) []byte {
	var b bytes.Buffer
	ident := [16]byte{0x7f, 'E', 'L', 'F', byte(class), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	b.Write(ident[:])
	le := binary.LittleEndian
	w := func(v any) { binary.Write(&b, le, v) }
	w(uint16(typ))
	w(uint16(machine))
	w(uint32(elf.EV_CURRENT))
	w(entry)
	w(uint64(64)) // phoff
	w(uint64(0))  // shoff
	w(uint32(0))  // flags
	w(uint16(64)) // ehsize
	w(uint16(56)) // phentsize
	w(uint16(len(progs)))
	w(uint16(64)) // shentsize
	w(uint16(0))  // shnum
	w(uint16(0))  // shstrndx
	for _, p := range progs {
		w(uint32(p.typ))
		w(uint32(p.flags))
		w(p.off)
		w(p.vaddr)
		w(p.vaddr) // paddr
		w(p.filesz)
		w(p.memsz)
		w(uint64(pageSize))
	}
	out := b.Bytes()
	if len(out) < size {
		out = append(out, make([]byte, size-len(out))...)
	}
	return out
}

func TestParse(t *testing.T) {
	text := prog{elf.PT_LOAD, elf.PF_R | elf.PF_X, 0, 0x400000, 0x2000, 0x2000}
	data := prog{elf.PT_LOAD, elf.PF_R | elf.PF_W, 0x2000, 0x402000, 0x100, 0x3000}
	good := func() []prog { return []prog{text, data} }
	for _, tc := range []struct {
		name string
		elf  []byte
		want string // "" = valid
	}{
		{"static executable", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000, good(), 0x3000), ""},
		{"not ELF", []byte("#!/bin/sh\necho hi\n"), "bad magic"},
		{"32-bit", mkELF(elf.ELFCLASS32, elf.EM_X86_64, elf.ET_EXEC, 0x401000, nil, 0x100), ""},
		{"arm64", mkELF(elf.ELFCLASS64, elf.EM_AARCH64, elf.ET_EXEC, 0x401000, good(), 0x3000), "not x86-64"},
		{"position-independent", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_DYN, 0x401000, good(), 0x3000), "not a static executable"},
		{"interpreter", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000,
			append(good(), prog{typ: elf.PT_INTERP, off: 0x2800, filesz: 16, memsz: 16}), 0x3000), "interpreter"},
		{"file bytes past memory", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000,
			[]prog{text, {elf.PT_LOAD, elf.PF_R, 0x2000, 0x402000, 0x200, 0x100}}, 0x3000), "more file bytes"},
		{"kernel half", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000,
			[]prog{text, {elf.PT_LOAD, elf.PF_R, 0x2000, 0xFFFF_8000_0000_0000, 0x100, 0x100}}, 0x3000), "outside the user half"},
		{"page 0", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000,
			[]prog{text, {elf.PT_LOAD, elf.PF_R, 0x2000, 0, 0x100, 0x100}}, 0x3000), "outside the user half"},
		{"past the file", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000,
			[]prog{text, {elf.PT_LOAD, elf.PF_R, 0x2000, 0x402000, 0x9000, 0x9000}}, 0x3000), "past the file"},
		{"incongruent offset", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000,
			[]prog{text, {elf.PT_LOAD, elf.PF_R, 0x2010, 0x402000, 0x100, 0x100}}, 0x3000), "not congruent"},
		{"entry outside text", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x402010, good(), 0x3000), "no executable segment"},
		{"no segment", mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000, nil, 0x100), "no loadable segment"},
	} {
		img, err := Parse(tc.elf)
		if tc.name == "32-bit" {
			// debug/elf reads a 32-bit header differently; any refusal will do.
			if err == nil || !errors.Is(err, ErrNoExec) {
				t.Errorf("%s: Parse = %v, want ENOEXEC", tc.name, err)
			}
			continue
		}
		if tc.want == "" {
			if err != nil || img.Entry != 0x401000 || len(img.Segments) != 2 || img.Segments[1].Memsz != 0x3000 {
				t.Errorf("%s: Parse = %+v, %v", tc.name, img, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrNoExec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Parse error %v, want ENOEXEC mentioning %q", tc.name, err, tc.want)
		}
	}
}
