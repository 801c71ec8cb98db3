package vfs

import (
	"context"
	"io"
	"io/fs"
	"math"
	"sync"
	"syscall"
	"time"

	"gofly/ccms"
	"gofly/vm"
)

// ReadAt reads len(p) bytes at off of a regular file or device: fewer,
// with io.EOF, at the end of a file. A hole reads as zeros.
func (v *Vnode) ReadAt(p []byte, off int64) (int, error) {
	switch {
	case v.typ == fs.ModeCharDevice:
		return v.dev.ReadAt(p, off)
	case v.typ == fs.ModeDir:
		return 0, syscall.EISDIR
	}
	n, err := v.ReadFunc(off, len(p), func(b []byte) error {
		copy(p, b)
		p = p[len(b):]
		return nil
	})
	if err == nil && len(p) > 0 {
		err = io.EOF
	}
	return n, err
}

// zeroPage is what a hole reads as.
var zeroPage [PageSize]byte

// ReadFunc hands put the bytes of the regular file v from off, up to n
// and the end of the file, a page's piece at a time: straight from its
// object's pages (a hole as zeros), under a shared range lock over them,
// so put may copy them anywhere (to a process) and no write or truncate
// changes them meanwhile. put must not keep the slice. It returns how
// many bytes put took, and put's error if it failed.
func (v *Vnode) ReadFunc(off int64, n int, put func([]byte) error) (int, error) {
	switch {
	case v.typ == fs.ModeDir:
		return 0, syscall.EISDIR
	case v.typ != 0:
		return 0, syscall.EINVAL
	case off < 0 || n < 0:
		return 0, syscall.EINVAL
	}
	l, err := v.rl.LockRead(context.Background(), uint64(off), uint64(n))
	if err != nil {
		return 0, err
	}
	defer l.Unlock()
	v.mu.Lock()
	size, obj := v.size, v.obj
	v.mu.Unlock()
	if off >= size {
		return 0, nil
	}
	done := 0
	want := min(int64(n), size-off)
	batch := batches.Get().(*[readBatch][]byte) // the pages of the next piece, found in one call
	defer batches.Put(batch)
	for int64(done) < want {
		at := off + int64(done)
		first := uint64(at / PageSize)
		pages := batch[:min(uint64(readBatch), uint64((off+want-1)/PageSize)-first+1)]
		clear(pages)
		if obj != 0 {
			v.fs.pages.Pages(obj, first, pages)
		}
		for _, p := range pages {
			at := off + int64(done)
			k := min(want-int64(done), PageSize-at%PageSize)
			if p == nil {
				p = zeroPage[:]
			}
			if err := put(p[at%PageSize : at%PageSize+k]); err != nil {
				return done, err
			}
			done += int(k)
		}
	}
	return done, nil
}

// readBatch is how many pages a read finds at once.
const readBatch = 32

// batches keeps ReadFunc's page batches: one handed to Pages, an
// interface, escapes, and a read would allocate its 768 bytes each time
// (a third of a cached 4 KiB read's cost).
var batches = sync.Pool{New: func() any { return new([readBatch][]byte) }}

// WriteAt writes p at off of a regular file or device, extending the
// file past its end (the gap reads as zeros). ENOSPC when the file
// system is full or memory is short: what fit is written, and the size
// covers it.
func (v *Vnode) WriteAt(p []byte, off int64) (int, error) {
	switch {
	case v.typ == fs.ModeCharDevice:
		return v.dev.WriteAt(p, off)
	case v.typ == fs.ModeDir:
		return 0, syscall.EISDIR
	}
	n, _, err := v.WriteFunc(off, len(p), false, func(b []byte) error {
		copy(b, p)
		p = p[len(b):]
		return nil
	})
	return n, err
}

// WriteFunc has get fill n bytes of the regular file v from off (with
// appending, from its end, which it finds under the lock), a page's
// piece at a time, straight into its object's pages (made as need be)
// under a Modifying range lock over them: get copies from anywhere (a
// process) and must not keep the slice. The file grows to cover what get
// filled. It returns how many bytes get filled, the offset past them,
// and the error that stopped it: get's, or ENOSPC when the file system
// is full or memory short.
func (v *Vnode) WriteFunc(off int64, n int, appending bool, get func([]byte) error) (int, int64, error) {
	switch {
	case v.typ == fs.ModeDir:
		return 0, off, syscall.EISDIR
	case v.typ != 0:
		return 0, off, syscall.EINVAL
	case n < 0 || !appending && (off < 0 || off+int64(n) < off):
		return 0, off, syscall.EINVAL
	}
	var l *ccms.Lock
	var err error
	if appending {
		l, err = v.rl.LockAppend(context.Background(), func() uint64 {
			v.mu.Lock()
			defer v.mu.Unlock()
			return uint64(v.size)
		})
		v.mu.Lock()
		off = v.size
		v.mu.Unlock()
	} else {
		l, err = v.rl.LockWrite(context.Background(), uint64(off), uint64(n))
	}
	if err != nil {
		return 0, off, err
	}
	done := 0
	defer func() {
		l.Unlock()
		if done > 0 {
			// The pages are the file's only copy: nothing to write back,
			// so the range is clean at once, and merges with its
			// neighbours again (ccms keeps Modified ranges apart).
			v.rl.Clean(uint64(off), uint64(off+int64(done)-1))
		}
	}()
	if off+int64(n) > FileMax {
		return 0, off, syscall.EFBIG
	}
	var failed []byte // the piece get did not fill
	for done < n {
		at := off + int64(done)
		k := min(int64(n-done), PageSize-at%PageSize)
		var page []byte
		if page, err = v.page(uint64(at / PageSize)); err != nil {
			break
		}
		if err = get(page[at%PageSize : at%PageSize+k]); err != nil {
			failed = page[at%PageSize : at%PageSize+k]
			break
		}
		done += int(k)
	}
	v.mu.Lock()
	if end := off + int64(done); end > v.size {
		if pagesOf(end) > pagesOf(v.size) && v.obj != 0 {
			v.fs.pages.Extend(v.obj, pagesOf(end)) // mappings may reach the new pages
		}
		v.size = end
	}
	if failed != nil && off+int64(done) >= v.size {
		// Past the end: what get copied before it failed must read as
		// zeros if the file grows over it (the piece is this call's
		// range alone).
		clear(failed)
	}
	if done > 0 {
		v.mtime = time.Now()
		v.ctime = v.mtime
	}
	v.mu.Unlock()
	return done, off + int64(done), err
}

// FileMax is the largest size a file may have: what a VM object holds.
const FileMax = vm.FileMaxPages * PageSize

// page returns page idx of v's data, making it (and v's object) if need
// be, counted against the file system's limit. Writers of different
// bytes of one page may both find it a hole: the object makes it once
// (fresh), and only that one counts it. EBADF once the file's pages were
// freed for good (removed and closed: a write racing the last close).
func (v *Vnode) page(idx uint64) ([]byte, error) {
	f := v.fs
	v.mu.Lock()
	if v.freed {
		v.mu.Unlock()
		return nil, syscall.EBADF
	}
	obj, err := v.objectLocked()
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if page, _, err := f.pages.Page(obj, idx, false); err != nil || page != nil {
		return page, err
	}
	f.usedMu.Lock()
	if f.used >= f.limit {
		f.usedMu.Unlock()
		return nil, syscall.ENOSPC
	}
	f.used++ // reserved: given back unless this call makes the page
	f.usedMu.Unlock()
	page, fresh, err := f.pages.Page(obj, idx, true)
	if !fresh {
		f.usedMu.Lock()
		f.used--
		f.usedMu.Unlock()
	}
	if err != nil {
		return nil, syscall.ENOSPC
	}
	if fresh {
		v.mu.Lock()
		v.held++
		v.mu.Unlock()
	}
	return page, nil
}

// Truncate sets a regular file's size: its pages past the new end go, a
// longer file reads as zeros up to it. ETXTBSY while a process runs it.
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
	if err := v.OpenWrite(); err != nil {
		return err
	}
	defer v.CloseWrite()
	l, err := v.rl.LockTruncate(context.Background(), uint64(size), func() uint64 {
		v.mu.Lock()
		defer v.mu.Unlock()
		return uint64(v.size)
	})
	if err != nil {
		return err
	}
	from := size
	defer func() { // as WriteFunc: the only copy is clean at once
		l.Unlock()
		v.rl.Clean(uint64(from), math.MaxUint64)
	}()
	v.mu.Lock()
	defer v.mu.Unlock()
	from = min(size, v.size)
	v.resize(pagesOf(size))
	if size < v.size {
		if size%PageSize != 0 && v.obj != 0 { // the bytes past the end of the last page read as zero later
			page, _, _ := v.fs.pages.Page(v.obj, uint64(size/PageSize), false)
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

// pagesOf returns how many pages a file of size bytes has.
func pagesOf(size int64) uint64 { return uint64((size + PageSize - 1) / PageSize) }

// objectLocked returns v's object, made if v has none yet (ENOSPC when
// the object table is full). The caller holds v.mu.
func (v *Vnode) objectLocked() (uint32, error) {
	if v.freed {
		return 0, syscall.EBADF
	}
	if v.obj == 0 {
		obj, err := v.fs.pages.New()
		if err != nil {
			return 0, syscall.ENOSPC
		}
		v.fs.pages.Extend(obj, pagesOf(v.size))
		v.obj = obj
	}
	return v.obj, nil
}

// Object returns the VM object that holds a regular file's pages, made if
// it has none yet: what mmap maps. The object lives as long as the file
// (a truncate keeps it), so every mapping and read() see one set of pages.
func (v *Vnode) Object() (uint32, error) {
	if v.typ != 0 {
		return 0, syscall.ENODEV
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.objectLocked()
}

// PunchPages frees the pages first to first+n of the regular file v,
// whose object is obj, as MADV_REMOVE of a shared mapping of it asks
// (Linux's hole punch): they read as zeros after, and the size stays. It
// holds their range locked meanwhile, so no read() or write() that copies
// to or from one of them through the direct map sees it freed. An object
// that is no longer v's (v was freed while mapped) is left alone: its
// number may name another object by now, and MADV_REMOVE punches such an
// orphan in vm, under the map's lock.
func (v *Vnode) PunchPages(obj uint32, first, n uint64) error {
	if v.typ != 0 {
		return syscall.ENODEV
	}
	const maxPages = FileMax / PageSize
	if n == 0 || first >= maxPages {
		return nil
	}
	n = min(n, maxPages-first)
	l, err := v.rl.LockWrite(context.Background(), first*PageSize, n*PageSize)
	if err != nil {
		return err
	}
	defer func() { // as WriteFunc: the only copy is clean at once
		l.Unlock()
		v.rl.Clean(first*PageSize, (first+n)*PageSize-1)
	}()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.obj != obj {
		return nil
	}
	v.uncharge(v.fs.pages.Punch(obj, first, n))
	v.mtime = time.Now()
	v.ctime = v.mtime
	return nil
}

// resize gives v's object its new page count: the pages at index pages
// and above go. The caller holds a range lock from the page at pages to
// the end, and v.mu.
func (v *Vnode) resize(pages uint64) {
	if v.obj == 0 {
		return
	}
	v.uncharge(v.fs.pages.Resize(v.obj, pages))
}

// uncharge gives the file system back freed of v's pages. A mapping's
// fault may have filled a hole (a page not charged to v.held): only
// charged pages are given back. The caller holds v.mu.
func (v *Vnode) uncharge(freed int64) {
	gone := min(freed, v.held)
	v.held -= gone
	v.fs.usedMu.Lock()
	v.fs.used -= gone
	v.fs.usedMu.Unlock()
}

// releasePages drops v's object and its pages (v is being freed). The
// caller holds v.mu.
func (v *Vnode) releasePages() {
	if v.obj == 0 {
		return
	}
	v.fs.pages.Release(v.obj)
	v.obj = 0
	v.fs.usedMu.Lock()
	v.fs.used -= v.held
	v.fs.usedMu.Unlock()
	v.held = 0
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
