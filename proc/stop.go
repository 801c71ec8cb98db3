package proc

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Stopped processes (signal(7)'s Stop and Cont actions): SIGSTOP stops a
// process, SIGCONT continues it. A stopped process runs no user code:
// each thread in ring 3 is called back at its next interrupt, and every
// thread waits before it enters ring 3 again (waitWhileStopped); a thread
// blocked in a system call stays there, and its call completes as usual
// (Linux would restart it; either way the program sees its result after
// SIGCONT). SIGKILL ends a stopped process; another signal whose default
// action ends it waits, pending, for SIGCONT (signal.go's send). The parent learns of the stop
// and the continuation through wait4's WUNTRACED and WCONTINUED, each
// reported once. The terminal's stop signals (SIGTSTP, SIGTTIN, SIGTTOU)
// are still discarded by default, as Linux discards them for an orphaned
// process group (ignoredByDefault): every group the shell starts leads
// its own session from outside it. The parent gets SIGCHLD for each
// (CLD_STOPPED, CLD_CONTINUED; unless its action has SA_NOCLDSTOP) and
// for the end (CLD_EXITED, CLD_KILLED: tellParent).
//
// The fields are guarded by Process.mu.
type stopState struct {
	stopped bool
	// continued is closed (and replaced) when the process continues or
	// starts to end: what a stopped thread waits on.
	continued chan struct{}
	// The events wait4 has yet to report: the stop's signal (0: none),
	// and a continuation.
	stopReport int
	contReport bool
}

// stop stops p with sig, and says whether it did; p.mu held. A process
// ending, or stopped, stays as it is.
func (p *Process) stop(sig int) bool {
	if p.exit != nil || p.stopped {
		return false
	}
	p.stopped, p.stopReport, p.contReport = true, sig, false
	if p.continued == nil {
		p.continued = make(chan struct{})
	}
	for _, t := range p.threads {
		t.ctx.Interrupt.Store(1) // back from ring 3 at its next interrupt
	}
	return true
}

// cont continues p if it is stopped; p.mu held.
func (p *Process) cont() {
	if !p.stopped {
		return
	}
	p.stopped, p.stopReport, p.contReport = false, 0, true
	close(p.continued)
	p.continued = make(chan struct{})
}

// notifyParent wakes p's parent's wait4 calls: p stopped or continued.
func (p *Process) notifyParent() {
	if p.parent != nil {
		p.parent.childEnded()
	}
}

// The SIGCHLD si_codes (CLD_*).
const (
	cldExited    = 1
	cldKilled    = 2
	cldStopped   = 5
	cldContinued = 6
)

// tellParent sends p's parent sig (SIGCHLD, or clone's exit signal; 0:
// none) with si_code code, p's PID and UID and status (an exit status, a
// signal), as Linux's do_notify_parent: a stop or continuation not if the
// parent's SIGCHLD action has SA_NOCLDSTOP.
func (p *Process) tellParent(sig, code, status int) {
	q := p.parent
	if q == nil || sig == 0 {
		return
	}
	if code == cldStopped || code == cldContinued {
		q.mu.Lock()
		a := q.actionOf(int(syscall.SIGCHLD))
		q.mu.Unlock()
		if a.flags&saNoCldStop != 0 {
			return
		}
	}
	q.send(sig, nil, nil, sigInfo{code: int32(code), word: uint32(p.PID), word2: p.credsOf().ruid, value: uint64(uint32(status))})
}

// autoReap takes p, ended entirely, out of its parent's children when
// the parent's SIGCHLD action is SIG_IGN or has SA_NOCLDWAIT and p's exit
// signal is SIGCHLD, as Linux's do_notify_parent reaps it: no zombie for
// wait4, which then waits for the other children and, with none left,
// fails with ECHILD. (An ignored SIGCHLD is discarded as any ignored
// signal; with SA_NOCLDWAIT a handler still gets it.)
func (p *Process) autoReap() {
	q := p.parent
	if p.exitSignal != int(syscall.SIGCHLD) {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if a := q.actionOf(int(syscall.SIGCHLD)); a.handler == 1 || a.flags&saNoCldWait != 0 { // SIG_IGN, or SA_NOCLDWAIT
		delete(q.children, p.PID)
	}
}

// waitWhileStopped holds t while its process is stopped; false if the
// process or t ended meanwhile.
func (t *Thread) waitWhileStopped() bool {
	p := t.p
	for {
		p.mu.Lock()
		if !p.stopped {
			p.mu.Unlock()
			return true
		}
		c := p.continued
		p.mu.Unlock()
		select {
		case <-c:
		case <-p.dying:
			return false
		case <-t.quit:
			return false
		}
	}
}

// waitEvent returns the wait status of c's unreported stop (with
// WUNTRACED) or continuation (with WCONTINUED), reporting it, and
// whether there was one. c.mu held.
func (c *Process) waitEvent(options int) (status uint32, ok bool) {
	switch {
	case options&unix.WUNTRACED != 0 && c.stopReport != 0:
		status = uint32(c.stopReport)<<8 | 0x7f
		c.stopReport = 0
		return status, true
	case options&unix.WCONTINUED != 0 && c.contReport:
		c.contReport = false
		return 0xffff, true
	}
	return 0, false
}
