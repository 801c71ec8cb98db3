package proc

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"gofly/vm"
)

// User address bounds: page 0 stays unmapped; the top is the end of the
// canonical lower half.
const (
	pageSize = 4096
	userMin  = pageSize
	userMax  = vm.UserMax
)

// ErrNoExec is execve's ENOEXEC: not an executable this kernel can run.
var ErrNoExec = errors.New("exec format error")

// Segment is one PT_LOAD segment.
type Segment struct {
	Vaddr, Memsz uint64
	Off, Filesz  uint64
	Flags        elf.ProgFlag
}

// Image is what loading an executable needs.
type Image struct {
	Entry    uint64
	Segments []Segment
	// Phdr is where the program headers are in memory (AT_PHDR), 0 when
	// no segment loads them; Phoff where they are in the file, Phent and
	// Phnum their size and count.
	Phdr, Phoff, Phent, Phnum uint64
}

// Parse reads data as a static x86-64 executable.
func Parse(data []byte) (*Image, error) { return ParseAt(bytes.NewReader(data), int64(len(data))) }

// ParseAt reads the size bytes at r as a static x86-64 executable: its
// headers only, not its segments' bytes.
func ParseAt(r io.ReaderAt, size int64) (*Image, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoExec, err)
	}
	defer f.Close()
	switch {
	case f.Class != elf.ELFCLASS64:
		return nil, fmt.Errorf("%w: %v, not ELFCLASS64", ErrNoExec, f.Class)
	case f.Machine != elf.EM_X86_64:
		return nil, fmt.Errorf("%w: machine %v, not x86-64", ErrNoExec, f.Machine)
	case f.Type != elf.ET_EXEC:
		return nil, fmt.Errorf("%w: type %v, not a static executable (ET_EXEC)", ErrNoExec, f.Type)
	}
	img := &Image{Entry: f.Entry}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			return nil, fmt.Errorf("%w: needs an interpreter (dynamically linked)", ErrNoExec)
		case elf.PT_LOAD:
		default:
			continue
		}
		s := Segment{Vaddr: p.Vaddr, Memsz: p.Memsz, Off: p.Off, Filesz: p.Filesz, Flags: p.Flags}
		end := s.Vaddr + s.Memsz
		switch {
		case s.Filesz > s.Memsz:
			return nil, fmt.Errorf("%w: segment at %#x has more file bytes than memory", ErrNoExec, s.Vaddr)
		case s.Vaddr < userMin || end < s.Vaddr || end > userMax:
			return nil, fmt.Errorf("%w: segment [%#x, %#x) outside the user half", ErrNoExec, s.Vaddr, end)
		case s.Off+s.Filesz < s.Off || s.Off+s.Filesz > uint64(size):
			return nil, fmt.Errorf("%w: segment at %#x reads past the file", ErrNoExec, s.Vaddr)
		case s.Vaddr%pageSize != s.Off%pageSize:
			return nil, fmt.Errorf("%w: segment at %#x: offset %#x not congruent to its address", ErrNoExec, s.Vaddr, s.Off)
		}
		img.Segments = append(img.Segments, s)
	}
	if len(img.Segments) == 0 {
		return nil, fmt.Errorf("%w: no loadable segment", ErrNoExec)
	}
	// The ELF header's program-header table, found in a loaded segment.
	var hdr [64]byte // Elf64_Ehdr, which NewFile has read whole
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoExec, err)
	}
	img.Phoff = binary.LittleEndian.Uint64(hdr[32:40])
	img.Phent, img.Phnum = uint64(binary.LittleEndian.Uint16(hdr[54:56])), uint64(len(f.Progs))
	for _, s := range img.Segments {
		if img.Phoff >= s.Off && img.Phoff+img.Phent*img.Phnum <= s.Off+s.Filesz {
			img.Phdr = s.Vaddr + (img.Phoff - s.Off)
		}
	}
	ok := false
	for _, s := range img.Segments {
		if img.Entry >= s.Vaddr && img.Entry < s.Vaddr+s.Memsz && s.Flags&elf.PF_X != 0 {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: entry %#x is in no executable segment", ErrNoExec, img.Entry)
	}
	return img, nil
}
