package vfs

import (
	"context"
	"io"
	"io/fs"
	"syscall"
	"time"
)

// ReadAt reads len(p) bytes at off of a regular file or device: fewer,
// with io.EOF, at the end of a file. A hole reads as zeros. It holds its
// range shared while it copies from the file's pages.
func (v *Vnode) ReadAt(p []byte, off int64) (int, error) {
	switch {
	case v.typ == fs.ModeCharDevice:
		return v.dev.ReadAt(p, off)
	case v.typ == fs.ModeDir:
		return 0, syscall.EISDIR
	case off < 0:
		return 0, syscall.EINVAL
	}
	l, err := v.rl.LockRead(context.Background(), uint64(off), uint64(len(p)))
	if err != nil {
		return 0, err
	}
	defer l.Unlock()
	v.mu.Lock()
	size, obj := v.size, v.obj
	v.mu.Unlock()
	if off >= size {
		return 0, io.EOF
	}
	n := 0
	want := min(int64(len(p)), size-off)
	for int64(n) < want {
		at := off + int64(n)
		k := min(want-int64(n), PageSize-at%PageSize)
		var page []byte
		if obj != 0 {
			if page, err = v.fs.pages.Page(obj, uint64(at/PageSize), false); err != nil {
				return n, err
			}
		}
		dst := p[n : int64(n)+k]
		if page == nil {
			clear(dst)
		} else {
			copy(dst, page[at%PageSize:])
		}
		n += int(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt writes p at off of a regular file or device, extending the
// file past its end (the gap reads as zeros). ENOSPC when the file
// system is full or memory is short: what fit is written, and the size
// covers it. It holds its range Modifying while it copies.
func (v *Vnode) WriteAt(p []byte, off int64) (int, error) {
	switch {
	case v.typ == fs.ModeCharDevice:
		return v.dev.WriteAt(p, off)
	case v.typ == fs.ModeDir:
		return 0, syscall.EISDIR
	case off < 0 || off+int64(len(p)) < off:
		return 0, syscall.EINVAL
	case off+int64(len(p)) > int64(FileMax):
		return 0, syscall.EFBIG
	}
	l, err := v.rl.LockWrite(context.Background(), uint64(off), uint64(len(p)))
	if err != nil {
		return 0, err
	}
	defer l.Unlock()
	n := 0
	for n < len(p) {
		at := off + int64(n)
		k := min(int64(len(p)-n), PageSize-at%PageSize)
		var page []byte
		if page, err = v.page(uint64(at / PageSize)); err != nil {
			break
		}
		copy(page[at%PageSize:], p[n:int64(n)+k])
		n += int(k)
	}
	v.mu.Lock()
	if end := off + int64(n); end > v.size {
		v.size = end
	}
	if n > 0 {
		v.mtime = time.Now()
		v.ctime = v.mtime
	}
	v.mu.Unlock()
	return n, err
}

// FileMax is the largest size a file may have: what a VM object holds.
const FileMax = 1 << 39

// page returns page idx of v's data, making it (and v's object) if need
// be, counted against the file system's limit. The caller holds a range
// lock over the page's bytes, so no other writer makes it meanwhile.
func (v *Vnode) page(idx uint64) ([]byte, error) {
	f := v.fs
	v.mu.Lock()
	if v.obj == 0 {
		obj, err := f.pages.New()
		if err != nil {
			v.mu.Unlock()
			return nil, syscall.ENOSPC
		}
		v.obj = obj
	}
	obj := v.obj
	v.mu.Unlock()
	if page, err := f.pages.Page(obj, idx, false); err != nil || page != nil {
		return page, err
	}
	f.usedMu.Lock()
	if f.used >= f.limit {
		f.usedMu.Unlock()
		return nil, syscall.ENOSPC
	}
	f.used++
	f.usedMu.Unlock()
	page, err := f.pages.Page(obj, idx, true)
	if err != nil {
		f.usedMu.Lock()
		f.used--
		f.usedMu.Unlock()
		return nil, syscall.ENOSPC
	}
	v.mu.Lock()
	v.held++
	v.mu.Unlock()
	return page, nil
}

// Truncate sets a regular file's size: its pages past the new end go, a
// longer file reads as zeros up to it.
func (v *Vnode) Truncate(size int64) error {
	switch {
	case v.typ == fs.ModeDir:
		return syscall.EISDIR
	case v.typ != 0:
		return syscall.EINVAL
	case size < 0:
		return syscall.EINVAL
	case size > FileMax:
		return syscall.EFBIG
	}
	l, err := v.rl.LockTruncate(context.Background(), uint64(size), func() uint64 {
		v.mu.Lock()
		defer v.mu.Unlock()
		return uint64(v.size)
	})
	if err != nil {
		return err
	}
	defer l.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	if size < v.size {
		v.freePages(uint64((size + PageSize - 1) / PageSize))
		if size%PageSize != 0 && v.obj != 0 { // the bytes past the end of the last page read as zero later
			page, _ := v.fs.pages.Page(v.obj, uint64(size/PageSize), false)
			if page != nil {
				clear(page[size%PageSize:])
			}
		}
	}
	v.size = size
	v.mtime = time.Now()
	v.ctime = v.mtime
	return nil
}

// freePages frees v's pages at index from and above (all of them, and
// the object, from 0). The caller holds a range lock from the page at
// from to the end, and v.mu.
func (v *Vnode) freePages(from uint64) {
	if v.obj == 0 {
		return
	}
	gone := v.held
	if from == 0 {
		v.fs.pages.Release(v.obj)
		v.obj = 0
	} else {
		gone = v.fs.pages.Truncate(v.obj, from)
	}
	v.held -= gone
	v.fs.usedMu.Lock()
	v.fs.used -= gone
	v.fs.usedMu.Unlock()
}

// ReadFile returns the whole of the regular file path.
func (f *FS) ReadFile(path string) ([]byte, error) {
	v, err := f.Lookup(path)
	if err != nil {
		return nil, err
	}
	if v.typ != 0 {
		if v.typ == fs.ModeDir {
			return nil, pathError("read", path, syscall.EISDIR)
		}
		return nil, pathError("read", path, syscall.EINVAL)
	}
	v.mu.Lock()
	size := v.size
	v.mu.Unlock()
	b := make([]byte, size)
	n, err := v.ReadAt(b, 0)
	if err == io.EOF {
		err = nil
	}
	return b[:n], err
}
