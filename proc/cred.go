package proc

import (
	"encoding/binary"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
)

// Credentials (credentials(7)): a process's real, effective and saved
// user and group IDs, set by the set*id calls by Linux's rules, in which
// a process whose effective user ID is 0 is privileged (Gofly has no
// capabilities beyond that). Files are not checked against them (doc.go);
// the IDs are kept, reported (and in the auxiliary vector), inherited by
// fork and kept by execve. Guarded by Process.mu.
type creds struct {
	ruid, euid, suid uint32
	rgid, egid, sgid uint32
}

// noID is the set*id calls' -1: leave that ID as it is.
const noID = ^uint32(0)

// privileged reports whether c may set any ID (CAP_SETUID, CAP_SETGID).
func (c *creds) privileged() bool { return c.euid == 0 }

// credsOf returns a copy of p's credentials.
func (p *Process) credsOf() creds {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cred
}

// idCall serves one of the get*id calls: pick reads the ID from p's
// credentials.
func idCall(pick func(*creds) uint32) func(*Thread, *amd64.Frame) int64 {
	return func(t *Thread, _ *amd64.Frame) int64 {
		c := t.p.credsOf()
		return int64(pick(&c))
	}
}

// setIDs serves setuid, setreuid and setresuid (uids) or their group
// forms: set applies the call's rules to the real, effective and saved
// IDs in place, or returns an errno and changes nothing.
func setIDs(t *Thread, set func(c *creds) syscall.Errno) int64 {
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cred
	if e := set(&c); e != 0 {
		return errno(e)
	}
	p.cred = c
	return 0
}

// setID is setuid(2) or setgid(2) on one triple: privileged, all three;
// else the effective ID, to the real or the saved one.
func setID(id uint32, r, e, s *uint32, privileged bool) syscall.Errno {
	switch {
	case id == noID:
		return syscall.EINVAL
	case privileged:
		*r, *e, *s = id, id, id
	case id == *r || id == *s:
		*e = id
	default:
		return syscall.EPERM
	}
	return 0
}

// setREID is setreuid(2) or setregid(2): unprivileged, the real ID may
// become the real or effective one, the effective ID the real,
// effective or saved one; the saved ID follows the effective one when
// the real ID is set, or the effective one set to other than the real.
func setREID(nr, ne uint32, r, e, s *uint32, privileged bool) syscall.Errno {
	if !privileged && (nr != noID && nr != *r && nr != *e || ne != noID && ne != *r && ne != *e && ne != *s) {
		return syscall.EPERM
	}
	oldR := *r
	if nr != noID {
		*r = nr
	}
	if ne != noID {
		*e = ne
	}
	if nr != noID || ne != noID && ne != oldR {
		*s = *e
	}
	return 0
}

// setRESID is setresuid(2) or setresgid(2): unprivileged, each new ID
// must be one of the three current ones.
func setRESID(nr, ne, ns uint32, r, e, s *uint32, privileged bool) syscall.Errno {
	allowed := func(id uint32) bool { return id == noID || privileged || id == *r || id == *e || id == *s }
	if !allowed(nr) || !allowed(ne) || !allowed(ns) {
		return syscall.EPERM
	}
	for _, x := range []struct {
		id  uint32
		dst *uint32
	}{{nr, r}, {ne, e}, {ns, s}} {
		if x.id != noID {
			*x.dst = x.id
		}
	}
	return 0
}

// triple returns c's user IDs, or its group IDs: real, effective, saved.
func (c *creds) triple(group bool) (r, e, s *uint32) {
	if group {
		return &c.rgid, &c.egid, &c.sgid
	}
	return &c.ruid, &c.euid, &c.suid
}

// setCall serves setuid/setgid (setID), setreuid/setregid (setREID) or
// setresuid/setresgid (setRESID), on the group IDs when group is set.
func setCall(group bool, set func(a *amd64.Frame, r, e, s *uint32, privileged bool) syscall.Errno) func(*Thread, *amd64.Frame) int64 {
	return func(t *Thread, a *amd64.Frame) int64 {
		return setIDs(t, func(c *creds) syscall.Errno {
			r, e, s := c.triple(group)
			return set(a, r, e, s, c.privileged())
		})
	}
}

func setIDArgs(a *amd64.Frame, r, e, s *uint32, priv bool) syscall.Errno {
	return setID(uint32(a.RDI), r, e, s, priv)
}

func setREIDArgs(a *amd64.Frame, r, e, s *uint32, priv bool) syscall.Errno {
	return setREID(uint32(a.RDI), uint32(a.RSI), r, e, s, priv)
}

func setRESIDArgs(a *amd64.Frame, r, e, s *uint32, priv bool) syscall.Errno {
	return setRESID(uint32(a.RDI), uint32(a.RSI), uint32(a.RDX), r, e, s, priv)
}

// sysAccess is access(2): faccessat at the working directory.
func sysAccess(t *Thread, r *amd64.Frame) int64 {
	return t.access(unix.AT_FDCWD, r.RDI, uint32(r.RSI), 0)
}

// sysFaccessat is faccessat(2)'s system call, which has no flags.
func sysFaccessat(t *Thread, r *amd64.Frame) int64 {
	return t.access(int(int32(r.RDI)), r.RSI, uint32(r.RDX), 0)
}

// sysFaccessat2 is faccessat2(2): faccessat with AT_EACCESS (check with
// the effective IDs), AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH.
func sysFaccessat2(t *Thread, r *amd64.Frame) int64 {
	return t.access(int(int32(r.RDI)), r.RSI, uint32(r.RDX), int(int32(r.R10)))
}

// access checks the file at path (from dirfd) for mode's accesses
// (R_OK, W_OK, X_OK; F_OK 0: that it exists) by the real IDs, or the
// effective ones with AT_EACCESS: what the file's permission bits grant
// the owner, a member of its group (the process's group or a
// supplementary one) or anyone else; a privileged process may read and
// write anything and execute what has an execute bit or is a directory.
// The bits are what open and execve would check on Linux; Gofly's own
// calls do not check them (doc.go).
func (t *Thread) access(dirfd int, pathVA uint64, mode uint32, flags int) int64 {
	if mode&^(unix.R_OK|unix.W_OK|unix.X_OK) != 0 || flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return errno(syscall.EINVAL)
	}
	p := t.p
	path, e := p.readString(pathVA, pathMax)
	if e != 0 {
		return errno(e)
	}
	st, fmode, e := p.statAt(dirfd, path, flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_NOFOLLOW != 0)
	if e != 0 {
		return errno(e)
	}
	if mode == unix.F_OK {
		return 0
	}
	p.mu.Lock()
	c, groups := p.cred, p.groups
	p.mu.Unlock()
	uid, gid := c.ruid, c.rgid
	if flags&unix.AT_EACCESS != 0 {
		uid, gid = c.euid, c.egid
	}
	var granted uint32
	switch {
	case uid == 0:
		granted = unix.R_OK | unix.W_OK
		if fmode&0o111 != 0 || fmode&unix.S_IFMT == unix.S_IFDIR {
			granted |= unix.X_OK
		}
	case uid == st.Uid:
		granted = fmode >> 6 & 7
	case gid == st.Gid || slices.Contains(groups, st.Gid):
		granted = fmode >> 3 & 7
	default:
		granted = fmode & 7
	}
	if mode&^granted != 0 {
		return errno(syscall.EACCES)
	}
	return 0
}

// getRES serves getresuid(2) and getresgid(2): the three IDs, each to its
// own pointer.
func getRES(t *Thread, r *amd64.Frame, ids [3]uint32) int64 {
	for i, va := range []uint64{r.RDI, r.RSI, r.RDX} {
		if t.p.space.CopyOut(va, binary.LittleEndian.AppendUint32(nil, ids[i])) != nil {
			return errno(syscall.EFAULT)
		}
	}
	return 0
}

// getRESCall serves getresuid(2), or getresgid(2) when group is set.
func getRESCall(group bool) func(*Thread, *amd64.Frame) int64 {
	return func(t *Thread, a *amd64.Frame) int64 {
		c := t.p.credsOf()
		r, e, s := c.triple(group)
		return getRES(t, a, [3]uint32{*r, *e, *s})
	}
}
