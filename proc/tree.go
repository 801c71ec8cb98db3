package proc

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/vfs"
)

// The process tree: fork, execve and wait4.

// Program finds the executable an absolute path names in the tree at /
// (vfs.Root), with execve's errors: the lookup's (ENOENT, ENOTDIR,
// ELOOP...), EACCES for what is not a regular file or has no execute
// bit (every process is root, which needs one of the three).
func Program(path string) (*vfs.Vnode, syscall.Errno) {
	if vfs.Root == nil {
		return nil, syscall.ENOENT
	}
	v, err := vfs.Root.Lookup(path)
	if err != nil {
		return nil, pathErrno(err)
	}
	return v, executable(v)
}

// executable is execve's check of the file it found: EACCES unless it is
// a regular file with an execute bit.
func executable(v *vfs.Vnode) syscall.Errno {
	if m := v.Stat().Mode; !m.IsRegular() || m.Perm()&0o111 == 0 {
		return syscall.EACCES
	}
	return 0
}

// childEnded tells p that one of its children has ended: wait4 can reap it.
func (p *Process) childEnded() {
	p.mu.Lock()
	close(p.childChanged)
	p.childChanged = make(chan struct{})
	p.mu.Unlock()
}

// fork makes a child process of t's: a copy-on-write copy of the address
// space (vm.Map.Fork) — or, for vfork, the same space, with t waiting
// until the child execs or ends — the descriptors, handlers and mask, and
// one thread resuming where t called with RAX 0 (on newsp if given, with
// tls as its FS base if settls). The child's end sends its parent
// exitSig (0: none). It returns the child's PID.
func (t *Thread) fork(newsp uint64, settls bool, tls uint64, vfork bool, exitSig int) int64 {
	p := t.p
	var space *Space
	if vfork {
		p.spaceMu.RLock()
		space = p.space
		space.refs.Add(1)
		p.spaceMu.RUnlock()
	} else {
		s, err := NewSpace()
		if err != nil {
			return errno(syscall.ENOMEM)
		}
		p.spaceMu.RLock()
		ok := p.space.forkInto(s)
		p.spaceMu.RUnlock()
		if !ok {
			s.release()
			return errno(syscall.ENOMEM)
		}
		space = s
	}
	c, err := newProcess(p.Name, space, p)
	if err != nil {
		space.release()
		return errno(syscall.EAGAIN)
	}
	if vfork {
		c.vforkDone = make(chan struct{})
	}
	c.exitSignal = exitSig
	p.mu.Lock()
	c.fds = make(map[int]*fdEntry, len(p.fds))
	for fd, e := range p.fds {
		cp := *e
		cp.f.hold()
		c.fds[fd] = &cp
	}
	c.cwd = p.cwd
	c.umask, c.groups, c.keepCaps, c.cred = p.umask, p.groups, p.keepCaps, p.cred
	sigmask, alt := t.sigmask, t.alt
	p.children[c.PID] = c
	p.mu.Unlock()
	ct := c.newThread(c.PID)
	ct.sigmask, ct.alt = sigmask, alt
	ct.ctx.Regs = t.ctx.Regs
	ct.ctx.Regs.RAX = 0
	if newsp != 0 {
		ct.ctx.Regs.RSP = newsp
	}
	ct.ctx.FSBase = t.ctx.FSBase
	if settls {
		ct.ctx.FSBase = tls
	}
	*ct.ctx.UserFPU() = *t.ctx.UserFPU()
	go c.Run()
	if vfork {
		select { // the parent's thread waits while the child borrows its memory
		case <-c.vforkDone:
		case <-p.dying:
		case <-t.quit:
		}
	}
	return int64(c.PID)
}

func sysFork(t *Thread, _ *amd64.Frame) int64 {
	return t.fork(0, false, 0, false, int(syscall.SIGCHLD))
}

func sysVfork(t *Thread, _ *amd64.Frame) int64 {
	return t.fork(0, false, 0, true, int(syscall.SIGCHLD))
}

// vforked tells a vfork parent its child has execed or ended.
func (p *Process) vforked() {
	if p.vforkDone != nil {
		p.vforkOnce.Do(func() { close(p.vforkDone) })
	}
}

// Wait options (linux/wait.h).
const (
	wNoHang = 1
	wAll    = 0x40000000 // __WALL and __WCLONE are accepted: no clone children
	wClone  = 0x80000000
)

// sysWait4 reaps an ended child: pid > 0 that one, -1 any, 0 one in the
// caller's process group, below -1 one in group -pid; with WUNTRACED or
// WCONTINUED it also reports (once) a child's stop or continuation. It
// blocks until one ends unless WNOHANG; ECHILD when there is no such
// child.
func sysWait4(t *Thread, r *amd64.Frame) int64 {
	pid, wstatus, options, rusage := int(int32(r.RDI)), r.RSI, int(int32(r.RDX)), r.R10
	if uint32(options)&^uint32(wNoHang|unix.WUNTRACED|unix.WCONTINUED|wAll|wClone) != 0 {
		return errno(syscall.EINVAL)
	}
	p := t.p
	group := 0 // pid 0: the caller's group; below -1: group -pid
	switch {
	case pid == 0:
		_, group = p.session()
	case pid < -1:
		group = -pid
	}
	for {
		p.mu.Lock()
		changed := p.childChanged
		var found, ended, event *Process
		var status uint32
		for cpid, c := range p.children {
			if pid > 0 && cpid != pid || group != 0 && c.group() != group {
				continue
			}
			found = c
			c.mu.Lock()
			done := c.exit != nil && c.reaped()
			var ok bool
			if !done {
				status, ok = c.waitEvent(options)
			}
			c.mu.Unlock()
			if done {
				ended = c
				break
			}
			if ok {
				event = c
				break
			}
		}
		if ended != nil {
			delete(p.children, ended.PID)
		}
		p.mu.Unlock()
		switch {
		case found == nil:
			return errno(syscall.ECHILD)
		case ended != nil:
			return ended.reportTo(p, wstatus, rusage)
		case event != nil:
			if wstatus != 0 && p.space.CopyOut(wstatus, binary.LittleEndian.AppendUint32(nil, status)) != nil {
				return errno(syscall.EFAULT)
			}
			return int64(event.PID)
		case options&wNoHang != 0:
			return 0
		}
		select {
		case <-changed:
		case <-t.cancelled():
			return errno(syscall.EINTR)
		}
	}
}

// group returns c's process group.
func (c *Process) group() int {
	_, g := c.session()
	return g
}

// reaped reports whether c has stopped entirely (Run is done with it: not
// in the process table any more). c.mu held.
func (c *Process) reaped() bool {
	procs.Lock()
	defer procs.Unlock()
	_, live := procs.m[c.PID]
	return !live
}

// reportTo writes c's wait status and resource usage for its parent p,
// adds c's usage to p's children's (c is reaped), and returns its PID.
func (c *Process) reportTo(p *Process, wstatus, rusage uint64) int64 {
	c.mu.Lock()
	cycles, peak := c.userCyclesLocked(), c.peak
	cycles2, peak2 := cycles+c.childCycles, max(peak, c.childPeak)
	c.mu.Unlock()
	p.mu.Lock()
	p.childCycles += cycles2
	p.childPeak = max(p.childPeak, peak2)
	p.mu.Unlock()
	if wstatus != 0 && p.space.CopyOut(wstatus, binary.LittleEndian.AppendUint32(nil, uint32(c.exit.WaitStatus()))) != nil {
		return errno(syscall.EFAULT)
	}
	if rusage != 0 && p.space.CopyOut(rusage, rusageBytes(cycles, peak)) != nil {
		return errno(syscall.EFAULT)
	}
	return int64(c.PID)
}

// rusageBytes is a struct rusage of the ring-3 cycles (ru_utime) and
// peak resident pages (ru_maxrss, in KiB). The kernel's time serving a
// process is not counted per process (ru_stime 0), nor are faults,
// context switches or blocks (0).
func rusageBytes(cycles, peak uint64) []byte {
	ru := make([]byte, 144)
	user := timer.CyclesToNs(cycles)
	binary.LittleEndian.PutUint64(ru[0:], user/1e9)
	binary.LittleEndian.PutUint64(ru[8:], user%1e9/1e3)
	binary.LittleEndian.PutUint64(ru[32:], peak*pageSize/1024)
	return ru
}

// sysGetrusage is getrusage(2): RUSAGE_SELF, RUSAGE_CHILDREN (those
// reaped, and theirs) or RUSAGE_THREAD.
func sysGetrusage(t *Thread, r *amd64.Frame) int64 {
	p := t.p
	var cycles, peak uint64
	switch int32(r.RDI) {
	case unix.RUSAGE_SELF:
		cycles, peak = p.userCycles(), p.space.Peak()
	case unix.RUSAGE_CHILDREN:
		p.mu.Lock()
		cycles, peak = p.childCycles, p.childPeak
		p.mu.Unlock()
	case unix.RUSAGE_THREAD:
		cycles, peak = t.ctx.Cycles.Load(), p.space.Peak()
	default:
		return errno(syscall.EINVAL)
	}
	if p.space.CopyOut(r.RSI, rusageBytes(cycles, peak)) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

func sysGetppid(t *Thread, _ *amd64.Frame) int64 {
	if t.p.parent == nil {
		return 1
	}
	return int64(t.p.parent.PID)
}

// Limits on execve's arguments (Linux's: MAX_ARG_STRINGS, PATH_MAX; the
// total is bounded by the stack, buildStack's E2BIG).
const (
	maxArgs = 0x7FFFFFFF
	pathMax = 4096
)

// readString reads a NUL-terminated string of at most max bytes at va:
// EFAULT, or ENAMETOOLONG past max.
func (p *Process) readString(va uint64, max int) (string, syscall.Errno) {
	var out []byte
	for len(out) < max {
		n := min(uint64(max-len(out)), pageSize-va%pageSize)
		b, err := p.space.CopyIn(va, n)
		if err != nil {
			return "", syscall.EFAULT
		}
		for i, c := range b {
			if c == 0 {
				return string(append(out, b[:i]...)), 0
			}
		}
		out = append(out, b...)
		va += n
	}
	return "", syscall.ENAMETOOLONG
}

// readStrings reads a NULL-terminated array of string pointers at va (a
// NULL va is an empty array, as Linux takes it), E2BIG past StackSize/4
// bytes in all.
func (p *Process) readStrings(va uint64) ([]string, syscall.Errno) {
	var out []string
	total := 0
	for i := 0; va != 0 && i < maxArgs; i++ {
		b, err := p.space.CopyIn(va+uint64(i)*8, 8)
		if err != nil {
			return nil, syscall.EFAULT
		}
		ptr := binary.LittleEndian.Uint64(b)
		if ptr == 0 {
			break
		}
		s, e := p.readString(ptr, StackSize/4-total)
		if e == syscall.ENAMETOOLONG {
			return nil, syscall.E2BIG
		}
		if e != 0 {
			return nil, e
		}
		total += len(s) + 1
		out = append(out, s)
	}
	return out, 0
}

// sysExecve replaces t's process image with the program at path (a
// relative one from the working directory): a new address space, with argv and envp; the other threads end, descriptors
// marked close-on-exec close, handled signals go back to their default.
// On an error the old image is untouched.
func sysExecve(t *Thread, r *amd64.Frame) int64 {
	p := t.p
	path, e := p.readString(r.RDI, pathMax)
	if e != 0 {
		return errno(e)
	}
	argv, e := p.readStrings(r.RSI)
	if e != 0 {
		return errno(e)
	}
	envp, e := p.readStrings(r.RDX)
	if e != 0 {
		return errno(e)
	}
	if !strings.HasPrefix(path, "/") { // from the working directory, as Linux
		p.mu.Lock()
		cwd := p.cwd
		p.mu.Unlock()
		dir := "/"
		if cwd != nil {
			d, err := cwd.Path()
			if err != nil {
				return errno(pathErrno(err))
			}
			dir = d
		}
		path = filepath.Join(dir, path)
	}
	file, e := Program(path)
	if e != 0 {
		return errno(e)
	}
	space, entry, sp, err := loadImage(path, file, argv, envp, t.p.credsOf())
	switch {
	case errors.Is(err, ErrNoExec):
		return errno(syscall.ENOEXEC)
	case errors.Is(err, ErrTooBig):
		return errno(syscall.E2BIG)
	case errors.Is(err, syscall.ETXTBSY):
		return errno(syscall.ETXTBSY)
	case err != nil:
		return errno(syscall.ENOMEM)
	}
	t.endOthers()
	p.spaceMu.Lock()
	old := p.space
	p.space = space
	p.spaceMu.Unlock()
	old.release() // a vfork parent's space lives on with the parent
	// Marked before the close-on-exec descriptors go: a parent that sees
	// its pipe's end meets an execed child (setpgid's EACCES).
	procs.Lock()
	p.execed = true
	procs.Unlock()
	p.closeAll(true)
	p.vforked()
	p.mu.Lock()
	p.Name = path
	p.keepCaps = false // as Linux's execve clears it
	for sig := range p.actions {
		if binary.LittleEndian.Uint64(p.actions[sig][:8]) > 1 { // a handler: back to SIG_DFL
			p.actions[sig] = [sigactionSize]byte{}
		}
	}
	t.alt = [24]byte{}
	p.deletePosixTimers()           // the itimers go on, as on Linux
	p.cycles += t.ctx.Cycles.Load() // the process's CPU time goes on too
	t.ctx = newContext(space)
	p.mu.Unlock()
	t.ctx.Regs.RIP, t.ctx.Regs.RSP = entry, sp
	return 0
}

// endOthers ends every thread of t's process but t, and waits until they
// have stopped.
func (t *Thread) endOthers() {
	p := t.p
	p.mu.Lock()
	var others []*Thread
	for _, o := range p.threads {
		if o != t {
			others = append(others, o)
			close(o.quit)
			o.ctx.Interrupt.Store(1)
			o.cancelLocked()
		}
	}
	p.mu.Unlock()
	for _, o := range others {
		<-o.stopped
	}
}
