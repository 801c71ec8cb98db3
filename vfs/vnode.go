package vfs

import (
	"io/fs"
	"math"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"gofly/ccms"
)

// Linux's limits on names (NAME_MAX) and paths (PATH_MAX, with its NUL).
const (
	NameMax = 255
	PathMax = 4096
)

// PageSize is the size of a file's page.
const PageSize = 4096

// Pages is where regular files keep their bytes: an object of pages per
// file. The kernel's are VM objects (ObjectPages); a host test's are Go
// memory.
type Pages interface {
	// New makes an empty object.
	New() (uint32, error)
	// Page returns page idx of obj, PageSize bytes: nil for a hole when
	// alloc is false; with alloc, the page, made zeroed if there was none
	// (fresh: by this call, not by another's meanwhile; an error when
	// there is no memory for it). The caller holds a range lock over the
	// page, as for Pages.
	Page(obj uint32, idx uint64, alloc bool) (page []byte, fresh bool, err error)
	// Resize records that obj's file has pages pages (a mapping's access
	// past them is a bus error), frees obj's pages at index pages and
	// above, unmapped from every address space first, and says how many
	// it freed.
	Resize(obj uint32, pages uint64) int64
	// Pages fills out with pages idx, idx+1, … of obj (nil for holes),
	// in one call: a read's pages. The caller holds a range lock over
	// them: no truncate or punch frees one meanwhile, and the file's
	// pages are not released.
	Pages(obj uint32, idx uint64, out [][]byte)
	// Punch frees obj's pages idx to idx+n, unmapped from every address
	// space first, leaving holes, and says how many it freed.
	Punch(obj uint32, idx, n uint64) int64
	// Extend records that obj's file has at least pages pages (a write
	// ended past the old end), freeing nothing: writes to disjoint ranges
	// past the end may be in flight.
	Extend(obj uint32, pages uint64)
	// Release frees obj and its pages.
	Release(obj uint32)
}

// Device is what a character device's vnode reads and writes (/dev/null,
// /dev/zero, /dev/urandom).
type Device interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
}

// Root is the file system at /: set once at boot (the shell's
// MountRoot), before anything looks it up.
var Root *FS

// FS is a RAM file system.
type FS struct {
	pages Pages
	limit int64 // most pages the files may hold

	mu   sync.Mutex // the tree: directories' entries, parents, Nlink; next
	root *Vnode
	next uint64 // the next inode number

	usedMu sync.Mutex
	used   int64 // pages the files' objects hold
}

// Vnode is a file, directory or device of an FS.
type Vnode struct {
	fs  *FS
	ino uint64
	typ fs.FileMode // fs.ModeDir, fs.ModeCharDevice, fs.ModeSymlink or 0 (regular)

	// Guarded by fs.mu.
	parent  *Vnode
	entries map[string]*Vnode // a directory's
	nlink   uint32

	// Written when the vnode is made; read-only after.
	dev    Device
	target string // a symbolic link's

	// rl holds the offset ranges that reads, writes and truncates of a
	// regular file touch, for as long as they touch its pages (CCMS).
	rl ccms.Space

	mu    sync.Mutex // guards perm, owner, size, times, obj, held, opens, writers and images; held briefly, never across a page copy
	opens int        // open file descriptions (Open, Close): a removed file's pages stay while any
	// writers counts the open file descriptions for writing (OpenWrite)
	// and images the address spaces running the file (DenyWrite): at most
	// one of them is not 0, as Linux's i_writecount says.
	writers, images int

	perm  fs.FileMode
	uid   uint32 // the owner; every file is made by root (uid and gid 0)
	gid   uint32
	fifo  any // a named pipe's pipe (FIFO), once opened
	size  int64
	atime time.Time
	mtime time.Time
	ctime time.Time
	obj   uint32 // a regular file's object, 0 until its first page
	held  int64  // pages obj holds
	freed bool   // its pages went for good (removed, and the last open closed)
}

// New returns an empty file system whose files may hold up to limit
// pages, with its bytes in pages.
func New(pages Pages, limit int64) *FS {
	f := &FS{pages: pages, limit: limit, next: 1}
	f.root = f.newVnode(fs.ModeDir, 0o755)
	f.root.parent = f.root
	f.root.nlink = 2
	return f
}

func (f *FS) newVnode(typ, perm fs.FileMode) *Vnode {
	now := time.Now()
	v := &Vnode{fs: f, ino: f.next, typ: typ, perm: perm, atime: now, mtime: now, ctime: now, nlink: 1}
	f.next++
	if typ == fs.ModeDir {
		v.entries = map[string]*Vnode{}
	}
	return v
}

// Root returns the root directory.
func (f *FS) Root() *Vnode { return f.root }

// Detached makes a regular file holding data that no directory names,
// as a removed file still open is: it comes opened once (Open), and its
// pages go with the last Close. A /proc file's contents, made as it is
// opened, are one.
func (f *FS) Detached(data []byte, perm fs.FileMode) (*Vnode, error) {
	f.mu.Lock()
	v := f.newVnode(0, perm&permBits)
	v.nlink = 0
	f.mu.Unlock()
	v.Open()
	if _, err := v.WriteAt(data, 0); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// pathError is a failed operation on a path, with Linux's errno.
func pathError(op, path string, e syscall.Errno) error {
	return &fs.PathError{Op: op, Path: path, Err: e}
}

// maxLinks is how many symbolic links one lookup follows before it is
// ELOOP (Linux's MAXSYMLINKS).
const maxLinks = 40

// walk resolves path from the root, or a relative one from dir (nil: the
// root, the shell's and every process's working directory), following
// symbolic links: each one met before the last element, and the last too
// with follow or a trailing slash (a link's target is resolved from the
// link's directory, or from the root when absolute). With parent, it
// stops at the last element's directory and returns it and the last name
// ("" for the root itself), which it does not follow. The caller holds
// f.mu.
func (f *FS) walk(dir *Vnode, op, path string, parent, follow bool) (*Vnode, string, error) {
	if path == "" {
		return nil, "", pathError(op, path, syscall.ENOENT)
	}
	if len(path) >= PathMax {
		return nil, "", pathError(op, path, syscall.ENAMETOOLONG)
	}
	elems := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	if dir == nil || path[0] == '/' {
		dir = f.root
	}
	if dir.nlink == 0 {
		return nil, "", pathError(op, path, syscall.ENOENT) // a removed directory has no entries
	}
	last := ""
	if parent && len(elems) > 0 {
		last, elems = elems[len(elems)-1], elems[:len(elems)-1]
		if len(last) > NameMax {
			return nil, "", pathError(op, path, syscall.ENAMETOOLONG)
		}
	}
	// A trailing slash follows the last element and asks for a
	// directory, and so does a last link's target that ends in one.
	mustDir := strings.HasSuffix(path, "/")
	follow = follow || mustDir
	links := 0
	for i := 0; i < len(elems); i++ {
		e := elems[i]
		if len(e) > NameMax {
			return nil, "", pathError(op, path, syscall.ENAMETOOLONG)
		}
		if dir.typ != fs.ModeDir {
			return nil, "", pathError(op, path, syscall.ENOTDIR)
		}
		switch e {
		case ".":
			continue
		case "..":
			dir = dir.parent
			continue
		}
		next, ok := dir.entries[e]
		if !ok {
			return nil, "", pathError(op, path, syscall.ENOENT)
		}
		if next.typ == fs.ModeSymlink && (i < len(elems)-1 || parent || follow) {
			if links++; links > maxLinks {
				return nil, "", pathError(op, path, syscall.ELOOP)
			}
			if i == len(elems)-1 && strings.HasSuffix(next.target, "/") {
				mustDir = true
			}
			rest := strings.FieldsFunc(next.target, func(r rune) bool { return r == '/' })
			elems = append(rest, elems[i+1:]...)
			i = -1
			if strings.HasPrefix(next.target, "/") {
				dir = f.root
			}
			continue
		}
		dir = next
	}
	if (parent || mustDir) && dir.typ != fs.ModeDir {
		return nil, "", pathError(op, path, syscall.ENOTDIR)
	}
	return dir, last, nil
}

// Lookup returns the vnode path names.
func (f *FS) Lookup(path string) (*Vnode, error) { return f.LookupAt(nil, path) }

// LookupAt returns the vnode path names, a relative path from directory
// dir (nil: the root), symbolic links followed.
func (f *FS) LookupAt(dir *Vnode, path string) (*Vnode, error) {
	return f.lookup(dir, path, true)
}

// LookupLinkAt is LookupAt that does not follow a symbolic link that is
// the last element (lstat, O_NOFOLLOW, readlink).
func (f *FS) LookupLinkAt(dir *Vnode, path string) (*Vnode, error) {
	return f.lookup(dir, path, false)
}

func (f *FS) lookup(dir *Vnode, path string, follow bool) (*Vnode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, _, err := f.walk(dir, "lookup", path, false, follow)
	return v, err
}

// make adds a vnode of type typ at path (from at); EEXIST if the name is
// taken.
func (f *FS) make(at *Vnode, op, path string, typ, perm fs.FileMode, dev Device, target string) (*Vnode, error) {
	return f.makeThrough(at, op, path, typ, perm, dev, target, false)
}

// makeThrough is make that, with follow, makes a dangling symbolic link's
// target when the link is the last element (open's O_CREAT).
func (f *FS) makeThrough(at *Vnode, op, path string, typ, perm fs.FileMode, dev Device, target string, follow bool) (*Vnode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var dir *Vnode
	var name string
	for links := 0; ; links++ {
		var err error
		dir, name, err = f.walk(at, op, path, true, false)
		if err != nil {
			return nil, err
		}
		if name == "" || name == "." || name == ".." {
			return nil, pathError(op, path, syscall.EEXIST)
		}
		v, taken := dir.entries[name]
		if !taken {
			break
		}
		if !follow || v.typ != fs.ModeSymlink || strings.HasSuffix(path, "/") {
			return nil, pathError(op, path, syscall.EEXIST)
		}
		if links >= maxLinks {
			return nil, pathError(op, path, syscall.ELOOP)
		}
		at, path = dir, v.target // relative to the link's directory
	}
	if typ != fs.ModeDir && strings.HasSuffix(path, "/") {
		return nil, pathError(op, path, syscall.EISDIR)
	}
	v := f.newVnode(typ, perm&permBits)
	v.parent, v.dev, v.target = dir, dev, target
	v.size = int64(len(target))
	if typ == fs.ModeDir {
		v.nlink = 2
		dir.nlink++
	}
	dir.entries[name] = v
	dir.touch()
	return v, nil
}

// Mkdir makes the directory path.
func (f *FS) Mkdir(path string, perm fs.FileMode) (*Vnode, error) {
	return f.MkdirAt(nil, path, perm)
}

// MkdirAt makes the directory path (a relative one from dir).
func (f *FS) MkdirAt(dir *Vnode, path string, perm fs.FileMode) (*Vnode, error) {
	return f.make(dir, "mkdir", path, fs.ModeDir, perm, nil, "")
}

// Create makes the empty regular file path.
func (f *FS) Create(path string, perm fs.FileMode) (*Vnode, error) {
	return f.CreateAt(nil, path, perm)
}

// MkfifoAt makes the named pipe path (a relative one from dir).
func (f *FS) MkfifoAt(dir *Vnode, path string, perm fs.FileMode) (*Vnode, error) {
	return f.make(dir, "mkfifo", path, fs.ModeNamedPipe, perm, nil, "")
}

// MksockAt makes the socket file path (a relative one from dir), as an
// AF_UNIX socket's bind or mknod(S_IFSOCK) does: a name, with nothing
// to read or write through it.
func (f *FS) MksockAt(dir *Vnode, op, path string, perm fs.FileMode) (*Vnode, error) {
	return f.make(dir, op, path, fs.ModeSocket, perm, nil, "")
}

// CreateAt makes the empty regular file path (a relative one from dir).
func (f *FS) CreateAt(dir *Vnode, path string, perm fs.FileMode) (*Vnode, error) {
	return f.make(dir, "create", path, 0, perm, nil, "")
}

// CreateThroughAt is CreateAt that makes the target of a dangling
// symbolic link named by path, as open(2)'s O_CREAT without O_EXCL.
func (f *FS) CreateThroughAt(dir *Vnode, path string, perm fs.FileMode) (*Vnode, error) {
	return f.makeThrough(dir, "create", path, 0, perm, nil, "", true)
}

// Mknod makes the character device path, served by dev.
func (f *FS) Mknod(path string, perm fs.FileMode, dev Device) (*Vnode, error) {
	return f.make(nil, "mknod", path, fs.ModeCharDevice, perm, dev, "")
}

// SymlinkAt makes path (a relative one from dir) a symbolic link to
// target, which is not looked up (a dangling link is a link); ENOENT for
// an empty target, as Linux.
func (f *FS) SymlinkAt(dir *Vnode, target, path string) (*Vnode, error) {
	if target == "" {
		return nil, pathError("symlink", path, syscall.ENOENT)
	}
	if len(target) >= PathMax {
		return nil, pathError("symlink", path, syscall.ENAMETOOLONG)
	}
	return f.make(dir, "symlink", path, fs.ModeSymlink, 0o777, nil, target)
}

// Readlink returns a symbolic link's target; EINVAL for anything else.
func (v *Vnode) Readlink() (string, error) {
	if v.typ != fs.ModeSymlink {
		return "", syscall.EINVAL
	}
	return v.target, nil
}

// Remove removes path: a file, a device or an empty directory (ENOTEMPTY
// otherwise). A file's pages go with it.
func (f *FS) Remove(path string) error { return f.RemoveAt(nil, path, RemoveAny) }

// What RemoveAt may remove (unlinkat(2) without and with AT_REMOVEDIR).
const (
	RemoveAny  = iota // a file, a device or an empty directory
	RemoveFile        // not a directory: EISDIR
	RemoveDir         // only an empty directory: ENOTDIR otherwise
)

// RemoveAt removes path (a relative one from dir), of the kind what
// allows.
func (f *FS) RemoveAt(at *Vnode, path string, what int) error {
	f.mu.Lock()
	dir, name, err := f.walk(at, "remove", path, true, false)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	v, ok := dir.entries[name]
	switch {
	case name == "" || name == "." || name == "..":
		// As Linux: unlink of any of them is EISDIR; rmdir of "." EINVAL,
		// of ".." ENOTEMPTY, of / EBUSY.
		e := syscall.EBUSY
		switch {
		case what == RemoveFile:
			e = syscall.EISDIR
		case what == RemoveDir && name == ".":
			e = syscall.EINVAL
		case what == RemoveDir && name == "..":
			e = syscall.ENOTEMPTY
		}
		err = pathError("remove", path, e)
	case !ok:
		err = pathError("remove", path, syscall.ENOENT)
	case v.typ == fs.ModeDir && what == RemoveFile:
		err = pathError("remove", path, syscall.EISDIR)
	case v.typ != fs.ModeDir && what == RemoveDir:
		err = pathError("remove", path, syscall.ENOTDIR)
	case v.typ == fs.ModeDir && len(v.entries) > 0:
		err = pathError("remove", path, syscall.ENOTEMPTY)
	case v.typ != fs.ModeDir && strings.HasSuffix(path, "/"):
		err = pathError("remove", path, syscall.ENOTDIR)
	}
	if err != nil {
		f.mu.Unlock()
		return err
	}
	delete(dir.entries, name)
	v.unlinkLocked(dir)
	dir.touch()
	f.mu.Unlock()
	v.freeIfGone()
	return nil
}

// unlinkLocked counts one name of v, in dir, gone: a directory's only
// one (and its ".." in dir), or one of a file's hard links. f.mu held.
func (v *Vnode) unlinkLocked(dir *Vnode) {
	if v.typ == fs.ModeDir {
		dir.nlink--
		v.nlink = 0
		return
	}
	v.nlink--
	v.mu.Lock()
	v.ctime = time.Now()
	v.mu.Unlock()
}

// LinkAt gives v another name, path (a relative one from dir), as
// link(2): EPERM for a directory, EEXIST if the name is taken, ENOENT if
// v has no name left (removed meanwhile).
func (f *FS) LinkAt(v *Vnode, dir *Vnode, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	to, name, err := f.walk(dir, "link", path, true, false)
	switch {
	case err != nil:
		return err
	case v.typ == fs.ModeDir:
		return pathError("link", path, syscall.EPERM)
	case name == "" || name == "." || name == "..":
		return pathError("link", path, syscall.EEXIST)
	case to.entries[name] != nil:
		return pathError("link", path, syscall.EEXIST)
	case strings.HasSuffix(path, "/"):
		return pathError("link", path, syscall.ENOENT) // a slash asks for a directory, which link never makes
	case v.nlink == 0 || to.nlink == 0:
		return pathError("link", path, syscall.ENOENT)
	}
	to.entries[name] = v
	v.nlink++
	v.mu.Lock()
	v.ctime = time.Now()
	v.mu.Unlock()
	to.touch()
	return nil
}

// Open records an open file description of v (a process's openat): a
// removed file keeps its pages until the last is closed.
func (v *Vnode) Open() {
	v.mu.Lock()
	v.opens++
	v.mu.Unlock()
}

// OpenWrite records an open file description of v for writing, or is
// ETXTBSY while a process runs v (Linux's get_write_access).
func (v *Vnode) OpenWrite() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.images > 0 {
		return syscall.ETXTBSY
	}
	v.writers++
	return nil
}

// CloseWrite ends what OpenWrite recorded.
func (v *Vnode) CloseWrite() {
	v.mu.Lock()
	v.writers--
	v.mu.Unlock()
}

// DenyWrite records that an address space runs v, its image, or is
// ETXTBSY while v is open for writing (Linux's deny_write_access, which an
// mm's exe_file holds): a running program's pages cannot change under it.
func (v *Vnode) DenyWrite() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.writers > 0 {
		return syscall.ETXTBSY
	}
	v.images++
	return nil
}

// AllowWrite ends what DenyWrite recorded.
func (v *Vnode) AllowWrite() {
	v.mu.Lock()
	v.images--
	v.mu.Unlock()
}

// Close ends an open file description of v (its last descriptor closed),
// or a call's hold (Open for the length of one read or write, so that a
// close racing it cannot free the pages under it).
func (v *Vnode) Close() {
	v.mu.Lock()
	v.opens--
	last := v.opens == 0
	v.mu.Unlock()
	if last {
		v.freeIfGone()
	}
}

// freeIfGone frees a regular file's pages once it is removed and no open
// file description is left, with no read or write inside them.
func (v *Vnode) freeIfGone() {
	if v.typ != 0 {
		return
	}
	v.fs.mu.Lock()
	gone := v.nlink == 0
	v.fs.mu.Unlock()
	if !gone {
		return
	}
	l := v.rl.Lock(0, math.MaxUint64, ccms.Exclusive)
	v.mu.Lock()
	if v.opens == 0 {
		v.releasePages()
		v.freed = true
	}
	v.mu.Unlock()
	l.Unlock()
}

// touch records a change of a directory's entries. The caller holds
// f.mu.
func (v *Vnode) touch() {
	v.mu.Lock()
	v.mtime = time.Now()
	v.ctime = v.mtime
	v.mu.Unlock()
}

// Chown gives v the owner uid and group gid (-1: unchanged), as root's
// chown(2): a file that is not a directory loses its setuid bit, and its
// setgid bit if group-executable (Linux's rule since 2.2.13, root
// included).
func (v *Vnode) Chown(uid, gid int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if uid >= 0 {
		v.uid = uint32(uid)
	}
	if gid >= 0 {
		v.gid = uint32(gid)
	}
	if v.typ != fs.ModeDir && v.typ != fs.ModeSymlink && (uid >= 0 || gid >= 0) {
		v.perm &^= fs.ModeSetuid
		if v.perm&0o010 != 0 {
			v.perm &^= fs.ModeSetgid
		}
	}
	v.ctime = time.Now()
}

// permBits are the mode bits a vnode keeps beside its type.
const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// Chmod sets v's permission bits (setuid, setgid and sticky included);
// a symbolic link's are always 0777, EOPNOTSUPP, as Linux.
func (v *Vnode) Chmod(perm fs.FileMode) error {
	if v.typ == fs.ModeSymlink {
		return syscall.EOPNOTSUPP
	}
	v.mu.Lock()
	v.perm = perm & permBits
	v.ctime = time.Now()
	v.mu.Unlock()
	return nil
}

// SetTimes sets v's access and modification times, each unless nil
// (utimensat). Reads do not move the access time (as a noatime mount).
func (v *Vnode) SetTimes(atime, mtime *time.Time) {
	v.mu.Lock()
	if atime != nil {
		v.atime = *atime
	}
	if mtime != nil {
		v.mtime = *mtime
	}
	v.ctime = time.Now()
	v.mu.Unlock()
}

// DirEntry is one entry of a directory listing.
type DirEntry struct {
	Name string
	Ino  uint64
	Type fs.FileMode
}

// ReadDir returns a directory's entries sorted by name, "." and ".."
// first.
func (v *Vnode) ReadDir() ([]DirEntry, error) {
	if v.typ != fs.ModeDir {
		return nil, syscall.ENOTDIR
	}
	v.fs.mu.Lock()
	defer v.fs.mu.Unlock()
	es := []DirEntry{{".", v.ino, fs.ModeDir}, {"..", v.parent.ino, fs.ModeDir}}
	names := make([]string, 0, len(v.entries))
	for n := range v.entries {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c := v.entries[n]
		es = append(es, DirEntry{n, c.ino, c.typ})
	}
	return es, nil
}

// Stat is what stat(2) reports of a vnode.
type Stat struct {
	Ino                 uint64
	Mode                fs.FileMode // type bits and permissions
	Nlink               uint32
	Size                int64
	Blocks              int64 // 512-byte blocks the pages held take
	Atime, Mtime, Ctime time.Time
	Uid, Gid            uint32
}

// Stat returns v's metadata.
func (v *Vnode) Stat() Stat {
	v.fs.mu.Lock()
	nlink := v.nlink
	v.fs.mu.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	s := Stat{Ino: v.ino, Mode: v.typ | v.perm, Nlink: nlink, Size: v.size, Atime: v.atime, Mtime: v.mtime, Ctime: v.ctime, Uid: v.uid, Gid: v.gid}
	if v.typ == 0 {
		s.Blocks = v.held * (PageSize / 512)
	}
	return s
}

// Path returns v's absolute path, found through its parents; ENOENT once
// v (or a directory above it) was removed.
func (v *Vnode) Path() (string, error) {
	f := v.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	var elems []string
	for c := v; c != f.root; c = c.parent {
		if c.nlink == 0 {
			return "", syscall.ENOENT
		}
		name := ""
		for n, e := range c.parent.entries {
			if e == c {
				name = n
				break
			}
		}
		elems = append(elems, name)
	}
	slices.Reverse(elems)
	return "/" + strings.Join(elems, "/"), nil
}

// Ranges returns the range locks held and waited for on v's data, and its
// cache-state ranges (the shell's ccms command).
func (v *Vnode) Ranges() ccms.Snapshot { return v.rl.Snapshot() }

// IsDir reports whether v is a directory.
func (v *Vnode) IsDir() bool { return v.typ == fs.ModeDir }

// IsSocket reports whether v is a socket file (MksockAt).
func (v *Vnode) IsSocket() bool { return v.typ == fs.ModeSocket }

// IsFIFO reports whether v is a named pipe (mkfifo).
func (v *Vnode) IsFIFO() bool { return v.typ == fs.ModeNamedPipe }

// FIFO returns the pipe of a named pipe, which opens share: made by
// make at the first, kept with the vnode.
func (v *Vnode) FIFO(make func() any) any {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.fifo == nil {
		v.fifo = make()
	}
	return v.fifo
}

// IsDevice reports whether v is a character device. Like IsDir it reads
// only what never changes, no lock: a read or write asks it every time.
func (v *Vnode) IsDevice() bool { return v.typ == fs.ModeCharDevice }

// Usage returns the pages the files hold and the most they may.
func (f *FS) Usage() (used, limit int64) {
	f.usedMu.Lock()
	defer f.usedMu.Unlock()
	return f.used, f.limit
}

// RenameNoReplace is renameat2's RENAME_NOREPLACE: EEXIST if the new
// name is taken.
const RenameNoReplace = 1

// RenameAt moves oldpath (from olddir) to newpath (from newdir) by
// rename(2)'s rules: a file or directory it replaces must be of its kind
// (EISDIR, ENOTDIR) and a replaced directory empty (ENOTEMPTY); a
// directory cannot move under itself (EINVAL); the same file at both
// names does nothing. A replaced file's pages go once no one has it
// open.
func (f *FS) RenameAt(olddir *Vnode, oldpath string, newdir *Vnode, newpath string, flags int) error {
	if flags&^RenameNoReplace != 0 {
		return pathError("rename", oldpath, syscall.EINVAL) // RENAME_EXCHANGE, RENAME_WHITEOUT: not here
	}
	f.mu.Lock()
	from, oldname, err := f.walk(olddir, "rename", oldpath, true, false)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	to, newname, err := f.walk(newdir, "rename", newpath, true, false)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	v, ok := from.entries[oldname]
	old, taken := to.entries[newname]
	switch {
	case oldname == "" || oldname == "." || oldname == ".." || newname == "" || newname == "." || newname == "..":
		err = pathError("rename", oldpath, syscall.EBUSY)
	case !ok:
		err = pathError("rename", oldpath, syscall.ENOENT)
	case v.typ != fs.ModeDir && (strings.HasSuffix(oldpath, "/") || strings.HasSuffix(newpath, "/")):
		err = pathError("rename", oldpath, syscall.ENOTDIR) // a slash asks for a directory
	case taken && old == v:
		f.mu.Unlock()
		return nil // the same file: nothing to do, as Linux
	case taken && flags&RenameNoReplace != 0:
		err = pathError("rename", newpath, syscall.EEXIST)
	case taken && v.typ == fs.ModeDir && old.typ != fs.ModeDir:
		err = pathError("rename", newpath, syscall.ENOTDIR)
	case taken && v.typ != fs.ModeDir && old.typ == fs.ModeDir:
		err = pathError("rename", newpath, syscall.EISDIR)
	case taken && old.typ == fs.ModeDir && len(old.entries) > 0:
		err = pathError("rename", newpath, syscall.ENOTEMPTY)
	case v.typ == fs.ModeDir && f.inside(to, v):
		err = pathError("rename", newpath, syscall.EINVAL)
	}
	if err != nil {
		f.mu.Unlock()
		return err
	}
	if taken {
		delete(to.entries, newname)
		old.unlinkLocked(to)
	}
	delete(from.entries, oldname)
	to.entries[newname] = v
	if v.typ == fs.ModeDir && from != to {
		from.nlink--
		to.nlink++
	}
	v.parent = to
	from.touch()
	to.touch()
	f.mu.Unlock()
	if taken {
		old.freeIfGone()
	}
	return nil
}

// inside reports whether d is dir or under it. The caller holds f.mu.
func (f *FS) inside(d, dir *Vnode) bool {
	for ; d != f.root; d = d.parent {
		if d == dir {
			return true
		}
	}
	return d == dir
}
