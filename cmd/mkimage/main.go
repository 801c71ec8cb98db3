// Command mkimage builds Gofly's multiboot image from the boot stub and the
// Go kernel: an ELF32 file (QEMU's multiboot loader refuses ELF64) whose
// loadable segments are the stub's, at 1 MiB, followed by the Go image's
// own, at the physical addresses of those it was linked for (the kernel
// is linked in the direct map, amd64.Alias plus its physical address).
// The loader then puts every segment in place and zeroes the BSS, so the
// stub has nothing to copy.
package main

import (
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"gofly/arch/amd64"
)

func main() {
	stub := flag.String("stub", "", "boot stub ELF (linked at 1 MiB)")
	kernel := flag.String("kernel", "", "Go kernel ELF")
	out := flag.String("o", "", "output image")
	flag.Parse()
	if *stub == "" || *kernel == "" || *out == "" {
		log.Fatal("mkimage: usage: mkimage -stub STUB -kernel KERNEL -o IMAGE")
	}
	img, err := build(*stub, *kernel)
	if err != nil {
		log.Fatalf("mkimage: %v", err)
	}
	if err := os.WriteFile(*out, img, 0o755); err != nil {
		log.Fatalf("mkimage: %v", err)
	}
}

// segment is one PT_LOAD of the output; vaddr is its load address.
type segment struct {
	vaddr, memsz uint64
	flags        elf.ProgFlag
	data         []byte
}

func loads(path string) ([]segment, uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return nil, 0, fmt.Errorf("%s: not an x86-64 ELF64 file", path)
	}
	var segs []segment
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		addr := p.Vaddr
		if addr >= amd64.Alias { // linked in the direct map: loaded at its physical address
			addr -= amd64.Alias
		}
		if addr+p.Memsz > 1<<32 {
			return nil, 0, fmt.Errorf("%s: segment at %#x ends above 4 GiB", path, p.Vaddr)
		}
		data, err := io.ReadAll(p.Open())
		if err != nil {
			return nil, 0, err
		}
		segs = append(segs, segment{addr, p.Memsz, p.Flags, data})
	}
	return segs, f.Entry, nil
}

// build returns the image: the ELF32 header, the program headers, then each
// segment's file bytes, the stub's first so that the multiboot header falls
// in the file's first 8 KiB.
func build(stubPath, kernelPath string) ([]byte, error) {
	stub, entry, err := loads(stubPath)
	if err != nil {
		return nil, err
	}
	kern, _, err := loads(kernelPath)
	if err != nil {
		return nil, err
	}
	segs := append(stub, kern...)
	for i := 1; i < len(segs); i++ {
		if segs[i-1].vaddr+segs[i-1].memsz > segs[i].vaddr {
			return nil, fmt.Errorf("segments at %#x and %#x overlap", segs[i-1].vaddr, segs[i].vaddr)
		}
	}
	const ehsize, phsize, align = 52, 32, 4096
	// File offsets: after the headers, each segment where offset and
	// address agree modulo the page size, as ELF loaders expect.
	offs := make([]uint64, len(segs))
	at := uint64(ehsize + phsize*len(segs))
	for i, s := range segs {
		at += (s.vaddr - at) % align
		offs[i] = at
		at += uint64(len(s.data))
	}
	if offs[0] >= 8192 {
		return nil, fmt.Errorf("the stub's first segment starts at file offset %#x, past the multiboot limit", offs[0])
	}
	le := binary.LittleEndian
	img := make([]byte, at)
	copy(img, []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	le.PutUint16(img[16:], uint16(elf.ET_EXEC))
	le.PutUint16(img[18:], uint16(elf.EM_386))
	le.PutUint32(img[20:], uint32(elf.EV_CURRENT))
	le.PutUint32(img[24:], uint32(entry))
	le.PutUint32(img[28:], ehsize) // program headers follow the ELF header
	le.PutUint16(img[40:], ehsize)
	le.PutUint16(img[42:], phsize)
	le.PutUint16(img[44:], uint16(len(segs)))
	for i, s := range segs {
		ph := img[ehsize+phsize*i:]
		le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
		le.PutUint32(ph[4:], uint32(offs[i]))
		le.PutUint32(ph[8:], uint32(s.vaddr))
		le.PutUint32(ph[12:], uint32(s.vaddr)) // physical == virtual
		le.PutUint32(ph[16:], uint32(len(s.data)))
		le.PutUint32(ph[20:], uint32(s.memsz))
		le.PutUint32(ph[24:], uint32(s.flags))
		le.PutUint32(ph[28:], align)
		copy(img[offs[i]:], s.data)
	}
	return img, nil
}
