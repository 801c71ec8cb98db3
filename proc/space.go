package proc

import (
	"debug/elf"
	"errors"
	"fmt"
	"unsafe"

	"gofly/lwkt"
	"gofly/mm"
	"gofly/pmap"
)

// ErrNoMemory is the error when mm has no frame for a page or a table.
var ErrNoMemory = errors.New("cannot allocate memory")

// Space is a process's address space: a user pmap.
type Space struct {
	pm    pmap.Pmap
	Pages int // pages Load mapped
	dead  bool
}

// NewSpace makes an empty user address space.
func NewSpace() (*Space, error) {
	s := new(Space)
	a := newArgs{pm: &s.pm}
	if lwkt.TrapCall(spaceNew, uintptr(unsafe.Pointer(&a))) == 0 || !a.ok {
		return nil, ErrNoMemory
	}
	return s, nil
}

// flags returns the page flags of a segment: user, writable only if the
// segment is, executable only if it is.
func flags(f elf.ProgFlag) uint64 {
	fl := uint64(pmap.User)
	if f&elf.PF_W != 0 {
		fl |= pmap.Writable
	}
	if f&elf.PF_X == 0 && pmap.NXEnabled {
		fl |= pmap.NoExec
	}
	return fl
}

// Load maps img's segments from data (the executable's bytes) into s.
// On failure s holds what was mapped so far; Destroy frees it.
func (s *Space) Load(img *Image, data []byte) error {
	if s.dead {
		return errors.New("proc: Load on a destroyed space")
	}
	for _, g := range img.Segments {
		start := g.Vaddr &^ (pageSize - 1)
		end := (g.Vaddr + g.Memsz + pageSize - 1) &^ (pageSize - 1)
		for va := start; va < end; va += pageSize {
			// The file bytes that fall in this page.
			var src []byte
			lo, hi := max(va, g.Vaddr), min(va+pageSize, g.Vaddr+g.Filesz)
			if lo < hi {
				src = data[g.Off+(lo-g.Vaddr) : g.Off+(hi-g.Vaddr)]
			}
			if err := s.mapPage(va, flags(g.Flags), src, lo-va); err != nil {
				return err
			}
		}
	}
	return nil
}

// Read copies n bytes at va out of s, page by page through its tables;
// false if some page is not mapped.
func (s *Space) Read(va uint64, n int) ([]byte, bool) {
	out := make([]byte, 0, n)
	for n > 0 {
		pa, ok := s.pm.Extract(uintptr(va))
		if !ok {
			return nil, false
		}
		k := min(n, int(pageSize-va%pageSize))
		out = append(out, unsafe.Slice((*byte)(mm.Ptr(pa)), k)...)
		va += uint64(k)
		n -= k
	}
	return out, true
}

// Flags returns the leaf flags mapping va in s (0: not mapped).
func (s *Space) Flags(va uint64) uint64 { return s.pm.Flags(uintptr(va)) }

// Destroy frees every page and table of s. Nothing may run in s.
func (s *Space) Destroy() {
	if s.dead {
		return
	}
	s.dead = true
	lwkt.TrapCall(spaceDestroy, uintptr(unsafe.Pointer(&s.pm)))
}

// Resident and Tables return the pages and page-table pages s holds
// (the root not counted).
func (s *Space) Resident() uint64 { return s.pm.Resident() }

// Tables: see Resident.
func (s *Space) Tables() uint64 { return s.pm.Tables() }

// SetupStack maps the process stack, [StackTop-StackSize, StackTop),
// writable, not executable and zero, writes the initial stack for argv,
// envp and img's auxiliary vector into it, and returns the initial sp.
func (s *Space) SetupStack(img *Image, argv, envp []string, random [16]byte) (uint64, error) {
	aux := []Aux{{AtPhdr, img.Phdr}, {AtPhent, img.Phent}, {AtPhnum, img.Phnum}, {AtPagesz, pageSize},
		{AtEntry, img.Entry}, {AtUID, 0}, {AtEUID, 0}, {AtGID, 0}, {AtEGID, 0}, {AtSecure, 0}}
	buf, sp, err := buildStack(StackTop, argv, envp, aux, random)
	if err != nil {
		return 0, err
	}
	fl := uint64(pmap.User | pmap.Writable)
	if pmap.NXEnabled {
		fl |= pmap.NoExec
	}
	for va := uint64(StackTop - StackSize); va < StackTop; va += pageSize {
		var src []byte
		lo, hi := max(va, sp), min(va+pageSize, StackTop)
		if lo < hi {
			src = buf[lo-sp : hi-sp]
		}
		if err := s.mapPage(va, fl, src, lo-va); err != nil {
			return 0, err
		}
	}
	return sp, nil
}

// mapPage maps the page at va with flags (widening the permissions of a
// page an earlier segment mapped) and copies src to offset off in it.
func (s *Space) mapPage(va, flags uint64, src []byte, off uint64) error {
	a := pageArgs{pm: &s.pm, va: uintptr(va), flags: flags}
	if len(src) > 0 {
		a.src, a.off, a.n = uintptr(unsafe.Pointer(&src[0])), uintptr(off), uintptr(len(src))
	}
	if lwkt.TrapCall(loadPage, uintptr(unsafe.Pointer(&a))) == 0 {
		return fmt.Errorf("proc: mapping %#x: %w", va, ErrNoMemory)
	}
	if a.newFrame {
		s.Pages++
	}
	return nil
}
