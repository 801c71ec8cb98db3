package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sink keeps the loads faultAt's functions make.
var sink byte

// faultAt runs f and returns the address of the memory fault it took (a
// SIGBUS or SIGSEGV turned into a panic by SetPanicOnFault), 0 if none.
func faultAt(f func()) (addr uintptr) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(interface{ Addr() uintptr }); ok {
				addr = e.Addr()
				return
			}
			panic(r)
		}
	}()
	f()
	return 0
}

// mmapChecks maps files of dir: one set of pages for MAP_SHARED, read()
// and write(); MAP_PRIVATE copies on write; a truncated file's pages past
// its end fault (SIGBUS); Linux's errors for what cannot be mapped.
func mmapChecks(check func(string, bool, ...any), dir string) {
	const pg = 4096
	name := filepath.Join(dir, "mapped")
	content := bytes.Repeat([]byte("0123456789abcdef"), pg*5/2/16) // 2.5 pages
	if err := os.WriteFile(name, content, 0o644); err != nil {
		check("mmap: make the file", false, err)
		return
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		check("mmap: open the file", false, err)
		return
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, 3*pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		check("mmap MAP_SHARED of a file", false, err)
		return
	}
	check("MAP_SHARED maps the file's bytes, zeros past its end in the last page",
		bytes.Equal(m[:len(content)], content) && bytes.Count(m[len(content):], []byte{0}) == 3*pg-len(content))
	copy(m[100:], "through the map")
	got := make([]byte, 15)
	_, rerr := f.ReadAt(got, 100)
	_, werr := f.WriteAt([]byte("through write()"), 5000)
	check("MAP_SHARED and read()/write() see one set of pages",
		rerr == nil && werr == nil && string(got) == "through the map" && string(m[5000:5015]) == "through write()", rerr, werr, string(got))

	p, err := syscall.Mmap(int(f.Fd()), pg, 2*pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err == nil {
		copy(p[10:], "private")
		_, rerr = f.ReadAt(got[:7], pg+10)
		check("MAP_PRIVATE at an offset: the file's bytes, a write copied, not written back",
			rerr == nil && string(p[5000-pg:5015-pg]) == "through write()" && string(p[10:17]) == "private" && string(got[:7]) != "private", rerr, string(got[:7]))
		syscall.Munmap(p)
	} else {
		check("mmap MAP_PRIVATE of a file", false, err)
	}

	// MAP_SHARED_VALIDATE: shared, unless a flag is one Linux does not
	// know (EOPNOTSUPP); anonymous memory has nothing to validate
	// against (EINVAL), as has a type that is neither.
	v, err := syscall.Mmap(int(f.Fd()), 0, pg, syscall.PROT_READ|syscall.PROT_WRITE, unix.MAP_SHARED_VALIDATE)
	if err == nil {
		copy(v[200:], "validated")
		_, rerr = f.ReadAt(got[:9], 200)
		syscall.Munmap(v)
	}
	_, v1 := syscall.Mmap(int(f.Fd()), 0, pg, syscall.PROT_READ, unix.MAP_SHARED_VALIDATE|0x400000)
	_, v2 := syscall.Mmap(-1, 0, pg, syscall.PROT_READ, unix.MAP_SHARED_VALIDATE|syscall.MAP_ANONYMOUS)
	_, v3 := syscall.Mmap(int(f.Fd()), 0, pg, syscall.PROT_READ, 0x5)
	check("MAP_SHARED_VALIDATE maps shared; an unknown flag EOPNOTSUPP; anonymous, or type 5, EINVAL",
		err == nil && rerr == nil && string(got[:9]) == "validated" && errors.Is(v1, syscall.EOPNOTSUPP) &&
			errors.Is(v2, syscall.EINVAL) && errors.Is(v3, syscall.EINVAL), err, rerr, string(got[:9]), v1, v2, v3)
	// Linux checks the type and VALIDATE's flags first, over all 64 bits,
	// then the descriptor's access; MAP_HUGE_2MB is a flag it knows, and
	// /dev/zero is a file it validates.
	wonly, err := os.OpenFile(name, os.O_WRONLY, 0)
	var w1, w2, w3, w4, w5 error
	if err == nil {
		_, w1 = syscall.Mmap(int(wonly.Fd()), 0, pg, syscall.PROT_READ, unix.MAP_SHARED_VALIDATE|0x200)
		_, w2 = syscall.Mmap(int(wonly.Fd()), 0, pg, syscall.PROT_READ, 0)
		wonly.Close()
	}
	_, w3 = syscall.Mmap(int(f.Fd()), 0, pg, syscall.PROT_READ, unix.MAP_SHARED_VALIDATE|1<<40)
	h, w4 := syscall.Mmap(int(f.Fd()), 0, pg, syscall.PROT_READ, unix.MAP_SHARED_VALIDATE|21<<26)
	if w4 == nil {
		syscall.Munmap(h)
	}
	if z, zerr := os.OpenFile("/dev/zero", os.O_RDWR, 0); zerr == nil {
		var zm []byte
		zm, w5 = syscall.Mmap(int(z.Fd()), 0, pg, syscall.PROT_READ|syscall.PROT_WRITE, unix.MAP_SHARED_VALIDATE)
		if w5 == nil {
			syscall.Munmap(zm)
		}
		z.Close()
	} else {
		w5 = zerr
	}
	check("mmap's type and VALIDATE's flags before the descriptor's access (EOPNOTSUPP, EINVAL on a write-only one), all 64 bits; MAP_HUGE_2MB and /dev/zero validate",
		err == nil && errors.Is(w1, syscall.EOPNOTSUPP) && errors.Is(w2, syscall.EINVAL) && errors.Is(w3, syscall.EOPNOTSUPP) && w4 == nil && w5 == nil,
		err, w1, w2, w3, w4, w5)

	err = f.Truncate(pg + 10)
	var atEnd, past uintptr
	if err == nil {
		atEnd = faultAt(func() { sink = m[2*pg-1] }) // the last page: zeros past the end
		past = faultAt(func() { sink = m[2*pg] })
	}
	check("truncate: the mapping's pages past the new end fault (SIGBUS), the last page reads",
		err == nil && atEnd == 0 && past == uintptr(unsafeAddr(m))+2*pg, err, atEnd, past)
	err = f.Truncate(3 * pg)
	check("grown again: the pages read zero", err == nil && faultAt(func() { sink = m[2*pg] }) == 0 && m[2*pg] == 0 && m[pg+9] == content[pg+9], err)

	// MADV_REMOVE through a MAP_SHARED mapping punches a hole in the file
	// (Linux's fallocate PUNCH_HOLE): zeros through read() and the map,
	// the size and the other pages kept.
	_, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(&m[pg])), pg, syscall.MADV_REMOVE)
	hole := make([]byte, pg)
	_, rerr = f.ReadAt(hole, pg)
	st, serr := f.Stat()
	check("MADV_REMOVE of a MAP_SHARED file mapping punches a hole: zeros through read() and the map, the size and the other pages kept",
		e == 0 && rerr == nil && serr == nil && bytes.Count(hole, []byte{0}) == pg && m[pg+9] == 0 &&
			st.Size() == 3*pg && string(m[100:115]) == "through the map",
		e, rerr, serr)
	syscall.Munmap(m)

	ro, err := os.Open(name)
	if err == nil {
		_, e1 := syscall.Mmap(int(ro.Fd()), 0, pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		q, e2 := syscall.Mmap(int(ro.Fd()), 0, pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
		check("read-only descriptor: MAP_SHARED writable is EACCES, MAP_PRIVATE writable maps", errors.Is(e1, syscall.EACCES) && e2 == nil, e1, e2)
		if e2 == nil {
			// A hole is a write to the file: MADV_REMOVE needs a shared,
			// writable mapping (Linux's madvise_remove).
			_, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(&q[0])), pg, syscall.MADV_REMOVE)
			check("MADV_REMOVE of a MAP_PRIVATE file mapping: EACCES", e == syscall.EACCES, e)
			syscall.Munmap(q)
		}
		r, err := syscall.Mmap(int(ro.Fd()), 0, pg, syscall.PROT_READ, syscall.MAP_SHARED)
		if err == nil {
			_, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(&r[0])), pg, syscall.MADV_REMOVE)
			kept := make([]byte, 15)
			_, rerr := ro.ReadAt(kept, 100)
			check("MADV_REMOVE of a read-only MAP_SHARED mapping: EACCES, the file kept",
				e == syscall.EACCES && rerr == nil && string(kept) == "through the map", e, rerr, string(kept))
			err := syscall.Mprotect(r, syscall.PROT_READ|syscall.PROT_WRITE)
			check("mprotect PROT_WRITE of a MAP_SHARED mapping of a read-only descriptor: EACCES",
				errors.Is(err, syscall.EACCES), err)
			syscall.Munmap(r)
		} else {
			check("mmap MAP_SHARED PROT_READ of a read-only descriptor", false, err)
		}
		ro.Close()
	}
	wo, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err == nil {
		_, err = syscall.Mmap(int(wo.Fd()), 0, pg, syscall.PROT_READ, syscall.MAP_SHARED)
		check("write-only descriptor: EACCES", errors.Is(err, syscall.EACCES), err)
		wo.Close()
	}
	_, e1 := syscall.Mmap(int(f.Fd()), 100, pg, syscall.PROT_READ, syscall.MAP_SHARED)
	_, e2 := syscall.Mmap(-1, 0, pg, syscall.PROT_READ, syscall.MAP_SHARED)
	_, e3 := syscall.Mmap(int(f.Fd()), 0, 0, syscall.PROT_READ, syscall.MAP_SHARED)
	check("an unaligned offset and a length of 0 are EINVAL, a bad descriptor EBADF",
		errors.Is(e1, syscall.EINVAL) && errors.Is(e2, syscall.EBADF) && errors.Is(e3, syscall.EINVAL), e1, e2, e3)
	d, err := os.Open(dir)
	if err == nil {
		_, err = syscall.Mmap(int(d.Fd()), 0, pg, syscall.PROT_READ, syscall.MAP_SHARED)
		check("a directory is ENODEV", errors.Is(err, syscall.ENODEV), err)
		d.Close()
	}
	pr, pw, err := os.Pipe()
	if err == nil {
		_, err = syscall.Mmap(int(pr.Fd()), 0, pg, syscall.PROT_READ, syscall.MAP_SHARED)
		check("a pipe is ENODEV", errors.Is(err, syscall.ENODEV), err)
		pr.Close()
		pw.Close()
	}
	if z, err := os.OpenFile("/dev/zero", os.O_RDWR, 0); err == nil {
		zm, err := syscall.Mmap(int(z.Fd()), 0, 2*pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
		if err == nil {
			zero := bytes.Count(zm, []byte{0}) == 2*pg
			zm[pg] = 1
			check("/dev/zero maps anonymous memory", zero && zm[pg] == 1)
			syscall.Munmap(zm)
		} else {
			check("/dev/zero maps", false, err)
		}
		z.Close()
	}

	// A mapping outlives its descriptor and the file's name.
	m, err = syscall.Mmap(int(f.Fd()), 0, pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err == nil {
		f.Close()
		rerr := os.Remove(name)
		copy(m, "still here")
		check("a mapping outlives its descriptor and the file's name", rerr == nil && string(m[:10]) == "still here", rerr)
		syscall.Munmap(m)
	} else {
		check("mmap for the unlink check", false, err)
	}
}

// unsafeAddr is the address of b's first byte.
func unsafeAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
