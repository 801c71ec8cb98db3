package proc

// The vDSO: Linux's virtual shared object, which a process's C library or
// Go runtime finds through AT_SYSINFO_EHDR and calls instead of making
// clock_gettime, gettimeofday and time system calls. Gofly's clock is the
// TSC scaled by the kernel's calibration (drivers/timer), which ring 3
// may read too, so the vDSO computes the same nanoseconds the system call
// would, from a clock page the kernel fills once at boot (the TSC at
// calibration, the ns per cycle, the wall clock's offset; none of them
// changes after boot, so no sequence count).
//
// One VM object holds two pages, the clock page and the text page: an
// ELF shared object built here (vdsoImage) around the code of
// vdso_amd64.s. Every address space maps both, private and read-only (the
// text executable), below its stack (mapVDSO): a process that mprotects
// and writes them gets its own copy, as on Linux.

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"gofly/drivers/timer"
	"gofly/mm"
	"gofly/sys"
	"gofly/vm"
)

// vdsoFuncs returns the addresses of the vDSO's functions in the kernel's
// text (vdso_amd64.s).
func vdsoFuncs() (clockGettime, gettimeofday, time uintptr)

// vdsoClock is the clock page's layout (vdso_amd64.s's CLK_ offsets).
type vdsoClock struct {
	TSC0 uint64 // the TSC at calibration: the monotonic clock's zero
	Mult uint64 // ns per TSC cycle, 32.32 fixed point
	Wall int64  // CLOCK_REALTIME less CLOCK_MONOTONIC, in ns
}

// Where the vDSO goes in an address space: its clock page, then its
// text, a gap below the stack's map entry.
const (
	vdsoPages = 2
	vdsoBase  = StackTop - StackSize - 1<<20
	vdsoText  = vdsoBase + pageSize // AT_SYSINFO_EHDR
)

// vdsoVersion is the symbol version Linux's x86-64 vDSO defines and its
// users (Go's runtime, glibc, musl) ask for; vdsoSoname its DT_SONAME.
const (
	vdsoVersion = "LINUX_2.6"
	vdsoSoname  = "linux-vdso.so.1"
)

// vdsoMaxFunc bounds one function's code (with its alignment padding).
const vdsoMaxFunc = 512

// vdso is the shared VM object, made at the first process's start.
var vdso struct {
	once sync.Once
	obj  uint32
	err  error
}

// Init makes what every process maps, the vDSO, at boot: its frames are
// then the kernel's from the start, not a first program's.
func Init() error {
	_, err := vdsoObject()
	return err
}

// vdsoObject returns the vDSO's VM object, making it the first time.
func vdsoObject() (uint32, error) {
	vdso.once.Do(func() { vdso.obj, vdso.err = makeVDSO() })
	return vdso.obj, vdso.err
}

func makeVDSO() (uint32, error) {
	img, err := vdsoImage()
	if err != nil {
		return 0, err
	}
	obj, err := vm.FileObject()
	if err != nil {
		return 0, err
	}
	vm.ExtendFile(obj, vdsoPages)
	var pages [vdsoPages][]byte
	for i := range pages {
		pa, _, err := vm.FilePage(obj, uint64(i), true)
		if err != nil {
			vm.ReleaseFile(obj)
			return 0, err
		}
		pages[i] = unsafe.Slice((*byte)(mm.Direct(pa)), pageSize)
	}
	tsc0, mult := timer.Clock()
	clk, err := binary.Append(nil, binary.LittleEndian, vdsoClock{TSC0: tsc0, Mult: mult, Wall: sys.WallBase})
	if err != nil {
		vm.ReleaseFile(obj)
		return 0, err
	}
	copy(pages[0], clk)
	copy(pages[1], img)
	return obj, nil
}

// mapVDSO maps the vDSO into s at vdsoBase.
func (s *Space) mapVDSO() error {
	obj, err := vdsoObject()
	if err != nil {
		return fmt.Errorf("vdso: %w", err)
	}
	const flags = unix.MAP_PRIVATE | unix.MAP_FIXED
	if r := s.MmapObject(vdsoBase, pageSize, unix.PROT_READ, flags, obj, 0); r < 0 {
		return fmt.Errorf("vdso: mapping its clock page: %w", unix.Errno(-r))
	}
	if r := s.MmapObject(vdsoText, pageSize, unix.PROT_READ|unix.PROT_EXEC, flags, obj, 1); r < 0 {
		return fmt.Errorf("vdso: mapping its text: %w", unix.Errno(-r))
	}
	return nil
}

// funcCode returns the code of the function at pc, up to the next
// function (its alignment padding included), from the runtime's
// function table.
func funcCode(pc uintptr) ([]byte, error) {
	f := runtime.FuncForPC(pc)
	if f == nil || f.Entry() != pc {
		return nil, fmt.Errorf("vdso: no function at %#x", pc)
	}
	n := uintptr(1)
	for ; n <= vdsoMaxFunc && runtime.FuncForPC(pc+n) == f; n++ {
	}
	if n > vdsoMaxFunc {
		return nil, fmt.Errorf("vdso: %s is over %d bytes", f.Name(), vdsoMaxFunc)
	}
	return unsafe.Slice((*byte)(mm.Ptr(uint64(pc))), n), nil
}

// elfHash is the System V ABI's symbol hash (DT_HASH, vd_hash).
func elfHash(name string) uint32 {
	var h uint32
	for i := 0; i < len(name); i++ {
		h = h<<4 + uint32(name[i])
		g := h & 0xf0000000
		h ^= g >> 24
		h &^= g
	}
	return h
}

// vdsoImage builds the vDSO's text page: an ELF64 shared object whose
// one PT_LOAD segment is the page itself (linked at 0), with a dynamic
// section (DT_HASH, dynsym, dynstr, versym and verdef defining
// LINUX_2.6), section headers, and the code of the three functions.
func vdsoImage() ([]byte, error) {
	cg, gtod, tm := vdsoFuncs()
	funcs := []struct {
		name string
		pc   uintptr
	}{{"__vdso_clock_gettime", cg}, {"__vdso_gettimeofday", gtod}, {"__vdso_time", tm}}

	// The string table: "", the soname, the version, the functions.
	strtab := []byte{0}
	str := func(s string) uint32 {
		off := uint32(len(strtab))
		strtab = append(append(strtab, s...), 0)
		return off
	}
	sonameOff, versionOff := str(vdsoSoname), str(vdsoVersion)
	nameOff := make([]uint32, len(funcs))
	for i, f := range funcs {
		nameOff[i] = str(f.name)
	}
	shstr := []byte{0}
	shname := func(s string) uint32 {
		off := uint32(len(shstr))
		shstr = append(append(shstr, s...), 0)
		return off
	}

	nsym := uint32(1 + len(funcs))
	const nphdr, ndyn = 2, 10
	type section struct {
		name      string
		typ       elf.SectionType
		off, size uint64
		link      uint32
		info      uint32
		align     uint64
		entsize   uint64
		flags     elf.SectionFlag
	}
	// Section indexes (0 is the null section).
	const (
		secHash = 1 + iota
		secDynsym
		secDynstr
		secVersym
		secVerdef
		secDynamic
		secText
		secShstrtab
		nsec
	)
	at := uint64(64 + nphdr*56) // past the ELF and program headers
	place := func(size, align uint64) uint64 {
		at = (at + align - 1) &^ (align - 1)
		off := at
		at += size
		return off
	}
	dynOff := place(ndyn*16, 8)
	hashOff := place(uint64(2+1+nsym)*4, 8)
	symOff := place(uint64(nsym)*elf.Sym64Size, 8)
	versymOff := place(uint64(nsym)*2, 2)
	verdefOff := place(2*(20+8), 4)
	strOff := place(uint64(len(strtab)), 1)
	textOff := place(0, 16)
	var code []byte
	value, size := make([]uint64, len(funcs)), make([]uint64, len(funcs))
	for i, f := range funcs {
		c, err := funcCode(f.pc)
		if err != nil {
			return nil, err
		}
		value[i], size[i] = textOff+uint64(len(code)), uint64(len(c))
		code = append(code, c...)
		code = append(code, make([]byte, (16-len(code)%16)%16)...)
	}
	at += uint64(len(code))
	secs := [nsec]section{
		secHash:     {name: ".hash", typ: elf.SHT_HASH, off: hashOff, size: uint64(2+1+nsym) * 4, link: secDynsym, align: 8, entsize: 4, flags: elf.SHF_ALLOC},
		secDynsym:   {name: ".dynsym", typ: elf.SHT_DYNSYM, off: symOff, size: uint64(nsym) * elf.Sym64Size, link: secDynstr, info: 1, align: 8, entsize: elf.Sym64Size, flags: elf.SHF_ALLOC},
		secDynstr:   {name: ".dynstr", typ: elf.SHT_STRTAB, off: strOff, size: uint64(len(strtab)), align: 1, flags: elf.SHF_ALLOC},
		secVersym:   {name: ".gnu.version", typ: elf.SHT_GNU_VERSYM, off: versymOff, size: uint64(nsym) * 2, link: secDynsym, align: 2, entsize: 2, flags: elf.SHF_ALLOC},
		secVerdef:   {name: ".gnu.version_d", typ: elf.SHT_GNU_VERDEF, off: verdefOff, size: 2 * (20 + 8), link: secDynstr, info: 2, align: 4, flags: elf.SHF_ALLOC},
		secDynamic:  {name: ".dynamic", typ: elf.SHT_DYNAMIC, off: dynOff, size: ndyn * 16, link: secDynstr, align: 8, entsize: 16, flags: elf.SHF_ALLOC | elf.SHF_WRITE},
		secText:     {name: ".text", typ: elf.SHT_PROGBITS, off: textOff, size: uint64(len(code)), align: 16, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR},
		secShstrtab: {name: ".shstrtab", typ: elf.SHT_STRTAB, align: 1},
	}
	shnames := make([]uint32, nsec)
	for i := 1; i < nsec; i++ {
		shnames[i] = shname(secs[i].name)
	}
	secs[secShstrtab].off = place(uint64(len(shstr)), 1)
	secs[secShstrtab].size = uint64(len(shstr))
	shOff := place(nsec*64, 8)
	if at > pageSize {
		return nil, fmt.Errorf("vdso: image of %d bytes is over a page", at)
	}

	img := make([]byte, pageSize)
	var err error
	put := func(off uint64, v any) {
		if err != nil {
			return
		}
		var b []byte
		if b, err = binary.Append(nil, binary.LittleEndian, v); err == nil {
			copy(img[off:], b)
		}
	}
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS], ident[elf.EI_DATA], ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	put(0, elf.Header64{Ident: ident, Type: uint16(elf.ET_DYN), Machine: uint16(elf.EM_X86_64),
		Version: uint32(elf.EV_CURRENT), Phoff: 64, Shoff: shOff, Ehsize: 64,
		Phentsize: 56, Phnum: nphdr, Shentsize: 64, Shnum: nsec, Shstrndx: secShstrtab})
	put(64, elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
		Filesz: pageSize, Memsz: pageSize, Align: pageSize})
	put(64+56, elf.Prog64{Type: uint32(elf.PT_DYNAMIC), Flags: uint32(elf.PF_R), Off: dynOff,
		Vaddr: dynOff, Paddr: dynOff, Filesz: ndyn * 16, Memsz: ndyn * 16, Align: 8})
	dyn := [ndyn]elf.Dyn64{
		{Tag: int64(elf.DT_HASH), Val: hashOff},
		{Tag: int64(elf.DT_STRTAB), Val: strOff},
		{Tag: int64(elf.DT_SYMTAB), Val: symOff},
		{Tag: int64(elf.DT_STRSZ), Val: uint64(len(strtab))},
		{Tag: int64(elf.DT_SYMENT), Val: elf.Sym64Size},
		{Tag: int64(elf.DT_SONAME), Val: uint64(sonameOff)},
		{Tag: int64(elf.DT_VERSYM), Val: versymOff},
		{Tag: int64(elf.DT_VERDEF), Val: verdefOff},
		{Tag: int64(elf.DT_VERDEFNUM), Val: 2},
		{Tag: int64(elf.DT_NULL)},
	}
	put(dynOff, dyn)

	// DT_HASH with one bucket: bucket[0] is the last symbol, each chains
	// to the one before, symbol 0 ends the chain.
	hash := []uint32{1, nsym, nsym - 1}
	for i := uint32(0); i < nsym; i++ {
		hash = append(hash, max(i, 1)-1)
	}
	put(hashOff, hash)
	syms := []elf.Sym64{{}}
	versym := []uint16{0} // VER_NDX_LOCAL
	for i := range funcs {
		syms = append(syms, elf.Sym64{Name: nameOff[i], Info: elf.ST_INFO(elf.STB_GLOBAL, elf.STT_FUNC),
			Shndx: secText, Value: value[i], Size: size[i]})
		versym = append(versym, 2)
	}
	put(symOff, syms)
	put(versymOff, versym)
	// Two Verdef records (20 bytes, each with one 8-byte Verdaux): the
	// object itself (VER_FLG_BASE, index 1) and LINUX_2.6 (index 2).
	verdef := func(off uint64, flags, ndx uint16, name string, nameOff uint32, next uint32) {
		put(off, struct {
			Version, Flags, Ndx, Cnt uint16
			Hash, Aux, Next          uint32
			Name, AuxNext            uint32
		}{1, flags, ndx, 1, elfHash(name), 20, next, nameOff, 0})
	}
	verdef(verdefOff, 1, 1, vdsoSoname, sonameOff, 28)
	verdef(verdefOff+28, 0, 2, vdsoVersion, versionOff, 0)
	copy(img[strOff:], strtab)
	copy(img[textOff:], code)
	copy(img[secs[secShstrtab].off:], shstr)
	for i := 1; i < nsec; i++ {
		s := secs[i]
		addr := s.off // linked at 0: an allocated section's address is its offset
		if s.flags&elf.SHF_ALLOC == 0 {
			addr = 0
		}
		put(shOff+uint64(i)*64, elf.Section64{Name: shnames[i], Type: uint32(s.typ), Flags: uint64(s.flags),
			Addr: addr, Off: s.off, Size: s.size, Link: s.link, Info: s.info, Addralign: s.align, Entsize: s.entsize})
	}
	if err != nil {
		return nil, errors.Join(errors.New("vdso: building the image"), err)
	}
	return img, nil
}
