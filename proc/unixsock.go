package proc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"gofly/vfs"
)

// Names of AF_UNIX stream sockets (unix(7)): bind gives a socket a path,
// made a socket file in the tree (EADDRINUSE if the path exists), or an
// abstract name (a sockaddr_un whose path starts with a NUL: no file);
// bind with the family alone picks an unused abstract name (autobind).
// connect looks the name up and queues a connection for the listener
// bound to it: ENOENT for a path that does not exist, ECONNREFUSED for a
// socket file no listener holds (its socket closed, or made by mknod).
// The file outlives its socket, as on Linux: removing it is the
// program's business.

// unixTable is the table of bound AF_UNIX sockets: by socket file and by
// abstract name. Guarded by mu (after ports.mu, before a socket's).
type unixTable struct {
	mu       sync.Mutex
	byFile   map[*vfs.Vnode]*socket
	abstract map[string]*socket
	next     uint32 // the next autobind name to try
}

var unixNames unixTable

// unixPathMax is sun_path's size.
const unixPathMax = 108

// readUnixAddr reads a struct sockaddr_un of addrlen bytes at va: the
// name (a path, or an abstract name with its leading NUL), "" for the
// family alone.
func (p *Process) readUnixAddr(va, addrlen uint64) (string, syscall.Errno) {
	if int32(addrlen) < 2 || addrlen > 2+unixPathMax {
		return "", syscall.EINVAL
	}
	b, err := p.space.CopyIn(va, addrlen)
	if err != nil {
		return "", syscall.EFAULT
	}
	if binary.LittleEndian.Uint16(b) != unix.AF_UNIX {
		return "", syscall.EINVAL
	}
	path := b[2:]
	if len(path) == 0 || path[0] == 0 {
		return string(path), 0 // abstract: every byte counts
	}
	for i, c := range path {
		if c == 0 {
			path = path[:i]
			break
		}
	}
	return string(path), 0
}

// bindUnix is bind(2) for AF_UNIX socket s.
func bindUnix(t *Thread, s *socket, va, addrlen uint64) syscall.Errno {
	name, e := t.p.readUnixAddr(va, addrlen)
	if e != 0 {
		return e
	}
	var file *vfs.Vnode
	if name != "" && name[0] != 0 {
		root, dir, e := t.p.resolve(unix.AT_FDCWD, name)
		if e != 0 {
			return e
		}
		v, err := root.MksockAt(dir, "bind", name, t.p.creationMode(0o777))
		if errors.Is(err, fs.ErrExist) {
			return syscall.EADDRINUSE
		}
		if err != nil {
			return pathErrno(err)
		}
		file = v
	}
	unixNames.mu.Lock()
	defer unixNames.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound || s.rx != nil {
		// The file made stays, as Linux leaves it after a failed bind.
		return syscall.EINVAL
	}
	switch {
	case file != nil:
		if unixNames.byFile == nil {
			unixNames.byFile = map[*vfs.Vnode]*socket{}
		}
		unixNames.byFile[file] = s
		s.file = file
	case name == "": // autobind: a NUL and five hex digits, as Linux's
		for range 1 << 20 {
			c := fmt.Sprintf("\x00%05x", unixNames.next&(1<<20-1))
			unixNames.next++
			if unixNames.abstract[c] == nil {
				name = c
				break
			}
		}
		if name == "" {
			return syscall.EADDRINUSE
		}
		fallthrough
	default:
		if unixNames.abstract[name] != nil {
			return syscall.EADDRINUSE
		}
		if unixNames.abstract == nil {
			unixNames.abstract = map[string]*socket{}
		}
		unixNames.abstract[name] = s
	}
	s.local, s.bound = inetAddr{name: name}, true
	return 0
}

// forgetLocked takes s's name out of the table if the name is s's (an
// accepted socket carries its listener's name, not its own). The
// table's lock and s.mu held.
func (t *unixTable) forgetLocked(s *socket) {
	if s.file != nil && t.byFile[s.file] == s {
		delete(t.byFile, s.file)
	}
	if n := s.local.name; n != "" && n[0] == 0 && t.abstract[n] == s {
		delete(t.abstract, n)
	}
}

// lookupUnix returns the socket bound to AF_UNIX name: ENOENT (or
// another lookup error) for a path that does not exist, ECONNREFUSED for
// what is no socket file or a name nobody holds, EPROTOTYPE for a socket
// of another type than typ.
func (t *Thread) lookupUnix(name string, typ int) (*socket, syscall.Errno) {
	var file *vfs.Vnode
	if name[0] != 0 {
		root, dir, e := t.p.resolve(unix.AT_FDCWD, name)
		if e != 0 {
			return nil, e
		}
		v, err := root.LookupAt(dir, name)
		if err != nil {
			return nil, pathErrno(err)
		}
		if !v.IsSocket() {
			return nil, syscall.ECONNREFUSED
		}
		file = v
	}
	unixNames.mu.Lock()
	defer unixNames.mu.Unlock()
	to := unixNames.abstract[name]
	if file != nil {
		to = unixNames.byFile[file]
	}
	switch {
	case to == nil:
		return nil, syscall.ECONNREFUSED
	case to.typ != typ:
		return nil, syscall.EPROTOTYPE
	}
	return to, 0
}

// connectUnix is connect(2) for AF_UNIX stream socket s: to the
// listener bound to the name. A full queue is EAGAIN for a non-blocking
// socket; a blocking one waits for an accept to make room, as Linux's
// unix_wait_for_peer (EINTR on a signal, which SA_RESTART restarts),
// and gets ECONNREFUSED if the listener goes meanwhile.
func connectUnix(t *Thread, s *socket, va, addrlen uint64, nonblock bool) syscall.Errno {
	name, e := t.p.readUnixAddr(va, addrlen)
	if e != 0 {
		return e
	}
	if name == "" {
		return syscall.EINVAL
	}
	ln, e := t.lookupUnix(name, s.typ)
	if e != 0 {
		return e
	}
	if ln == s {
		return syscall.ECONNREFUSED
	}
	for {
		wake := changed()
		e := s.joinUnix(ln)
		if e != syscall.EAGAIN || nonblock {
			return e
		}
		if r := block(t, wake, false); r != 0 {
			return syscall.Errno(-r)
		}
	}
}

// joinUnix is one try of connectUnix's: EAGAIN when ln's queue is full.
func (s *socket) joinUnix(ln *socket) syscall.Errno {
	unixNames.mu.Lock()
	defer unixNames.mu.Unlock()
	s.mu.Lock()
	switch {
	case s.rx != nil:
		s.mu.Unlock()
		return syscall.EISCONN
	case s.listening:
		s.mu.Unlock()
		return syscall.EINVAL
	}
	s.mu.Unlock()
	ln.mu.Lock()
	at := ln.local
	ln.mu.Unlock()
	return s.join(ln, at, syscall.EAGAIN)
}
