package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seg describes one PT_LOAD of a synthetic ELF64 file.
type seg struct {
	vaddr, memsz uint64
	data         []byte
}

// writeELF64 writes a minimal x86-64 executable with the given segments.
func writeELF64(t *testing.T, entry uint64, segs ...seg) string {
	t.Helper()
	le := binary.LittleEndian
	const ehsize, phsize = 64, 56
	off := uint64(ehsize + phsize*len(segs))
	var body []byte
	offs := make([]uint64, len(segs))
	for i, s := range segs {
		offs[i] = off + uint64(len(body))
		body = append(body, s.data...)
	}
	b := make([]byte, off)
	copy(b, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le.PutUint16(b[16:], uint16(elf.ET_EXEC))
	le.PutUint16(b[18:], uint16(elf.EM_X86_64))
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], entry)
	le.PutUint64(b[32:], ehsize)
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phsize)
	le.PutUint16(b[56:], uint16(len(segs)))
	for i, s := range segs {
		ph := b[ehsize+phsize*i:]
		le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
		le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_W))
		le.PutUint64(ph[8:], offs[i])
		le.PutUint64(ph[16:], s.vaddr)
		le.PutUint64(ph[24:], s.vaddr)
		le.PutUint64(ph[32:], uint64(len(s.data)))
		le.PutUint64(ph[40:], s.memsz)
		le.PutUint64(ph[48:], 4096)
	}
	path := filepath.Join(t.TempDir(), "f.elf")
	if err := os.WriteFile(path, append(b, body...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBuildJoinsSegments(t *testing.T) {
	mbHeader := []byte{0x02, 0xB0, 0xAD, 0x1B, 3, 0, 0, 0, 0xFB, 0x4F, 0x52, 0xE4}
	stub := writeELF64(t, 0x100000, seg{0x100000, 0x100, mbHeader}, seg{0x101000, 0x3000, []byte("data")})
	kern := writeELF64(t, 0x1001234,
		seg{0x1000000, 0x2000, bytes.Repeat([]byte{0xAA}, 0x1800)},
		seg{0x1003000, 0x5000, []byte("gobss")})
	img, err := build(stub, kern)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(img, mbHeader[:4])
	if i < 0 || i >= 8192 || i%4 != 0 {
		t.Fatalf("multiboot magic at file offset %d; want a 4-aligned offset in the first 8 KiB", i)
	}
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 || f.Entry != 0x100000 {
		t.Fatalf("class %v machine %v entry %#x; want ELF32, EM_386, the stub's entry", f.Class, f.Machine, f.Entry)
	}
	want := []struct {
		addr, memsz uint64
		prefix      []byte
	}{{0x100000, 0x100, mbHeader}, {0x101000, 0x3000, []byte("data")},
		{0x1000000, 0x2000, []byte{0xAA, 0xAA}}, {0x1003000, 0x5000, []byte("gobss")}}
	if len(f.Progs) != len(want) {
		t.Fatalf("%d program headers, want %d", len(f.Progs), len(want))
	}
	for i, p := range f.Progs {
		w := want[i]
		if p.Type != elf.PT_LOAD || p.Vaddr != w.addr || p.Paddr != w.addr || p.Memsz != w.memsz {
			t.Errorf("segment %d: %v at %#x/%#x memsz %#x; want PT_LOAD at %#x memsz %#x", i, p.Type, p.Vaddr, p.Paddr, p.Memsz, w.addr, w.memsz)
		}
		if p.Off%4096 != p.Vaddr%4096 {
			t.Errorf("segment %d: offset %#x and address %#x disagree modulo the page size", i, p.Off, p.Vaddr)
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil || !bytes.HasPrefix(data, w.prefix) {
			t.Errorf("segment %d: contents %.8x (%v); want prefix %x", i, data, err, w.prefix)
		}
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	stub := writeELF64(t, 0x100000, seg{0x100000, 0x2000000, []byte{1}})
	kern := writeELF64(t, 0x1001000, seg{0x1000000, 0x1000, []byte{2}})
	if _, err := build(stub, kern); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("overlapping segments: err = %v", err)
	}
	high := writeELF64(t, 0x1001000, seg{0xFFFFF000, 0x2000, []byte{2}})
	if _, err := build(writeELF64(t, 0x100000, seg{0x100000, 0x10, []byte{1}}), high); err == nil || !strings.Contains(err.Error(), "4 GiB") {
		t.Errorf("segment past 4 GiB: err = %v", err)
	}
	notELF := filepath.Join(t.TempDir(), "x")
	os.WriteFile(notELF, []byte("not an ELF file"), 0o644)
	if _, err := build(notELF, kern); err == nil {
		t.Error("a non-ELF stub was accepted")
	}
}
