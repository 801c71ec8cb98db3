package proc

import (
	"syscall"

	"gofly/arch/amd64"
)

// Sessions and process groups, by Linux's rules: a process made by the
// shell leads a new session and group (its PID both), a child is born in
// its parent's, setpgid moves a process between groups of its session,
// setsid starts a session. The fields (Process.pgid, sid, ctty) are
// guarded by the process table's lock, procs.

// session returns p's session and process group.
func (p *Process) session() (sid, pgid int) {
	procs.Lock()
	defer procs.Unlock()
	return p.sid, p.pgid
}

// signalGroup sends sig with info to every process of group pgid and
// returns how many there were.
func signalGroup(pgid, sig int, info sigInfo) int {
	return signalEach(func(q *Process) bool { return q.pgid == pgid }, sig, info)
}

// KillSession sends SIGKILL to every process of session sid: the
// shell's way out of a program that has the terminal and will not end.
func KillSession(sid int) {
	signalEach(func(q *Process) bool { return q.sid == sid }, int(syscall.SIGKILL), kernelInfo)
}

// signalEach sends sig to every live process in (called with procs
// held) and returns how many there were; the signals go after procs is
// let go.
func signalEach(in func(*Process) bool, sig int, info sigInfo) int {
	procs.Lock()
	var to []*Process
	for _, q := range procs.m {
		if in(q) {
			to = append(to, q)
		}
	}
	procs.Unlock()
	for _, q := range to {
		q.send(sig, nil, nil, info)
	}
	return len(to)
}

// sysSetpgid is setpgid(2): pid (0: the caller), the caller or a child
// that has not yet called execve, joins group pgid (0: its own PID) of
// its session.
func sysSetpgid(t *Thread, r *amd64.Frame) int64 {
	pid, pgid := int(int32(r.RDI)), int(int32(r.RSI))
	if pgid < 0 {
		return errno(syscall.EINVAL)
	}
	caller := t.p
	procs.Lock()
	defer procs.Unlock()
	p := caller
	if pid != 0 && pid != caller.PID {
		q, ok := procs.m[pid]
		if !ok || q.parent != caller {
			return errno(syscall.ESRCH)
		}
		if q.sid != caller.sid {
			return errno(syscall.EPERM)
		}
		if q.execed {
			return errno(syscall.EACCES)
		}
		p = q
	}
	if pgid == 0 {
		pgid = p.PID
	}
	if p.sid == p.PID {
		return errno(syscall.EPERM) // a session leader stays in its group
	}
	if pgid != p.PID {
		found := false
		for _, q := range procs.m {
			if q.pgid == pgid && q.sid == p.sid {
				found = true
				break
			}
		}
		if !found {
			return errno(syscall.EPERM)
		}
	}
	p.pgid = pgid
	return 0
}

// sysGetpgid is getpgid(2) (pid 0: the caller).
func sysGetpgid(t *Thread, r *amd64.Frame) int64 {
	return sessionOf(t, int(int32(r.RDI)), false)
}

// sysGetpgrp is getpgrp(2): the caller's group.
func sysGetpgrp(t *Thread, _ *amd64.Frame) int64 { return sessionOf(t, 0, false) }

// sysGetsid is getsid(2) (pid 0: the caller).
func sysGetsid(t *Thread, r *amd64.Frame) int64 {
	return sessionOf(t, int(int32(r.RDI)), true)
}

// sessionOf returns process pid's session or group; ESRCH if there is no
// such process.
func sessionOf(t *Thread, pid int, sid bool) int64 {
	p := t.p
	if pid != 0 && pid != p.PID {
		q, ok := Find(pid)
		if !ok {
			return errno(syscall.ESRCH)
		}
		p = q
	}
	s, g := p.session()
	if sid {
		return int64(s)
	}
	return int64(g)
}

// sysSetsid is setsid(2): the caller, unless it leads a group, leads a
// new session and group, without a controlling terminal.
func sysSetsid(t *Thread, _ *amd64.Frame) int64 {
	p := t.p
	procs.Lock()
	defer procs.Unlock()
	for _, q := range procs.m {
		if q.pgid == p.PID {
			return errno(syscall.EPERM)
		}
	}
	p.sid, p.pgid, p.ctty = p.PID, p.PID, nil
	return int64(p.PID)
}
