package proc

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"gofly/vfs"
	"gofly/vm"
)

// The /proc files a process reads about itself: maps (Go's CPU profiler
// reads its own, to name the executable's text in a profile), cmdline
// and environ, at /proc/self, /proc/thread-self and /proc/PID. A /proc file is made when it is
// opened, from the process's state then, as a detached regular file
// (vfs.FS.Detached): read, lseek and fstat work on it as on any file,
// and it goes with its last close. /proc itself is not a directory of
// the tree: other paths under it are ENOENT.

// names says what a space's mappings are, for maps: the executable's
// segments (Load maps their file pages from its object, named in objs
// like any file's, and the rest anonymous) and the files' objects
// (MmapObject's). Guarded by its mu; fork copies it.
type names struct {
	mu   sync.Mutex
	exe  mapName
	segs []exeSeg
	objs map[uint32]mapName
	// args and env are where the initial stack holds the argument and
	// environment strings (cmdline and environ read them there, as
	// Linux's do: a program that rewrites its arguments shows them).
	args, env [2]uint64
}

// mapName is a mapping's file: its path and inode, or a bracketed
// pseudo-name ([vdso]) with inode 0; file is the file itself (nil for a
// pseudo-name), through which MADV_REMOVE punches its pages.
type mapName struct {
	path string
	ino  uint64
	file *vfs.Vnode
}

// exeSeg is a page-aligned range of the executable's segment and its
// offset in the file.
type exeSeg struct{ start, end, off uint64 }

// exePath is the absolute path of the program name a process runs: the
// shell's run and execve resolve a relative one from /.
func exePath(name string) string {
	if !path.IsAbs(name) {
		return path.Join("/", name)
	}
	return name
}

// setExe records that s holds the segments of img, from file, the
// executable at name.
func (s *Space) setExe(name string, img *Image, file *vfs.Vnode) {
	n := &s.names
	n.mu.Lock()
	defer n.mu.Unlock()
	n.exe = mapName{path: exePath(name), ino: file.Stat().Ino, file: file}
	if obj, err := file.Object(); err == nil { // the segments' file pages
		if n.objs == nil {
			n.objs = map[uint32]mapName{}
		}
		n.objs[obj] = n.exe
	}
	n.segs = n.segs[:0]
	for _, g := range img.Segments {
		start := g.Vaddr &^ (pageSize - 1)
		n.segs = append(n.segs, exeSeg{start: start, end: (g.Vaddr + g.Memsz + pageSize - 1) &^ (pageSize - 1), off: g.Off - (g.Vaddr - start)})
	}
}

// nameObject records that obj is the file name (mmap of a file).
func (s *Space) nameObject(obj uint32, name mapName) {
	n := &s.names
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.objs == nil {
		n.objs = map[uint32]mapName{}
	}
	n.objs[obj] = name
}

// copyNames gives child s's names (fork).
func (s *Space) copyNames(child *Space) {
	s.names.mu.Lock()
	defer s.names.mu.Unlock()
	c := &child.names
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exe, c.segs = s.names.exe, append([]exeSeg(nil), s.names.segs...)
	c.args, c.env = s.names.args, s.names.env
	c.objs = make(map[uint32]mapName, len(s.names.objs))
	for k, v := range s.names.objs {
		c.objs[k] = v
	}
}

// maps is /proc/PID/maps for p: a line per map entry, as Linux writes
// them (start-end, rwx and p or s, offset, device, inode, name).
func (p *Process) maps() []byte {
	p.spaceMu.RLock()
	s := p.space
	var entries []MapEntry
	if !p.dead {
		entries = s.Entries()
	}
	p.spaceMu.RUnlock()
	s.names.mu.Lock()
	defer s.names.mu.Unlock()
	var b strings.Builder
	for _, e := range entries {
		start, end := uint64(e.Start), uint64(e.End)
		perm := []byte("---p")
		if e.Prot&vm.ProtRead != 0 {
			perm[0] = 'r'
		}
		if e.Prot&vm.ProtWrite != 0 {
			perm[1] = 'w'
		}
		if e.Prot&vm.ProtExec != 0 {
			perm[2] = 'x'
		}
		if e.Obj != 0 && e.Flags&vm.CopyOnWrite == 0 {
			perm[3] = 's'
		}
		var name mapName
		off := e.Off * pageSize
		switch {
		case e.Obj != 0 && e.Obj == vdso.obj && e.Off == 0:
			name.path = "[vvar]" // the clock page
		case e.Obj != 0 && e.Obj == vdso.obj:
			name.path = "[vdso]"
		case e.Obj != 0:
			name = s.names.objs[e.Obj]
		case start >= StackTop-StackSize && end <= StackTop:
			name.path = "[stack]"
		default:
			for _, g := range s.names.segs {
				if start >= g.start && end <= g.end {
					name, off = s.names.exe, g.off+(start-g.start)
					break
				}
			}
		}
		line := fmt.Sprintf("%08x-%08x %s %08x 00:00 %d ", start, end, perm, off, name.ino)
		b.WriteString(line)
		if name.path != "" {
			b.WriteString(strings.Repeat(" ", max(0, 73-len(line))))
			b.WriteString(name.path)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// setStrings records where the initial stack's strings for argv and
// envp lie: together just below top, the arguments first.
func (s *Space) setStrings(top uint64, argv, envp []string) {
	n := &s.names
	n.mu.Lock()
	defer n.mu.Unlock()
	size := func(ss []string) (n uint64) {
		for _, s := range ss {
			n += uint64(len(s)) + 1
		}
		return n
	}
	envStart := top - size(envp)
	n.args, n.env = [2]uint64{envStart - size(argv), envStart}, [2]uint64{envStart, top}
}

// strings reads p's argument (or environment) strings from its memory;
// nothing if the process has no space left.
func (p *Process) strings(env bool) []byte {
	p.spaceMu.RLock()
	defer p.spaceMu.RUnlock()
	if p.dead {
		return nil
	}
	s := p.space
	s.names.mu.Lock()
	r := s.names.args
	if env {
		r = s.names.env
	}
	s.names.mu.Unlock()
	b := make([]byte, r[1]-r[0])
	n, _ := s.CopyInPart(r[0], b)
	return b[:n]
}

// openProc opens the /proc file at clean absolute path name (under
// /proc) for t's process: the descriptor, or ENOENT for what is not
// there. It opens for writing too, as Linux's does for root, but a write
// is EINVAL (the file has no write method there); O_CREAT and O_TRUNC
// change nothing.
func openProc(t *Thread, name string, flags int) int64 {
	rest, _ := strings.CutPrefix(name, "/proc/")
	who, file, _ := strings.Cut(rest, "/")
	q := t.p
	switch who {
	case "self", "thread-self":
	default:
		pid, err := strconv.Atoi(who)
		var ok bool
		if err == nil {
			q, ok = Find(pid)
		}
		if !ok {
			return errno(syscall.ENOENT)
		}
	}
	var data []byte
	switch file {
	case "maps":
		data = q.maps()
	case "cmdline":
		data = q.strings(false)
	case "environ":
		data = q.strings(true)
	default:
		return errno(syscall.ENOENT)
	}
	if flags&unix.O_DIRECTORY != 0 {
		return errno(syscall.ENOTDIR)
	}
	v, err := vfs.Root.Detached(data, fs.FileMode(0o444))
	if err != nil {
		return errno(pathErrno(err))
	}
	f := &openFile{v: v, access: flags & unix.O_ACCMODE, proc: true}
	f.refs.Store(1)
	fd := t.p.install(f, flags&unix.O_CLOEXEC != 0, flags&unix.O_NONBLOCK != 0)
	if fd < 0 {
		f.release()
	}
	return fd
}

// procPath returns the clean absolute path under /proc that path names
// from the root, if it is one.
func procPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		return "", false
	}
	c := path.Clean(p)
	return c, strings.HasPrefix(c, "/proc/")
}
