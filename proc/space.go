package proc

import (
	"debug/elf"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"gofly/lwkt"
	"gofly/mm"
	"gofly/pmap"
	"gofly/vfs"
	"gofly/vm"
)

// ErrNoMemory is the error when mm has no frame for a page or a table.
var ErrNoMemory = errors.New("cannot allocate memory")

// Space is a process's address space: a vm.Map (map entries over a user
// pmap) whose demand-zero faults the trap path serves. Its page-table
// work runs in lwkt.TrapCall bodies under the MP lock, the guard of every
// map; its goroutines hold a reference until Destroy.
type Space struct {
	m    vm.Map
	dead bool
	// refs counts the processes using the space: a vfork child shares
	// its parent's until it execs or ends.
	refs atomic.Int32
	// The memory calls and copies served, and how many of them ran
	// without the MP lock (TrapCallLocal).
	memCalls, memLocal, copies, copiesLocal atomic.Uint64
	// names are what /proc/PID/maps calls the mappings (procfs.go).
	names names
	// exe is the executable Load mapped, whose writes the space denies
	// until Destroy (vfs.Vnode.DenyWrite); set before the space runs.
	exe *vfs.Vnode
}

// Calls returns the memory calls and the copies (copyin/copyout chunks)
// served in s, each with how many ran under its map's lock alone.
func (s *Space) Calls() (mem, memLocal, copies, copiesLocal uint64) {
	return s.memCalls.Load(), s.memLocal.Load(), s.copies.Load(), s.copiesLocal.Load()
}

// NewSpace makes an empty user address space, with one reference.
func NewSpace() (*Space, error) {
	s := new(Space)
	if lwkt.TrapCall(spaceNew, uintptr(unsafe.Pointer(s))) == 0 {
		return nil, ErrNoMemory
	}
	s.refs.Store(1)
	return s, nil
}

// release drops a reference; the last destroys the space.
func (s *Space) release() {
	if s.refs.Add(-1) == 0 {
		s.Destroy()
	}
}

// protOf returns the vm protection of a segment.
func protOf(f elf.ProgFlag) uint8 {
	var p uint8
	if f&elf.PF_R != 0 {
		p |= vm.ProtRead
	}
	if f&elf.PF_W != 0 {
		p |= vm.ProtWrite | vm.ProtRead
	}
	if f&elf.PF_X != 0 {
		p |= vm.ProtExec | vm.ProtRead
	}
	return p
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

// Load maps img's segments from file, the executable, into s, as
// Linux's ELF loader does: a segment's pages of file bytes map the file's
// VM object privately (shared with every process that runs the file and
// with read(), copied on a first write), the pages past them are
// anonymous and fault in zero (Go's bss: tens of MiB with the FIPS
// module's). Two kinds of page are filled at once in anonymous memory
// instead: a segment's last file page when bss follows in it (the rest
// of that page must read zero, not the file's next bytes), and a page
// two segments share (it gets both's bytes and permissions; ELF orders
// PT_LOADs by address, so only a segment's first page can be its
// predecessor's last). The file cannot be written or truncated while s
// lives (ETXTBSY, as Linux; nor can Load map one open for writing). On
// failure s holds what was mapped so far; Destroy frees it.
func (s *Space) Load(img *Image, file *vfs.Vnode) error {
	if s.dead {
		return errors.New("proc: Load on a destroyed space")
	}
	obj, err := file.Object()
	if err != nil {
		return err
	}
	if err := file.DenyWrite(); err != nil {
		return err
	}
	s.exe = file
	type fill struct {
		va  uint64
		seg *Segment
	}
	var fills []fill
	lastEnd, lastProt := uint64(0), uint8(0)
	for i := range img.Segments {
		g := &img.Segments[i]
		start := g.Vaddr &^ (pageSize - 1)
		end := (g.Vaddr + g.Memsz + pageSize - 1) &^ (pageSize - 1)
		prot := protOf(g.Flags)
		if start < lastEnd { // shares its first page with the segment before
			if err := s.mapEntry(start, pageSize, prot|lastProt); err != nil {
				return err
			}
			fills = append(fills, fill{start, &img.Segments[i-1]}, fill{start, g})
			start += pageSize
		}
		fileEnd := g.Vaddr + g.Filesz
		objEnd := (fileEnd + pageSize - 1) &^ (pageSize - 1)
		if g.Memsz > g.Filesz && fileEnd%pageSize != 0 {
			objEnd = fileEnd &^ (pageSize - 1)
			if objEnd >= start {
				fills = append(fills, fill{objEnd, g})
			}
		}
		objEnd = max(objEnd, start)
		if start < objEnd {
			off := (g.Off - (g.Vaddr - start)) / pageSize
			if r := s.MmapObject(start, objEnd-start, int(prot), vm.MapPrivate|vm.MapFixed, obj, off); r < 0 {
				return fmt.Errorf("proc: map %#x-%#x of the executable: errno %d", start, objEnd, -r)
			}
		}
		if objEnd < end {
			if err := s.mapEntry(objEnd, end-objEnd, prot); err != nil {
				return err
			}
		}
		lastEnd, lastProt = end, prot
	}
	var page [pageSize]byte
	for _, f := range fills {
		lo, hi := max(f.va, f.seg.Vaddr), min(f.va+pageSize, f.seg.Vaddr+f.seg.Filesz)
		var src []byte
		if lo < hi {
			src = page[:hi-lo]
			if n, err := file.ReadAt(src, int64(f.seg.Off+(lo-f.seg.Vaddr))); n != len(src) {
				return fmt.Errorf("%w: reading the page at %#x: %v", ErrNoExec, f.va, err)
			}
		}
		if err := s.mapPage(f.va, flags(f.seg.Flags), src, lo-f.va); err != nil {
			return err
		}
	}
	return nil
}

// mapEntry adds a map entry [va, va+n) with prot (an anonymous private
// MAP_FIXED mapping).
func (s *Space) mapEntry(va, n uint64, prot uint8) error {
	if r := s.Mmap(va, n, int(prot), vm.MapPrivate|vm.MapAnonymous|vm.MapFixed); r < 0 {
		return fmt.Errorf("proc: map entry %#x-%#x: errno %d", va, va+n, -r)
	}
	return nil
}

// Read copies n bytes at va out of s, page by page through its tables;
// false if some page is not present.
func (s *Space) Read(va uint64, n int) ([]byte, bool) {
	out := make([]byte, 0, n)
	for n > 0 {
		pa, ok := s.m.Pmap.Extract(uintptr(va))
		if !ok {
			return nil, false
		}
		k := min(n, int(pageSize-va%pageSize))
		out = append(out, unsafe.Slice((*byte)(mm.Direct(pa)), k)...)
		va += uint64(k)
		n -= k
	}
	return out, true
}

// Flags returns the leaf flags mapping va in s (0: not mapped).
func (s *Space) Flags(va uint64) uint64 { return s.m.Pmap.Flags(uintptr(va)) }

// Destroy frees every page and table of s. Nothing may run in s.
func (s *Space) Destroy() {
	if s.dead {
		return
	}
	s.dead = true
	lwkt.TrapCall(spaceDestroy, uintptr(unsafe.Pointer(s)))
	if s.exe != nil {
		s.exe.AllowWrite()
		s.exe = nil
	}
}

// Resident and Tables return the pages and page-table pages s holds
// (the root not counted).
func (s *Space) Resident() uint64 { return s.m.Pmap.Resident() }

// Peak returns the most pages s has held resident.
func (s *Space) Peak() uint64 { return s.m.Pmap.Peak() }

// Tables: see Resident.
func (s *Space) Tables() uint64 { return s.m.Pmap.Tables() }

// resident sets out[i] to 1 where s's tables map the page at va+i
// pages, 0 elsewhere (mincore); false when memory is short.
func (s *Space) resident(va uint64, out []byte) bool {
	const chunk = 4096 // pages per TrapCall: interrupts stay off that long
	for len(out) > 0 {
		k := min(len(out), chunk)
		a := residentArgs{s: s, va: uintptr(va), n: uintptr(k), out: uintptr(unsafe.Pointer(&out[0]))}
		if lwkt.TrapCall(spaceResident, uintptr(unsafe.Pointer(&a))) == 0 {
			return false
		}
		runtime.KeepAlive(out)
		out, va = out[k:], va+uint64(k)*pageSize
	}
	return true
}

// Entries returns s's map entries with their resident pages, read in
// one trap under the MP lock.
func (s *Space) Entries() []MapEntry {
	buf := make([]MapEntry, vm.MaxEntries)
	a := statArgs{s: s, out: uintptr(unsafe.Pointer(&buf[0]))}
	lwkt.TrapCall(spaceStat, uintptr(unsafe.Pointer(&a)))
	return buf[:a.n]
}

// SetupStack maps the vDSO (vdso.go) and makes the process stack's map
// entry, [StackTop-StackSize, StackTop), writable and not executable,
// writes the initial stack for argv, envp and img's auxiliary vector at
// its top (with root's IDs), and returns the initial sp. The pages below
// fill on demand.
func (s *Space) SetupStack(img *Image, argv, envp []string, random [16]byte) (uint64, error) {
	return s.setupStack(img, argv, envp, random, creds{})
}

// setupStack is SetupStack with c's IDs in the auxiliary vector.
func (s *Space) setupStack(img *Image, argv, envp []string, random [16]byte, c creds) (uint64, error) {
	if err := s.mapVDSO(); err != nil {
		return 0, err
	}
	aux := []Aux{{AtSysinfoEhdr, vdsoText}, {AtPhdr, img.Phdr}, {AtPhent, img.Phent}, {AtPhnum, img.Phnum},
		{AtPagesz, pageSize}, {AtEntry, img.Entry}, {AtUID, uint64(c.ruid)}, {AtEUID, uint64(c.euid)}, {AtGID, uint64(c.rgid)}, {AtEGID, uint64(c.egid)}, {AtSecure, 0}}
	buf, sp, err := buildStack(StackTop, argv, envp, aux, random)
	if err != nil {
		return 0, err
	}
	s.setStrings(StackTop, argv, envp)
	if err := s.mapEntry(StackTop-StackSize, StackSize, vm.ProtRead|vm.ProtWrite); err != nil {
		return 0, err
	}
	fl := uint64(pmap.User | pmap.Writable)
	if pmap.NXEnabled {
		fl |= pmap.NoExec
	}
	for va := sp &^ (pageSize - 1); va < StackTop; va += pageSize {
		lo, hi := max(va, sp), min(va+pageSize, StackTop)
		if err := s.mapPage(va, fl, buf[lo-sp:hi-sp], lo-va); err != nil {
			return 0, err
		}
	}
	return sp, nil
}

// mapPage maps the page at va with flags (widening the permissions of a
// page an earlier segment mapped) and copies src to offset off in it.
func (s *Space) mapPage(va, flags uint64, src []byte, off uint64) error {
	a := pageArgs{m: &s.m, va: uintptr(va), flags: flags}
	if len(src) > 0 {
		a.src, a.off, a.n = uintptr(unsafe.Pointer(&src[0])), uintptr(off), uintptr(len(src))
	}
	if lwkt.TrapCall(loadPage, uintptr(unsafe.Pointer(&a))) == 0 {
		return fmt.Errorf("proc: mapping %#x: %w", va, ErrNoMemory)
	}
	return nil
}

// forkInto makes child, a new empty space, a copy-on-write copy of s
// (vm.Map.Fork); false when mm ran out.
func (s *Space) forkInto(child *Space) bool {
	a := forkArgs{parent: s, child: child}
	if lwkt.TrapCall(spaceFork, uintptr(unsafe.Pointer(&a))) == 0 {
		return false
	}
	if s.exe != nil {
		if err := s.exe.DenyWrite(); err != nil { // s denies writes already: no writer can be
			panic("proc: fork: the executable is open for writing: " + err.Error())
		}
		child.exe = s.exe
	}
	s.copyNames(child)
	return true
}

// The memory calls, served in the map by TrapCall (Linux's results).

// Mmap is mmap(2) of anonymous memory in s.
func (s *Space) Mmap(addr, length uint64, prot, flags int) int64 {
	return s.memCall(memMmap, addr, length, prot, flags)
}

// MmapObject is mmap(2) of a file in s: its object obj from page index
// off (vm.Map.MmapObject).
func (s *Space) MmapObject(addr, length uint64, prot, flags int, obj uint32, off uint64) int64 {
	c := memArgs{s: s, op: memMmapObject, addr: uintptr(addr), length: uintptr(length), a: prot, b: flags, obj: obj, off: off}
	s.memCalls.Add(1)
	lwkt.TrapCall(spaceMem, uintptr(unsafe.Pointer(&c)))
	return c.ret
}

// Munmap is munmap(2) in s.
func (s *Space) Munmap(addr, length uint64) int64 { return s.memCall(memMunmap, addr, length, 0, 0) }

// Mprotect is mprotect(2) in s.
func (s *Space) Mprotect(addr, length uint64, prot int) int64 {
	return s.memCall(memMprotect, addr, length, prot, 0)
}

// Madvise is madvise(2) in s.
func (s *Space) Madvise(addr, length uint64, advice int) int64 {
	r := s.memCall(memMadvise, addr, length, advice, 0)
	if end, ok := s.m.AdviceRange(uintptr(addr), uintptr(length)); ok && advice == vm.MadvRemove {
		s.punchFiles(addr, uint64(end)) // vm punched shared anonymous memory
	}
	return r
}

// punchFiles punches the holes MADV_REMOVE asks for in the files s maps
// over [addr, end), up to where vm's Madvise stopped (vm.RemoveStop: the
// first entry not shared and writable): each through its file
// (vfs.Vnode.PunchPages), under the file's range lock, as Linux's
// madvise_remove calls the file's fallocate. Entries that changed
// meanwhile are taken as they are now (Linux, too, lets the mapping go
// before it punches). The entries and their files are read together,
// under names' lock, as Linux pins the file it found: an mmap names its
// object before it maps it, so a mapping unmapped meanwhile, whose
// object number another file's mmap then took, cannot make its old
// offsets punch the new file; its own file, pinned, holds that object
// no longer, and PunchPages leaves it alone.
func (s *Space) punchFiles(addr, end uint64) {
	type hole struct {
		f        *vfs.Vnode
		obj      uint32
		first, n uint64
	}
	var holes []hole
	s.names.mu.Lock()
	for _, e := range s.Entries() {
		lo, hi := max(addr, uint64(e.Start)), min(end, uint64(e.End))
		if lo >= hi {
			continue
		}
		if vm.RemoveError(&e.Entry) != 0 {
			break
		}
		if f := s.names.objs[e.Obj].file; f != nil {
			holes = append(holes, hole{f, e.Obj, e.Off + (lo-uint64(e.Start))/pageSize, (hi - lo) / pageSize})
		}
	}
	s.names.mu.Unlock()
	for _, h := range holes {
		h.f.PunchPages(h.obj, h.first, h.n)
	}
}

func (s *Space) memCall(op int, addr, length uint64, a, b int) int64 {
	c := memArgs{s: s, op: op, addr: uintptr(addr), length: uintptr(length), a: a, b: b}
	s.memCalls.Add(1)
	if lwkt.TrapCallLocal(spaceMemLocal, uintptr(unsafe.Pointer(&c))) != 0 {
		s.memLocal.Add(1)
	} else {
		lwkt.TrapCall(spaceMem, uintptr(unsafe.Pointer(&c)))
	}
	return c.ret
}

// CopyIn copies n bytes at user address va out of s, or fails with a bad
// address when some byte is outside the user half or on a page the
// process may not read; pages not yet present fill on demand, as the
// process's own access would.
func (s *Space) CopyIn(va, n uint64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := s.copy(va, b, false); err != nil {
		return nil, err
	}
	return b, nil
}

// CopyInTo copies len(b) bytes at user address va of s into b, as CopyIn
// does but into the caller's memory (a file's page).
func (s *Space) CopyInTo(va uint64, b []byte) error {
	_, err := s.copy(va, b, false)
	return err
}

// CopyInPart is CopyInTo that says how many bytes it copied before a bad
// page ended it (a pipe's write counts them, as Linux's does).
func (s *Space) CopyInPart(va uint64, b []byte) (int, error) { return s.copy(va, b, false) }

// CopyOut copies b to user address va in s, or fails as CopyIn does
// (writable pages only).
func (s *Space) CopyOut(va uint64, b []byte) error {
	_, err := s.copy(va, b, true)
	return err
}

// CopyOutPart is CopyOut that says how many bytes it copied before a bad
// page ended it.
func (s *Space) CopyOutPart(va uint64, b []byte) (int, error) { return s.copy(va, b, true) }

// errFault is a user address the process may not use.
var errFault = errors.New("bad address")

// copy moves len(b) bytes between b and va: how many before a bad page
// of va ended it, with errFault then.
func (s *Space) copy(va uint64, b []byte, out bool) (int, error) {
	if len(b) == 0 {
		return s.copyVia(copyArgs{va: uintptr(va), out: out})
	}
	n, err := s.copyVia(copyArgs{va: uintptr(va), buf: uintptr(unsafe.Pointer(&b[0])), n: uintptr(len(b)), out: out})
	runtime.KeepAlive(b)
	return n, err
}

// CopyOutFrames copies n bytes of frames, from off bytes into the first,
// to user address va in s: a page list's bytes (xio), straight from the
// direct map, one trap per copyChunk. It returns how many it copied
// before a page of va the process may not write ended it (errFault).
func (s *Space) CopyOutFrames(va uint64, frames []uint64, off, n int) (int, error) {
	if off < 0 || n < 0 || off+n > len(frames)*pageSize {
		panic("proc: CopyOutFrames past its frames")
	}
	if n == 0 {
		return s.copyVia(copyArgs{va: uintptr(va), out: true})
	}
	k, err := s.copyVia(copyArgs{va: uintptr(va), buf: uintptr(off), n: uintptr(n), out: true, frames: uintptr(unsafe.Pointer(&frames[0]))})
	runtime.KeepAlive(frames)
	return k, err
}

// copyVia carries out c (its va, buf and n) at most copyChunk per trap,
// and returns how many bytes it copied.
func (s *Space) copyVia(c copyArgs) (int, error) {
	if c.va+c.n < c.va || uint64(c.va+c.n) > userMax {
		return 0, errFault
	}
	c.s = s
	done := 0
	for c.n > 0 {
		one := c
		one.n = min(c.n, copyChunk)
		s.copies.Add(1)
		r := lwkt.TrapCallLocal(spaceCopyLocal, uintptr(unsafe.Pointer(&one)))
		if r == copyRetry {
			r = lwkt.TrapCall(spaceCopy, uintptr(unsafe.Pointer(&one)))
		} else {
			s.copiesLocal.Add(1)
		}
		if r == copyFault {
			return done + int(one.done), errFault
		}
		done += int(one.n)
		c.va, c.buf, c.n = c.va+one.n, c.buf+one.n, c.n-one.n
	}
	return done, nil
}

// copyChunk bounds one trap's copy.
const copyChunk = 64 << 10
