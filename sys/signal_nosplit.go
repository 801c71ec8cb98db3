package sys

// Signals: the runtime's handlers, masks and alternate stacks, and the
// Linux x86-64 rt_sigframe through which CPU faults reach Go as panics.
// Nosplit, trap context.

import (
	"gofly/arch/amd64"
	"gofly/lwkt"
	"gofly/mm"
)

// Signal numbers the kernel raises.
const (
	SIGILL  = 4
	SIGBUS  = 7
	SIGFPE  = 8
	SIGSEGV = 11
	SIGURG  = 23
)

// si_code values.
const (
	SEGVMapErr = 1
	FPEIntDiv  = 1
	ILLIllOpn  = 2
	siTkill    = -6
)

const (
	saOnStack  = 0x08000000
	saRestorer = 0x04000000
	saNoDefer  = 0x40000000
	ssOnStack  = 1
	ssDisable  = 2
	minSigStk  = 2048
	numSignals = 64
	sigsetSize = numSignals / 8 // the kernel's sigset_t, which sigsetsize arguments must equal

	// unblockable are SIGKILL and SIGSTOP, which no mask may hold.
	unblockable = 1<<(9-1) | 1<<(19-1)
)

type sigaction struct {
	handler, flags, restorer, mask uint64
}

var actions [numSignals + 1]sigaction

//go:nosplit
func rtSigaction(regs *amd64.Frame, _ uintptr) int64 {
	sig, act, oact, size := int(regs.RDI), uintptr(regs.RSI), uintptr(regs.RDX), uintptr(regs.R10)
	if size != sigsetSize {
		return -EINVAL
	}
	if sig < 1 || sig > numSignals || act != 0 && (sig == 9 || sig == 19) {
		return -EINVAL
	}
	// Read the new action before writing the old one: act and oact may be
	// the same buffer.
	next := actions[sig]
	if act != 0 {
		if !user(act, 32, false) {
			return -EFAULT
		}
		next = sigaction{*u64(act), *u64(act + 8), *u64(act + 16), *u64(act + 24) &^ unblockable}
	}
	if oact != 0 {
		if !user(oact, 32, true) {
			return -EFAULT
		}
		a := &actions[sig]
		*u64(oact), *u64(oact + 8), *u64(oact + 16), *u64(oact + 24) = a.handler, a.flags, a.restorer, a.mask
	}
	actions[sig] = next
	return 0
}

//go:nosplit
func rtSigprocmask(regs *amd64.Frame, _ uintptr) int64 {
	const block, unblock, setmask = 0, 1, 2
	how, set, oset, size := int(regs.RDI), uintptr(regs.RSI), uintptr(regs.RDX), uintptr(regs.R10)
	if size != sigsetSize {
		return -EINVAL
	}
	t := lwkt.CurrentThread()
	mask := t.SigMask
	if set != 0 {
		if !user(set, 8, false) {
			return -EFAULT
		}
		s := *u64(set) &^ unblockable
		switch how {
		case block:
			mask |= s
		case unblock:
			mask &^= s
		case setmask:
			mask = s
		default:
			return -EINVAL
		}
	}
	if oset != 0 {
		if !user(oset, 8, true) {
			return -EFAULT
		}
		*u64(oset) = t.SigMask
	}
	t.SigMask = mask
	return 0
}

// onAltStack is Linux's on_sig_stack: it subtracts rather than adds, as
// AltSP+AltSize may wrap.
//
//go:nosplit
func onAltStack(t *lwkt.Thread, sp uint64) bool {
	return t.AltFlags&ssDisable == 0 && t.AltSize != 0 && sp > t.AltSP && sp-t.AltSP <= t.AltSize
}

// stack_t: ss_sp at 0, ss_flags at 8, ss_size at 16.
//
//go:nosplit
func sigaltstack(regs *amd64.Frame, _ uintptr) int64 {
	ss, oss := uintptr(regs.RDI), uintptr(regs.RSI)
	t := lwkt.CurrentThread()
	sp := lwkt.CurrentFrameRSP()
	// Read the new stack before writing the old one: ss and oss may be the
	// same buffer.
	var nsp, nsize uint64
	var nflags uint32
	if ss != 0 {
		if !user(ss, 24, false) {
			return -EFAULT
		}
		if onAltStack(t, sp) {
			return -EPERM
		}
		nsp, nflags, nsize = *u64(ss), uint32(*u64(ss + 8)), *u64(ss + 16)
		if nflags&^(ssDisable|ssOnStack) != 0 {
			return -EINVAL
		}
		if nflags&ssDisable == 0 && nsize < minSigStk {
			return -ENOMEM
		}
	}
	if oss != 0 {
		if !user(oss, 24, true) {
			return -EFAULT
		}
		flags := t.AltFlags
		if t.AltSize == 0 {
			flags = ssDisable
		}
		if onAltStack(t, sp) {
			flags |= ssOnStack
		}
		*u64(oss), *u64(oss + 8), *u64(oss + 16) = t.AltSP, uint64(flags), t.AltSize
	}
	if ss != 0 {
		if nflags&ssDisable != 0 {
			t.AltSP, t.AltSize, t.AltFlags = 0, 0, ssDisable
		} else {
			t.AltSP, t.AltSize, t.AltFlags = nsp, nsize, 0 // SS_ONSTACK is accepted and ignored, as on Linux
		}
	}
	return 0
}

//go:nosplit
func tgkill(regs *amd64.Frame, _ uintptr) int64 {
	tgid, tid, sig := int32(regs.RDI), int32(regs.RSI), int(regs.RDX)
	if tgid <= 0 || tid <= 0 || sig < 0 || sig > numSignals {
		return -EINVAL
	}
	i := lwkt.FindID(tid)
	if i < 0 {
		return -ESRCH
	}
	if sig != 0 {
		lwkt.Get(i).SigPending.Or(1 << (sig - 1))
	}
	return 0
}

// Frame layout (Linux arch/x86/include/asm/sigframe.h, uapi sigcontext.h):
//
//	+0    pretcode (return address: sa_restorer)
//	+8    ucontext: uc_flags, uc_link, uc_stack (24 bytes),
//	+48     uc_mcontext (struct sigcontext, 256 bytes),
//	+304    uc_sigmask
//	+312  siginfo (128 bytes)
//	+440  end; the 512-byte FXSAVE image sits above, 64-byte aligned.
const (
	frameUC     = 8
	frameMC     = frameUC + 40
	frameMask   = frameUC + 296
	frameInfo   = 312
	frameSize   = 440
	fpstateSize = 512
	mcFPState   = 184
	mcRSP       = 120
	mcRIP       = 128
	mcEflags    = 136
	mcErr       = 152
	mcTrapno    = 160
	mcOldmask   = 168
	mcCR2       = 176
)

// sigcontext register order: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx,
// rsp, rip. mcRegs gives, for each, its word in amd64.Frame.
var mcRegs = [...]uint8{7, 6, 5, 4, 3, 2, 1, 0, 9, 10, 8, 13, 11, 14, 12}

//go:nosplit
func frameWord(f *amd64.Frame, i uint8) *uint64 {
	return (*uint64)(ptrAdd(f, uintptr(i)*8))
}

// Deliver sets up signal sig for the current thread, interrupted at f,
// so that the IRETQ resumes in its handler. code and addr fill siginfo.
// It returns false if the runtime has no handler for sig or the signal
// stack is unusable; the caller then treats the event as fatal.
//
//go:nosplit
func Deliver(f *amd64.Frame, fpu uintptr, sig, code int, addr uint64) bool {
	a := &actions[sig]
	if a.handler < 2 || a.flags&saRestorer == 0 {
		return false
	}
	t := lwkt.CurrentThread()
	sp := f.RSP - 128 // skip the red zone
	if a.flags&saOnStack != 0 && t.AltSize != 0 && t.AltFlags&ssDisable == 0 && !onAltStack(t, f.RSP) {
		sp = t.AltSP + t.AltSize
	}
	fp := (sp - fpstateSize) &^ 63
	frame := (fp-frameSize)&^15 - 8 // as if called: (frame+8) % 16 == 0
	if !user(uintptr(frame), uintptr(sp-frame), true) {
		return false
	}
	for p := frame; p < fp; p += 8 {
		*u64(uintptr(p)) = 0
	}
	copy512(fp, uint64(fpu))
	*u64(uintptr(frame)) = a.restorer
	uc := uintptr(frame + frameUC)
	*u64(uc + 16) = t.AltSP
	*u64(uc + 24) = uint64(t.AltFlags)
	if t.AltSize == 0 {
		*u64(uc + 24) = ssDisable
	}
	*u64(uc + 32) = t.AltSize
	mc := uintptr(frame + frameMC)
	for i, w := range mcRegs {
		*u64(mc + uintptr(i)*8) = *frameWord(f, w)
	}
	*u64(mc + mcRSP) = f.RSP
	*u64(mc + mcRIP) = f.RIP
	*u64(mc + mcEflags) = f.RFLAGS
	*u64(mc + 144) = f.CS | f.SS<<48 // cs, gs, fs, ss as four 16-bit fields
	*u64(mc + mcErr) = f.Error
	*u64(mc + mcTrapno) = f.Vector
	*u64(mc + mcOldmask) = t.SigMask
	*u64(mc + mcCR2) = addr
	*u64(mc + mcFPState) = fp
	*u64(uintptr(frame + frameMask)) = t.SigMask
	info := uintptr(frame + frameInfo)
	*u32(info) = uint32(sig)
	*u32(info + 8) = uint32(int32(code))
	*u64(info + 16) = addr
	if code == siTkill {
		*u64(info + 16) = 1 // si_pid 1, si_uid 0
	}

	if a.flags&saNoDefer == 0 {
		t.SigMask |= 1 << (sig - 1)
	}
	t.SigMask |= a.mask
	f.RSP = frame
	f.RIP = a.handler
	f.RDI = uint64(sig)
	f.RSI = uint64(info)
	f.RDX = uint64(uc)
	f.RAX = 0
	f.RFLAGS &^= amd64.FlagDF | amd64.FlagTF
	return true
}

// rtSigreturn restores the state saved by Deliver; RSP points at the
// ucontext (the handler's RET popped pretcode). Its result is the restored
// RAX.
//
//go:nosplit
func rtSigreturn(f *amd64.Frame, fpu uintptr) int64 {
	frame := f.RSP - 8
	if !user(uintptr(frame), frameSize, false) {
		ExitGroup(128 + SIGSEGV) // Linux would kill the process too
		return int64(f.RAX)
	}
	t := lwkt.CurrentThread()
	mc := uintptr(frame + frameMC)
	for i, w := range mcRegs {
		*frameWord(f, w) = *u64(mc + uintptr(i)*8)
	}
	f.RSP = *u64(mc + mcRSP)
	f.RIP = *u64(mc + mcRIP)
	f.RFLAGS = *u64(mc + mcEflags)&^(amd64.FlagTF) | amd64.FlagIF // ring 0: keep interrupts on
	f.CS, f.SS = amd64.KernelCS, amd64.KernelDS
	if fp := *u64(mc + mcFPState); fp != 0 && user(uintptr(fp), fpstateSize, false) {
		copy512(uint64(fpu), fp)
	}
	t.SigMask = *u64(uintptr(frame + frameMask)) &^ unblockable
	return int64(f.RAX)
}

// SignalPending reports whether the current thread has a deliverable
// asynchronous signal.
//
//go:nosplit
func SignalPending() bool {
	t := lwkt.CurrentThread()
	return t.SigPending.Load()&^t.SigMask != 0 && lwkt.Current() != lwkt.Idle()
}

// DeliverPending delivers the lowest pending unblocked asynchronous signal
// of the thread about to resume at f. A thread that trapped with
// interrupts off (in a system call made from such code) gets it at a later
// trap: a handler must not run inside interrupts-off code, and the
// sigreturn after it would turn interrupts back on. It reports whether
// it changed f (a handler's frame, or the program's exit).
//
//go:nosplit
func DeliverPending(f *amd64.Frame, fpu uintptr) bool {
	t := lwkt.CurrentThread()
	ready := t.SigPending.Load() &^ t.SigMask
	if ready == 0 || lwkt.Current() == lwkt.Idle() || f.RFLAGS&amd64.FlagIF == 0 {
		return false
	}
	sig := 1
	for ready&1 == 0 {
		ready >>= 1
		sig++
	}
	t.SigPending.And(^uint64(1 << (sig - 1)))
	if Deliver(f, fpu, sig, siTkill, 0) {
		return true
	}
	// No handler: SIGURG and friends default to being ignored; anything
	// fatal by default ends the program.
	if sig != SIGURG && sig != 17 && sig != 28 {
		ExitGroup(128 + sig)
		return true
	}
	return false
}

//go:nosplit
func copy512(dst, src uint64) {
	*(*[512]byte)(mm.Ptr(dst)) = *(*[512]byte)(mm.Ptr(src))
}
