package proc

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"gofly/arch/amd64"
	"gofly/sys"
)

// Signal delivery to processes, as Linux does it on x86-64: a signal with
// a handler is delivered by building an rt_sigframe (ucontext with the
// interrupted registers, siginfo, the FXSAVE image) on the thread's
// stack, or its alternate stack, and entering the handler, which returns
// through sa_restorer to rt_sigreturn. A signal without one takes its
// default action: most end the process, a few are ignored.
//
// A signal for a thread (tgkill, a fault) is pending on it; one for the
// process (kill, the shell's Ctrl-C) on the first thread that does not
// block it. The thread takes it before it next enters ring 3: a thread
// in ring 3 is called back at its next interrupt, one blocked in a call
// is woken and the call fails with EINTR — or, for the calls Linux
// restarts (restartable) when the handler has SA_RESTART or none runs,
// is made again once the handler returns (restartCall).

// action is a struct sigaction.
type action struct{ handler, flags, restorer, mask uint64 }

// actionOf returns p's action for sig; p.mu held.
func (p *Process) actionOf(sig int) action {
	b := p.actions[sig][:]
	return action{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]),
		binary.LittleEndian.Uint64(b[16:]), binary.LittleEndian.Uint64(b[24:])}
}

// ignoredByDefault are the signals whose default action is to do
// nothing (SIGCONT's continuing is stop.go's), and the terminal's stop
// signals (Ctrl-Z's SIGTSTP, a background group's SIGTTIN and SIGTTOU),
// discarded as Linux discards them for an orphaned process group, which
// every group the shell starts is (stop.go).
func ignoredByDefault(sig int) bool {
	switch syscall.Signal(sig) {
	case syscall.SIGCHLD, syscall.SIGURG, syscall.SIGWINCH, syscall.SIGCONT,
		syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		return true
	}
	return false
}

// Linux's si_code values the kernel sends with a signal of its own.
const (
	siUser   = 0    // SI_USER: kill(2)
	siKernel = 0x80 // SI_KERNEL: the kernel (setitimer's timers, #GP)
	siTimer  = -2   // SI_TIMER: a timer_create timer
)

// sigInfo is what a pending signal's siginfo will say: its si_code and,
// for a CPU exception's, si_addr in value; for the others the two 32-bit
// words after the code (si_pid and si_uid, or a timer's si_tid and
// si_overrun) and the word after those (a timer's sigev_value, a child's
// si_status).
type sigInfo struct {
	fault       bool // a CPU exception's: si_addr, not the words
	code        int32
	word, word2 uint32
	value       uint64
	timer       *ptimer // a POSIX timer's signal: its overrun is read at delivery
}

// kernelInfo is the siginfo of a signal the kernel sends on its own (the
// terminal's, the shell's): SI_KERNEL, as Linux's SEND_SIG_PRIV.
var kernelInfo = sigInfo{code: siKernel}

// userInfo is the siginfo of kill(2) from p: SI_USER with its PID and
// real user ID.
func (p *Process) userInfo() sigInfo {
	return sigInfo{code: siUser, word: uint32(p.PID), word2: p.credsOf().ruid}
}

// signal sends sig (0: none, a check) to the process, or to thread to if
// not nil, as tgkill does (si_code SI_TKILL). A signal with no handler
// takes its default action at once, unless it is blocked or the process
// is stopped (send).
func (p *Process) signal(sig int, to *Thread) int64 {
	return p.send(sig, to, nil, sigInfo{code: sys.SITkill, word: uint32(p.PID)})
}

// send sends sig to thread to, or (to nil) to the process: there to
// prefer if it does not block sig (the thread whose CPU time fired a
// timer, as Linux's complete_signal prefers the current one), else the
// first thread that does not. info is its siginfo; a signal already
// pending keeps the one it has (standard signals do not queue), unless
// info is a POSIX timer's, which queues behind it as on Linux (a timer
// has at most one queued: its overrun counts the rest).
func (p *Process) send(sig int, to, prefer *Thread, info sigInfo) int64 {
	if sig == 0 {
		return 0
	}
	p.mu.Lock()
	switch syscall.Signal(sig) {
	case syscall.SIGSTOP:
		stopped := p.stop(sig)
		p.mu.Unlock()
		p.notifyParent()
		if stopped {
			p.tellParent(int(syscall.SIGCHLD), cldStopped, sig)
		}
		return 0
	case syscall.SIGCONT: // continues whatever its action; a handler runs after
		if p.stopped {
			p.cont()
			p.mu.Unlock()
			p.notifyParent()
			p.tellParent(int(syscall.SIGCHLD), cldContinued, sig)
			p.mu.Lock()
		}
	}
	a := p.actionOf(sig)
	if sig == int(syscall.SIGKILL) {
		p.mu.Unlock()
		p.end(Exit{Signal: syscall.Signal(sig)})
		return 0
	}
	if a.handler == 1 || a.handler == 0 && ignoredByDefault(sig) { // ignored: discarded
		p.mu.Unlock()
		return 0
	}
	bit := uint64(1) << (sig - 1)
	if to == nil && prefer != nil && prefer.sigmask&bit == 0 && p.threads[prefer.TID] == prefer {
		to = prefer
	}
	if to == nil {
		to = p.threads[p.PID]
		for _, t := range p.threads {
			if to == nil || to.sigmask&bit != 0 && t.sigmask&bit == 0 {
				to = t
			}
		}
	}
	if to == nil {
		p.mu.Unlock()
		return 0
	}
	if a.handler == 0 && !p.stopped && to.sigmask&bit == 0 {
		// Its default action ends the process now. One every thread
		// blocks, or sent while the process is stopped, stays pending
		// until taken, as Linux's complete_signal leaves it when no
		// thread wants it.
		p.mu.Unlock()
		p.end(Exit{Signal: syscall.Signal(sig)})
		return 0
	}
	if to.pending&bit == 0 || info.timer != nil {
		to.pending |= bit
		to.info[sig] = append(to.info[sig], info)
	}
	to.wakeLocked()
	p.mu.Unlock()
	return 0
}

// wakeLocked calls t back from ring 3 and from a blocking call if it
// has a signal to take; p.mu held.
func (t *Thread) wakeLocked() {
	if t.pending&^t.sigmask == 0 {
		return
	}
	t.ctx.Interrupt.Store(1)
	t.cancelLocked()
}

// cancelLocked ends t's blocking call, if it is in one; p.mu held.
func (t *Thread) cancelLocked() {
	if t.sigWake != nil {
		close(t.sigWake)
		t.sigWake = nil
	}
}

// cancelled returns a channel closed when t's blocking call must end
// with EINTR: a signal t can take, its end by another thread's execve, or
// its process's end; closed at once if one has come already.
func (t *Thread) cancelled() <-chan struct{} {
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	c := make(chan struct{})
	select {
	case <-t.quit:
	case <-p.dying:
	default:
		if t.pending&^t.sigmask == 0 {
			t.sigWake = c
			return c
		}
	}
	close(c)
	return c
}

// deliverPending enters the handler of t's lowest pending unblocked
// signal, if there is one; false if the process ended instead.
func (t *Thread) deliverPending() bool {
	p := t.p
	p.mu.Lock()
	ready := t.pending &^ t.sigmask
	if ready == 0 {
		p.mu.Unlock()
		t.restartCall(true) // interrupted, and no handler runs: Linux restarts
		return true
	}
	sig := 1
	for ready&1 == 0 {
		ready >>= 1
		sig++
	}
	info := t.info[sig][0]
	t.info[sig] = t.info[sig][1:]
	if len(t.info[sig]) == 0 {
		t.pending &^= 1 << (sig - 1)
		t.info[sig] = nil
	}
	if info.timer != nil {
		info.word2 = uint32(info.timer.delivered())
	}
	p.mu.Unlock()
	return t.deliverInfo(sig, info)
}

// deliver enters sig's handler with siginfo code and addr, or takes its
// default action when it has none (or it was reset meanwhile); false if
// the process ended.
func (t *Thread) deliver(sig, code int, addr uint64) bool {
	return t.deliverInfo(sig, sigInfo{fault: true, code: int32(code), value: addr})
}

// deliverInfo is deliver with the whole siginfo: info's words after
// si_code (a fault's address is its value, at the same offset).
func (t *Thread) deliverInfo(sig int, info sigInfo) bool {
	p := t.p
	p.mu.Lock()
	a := p.actionOf(sig)
	if a.handler < 2 {
		p.mu.Unlock()
		if a.handler == 1 || ignoredByDefault(sig) {
			t.restartCall(true) // no handler runs: Linux restarts
			return true
		}
		p.end(Exit{Signal: syscall.Signal(sig)})
		return false
	}
	mask, alt := t.sigmask, t.alt
	p.mu.Unlock()
	t.restartCall(a.flags&sys.SARestart != 0)
	if err := t.pushFrame(sig, info, a, mask, alt); err != nil {
		// As Linux's force_sigsegv: a frame that cannot be written kills.
		p.end(Exit{Signal: syscall.SIGSEGV, Fault: fmt.Sprintf("signal %d: %v", sig, err)})
		return false
	}
	p.mu.Lock()
	if a.flags&sys.SANoDefer == 0 {
		t.sigmask |= 1 << (sig - 1)
	}
	t.sigmask |= a.mask &^ sys.SigUnblockable
	if a.flags&sys.SAResetHand != 0 {
		p.actions[sig] = [sigactionSize]byte{}
	}
	p.mu.Unlock()
	return true
}

// pushFrame writes the rt_sigframe for sig on t's stack (its alternate
// stack if the action asks and t is not on it) and points t's registers
// at the handler.
func (t *Thread) pushFrame(sig int, info sigInfo, a action, mask uint64, alt [24]byte) error {
	r := &t.ctx.Regs
	altSP, altFlags, altSize := binary.LittleEndian.Uint64(alt[0:]), binary.LittleEndian.Uint32(alt[8:]), binary.LittleEndian.Uint64(alt[16:])
	onAlt := altSize != 0 && r.RSP > altSP && r.RSP-altSP <= altSize
	sp := r.RSP - 128 // past the red zone
	if a.flags&sys.SAOnStack != 0 && altSize != 0 && altFlags&sys.SSDisable == 0 && !onAlt {
		sp = altSP + altSize
	}
	fp := (sp - sys.SigFPStateSize) &^ 63
	frame := (fp-sys.SigFrameSize)&^15 - 8 // as if called: (frame+8) % 16 == 0
	if frame > sp || frame < pageSize {
		return errFault
	}
	b := make([]byte, fp+sys.SigFPStateSize-frame)
	put := func(off uint64, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
	copy(b[fp-frame:], t.ctx.UserFPU()[:])
	put(0, a.restorer)
	uc := uint64(sys.SigFrameUC)
	put(uc+16, altSP)
	stackFlags := uint64(altFlags)
	if altSize == 0 {
		stackFlags = sys.SSDisable
	} else if onAlt {
		stackFlags |= sys.SSOnStack
	}
	put(uc+24, stackFlags)
	put(uc+32, altSize)
	mc := uint64(sys.SigFrameMC)
	for i := 0; i < sys.MContextRegs; i++ {
		put(mc+uint64(i)*8, *sys.MContextReg(r, i))
	}
	put(mc+sys.SigMCRSP, r.RSP)
	put(mc+sys.SigMCRIP, r.RIP)
	put(mc+sys.SigMCEflags, r.RFLAGS)
	put(mc+sys.SigMCSegs, amd64.UserCS|amd64.UserDS<<48)
	put(mc+sys.SigMCErr, t.ctx.Error)
	put(mc+sys.SigMCTrapno, t.ctx.Vector)
	put(mc+sys.SigMCOldmask, mask)
	if info.fault {
		put(mc+sys.SigMCCR2, info.value)
	}
	put(mc+sys.SigMCFPState, fp)
	put(sys.SigFrameMask, mask)
	si := uint64(sys.SigFrameInfo)
	binary.LittleEndian.PutUint32(b[si:], uint32(sig))
	binary.LittleEndian.PutUint32(b[si+8:], uint32(info.code))
	if info.fault {
		put(si+16, info.value) // si_addr
	} else { // a sender's si_pid and si_uid (and a child's si_status), or a timer's si_tid, si_overrun and si_value
		binary.LittleEndian.PutUint32(b[si+16:], info.word)
		binary.LittleEndian.PutUint32(b[si+20:], info.word2)
		put(si+24, info.value)
	}
	if err := t.p.space.CopyOut(frame, b); err != nil {
		return err
	}
	r.RSP = frame
	r.RIP = a.handler
	r.RDI = uint64(sig)
	r.RSI = frame + si
	r.RDX = frame + uc
	r.RAX = 0
	r.RFLAGS &^= amd64.FlagDF | amd64.FlagTF
	return nil
}

// restartCall makes the system call a signal interrupted (t.restart)
// run again when t next enters ring 3, if restart: its number back in
// RAX and RIP back on its SYSCALL instruction, as Linux's
// ERESTARTSYS handling does. Otherwise the call's EINTR stands.
func (t *Thread) restartCall(restart bool) {
	nr := t.restart
	t.restart = 0
	if nr == 0 || !restart {
		return
	}
	r := &t.ctx.Regs
	r.RAX = nr - 1
	r.RIP -= 2 // SYSCALL is 0F 05
}

// mxcsrReserved are the MXCSR bits FXRSTOR refuses (#GP): a frame that
// sets them would fault the kernel's exit path.
const mxcsrReserved = 0xFFFF_0000

// sysRtSigreturn restores what pushFrame saved: RSP points at the
// ucontext (the handler's RET popped pretcode). The result is the
// restored RAX. A frame that cannot be read, or holds an FPU image the
// CPU would refuse, kills with SIGSEGV, as on Linux.
func sysRtSigreturn(t *Thread, r *amd64.Frame) int64 {
	frame := r.RSP - 8
	b, err := t.p.space.CopyIn(frame, sys.SigFrameSize)
	if err != nil {
		t.p.end(Exit{Signal: syscall.SIGSEGV, Fault: "rt_sigreturn: the signal frame cannot be read"})
		return int64(r.RAX)
	}
	get := func(off uint64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	mc := uint64(sys.SigFrameMC)
	var fpu []byte
	if fp := get(mc + sys.SigMCFPState); fp != 0 {
		fpu, err = t.p.space.CopyIn(fp, sys.SigFPStateSize)
		if err != nil || binary.LittleEndian.Uint32(fpu[24:])&mxcsrReserved != 0 {
			t.p.end(Exit{Signal: syscall.SIGSEGV, Fault: "rt_sigreturn: a bad FPU image"})
			return int64(r.RAX)
		}
	}
	for i := 0; i < sys.MContextRegs; i++ {
		*sys.MContextReg(r, i) = get(mc + uint64(i)*8)
	}
	r.RSP = get(mc + sys.SigMCRSP)
	r.RIP = get(mc + sys.SigMCRIP)
	r.RFLAGS = get(mc + sys.SigMCEflags) // sys.EnterUser keeps the bits a process may hold
	if fpu != nil {
		copy(t.ctx.UserFPU()[:], fpu)
	}
	t.p.mu.Lock()
	t.sigmask = get(sys.SigFrameMask) &^ sys.SigUnblockable
	t.wakeLocked()
	t.p.mu.Unlock()
	return int64(r.RAX)
}

// faultSignal returns the signal and si_code Linux sends for CPU
// exception v (arch/x86/kernel/traps.c, fault.c).
func faultSignal(v, errCode uint64, bus bool) (syscall.Signal, int) {
	switch v {
	case amd64.VectorDE:
		return syscall.SIGFPE, 1 // FPE_INTDIV
	case 16, 19: // #MF, #XM
		return syscall.SIGFPE, 0
	case amd64.VectorDB: // a single step (TF): no debug registers here
		return syscall.SIGTRAP, 2 // TRAP_TRACE
	case amd64.VectorBP: // INT3, as Linux's do_int3_user sends it
		return syscall.SIGTRAP, siKernel
	case amd64.VectorUD:
		return syscall.SIGILL, 2 // ILL_ILLOPN
	case 11, 12, 17: // #NP, #SS, #AC
		return syscall.SIGBUS, 0
	case amd64.VectorPF:
		if bus {
			return syscall.SIGBUS, 2 // BUS_ADRERR: past the end of a mapped file
		}
		if errCode&1 != 0 {
			return syscall.SIGSEGV, 2 // SEGV_ACCERR
		}
		return syscall.SIGSEGV, 1 // SEGV_MAPERR
	}
	return syscall.SIGSEGV, siKernel // #GP
}
