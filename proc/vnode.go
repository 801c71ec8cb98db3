package proc

import (
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
	"gofly/vfs"
	"gofly/vm"
)

// The file calls on the tree at / (package vfs). A process starts in /
// (its working directory, Process.cwd: chdir, fchdir, getcwd; fork
// passes it on), and it runs as root: the permission bits are kept, not
// checked.

// openFile is an open file description of a vnode (what openat makes):
// its offset and status flags, shared by the descriptors dup and fork
// give it, as Linux's struct file is.
type openFile struct {
	v      *vfs.Vnode
	access int  // O_RDONLY, O_WRONLY or O_RDWR
	append bool // O_APPEND: every write at the end
	proc   bool // a /proc file (procfs.go): writes are EINVAL
	writer bool // counted by the vnode's OpenWrite until the last release
	refs   atomic.Int32

	mu  sync.Mutex // guards off and dirAfter
	off int64      // the next read or write; a directory's entries listed
	// dirAfter is the name of the last entry getdents64 listed: the
	// listing goes on after it in name order, so entries made or removed
	// meanwhile shift no other one ("" with off past "." and "..": the
	// names from the first).
	dirAfter string
}

func (f *openFile) readable() bool { return f.access != unix.O_WRONLY }
func (f *openFile) writable() bool { return f.access != unix.O_RDONLY }

// read reads at the file's offset and advances it (read(2)).
func (f *openFile) read(t *Thread, buf, n uint64, _ bool) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.pread(t, buf, n, f.off)
	if r > 0 {
		f.off += r
	}
	return r
}

// pread reads n bytes at off into user memory at buf: a regular file's
// straight from its pages (vfs.Vnode.ReadFunc), a device's through a
// buffer. A bad page of buf ends the read there (EFAULT if nothing was
// read).
func (f *openFile) pread(t *Thread, buf, n uint64, off int64) int64 {
	switch {
	case !f.readable():
		return errno(syscall.EBADF)
	case f.v.IsDir():
		return errno(syscall.EISDIR)
	case off < 0:
		return errno(syscall.EINVAL)
	}
	f.v.Open() // a close racing the read leaves the pages until it ends
	defer f.v.Close()
	s := t.p.space
	va := buf
	if f.v.IsDevice() {
		b := make([]byte, min(n, maxDeviceIO))
		k, err := f.v.ReadAt(b, off)
		if err != nil && err != io.EOF {
			return errno(syscall.EIO)
		}
		if s.CopyOut(va, b[:k]) != nil {
			return errno(syscall.EFAULT)
		}
		return int64(k)
	}
	done, err := f.v.ReadFunc(off, int(min(n, maxRW)), func(p []byte) error {
		if err := s.CopyOut(va, p); err != nil {
			return err
		}
		va += uint64(len(p))
		return nil
	})
	if err != nil && done == 0 {
		return fileErrno(err)
	}
	return int64(done)
}

// maxDeviceIO bounds one read or write of a device (through a buffer).
const maxDeviceIO = 1 << 20

// write writes at the file's offset (at its end with O_APPEND) and
// advances it (write(2)).
func (f *openFile) write(t *Thread, buf, n uint64, _ bool) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, end := f.pwrite(t, buf, n, f.off, f.append)
	if r >= 0 {
		f.off = end
	}
	return r
}

// pwrite writes n bytes of user memory at buf at off (at the end when
// appending) and returns the count and the offset past it: a regular
// file's pages filled straight from the process (vfs.Vnode.WriteFunc).
// A bad page of buf ends the write there (EFAULT if nothing was written).
func (f *openFile) pwrite(t *Thread, buf, n uint64, off int64, appending bool) (int64, int64) {
	switch {
	case !f.writable():
		return errno(syscall.EBADF), off
	case f.v.IsDir():
		return errno(syscall.EISDIR), off
	case off < 0 || f.proc:
		return errno(syscall.EINVAL), off
	}
	s := t.p.space
	if buf+n < buf || buf+n > userMax {
		return errno(syscall.EFAULT), off
	}
	f.v.Open() // a close racing the write leaves the pages until it ends
	defer f.v.Close()
	if f.v.IsDevice() {
		b, err := s.CopyIn(buf, min(n, maxDeviceIO))
		if err != nil {
			return errno(syscall.EFAULT), off
		}
		k, err := f.v.WriteAt(b, off)
		if err != nil {
			return errno(syscall.EIO), off
		}
		return int64(k), off + int64(k)
	}
	va := buf
	done, end, err := f.v.WriteFunc(off, int(min(n, maxRW)), appending, func(p []byte) error {
		if err := s.CopyInTo(va, p); err != nil {
			return err
		}
		va += uint64(len(p))
		return nil
	})
	if err != nil && done == 0 {
		return fileErrno(err), off
	}
	return int64(done), end
}

// fileErrno is the errno of a file operation's error: vfs's are
// syscall.Errno values, a bad user address is EFAULT.
func fileErrno(err error) int64 {
	var e syscall.Errno
	if errors.As(err, &e) {
		return errno(e)
	}
	if errors.Is(err, errFault) {
		return errno(syscall.EFAULT)
	}
	return errno(syscall.EIO)
}

func (*openFile) pollable() bool          { return false }
func (*openFile) ready() (uint32, uint64) { return 0, 0 }
func (f *openFile) hold()                 { f.refs.Add(1) }

// release drops a descriptor; the last closes the vnode, whose pages go
// then if it was removed while open.
func (f *openFile) release() {
	if f.refs.Add(-1) == 0 {
		if f.writer {
			f.v.CloseWrite()
		}
		f.v.Close()
	}
}

// mode implements file: the vnode's type and permissions.
func (f *openFile) mode() uint32 { return linuxMode(f.v.Stat().Mode) }

// linuxMode is st_mode for a vfs mode.
func linuxMode(m fs.FileMode) uint32 {
	t := uint32(unix.S_IFREG)
	switch {
	case m.IsDir():
		t = unix.S_IFDIR
	case m&fs.ModeCharDevice != 0:
		t = unix.S_IFCHR
	case m&fs.ModeSymlink != 0:
		t = unix.S_IFLNK
	case m&fs.ModeNamedPipe != 0:
		t = unix.S_IFIFO
	case m&fs.ModeSocket != 0:
		t = unix.S_IFSOCK
	}
	for _, b := range specialBits {
		if m&b.vfs != 0 {
			t |= b.linux
		}
	}
	return t | uint32(m.Perm())
}

// specialBits pair vfs's setuid, setgid and sticky bits with Linux's.
var specialBits = [...]struct {
	vfs   fs.FileMode
	linux uint32
}{{fs.ModeSetuid, unix.S_ISUID}, {fs.ModeSetgid, unix.S_ISGID}, {fs.ModeSticky, unix.S_ISVTX}}

// vfsPerm is a mode argument's permission bits as vfs keeps them.
func vfsPerm(mode uint64) fs.FileMode {
	p := fs.FileMode(mode & 0o777)
	for _, b := range specialBits {
		if mode&uint64(b.linux) != 0 {
			p |= b.vfs
		}
	}
	return p
}

// sysFchmodat is fchmodat(2) (and fchmodat2's flags: AT_SYMLINK_NOFOLLOW,
// which Linux refuses for a link with EOPNOTSUPP, and AT_EMPTY_PATH).
func sysFchmodat(t *Thread, r *amd64.Frame) int64 {
	flags := 0
	if r.RAX == unix.SYS_FCHMODAT2 {
		flags = int(int32(r.R10))
	}
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return errno(syscall.EINVAL)
	}
	path, e := t.p.readString(r.RSI, pathMax)
	if e != 0 {
		return errno(e)
	}
	v, e := t.p.vnodeOf(int(int32(r.RDI)), path, flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_NOFOLLOW != 0)
	if e != 0 {
		return errno(e)
	}
	if err := v.Chmod(vfsPerm(r.RDX)); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// sysFchownat is fchownat(2) (and chown, lchown: its forms without a
// directory): uid and gid -1 leave each as it is. Every process is root,
// so any owner may be given.
func sysFchownat(t *Thread, r *amd64.Frame) int64 {
	dirfd, pathVA, uid, gid, flags := int(int32(r.RDI)), r.RSI, int(int32(r.RDX)), int(int32(r.R10)), int(int32(r.R8))
	switch r.RAX {
	case unix.SYS_CHOWN, unix.SYS_LCHOWN:
		dirfd, pathVA, uid, gid, flags = unix.AT_FDCWD, r.RDI, int(int32(r.RSI)), int(int32(r.RDX)), 0
		if r.RAX == unix.SYS_LCHOWN {
			flags = unix.AT_SYMLINK_NOFOLLOW
		}
	}
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return errno(syscall.EINVAL)
	}
	path, e := t.p.readString(pathVA, pathMax)
	if e != 0 {
		return errno(e)
	}
	v, e := t.p.vnodeOf(dirfd, path, flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_NOFOLLOW != 0)
	if e != 0 {
		return errno(e)
	}
	v.Chown(uid, gid)
	return 0
}

// sysFchown is fchown(2): a descriptor's file (EINVAL for one not of the
// tree, as fchmod's).
func sysFchown(t *Thread, r *amd64.Frame) int64 {
	f, e := t.p.treeFile(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	f.v.Chown(int(int32(r.RSI)), int(int32(r.RDX)))
	return 0
}

// sysFchmod is fchmod(2): a descriptor's file; EBADF for a bad one, and
// (as the files of the tree alone keep modes) EINVAL for a pipe or the
// console.
func sysFchmod(t *Thread, r *amd64.Frame) int64 {
	f, e := t.p.treeFile(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	if err := f.v.Chmod(vfsPerm(r.RSI)); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// vnodeOf is the vnode path names from dirfd (statAt's lookup), or with
// an empty path and emptyPath dirfd's own: EBADF for a bad descriptor,
// EINVAL for one that is not a file of the tree.
func (p *Process) vnodeOf(dirfd int, path string, emptyPath, nofollow bool) (*vfs.Vnode, syscall.Errno) {
	if path == "" && emptyPath && dirfd != unix.AT_FDCWD {
		f, e := p.treeFile(dirfd)
		if e != 0 {
			return nil, e
		}
		return f.v, 0
	}
	if path == "" && emptyPath {
		path = "."
	}
	root, dir, e := p.resolve(dirfd, path)
	if e != 0 {
		return nil, e
	}
	lookup := root.LookupAt
	if nofollow {
		lookup = root.LookupLinkAt
	}
	v, err := lookup(dir, path)
	if err != nil {
		return nil, pathErrno(err)
	}
	return v, 0
}

// sysUtimensat is utimensat(2): times[0] the access time, times[1] the
// modification time, each UTIME_NOW or UTIME_OMIT or a time (nsec past a
// second is EINVAL); no times: both now; a NULL path: dirfd's file.
func sysUtimensat(t *Thread, r *amd64.Frame) int64 {
	flags := int(int32(r.R10))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return errno(syscall.EINVAL)
	}
	now := time.Now()
	set := [2]*time.Time{&now, &now}
	if r.RDX != 0 {
		b, err := t.p.space.CopyIn(r.RDX, 32)
		if err != nil {
			return errno(syscall.EFAULT)
		}
		for i := range set {
			sec, nsec := int64(binary.LittleEndian.Uint64(b[16*i:])), int64(binary.LittleEndian.Uint64(b[16*i+8:]))
			switch {
			case nsec == unix.UTIME_NOW:
			case nsec == unix.UTIME_OMIT:
				set[i] = nil
			case nsec < 0 || nsec >= 1e9:
				return errno(syscall.EINVAL)
			default:
				ts := time.Unix(sec, nsec)
				set[i] = &ts
			}
		}
	}
	var v *vfs.Vnode
	var e syscall.Errno
	if r.RSI == 0 { // futimens: the descriptor itself
		v, e = t.p.vnodeOf(int(int32(r.RDI)), "", true, false)
	} else {
		path, pe := t.p.readString(r.RSI, pathMax)
		if pe != 0 {
			return errno(pe)
		}
		v, e = t.p.vnodeOf(int(int32(r.RDI)), path, flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_NOFOLLOW != 0)
	}
	if e != 0 {
		return errno(e)
	}
	v.SetTimes(set[0], set[1])
	return 0
}

// sysTruncate is truncate(2): ftruncate's rules, by path (following
// links); EISDIR for a directory, EINVAL for a device.
func sysTruncate(t *Thread, r *amd64.Frame) int64 {
	path, e := t.p.readString(r.RDI, pathMax)
	if e != 0 {
		return errno(e)
	}
	v, e := t.p.vnodeOf(unix.AT_FDCWD, path, false, false)
	if e != 0 {
		return errno(e)
	}
	if int64(r.RSI) < 0 || v.IsDevice() {
		return errno(syscall.EINVAL)
	}
	if err := v.Truncate(int64(r.RSI)); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// notHere are openat's flags for what Gofly does not have (O_PATH
// descriptors, O_TMPFILE, O_DIRECT): EINVAL, not a silent open. Other
// flags it does not know it ignores, as Linux does; O_NOCTTY, O_NOFOLLOW,
// O_LARGEFILE (0x8000), O_NONBLOCK, O_SYNC and O_DSYNC change nothing
// here: no terminals, no symlinks, 64-bit offsets, RAM files.
const notHere = unix.O_PATH | unix.O_DIRECT

// O_TMPFILE (not here either) includes O_DIRECTORY's bit: it is all its
// bits or a plain O_DIRECTORY.

// defaultUmask is a new process's file-mode creation mask, Linux's.
const defaultUmask = 0o022

// sysUmask is umask(2): the mask's permission bits are set, the old mask
// returned.
func sysUmask(t *Thread, r *amd64.Frame) int64 {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	old := t.p.umask
	t.p.umask = uint32(r.RDI) & 0o777
	return int64(old)
}

// creationMode is mode (setuid, setgid and sticky kept) less the
// process's umask, as Linux applies it to open(2)'s and mkdir(2)'s.
func (p *Process) creationMode(mode uint64) fs.FileMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return vfsPerm(mode &^ uint64(p.umask))
}

// dirAt returns the directory dirfd names for a relative path's start:
// the working directory for AT_FDCWD (nil: the root).
func (p *Process) dirAt(dirfd int, path string) (*vfs.Vnode, syscall.Errno) {
	if len(path) > 0 && path[0] == '/' {
		return nil, 0
	}
	if dirfd == unix.AT_FDCWD {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.cwd, 0
	}
	e, ok := p.fileAt(dirfd)
	if !ok {
		return nil, syscall.EBADF
	}
	f, ok := e.f.(*openFile)
	if !ok || !f.v.IsDir() {
		return nil, syscall.ENOTDIR
	}
	return f.v, 0
}

// resolve returns the file system and the directory a path from dirfd
// starts at (dirAt); ENOENT before the tree is mounted.
func (p *Process) resolve(dirfd int, path string) (*vfs.FS, *vfs.Vnode, syscall.Errno) {
	root := vfs.Root
	if root == nil {
		return nil, nil, syscall.ENOENT
	}
	dir, e := p.dirAt(dirfd, path)
	return root, dir, e
}

// pathAt reads the path at user address va and resolves it from dirfd.
func (p *Process) pathAt(dirfd int, va uint64) (*vfs.FS, *vfs.Vnode, string, syscall.Errno) {
	path, e := p.readString(va, pathMax)
	if e != 0 {
		return nil, nil, "", e
	}
	root, dir, e := p.resolve(dirfd, path)
	return root, dir, path, e
}

// pathErrno is the errno of a vfs error.
func pathErrno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// sysOpenat opens a file of the tree at / by Linux's rules: O_CREAT
// makes a missing regular file (EEXIST with O_EXCL), O_TRUNC empties a
// regular file opened for writing, O_DIRECTORY refuses what is not a
// directory (ENOTDIR), a directory opens for reading only (EISDIR).
func sysOpenat(t *Thread, r *amd64.Frame) int64 {
	flags := int(int32(r.RDX))
	if flags&notHere != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE || flags&unix.O_ACCMODE == unix.O_ACCMODE {
		return errno(syscall.EINVAL)
	}
	if !t.p.fdFree() {
		return errno(syscall.EMFILE) // before anything is made or truncated, as Linux
	}
	root, dir, path, e := t.p.pathAt(int(int32(r.RDI)), r.RSI)
	if e != 0 {
		return errno(e)
	}
	if name, ok := procPath(path); ok {
		return openProc(t, name, flags)
	}
	access := flags & unix.O_ACCMODE
	v, err := root.LookupAt(dir, path)
	if flags&unix.O_NOFOLLOW != 0 {
		if l, lerr := root.LookupLinkAt(dir, path); lerr == nil && l.Stat().Mode&fs.ModeSymlink != 0 {
			return errno(syscall.ELOOP) // as Linux: the last element may not be a link
		}
	}
	switch {
	case err == nil && flags&unix.O_CREAT != 0 && flags&unix.O_EXCL != 0:
		return errno(syscall.EEXIST)
	case errors.Is(err, fs.ErrNotExist) && flags&unix.O_CREAT != 0:
		if flags&unix.O_DIRECTORY != 0 {
			return errno(syscall.EINVAL) // O_CREAT|O_DIRECTORY, as Linux 6.4 on
		}
		create := root.CreateThroughAt // through a dangling link, as Linux
		if flags&unix.O_EXCL != 0 {
			create = root.CreateAt
		}
		v, err = create(dir, path, t.p.creationMode(r.R10&0o7777))
		if errors.Is(err, fs.ErrExist) && flags&unix.O_EXCL == 0 { // made meanwhile
			v, err = root.LookupAt(dir, path)
		}
	}
	if err != nil {
		return errno(pathErrno(err))
	}
	switch {
	case v.IsDir() && (access != unix.O_RDONLY || flags&(unix.O_CREAT|unix.O_TRUNC) != 0):
		return errno(syscall.EISDIR)
	case !v.IsDir() && flags&unix.O_DIRECTORY != 0:
		return errno(syscall.ENOTDIR)
	}
	if v.IsFIFO() {
		return openFIFO(t, v, access, flags)
	}
	if v.IsSocket() {
		return errno(syscall.ENXIO) // a socket is reached by connect, as on Linux
	}
	writer := access != unix.O_RDONLY
	if writer {
		if err := v.OpenWrite(); err != nil { // ETXTBSY: a process runs it
			return errno(pathErrno(err))
		}
	}
	if flags&unix.O_TRUNC != 0 && !v.IsDevice() { // even O_RDONLY, as Linux
		if err := v.Truncate(0); err != nil {
			if writer {
				v.CloseWrite()
			}
			return errno(pathErrno(err))
		}
	}
	v.Open()
	f := &openFile{v: v, access: access, append: flags&unix.O_APPEND != 0, writer: writer}
	f.refs.Store(1)
	fd := t.p.install(f, flags&unix.O_CLOEXEC != 0, flags&unix.O_NONBLOCK != 0)
	if fd < 0 {
		f.release()
	}
	return fd
}

// treeFile is vnodeAt for the calls that take only a file of the tree
// (ftruncate, fchmod): EINVAL, not ESPIPE, for anything else, as Linux.
func (p *Process) treeFile(fd int) (*openFile, syscall.Errno) {
	f, e := p.vnodeAt(fd)
	if e == syscall.ESPIPE {
		return nil, syscall.EINVAL
	}
	return f, e
}

// vnodeAt returns the open file at fd, EBADF if none, ESPIPE if it is
// not a file of the tree (a pipe, the console…).
func (p *Process) vnodeAt(fd int) (*openFile, syscall.Errno) {
	e, ok := p.fileAt(fd)
	if !ok {
		return nil, syscall.EBADF
	}
	f, ok := e.f.(*openFile)
	if !ok {
		return nil, syscall.ESPIPE
	}
	return f, 0
}

func sysPread64(t *Thread, r *amd64.Frame) int64 {
	if int64(r.R10) < 0 {
		return errno(syscall.EINVAL) // before the descriptor, as Linux
	}
	f, e := t.p.vnodeAt(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	return f.pread(t, r.RSI, min(r.RDX, maxRW), int64(r.R10))
}

func sysPwrite64(t *Thread, r *amd64.Frame) int64 {
	if int64(r.R10) < 0 {
		return errno(syscall.EINVAL)
	}
	f, e := t.p.vnodeAt(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	n, _ := f.pwrite(t, r.RSI, min(r.RDX, maxRW), int64(r.R10), f.append) // as Linux: O_APPEND wins over the offset
	return n
}

// sysLseek moves a file's offset: SEEK_SET, SEEK_CUR, SEEK_END (a
// directory's by SEEK_SET and SEEK_CUR only, as Linux's tmpfs: an entry
// count, 0 its start); EINVAL for a negative result or another whence;
// ESPIPE for a pipe or the console.
func sysLseek(t *Thread, r *amd64.Frame) int64 {
	f, e := t.p.vnodeAt(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	off := int64(r.RSI)
	f.mu.Lock()
	defer f.mu.Unlock()
	var at int64
	switch r.RDX {
	case unix.SEEK_SET:
		at = off
	case unix.SEEK_CUR:
		at = f.off + off
	case unix.SEEK_END:
		at = f.v.Stat().Size + off
	default:
		return errno(syscall.EINVAL)
	}
	if at < 0 || f.v.IsDir() && r.RDX == unix.SEEK_END {
		return errno(syscall.EINVAL)
	}
	if f.v.IsDir() && at != f.off {
		f.dirAfter = "" // the listing restarts; at counts entries from its start
	}
	f.off = at
	return at
}

// statOf encodes st in Linux's struct stat (x86-64, 144 bytes).
func statOf(st vfs.Stat) []byte {
	b := make([]byte, 144)
	le := binary.LittleEndian
	le.PutUint64(b[0:], 1) // st_dev: the one file system
	le.PutUint64(b[8:], st.Ino)
	le.PutUint64(b[16:], uint64(st.Nlink))
	le.PutUint32(b[24:], linuxMode(st.Mode))
	le.PutUint32(b[28:], st.Uid)
	le.PutUint32(b[32:], st.Gid)
	le.PutUint64(b[48:], uint64(st.Size))
	le.PutUint64(b[56:], 4096) // st_blksize
	le.PutUint64(b[64:], uint64(st.Blocks))
	for i, ts := range []time.Time{st.Atime, st.Mtime, st.Ctime} {
		sec, nsec := unixTime(ts)
		le.PutUint64(b[72+16*i:], sec)
		le.PutUint64(b[80+16*i:], nsec)
	}
	return b
}

// unixTime is ts as seconds and nanoseconds since 1970; 0 for no time (a
// pipe's, which has none).
func unixTime(ts time.Time) (sec, nsec uint64) {
	if ts.IsZero() {
		return 0, 0
	}
	return uint64(ts.Unix()), uint64(ts.Nanosecond())
}

// statAt is what fstat(2), fstatat(2) and statx(2) report: the vnode
// path names from dirfd (a symbolic link that is the last element itself
// with nofollow), or with an empty path (AT_EMPTY_PATH) dirfd's file: a
// file of the tree as it is, a pipe, the console, an eventfd or epoll by
// its kind alone (mode, its st_mode).
func (p *Process) statAt(dirfd int, path string, emptyPath, nofollow bool) (st vfs.Stat, mode uint32, e syscall.Errno) {
	if path == "" && emptyPath && dirfd != unix.AT_FDCWD {
		fe, ok := p.fileAt(dirfd)
		if !ok {
			return st, 0, syscall.EBADF
		}
		if f, ok := fe.f.(*openFile); ok {
			st = f.v.Stat()
			return st, linuxMode(st.Mode), 0
		}
		return st, fe.f.mode(), 0
	}
	v, e := p.vnodeOf(dirfd, path, emptyPath, nofollow)
	if e != 0 {
		return st, 0, e
	}
	st = v.Stat()
	return st, linuxMode(st.Mode), 0
}

// sysFstat is fstat(2) (statAt).
func sysFstat(t *Thread, r *amd64.Frame) int64 {
	return putStat(t, r.RSI)(t.p.statAt(int(int32(r.RDI)), "", true, false))
}

// putStat returns what writes a statAt result to user address va as
// struct stat (statOf; a file not of the tree by its mode alone).
func putStat(t *Thread, va uint64) func(vfs.Stat, uint32, syscall.Errno) int64 {
	return func(st vfs.Stat, mode uint32, e syscall.Errno) int64 {
		if e != 0 {
			return errno(e)
		}
		b := statOf(st)
		binary.LittleEndian.PutUint32(b[24:], mode)
		if t.p.space.CopyOut(va, b) != nil {
			return errno(syscall.EFAULT)
		}
		return 0
	}
}

// sysNewfstatat is fstatat(2): path from dirfd; with AT_EMPTY_PATH an
// empty path is dirfd itself; with AT_SYMLINK_NOFOLLOW a symbolic link
// that is the last element is reported itself (lstat); other flags are
// EINVAL.
func sysNewfstatat(t *Thread, r *amd64.Frame) int64 {
	flags := int(int32(r.R10))
	if flags&^(unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT) != 0 {
		return errno(syscall.EINVAL)
	}
	path, e := t.p.readString(r.RSI, pathMax)
	if e != 0 {
		return errno(e)
	}
	return putStat(t, r.RDX)(t.p.statAt(int(int32(r.RDI)), path, flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_NOFOLLOW != 0))
}

// atStatxSyncType is statx's AT_STATX_SYNC_TYPE: FORCE_SYNC or DONT_SYNC.
const atStatxSyncType = unix.AT_STATX_FORCE_SYNC | unix.AT_STATX_DONT_SYNC

// sysStatx is statx(2): fstatat's lookup (the same flags, and the
// AT_STATX_SYNC_TYPE ones, which change nothing in a RAM file system),
// reported as struct statx (256 bytes) with the basic fields, whatever
// mask asked (Linux may return more or fewer than asked; stx_mask says
// which: every basic one). EINVAL for unknown flags or STATX__RESERVED in
// mask.
func sysStatx(t *Thread, r *amd64.Frame) int64 {
	flags, mask := int(int32(r.RDX)), uint32(r.R10)
	if flags&^(unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT|atStatxSyncType) != 0 ||
		flags&atStatxSyncType == atStatxSyncType || mask&unix.STATX__RESERVED != 0 {
		return errno(syscall.EINVAL)
	}
	path, e := t.p.readString(r.RSI, pathMax)
	if e != 0 {
		return errno(e)
	}
	st, mode, e := t.p.statAt(int(int32(r.RDI)), path, flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_NOFOLLOW != 0)
	if e != 0 {
		return errno(e)
	}
	b := make([]byte, 256)
	le := binary.LittleEndian
	le.PutUint32(b[0:], unix.STATX_BASIC_STATS)
	le.PutUint32(b[4:], 4096) // stx_blksize
	le.PutUint32(b[16:], st.Nlink)
	le.PutUint32(b[20:], st.Uid)
	le.PutUint32(b[24:], st.Gid)
	le.PutUint16(b[28:], uint16(mode))
	le.PutUint64(b[32:], st.Ino)
	le.PutUint64(b[40:], uint64(st.Size))
	le.PutUint64(b[48:], uint64(st.Blocks))
	for off, ts := range map[int]time.Time{64: st.Atime, 96: st.Ctime, 112: st.Mtime} {
		sec, nsec := unixTime(ts)
		le.PutUint64(b[off:], sec)
		le.PutUint32(b[off+8:], uint32(nsec))
	}
	le.PutUint32(b[140:], 1) // stx_dev_minor: the one file system, as stat's st_dev
	if t.p.space.CopyOut(r.R8, b) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// sysGetdents64 fills the buffer with a directory's entries from its
// offset (an entry index), as struct linux_dirent64: EINVAL when even
// the next one does not fit, 0 at the end.
func sysGetdents64(t *Thread, r *amd64.Frame) int64 {
	f, e := t.p.vnodeAt(int(int32(r.RDI)))
	if e == syscall.ESPIPE {
		return errno(syscall.ENOTDIR)
	}
	if e != 0 {
		return errno(e)
	}
	if !f.v.IsDir() {
		return errno(syscall.ENOTDIR)
	}
	es, err := f.v.ReadDir()
	if err != nil {
		return errno(pathErrno(err))
	}
	size := min(r.RDX, 1<<20)
	var out []byte
	f.mu.Lock()
	defer f.mu.Unlock()
	n, after, more := f.off, f.dirAfter, false
	for i, d := range es {
		if i < 2 && int64(i) < n || i >= 2 && after != "" && d.Name <= after {
			continue // listed already ("." and ".." first, then by name)
		}
		reclen := (19 + len(d.Name) + 1 + 7) &^ 7
		if uint64(len(out)+reclen) > size {
			more = true
			break
		}
		rec := make([]byte, reclen)
		binary.LittleEndian.PutUint64(rec[0:], d.Ino)
		binary.LittleEndian.PutUint64(rec[8:], uint64(n+1)) // d_off: the entries listed after this one
		binary.LittleEndian.PutUint16(rec[16:], uint16(reclen))
		rec[18] = dirType(d.Type)
		copy(rec[19:], d.Name)
		out = append(out, rec...)
		n++
		if i >= 2 {
			after = d.Name
		}
	}
	if len(out) == 0 && more {
		return errno(syscall.EINVAL) // the buffer cannot hold one entry
	}
	if t.p.space.CopyOut(r.RSI, out) != nil {
		return errno(syscall.EFAULT)
	}
	f.off, f.dirAfter = n, after
	return int64(len(out))
}

// dirType is a dirent's d_type for a vfs type.
func dirType(m fs.FileMode) byte {
	switch {
	case m.IsDir():
		return unix.DT_DIR
	case m&fs.ModeCharDevice != 0:
		return unix.DT_CHR
	case m&fs.ModeSymlink != 0:
		return unix.DT_LNK
	case m&fs.ModeNamedPipe != 0:
		return unix.DT_FIFO
	case m&fs.ModeSocket != 0:
		return unix.DT_SOCK
	}
	return unix.DT_REG
}

// sysMknodat is mknodat(2) (and mknod(2)): a regular file, a named pipe
// or a socket file. A device node is EPERM: Gofly has no device numbers
// to give one.
func sysMknodat(t *Thread, r *amd64.Frame) int64 {
	dirfd, pathVA, mode := int(int32(r.RDI)), r.RSI, uint32(r.RDX)
	if r.RAX == unix.SYS_MKNOD {
		dirfd, pathVA, mode = unix.AT_FDCWD, r.RDI, uint32(r.RSI)
	}
	root, dir, path, e := t.p.pathAt(dirfd, pathVA)
	if e != 0 {
		return errno(e)
	}
	perm := t.p.creationMode(uint64(mode & 0o7777))
	var err error
	switch mode & unix.S_IFMT {
	case 0, unix.S_IFREG:
		_, err = root.CreateAt(dir, path, perm)
	case unix.S_IFIFO:
		_, err = root.MkfifoAt(dir, path, perm)
	case unix.S_IFSOCK: // a name no socket is bound to: connect is ECONNREFUSED
		_, err = root.MksockAt(dir, "mknod", path, perm)
	case unix.S_IFCHR, unix.S_IFBLK:
		return errno(syscall.EPERM)
	default:
		return errno(syscall.EINVAL)
	}
	if err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// openFIFO opens named pipe v by fifo(7)'s rules: for reading it waits
// for a writer, for writing for a reader (O_NONBLOCK: a reader opens at
// once, a writer with no reader is ENXIO); O_RDWR opens both ends at
// once, as Linux.
func openFIFO(t *Thread, v *vfs.Vnode, access, flags int) int64 {
	p := v.FIFO(func() any { return &pipe{capacity: pipeCap} }).(*pipe)
	nonblock := flags&unix.O_NONBLOCK != 0
	var f file
	p.mu.Lock()
	switch access {
	case unix.O_RDONLY:
		f = &pipeEnd{p: p}
		p.readers++
		p.rOpens++
	case unix.O_WRONLY:
		if nonblock && p.readers == 0 {
			p.mu.Unlock()
			return errno(syscall.ENXIO)
		}
		f = &pipeEnd{p: p, writer: true}
		p.writers++
		p.wOpens++
	default:
		f = &fifoRW{r: &pipeEnd{p: p}, w: &pipeEnd{p: p, writer: true}}
		p.readers++
		p.writers++
		p.rOpens++
		p.wOpens++
	}
	p.changes++
	rOpens, wOpens := p.rOpens, p.wOpens
	p.mu.Unlock()
	notify()
	// Wait for the other end: one opened since (even if gone again).
	met := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return access == unix.O_RDONLY && (p.writers > 0 || p.wOpens != wOpens) ||
			access == unix.O_WRONLY && (p.readers > 0 || p.rOpens != rOpens)
	}
	for access != unix.O_RDWR && !nonblock {
		wake := changed()
		if met() {
			break
		}
		select {
		case <-wake:
		case <-t.cancelled():
			// A signal: unless the other end came meanwhile (it may
			// already count on this one, as Linux's waiter checks its
			// condition before a signal), the open fails and goes.
			if met() {
				break
			}
			f.release()
			return errno(syscall.EINTR)
		}
	}
	fd := t.p.install(f, flags&unix.O_CLOEXEC != 0, nonblock)
	if fd < 0 {
		f.release()
	}
	return fd
}

// fifoRW is a named pipe opened for reading and writing: both ends.
type fifoRW struct{ r, w *pipeEnd }

func (f *fifoRW) read(t *Thread, buf, n uint64, nonblock bool) int64 {
	return f.r.read(t, buf, n, nonblock)
}
func (f *fifoRW) write(t *Thread, buf, n uint64, nonblock bool) int64 {
	return f.w.write(t, buf, n, nonblock)
}
func (*fifoRW) pollable() bool { return true }
func (*fifoRW) mode() uint32   { return unix.S_IFIFO | 0o600 }
func (f *fifoRW) hold()        { f.r.hold(); f.w.hold() }
func (f *fifoRW) release()     { f.r.release(); f.w.release() }
func (f *fifoRW) ready() (uint32, uint64) {
	in, c := f.r.ready()
	out, _ := f.w.ready()
	return in&(unix.EPOLLIN|unix.EPOLLHUP) | out&unix.EPOLLOUT, c
}

func sysMkdirat(t *Thread, r *amd64.Frame) int64 {
	root, dir, path, e := t.p.pathAt(int(int32(r.RDI)), r.RSI)
	if e != 0 {
		return errno(e)
	}
	if _, err := root.MkdirAt(dir, path, t.p.creationMode(r.RDX&0o1777)); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// sysUnlinkat removes a file, or with AT_REMOVEDIR an empty directory
// (unlink of a directory is EISDIR, rmdir of a file ENOTDIR).
func sysUnlinkat(t *Thread, r *amd64.Frame) int64 {
	flags := int(int32(r.RDX))
	if flags&^unix.AT_REMOVEDIR != 0 {
		return errno(syscall.EINVAL)
	}
	root, dir, path, e := t.p.pathAt(int(int32(r.RDI)), r.RSI)
	if e != 0 {
		return errno(e)
	}
	what := vfs.RemoveFile
	if flags&unix.AT_REMOVEDIR != 0 {
		what = vfs.RemoveDir
	}
	if err := root.RemoveAt(dir, path, what); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// sysFtruncate sets the size of a regular file open for writing (EINVAL
// otherwise, as Linux).
func sysFtruncate(t *Thread, r *amd64.Frame) int64 {
	f, e := t.p.treeFile(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	if !f.writable() || f.v.IsDir() || f.v.IsDevice() {
		return errno(syscall.EINVAL)
	}
	if err := f.v.Truncate(int64(r.RSI)); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// sysFsync serves fsync and fdatasync: a RAM file is always in sync; a
// pipe or the console is EINVAL, as Linux.
func sysFsync(t *Thread, r *amd64.Frame) int64 {
	_, e := t.p.vnodeAt(int(int32(r.RDI)))
	if e == syscall.ESPIPE {
		return errno(syscall.EINVAL)
	}
	return errno(e)
}

// sysChdir and sysFchdir set the working directory: ENOTDIR for what is
// not a directory.
func sysChdir(t *Thread, r *amd64.Frame) int64 {
	root, dir, path, e := t.p.pathAt(unix.AT_FDCWD, r.RDI)
	if e != 0 {
		return errno(e)
	}
	v, err := root.LookupAt(dir, path)
	if err != nil {
		return errno(pathErrno(err))
	}
	return t.p.chdir(v)
}

func sysFchdir(t *Thread, r *amd64.Frame) int64 {
	e, ok := t.p.fileAt(int(int32(r.RDI)))
	if !ok {
		return errno(syscall.EBADF)
	}
	f, ok := e.f.(*openFile)
	if !ok {
		return errno(syscall.ENOTDIR)
	}
	return t.p.chdir(f.v)
}

func (p *Process) chdir(v *vfs.Vnode) int64 {
	if !v.IsDir() {
		return errno(syscall.ENOTDIR)
	}
	p.mu.Lock()
	p.cwd = v
	p.mu.Unlock()
	return 0
}

// sysGetcwd writes the working directory's path and its NUL: ERANGE if
// the buffer is too small, ENOENT if the directory was removed (as
// Linux).
func sysGetcwd(t *Thread, r *amd64.Frame) int64 {
	t.p.mu.Lock()
	cwd := t.p.cwd
	t.p.mu.Unlock()
	path := "/"
	if cwd != nil {
		var err error
		if path, err = cwd.Path(); err != nil {
			return errno(pathErrno(err))
		}
	}
	b := append([]byte(path), 0)
	if uint64(len(b)) > r.RSI {
		return errno(syscall.ERANGE)
	}
	if t.p.space.CopyOut(r.RDI, b) != nil {
		return errno(syscall.EFAULT)
	}
	return int64(len(b))
}

// sysRenameat serves renameat and renameat2 (RENAME_NOREPLACE; other
// flags EINVAL): the rules of vfs.FS.RenameAt, which are rename(2)'s.
func sysRenameat(t *Thread, r *amd64.Frame) int64 {
	flags := 0
	if r.RAX == unix.SYS_RENAMEAT2 {
		flags = int(int32(r.R8))
	}
	root, olddir, oldpath, e := t.p.pathAt(int(int32(r.RDI)), r.RSI)
	if e != 0 {
		return errno(e)
	}
	_, newdir, newpath, e := t.p.pathAt(int(int32(r.RDX)), r.R10)
	if e != 0 {
		return errno(e)
	}
	if err := root.RenameAt(olddir, oldpath, newdir, newpath, flags); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// sysReadlinkat reads a symbolic link's target, and /proc/self/exe, the
// path of the program the process runs (Go's os.Executable reads it):
// EINVAL for anything that exists and is not a link, ENOENT for what
// does not; the result is cut to the buffer, with no NUL, as Linux.
func sysReadlinkat(t *Thread, r *amd64.Frame) int64 {
	path, e := t.p.readString(r.RSI, pathMax)
	if e != 0 {
		return errno(e)
	}
	if int64(r.R10) <= 0 {
		return errno(syscall.EINVAL)
	}
	var target string
	if path == "/proc/self/exe" {
		t.p.mu.Lock()
		target = exePath(t.p.Name)
		t.p.mu.Unlock()
	} else {
		root, dir, e := t.p.resolve(int(int32(r.RDI)), path)
		if e != 0 {
			return errno(e)
		}
		v, err := root.LookupLinkAt(dir, path)
		if err == nil {
			target, err = v.Readlink()
		}
		if err != nil {
			return errno(pathErrno(err))
		}
	}
	b := []byte(target)[:min(uint64(len(target)), r.R10)]
	if t.p.space.CopyOut(r.RDX, b) != nil {
		return errno(syscall.EFAULT)
	}
	return int64(len(b))
}

// sysSymlinkat makes linkpath (from newdirfd) a symbolic link to target,
// which need not exist: EEXIST if linkpath does, ENOENT for an empty
// target.
func sysSymlinkat(t *Thread, r *amd64.Frame) int64 {
	target, e := t.p.readString(r.RDI, pathMax)
	if e != 0 {
		return errno(e)
	}
	root, dir, path, e := t.p.pathAt(int(int32(r.RSI)), r.RDX)
	if e != 0 {
		return errno(e)
	}
	if _, err := root.SymlinkAt(dir, target, path); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// sysLinkat is linkat(2) (and link(2)): newpath another name of
// oldpath's file; oldpath's last link is not followed unless
// AT_SYMLINK_FOLLOW (a link to the link, as Linux); AT_EMPTY_PATH links
// olddirfd's own file.
func sysLinkat(t *Thread, r *amd64.Frame) int64 {
	olddirfd, oldVA, newdirfd, newVA, flags := int(int32(r.RDI)), r.RSI, int(int32(r.RDX)), r.R10, int(int32(r.R8))
	if r.RAX == unix.SYS_LINK {
		olddirfd, oldVA, newdirfd, newVA, flags = unix.AT_FDCWD, r.RDI, unix.AT_FDCWD, r.RSI, 0
	}
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return errno(syscall.EINVAL)
	}
	oldpath, e := t.p.readString(oldVA, pathMax)
	if e != 0 {
		return errno(e)
	}
	v, e := t.p.vnodeOf(olddirfd, oldpath, flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_FOLLOW == 0)
	if e != 0 {
		return errno(e)
	}
	root, dir, path, e := t.p.pathAt(newdirfd, newVA)
	if e != 0 {
		return errno(e)
	}
	if err := root.LinkAt(v, dir, path); err != nil {
		return errno(pathErrno(err))
	}
	return 0
}

// mmapFile is mmap(2) of descriptor fd from byte off, by Linux's rules
// (mm/mmap.c do_mmap): a regular file's VM object, its pages shared with
// read() and write() (MAP_SHARED) or copied on the first write
// (MAP_PRIVATE); /dev/zero gives anonymous memory. EINVAL for a length
// of 0 or an offset not page-aligned, EBADF for a bad descriptor, ENODEV
// for what cannot be mapped (pipes, directories, other devices), EACCES
// for a descriptor not open for reading, or MAP_SHARED with PROT_WRITE
// on one not open for writing; before those, a mapping type or a
// MAP_SHARED_VALIDATE flag Linux refuses (vm.MapTypeError, on raw, the
// user's flags whole: EINVAL, EOPNOTSUPP).
func mmapFile(t *Thread, addr, length uint64, prot int, raw uint64, fd int, off uint64) int64 {
	flags := int(int32(raw)) // the flags Linux's mmap acts on
	if length == 0 || off%pageSize != 0 {
		return errno(syscall.EINVAL)
	}
	e, ok := t.p.fileAt(fd)
	if !ok {
		return errno(syscall.EBADF)
	}
	if r := vm.MapTypeError(raw, true); r != 0 {
		return r // before the descriptor's access, as Linux
	}
	if flags&vm.MapTypeMask == unix.MAP_SHARED_VALIDATE {
		flags = flags&^vm.MapTypeMask | unix.MAP_SHARED // validated
	}
	f, isFile := e.f.(*openFile)
	switch {
	case !isFile || f.v.IsDir():
		return errno(syscall.ENODEV)
	case !f.readable():
		return errno(syscall.EACCES)
	case flags&unix.MAP_SHARED != 0 && prot&unix.PROT_WRITE != 0 && !f.writable():
		return errno(syscall.EACCES)
	case f.v.MapsAnonymous():
		return t.p.space.Mmap(addr, length, prot, flags|unix.MAP_ANONYMOUS)
	case f.v.IsDevice():
		return errno(syscall.ENODEV)
	}
	obj, err := f.v.Object()
	if err != nil {
		return fileErrno(err)
	}
	name := mapName{ino: f.v.Stat().Ino, file: f.v}
	name.path, _ = f.v.Path() // a removed file's is "", as the maps of one say nothing better
	t.p.space.nameObject(obj, name)
	flags &^= vm.MapNoWrite // not a user's to set
	if flags&unix.MAP_SHARED != 0 && !f.writable() {
		flags |= vm.MapNoWrite // nor can mprotect make it writable (Linux's VM_MAYWRITE)
	}
	return t.p.space.MmapObject(addr, length, prot, flags, obj, off/pageSize)
}
