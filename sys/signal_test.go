package sys

// Signals: rt_sigaction, rt_sigprocmask, sigaltstack, and the rt_sigframe
// that Deliver builds and rt_sigreturn takes down.

import (
	"bytes"
	"syscall"
	"testing"

	"gofly/arch/amd64"
	"gofly/lwkt"
)

// Linux x86-64 ABI values, written out here independently of the code.
const (
	saSiginfo = 0x4
	sigBlock  = 0
	sigUnblk  = 1
	sigSet    = 2
	sigKill   = 9
	sigStop   = 19
	sigUsr1   = 10
	killBit   = 1 << (sigKill - 1)
	stopBit   = 1 << (sigStop - 1)
	siTKill   = -6

	// struct rt_sigframe (arch/x86/include/asm/sigframe.h): pretcode, then
	// struct ucontext, then struct siginfo.
	ucOff      = 8
	ucStackOff = ucOff + 16  // uc_flags, uc_link
	mcOff      = ucOff + 40  // uc_stack is 24 bytes
	ucMaskOff  = mcOff + 256 // struct sigcontext is 256 bytes
	infoOff    = ucMaskOff + 8

	// struct sigcontext (uapi/asm/sigcontext.h), offsets from mcOff.
	scR8, scR9, scR10, scR11     = 0, 8, 16, 24
	scR12, scR13, scR14, scR15   = 32, 40, 48, 56
	scRDI, scRSI, scRBP, scRBX   = 64, 72, 80, 88
	scRDX, scRAX, scRCX, scRSP   = 96, 104, 112, 120
	scRIP, scFlags, scCS, scSS   = 128, 136, 144, 150
	scErr, scTrapno, scOldmask   = 152, 160, 168
	scCR2, scFPState, scReserved = 176, 184, 192
)

// sigact is a struct kernel_sigaction: handler, flags, restorer, mask.
func sigact(handler, flags, restorer, mask uint64) uintptr {
	a := kalloc(32)
	put64(a, handler)
	put64(a+8, flags)
	put64(a+16, restorer)
	put64(a+24, mask)
	return a
}

func stackT(sp uintptr, flags uint32, size uint64) uintptr {
	s := kalloc(24)
	put64(s, uint64(sp))
	put32(s+8, flags)
	put64(s+16, size)
	return s
}

func sigprocmask(how int, set uint64) (old uint64, r int64) {
	s, o := kalloc(8), kalloc(8)
	put64(s, set)
	r = call(syscall.SYS_RT_SIGPROCMASK, uintptr(how), s, o, 8)
	return get64(o), r
}

func TestRtSigactionArguments(t *testing.T) {
	setup(t)
	act, oact := sigact(0x1000, saRestorer, 0x2000, 0), kalloc(32)
	want(t, "rt_sigaction(sigsetsize 4)", call(syscall.SYS_RT_SIGACTION, SIGURG, act, oact, 4), errno(syscall.EINVAL))
	want(t, "rt_sigaction(sigsetsize 16)", call(syscall.SYS_RT_SIGACTION, SIGURG, act, oact, 16), errno(syscall.EINVAL))
	want(t, "rt_sigaction(0)", call(syscall.SYS_RT_SIGACTION, 0, act, 0, 8), errno(syscall.EINVAL))
	want(t, "rt_sigaction(65)", call(syscall.SYS_RT_SIGACTION, 65, act, 0, 8), errno(syscall.EINVAL))
	want(t, "rt_sigaction(-1)", call(syscall.SYS_RT_SIGACTION, ^uintptr(0), act, 0, 8), errno(syscall.EINVAL))
	want(t, "rt_sigaction(SIGKILL, act)", call(syscall.SYS_RT_SIGACTION, sigKill, act, 0, 8), errno(syscall.EINVAL))
	want(t, "rt_sigaction(SIGSTOP, act)", call(syscall.SYS_RT_SIGACTION, sigStop, act, 0, 8), errno(syscall.EINVAL))
	want(t, "rt_sigaction(SIGKILL, get only)", call(syscall.SYS_RT_SIGACTION, sigKill, 0, oact, 8), 0)
	want(t, "rt_sigaction(64, act)", call(syscall.SYS_RT_SIGACTION, 64, act, 0, 8), 0)
	want(t, "rt_sigaction(NULL, NULL)", call(syscall.SYS_RT_SIGACTION, SIGURG, 0, 0, 8), 0)
	want(t, "rt_sigaction(act in the hole)", call(syscall.SYS_RT_SIGACTION, SIGURG, hole-16, 0, 8), errno(syscall.EFAULT))
	want(t, "rt_sigaction(oact in the hole)", call(syscall.SYS_RT_SIGACTION, SIGURG, 0, hole-16, 8), errno(syscall.EFAULT))
}

func TestRtSigactionRoundTrip(t *testing.T) {
	setup(t)
	oact := kalloc(32)
	copy(mem(oact, 32), bytes.Repeat([]byte{0xAA}, 32))
	want(t, "rt_sigaction(SIGSEGV) get default", call(syscall.SYS_RT_SIGACTION, SIGSEGV, 0, oact, 8), 0)
	for i := uintptr(0); i < 32; i += 8 {
		if get64(oact+i) != 0 {
			t.Errorf("default action word %d = %#x, want 0 (SIG_DFL)", i/8, get64(oact+i))
		}
	}
	const flags = saOnStack | saRestorer | saSiginfo | saNoDefer
	act := sigact(0x4a_1234, flags, 0x4b_5678, 1<<(SIGURG-1)|1<<(sigUsr1-1))
	want(t, "rt_sigaction(SIGSEGV) set", call(syscall.SYS_RT_SIGACTION, SIGSEGV, act, oact, 8), 0)
	if get64(oact) != 0 {
		t.Errorf("set returned old handler %#x, want SIG_DFL", get64(oact))
	}
	want(t, "rt_sigaction(SIGSEGV) get", call(syscall.SYS_RT_SIGACTION, SIGSEGV, 0, oact, 8), 0)
	if !bytes.Equal(mem(oact, 32), mem(act, 32)) {
		t.Errorf("get returned %x, want what was set: %x", mem(oact, 32), mem(act, 32))
	}
	// Each signal has its own action.
	want(t, "rt_sigaction(SIGBUS) get", call(syscall.SYS_RT_SIGACTION, SIGBUS, 0, oact, 8), 0)
	if get64(oact) != 0 {
		t.Errorf("SIGBUS handler %#x after setting SIGSEGV's", get64(oact))
	}
	// Setting SIG_IGN returns the old handler.
	want(t, "rt_sigaction(SIGSEGV) set SIG_IGN", call(syscall.SYS_RT_SIGACTION, SIGSEGV, sigact(1, 0, 0, 0), oact, 8), 0)
	if get64(oact) != 0x4a_1234 || get64(oact+16) != 0x4b_5678 {
		t.Errorf("old action {%#x, restorer %#x}", get64(oact), get64(oact+16))
	}
}

func TestRtSigprocmask(t *testing.T) {
	setup(t)
	th := lwkt.CurrentThread()
	const a, b = 1 << (sigUsr1 - 1), 1 << (SIGURG - 1)
	old, r := sigprocmask(sigBlock, a)
	want(t, "rt_sigprocmask(BLOCK)", r, 0)
	if old != 0 || th.SigMask != a {
		t.Errorf("after BLOCK: old %#x mask %#x, want 0 and %#x", old, th.SigMask, a)
	}
	old, r = sigprocmask(sigBlock, b)
	want(t, "rt_sigprocmask(BLOCK)", r, 0)
	if old != a || th.SigMask != a|b {
		t.Errorf("after 2nd BLOCK: old %#x mask %#x, want %#x and %#x", old, th.SigMask, a, a|b)
	}
	old, r = sigprocmask(sigUnblk, a)
	want(t, "rt_sigprocmask(UNBLOCK)", r, 0)
	if old != a|b || th.SigMask != b {
		t.Errorf("after UNBLOCK: old %#x mask %#x, want %#x and %#x", old, th.SigMask, a|b, b)
	}
	old, r = sigprocmask(sigSet, ^uint64(0))
	want(t, "rt_sigprocmask(SETMASK, all)", r, 0)
	if old != b || th.SigMask != ^uint64(killBit|stopBit) {
		t.Errorf("after SETMASK all: old %#x mask %#x, want %#x and all but SIGKILL/SIGSTOP", old, th.SigMask, b)
	}
	_, r = sigprocmask(sigBlock, killBit|stopBit)
	want(t, "rt_sigprocmask(BLOCK SIGKILL|SIGSTOP)", r, 0)
	if th.SigMask&(killBit|stopBit) != 0 {
		t.Errorf("SIGKILL/SIGSTOP blocked: mask %#x", th.SigMask)
	}

	// Bad arguments change nothing.
	th.SigMask = b
	_, r = sigprocmask(3, a)
	want(t, "rt_sigprocmask(how 3)", r, errno(syscall.EINVAL))
	_, r = sigprocmask(-1, a)
	want(t, "rt_sigprocmask(how -1)", r, errno(syscall.EINVAL))
	want(t, "rt_sigprocmask(sigsetsize 4)", call(syscall.SYS_RT_SIGPROCMASK, sigBlock, kalloc(8), 0, 4), errno(syscall.EINVAL))
	want(t, "rt_sigprocmask(set in the hole)", call(syscall.SYS_RT_SIGPROCMASK, sigBlock, hole-4, 0, 8), errno(syscall.EFAULT))
	want(t, "rt_sigprocmask(oset in the hole)", call(syscall.SYS_RT_SIGPROCMASK, sigBlock, 0, hole-4, 8), errno(syscall.EFAULT))
	if th.SigMask != b {
		t.Errorf("failed calls changed the mask to %#x", th.SigMask)
	}
	// A NULL set only reads the mask, whatever how says.
	o := kalloc(8)
	want(t, "rt_sigprocmask(how 99, NULL set)", call(syscall.SYS_RT_SIGPROCMASK, 99, 0, o, 8), 0)
	if get64(o) != b {
		t.Errorf("read mask %#x, want %#x", get64(o), b)
	}
}

func TestSigaltstack(t *testing.T) {
	setup(t)
	th := lwkt.CurrentThread()
	oss := kalloc(24)
	want(t, "sigaltstack(get) initially", call(syscall.SYS_SIGALTSTACK, 0, oss), 0)
	if get64(oss) != 0 || get32(oss+8) != ssDisable || get64(oss+16) != 0 {
		t.Errorf("initial stack {%#x, %d, %d}, want {0, SS_DISABLE, 0}", get64(oss), get32(oss+8), get64(oss+16))
	}
	stk := kalloc(8192)
	want(t, "sigaltstack(set)", call(syscall.SYS_SIGALTSTACK, stackT(stk, 0, 8192), oss), 0)
	if get32(oss+8) != ssDisable {
		t.Errorf("set returned old flags %d, want SS_DISABLE", get32(oss+8))
	}
	want(t, "sigaltstack(get)", call(syscall.SYS_SIGALTSTACK, 0, oss), 0)
	if get64(oss) != uint64(stk) || get32(oss+8) != 0 || get64(oss+16) != 8192 {
		t.Errorf("stack {%#x, %d, %d}, want {%#x, 0, 8192}", get64(oss), get32(oss+8), get64(oss+16), stk)
	}

	// While the thread runs on it, the stack reports SS_ONSTACK and
	// cannot be changed.
	lwkt.SetTrapFrame(uint64(stk + 4000))
	want(t, "sigaltstack(get) on the stack", call(syscall.SYS_SIGALTSTACK, 0, oss), 0)
	if get32(oss+8) != ssOnStack {
		t.Errorf("flags %d on the stack, want SS_ONSTACK", get32(oss+8))
	}
	want(t, "sigaltstack(set) on the stack", call(syscall.SYS_SIGALTSTACK, stackT(stk, ssDisable, 0), 0), errno(syscall.EPERM))
	lwkt.SetTrapFrame(uint64(stk)) // the lowest address is not on the stack: sp > ss_sp
	want(t, "sigaltstack(get) at ss_sp", call(syscall.SYS_SIGALTSTACK, 0, oss), 0)
	if get32(oss+8) != 0 {
		t.Errorf("flags %d at ss_sp, want 0", get32(oss+8))
	}
	lwkt.SetTrapFrame(uint64(stk + 8192)) // the top is: the first push goes below it
	want(t, "sigaltstack(get) at the top", call(syscall.SYS_SIGALTSTACK, 0, oss), 0)
	if get32(oss+8) != ssOnStack {
		t.Errorf("flags %d at the top, want SS_ONSTACK", get32(oss+8))
	}
	lwkt.SetTrapFrame(0)

	want(t, "sigaltstack(size 2047)", call(syscall.SYS_SIGALTSTACK, stackT(stk, 0, 2047), 0), errno(syscall.ENOMEM))
	want(t, "sigaltstack(MINSIGSTKSZ)", call(syscall.SYS_SIGALTSTACK, stackT(stk, 0, 2048), 0), 0)
	want(t, "sigaltstack(flags 4)", call(syscall.SYS_SIGALTSTACK, stackT(stk, 4, 8192), 0), errno(syscall.EINVAL))
	want(t, "sigaltstack(ss in the hole)", call(syscall.SYS_SIGALTSTACK, hole-8, 0), errno(syscall.EFAULT))
	want(t, "sigaltstack(oss in the hole)", call(syscall.SYS_SIGALTSTACK, 0, hole-8), errno(syscall.EFAULT))
	if th.AltSP != uint64(stk) || th.AltSize != 2048 {
		t.Errorf("failed calls changed the stack to {%#x, %d}", th.AltSP, th.AltSize)
	}

	// SS_DISABLE ignores sp and size.
	want(t, "sigaltstack(SS_DISABLE)", call(syscall.SYS_SIGALTSTACK, stackT(0x1234, ssDisable, 1), 0), 0)
	want(t, "sigaltstack(get) disabled", call(syscall.SYS_SIGALTSTACK, 0, oss), 0)
	if get64(oss) != 0 || get32(oss+8) != ssDisable || get64(oss+16) != 0 {
		t.Errorf("disabled stack {%#x, %d, %d}, want {0, SS_DISABLE, 0}", get64(oss), get32(oss+8), get64(oss+16))
	}
	// Garbage in the padding after ss_flags is ignored.
	ss := stackT(stk, 0, 8192)
	put32(ss+12, 0xFFFF_FFFF)
	want(t, "sigaltstack(padding set)", call(syscall.SYS_SIGALTSTACK, ss, 0), 0)
}

// sigWorld sets up what the Go runtime sets up before a fault: a SIGSEGV
// handler (SA_ONSTACK|SA_RESTORER|SA_SIGINFO, every signal masked), an
// alternate signal stack, and a thread mask.
type sigWorld struct {
	handler, restorer uint64
	actMask           uint64
	stk, stkSize      uintptr
	mask              uint64
}

func newSigWorld(t *testing.T, flags uint64) sigWorld {
	w := sigWorld{
		handler:  0x0045_1000,
		restorer: 0x0045_2000,
		actMask:  1<<(SIGURG-1) | 1<<(sigUsr1-1),
		stkSize:  32 << 10,
		mask:     1 << (SIGBUS - 1),
	}
	want(t, "rt_sigaction(SIGSEGV)", call(syscall.SYS_RT_SIGACTION, SIGSEGV,
		sigact(w.handler, flags, w.restorer, w.actMask), 0, 8), 0)
	w.stk = kalloc(w.stkSize)
	want(t, "sigaltstack", call(syscall.SYS_SIGALTSTACK, stackT(w.stk, 0, uint64(w.stkSize)), 0), 0)
	_, r := sigprocmask(sigSet, w.mask)
	want(t, "rt_sigprocmask", r, 0)
	return w
}

// faultFrame returns an interrupted frame whose every register is
// distinct, on a stack of its own.
func faultFrame() amd64.Frame {
	stack := kalloc(16 << 10)
	return amd64.Frame{
		R15: 0x1515, R14: 0x1414, R13: 0x1313, R12: 0x1212,
		R11: 0x1111, R10: 0x1010, R9: 0x0909, R8: 0x0808,
		RBP: 0xB0B0, RDI: 0xD1D1, RSI: 0x5151, RDX: 0xD0D0,
		RCX: 0xC0C0, RBX: 0xB1B1, RAX: 0xA0A0,
		Vector: 14, Error: 4,
		RIP: 0x0047_7777, CS: amd64.KernelCS,
		RFLAGS: 0x202 | amd64.FlagDF | amd64.FlagTF,
		RSP:    uint64(stack + 16<<10 - 0x100 + 8), SS: amd64.KernelDS,
	}
}

func fillFPU(v byte) {
	b := mem(fpu, 512)
	for i := range b {
		b[i] = v + byte(i)
	}
}

func TestDeliverBuildsLinuxSigframe(t *testing.T) {
	setup(t)
	w := newSigWorld(t, saOnStack|saRestorer|saSiginfo)
	th := lwkt.CurrentThread()
	f := faultFrame()
	orig := f
	fillFPU(0x40)
	fpuOrig := snapshot(fpu, 512)

	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0x10) {
		t.Fatal("Deliver refused a SIGSEGV with a handler")
	}
	frame := uintptr(f.RSP)
	if (frame+8)%16 != 0 {
		t.Errorf("handler entered with RSP %#x: (RSP+8)%%16 = %d, want 0", frame, (frame+8)%16)
	}
	if frame < w.stk || frame+infoOff+128 > w.stk+w.stkSize {
		t.Fatalf("frame %#x..%#x not on the alternate stack %#x..%#x", frame, frame+infoOff+128, w.stk, w.stk+w.stkSize)
	}
	if got := get64(frame); got != w.restorer {
		t.Errorf("pretcode %#x, want sa_restorer %#x", got, w.restorer)
	}

	// Registers at handler entry.
	info, uc := frame+infoOff, frame+ucOff
	if f.RIP != w.handler || f.RDI != SIGSEGV || f.RSI != uint64(info) || f.RDX != uint64(uc) {
		t.Errorf("entry RIP %#x RDI %d RSI %#x RDX %#x, want %#x %d %#x %#x",
			f.RIP, f.RDI, f.RSI, f.RDX, w.handler, SIGSEGV, info, uc)
	}
	if f.RAX != 0 {
		t.Errorf("entry RAX %#x, want 0", f.RAX)
	}
	if f.RFLAGS&(amd64.FlagDF|amd64.FlagTF) != 0 || f.RFLAGS&amd64.FlagIF == 0 {
		t.Errorf("entry RFLAGS %#x: DF and TF must be clear, IF kept", f.RFLAGS)
	}

	// siginfo.
	if get32(info) != SIGSEGV || get32(info+4) != 0 || int32(get32(info+8)) != SEGVMapErr || get64(info+16) != 0x10 {
		t.Errorf("siginfo signo %d errno %d code %d addr %#x, want 11 0 1 0x10",
			get32(info), get32(info+4), int32(get32(info+8)), get64(info+16))
	}

	// ucontext: flags, link, the stack in force, and the saved mask.
	if get64(uc) != 0 || get64(uc+8) != 0 {
		t.Errorf("uc_flags %#x uc_link %#x, want 0", get64(uc), get64(uc+8))
	}
	us := frame + ucStackOff
	if get64(us) != uint64(w.stk) || get32(us+8) != 0 || get64(us+16) != uint64(w.stkSize) {
		t.Errorf("uc_stack {%#x, %d, %d}, want {%#x, 0, %d}", get64(us), get32(us+8), get64(us+16), w.stk, w.stkSize)
	}
	if got := get64(frame + ucMaskOff); got != w.mask {
		t.Errorf("uc_sigmask %#x, want the interrupted mask %#x", got, w.mask)
	}

	// sigcontext: every register at its Linux offset.
	mc := frame + mcOff
	regs := []struct {
		name string
		off  uintptr
		want uint64
	}{
		{"r8", scR8, orig.R8}, {"r9", scR9, orig.R9}, {"r10", scR10, orig.R10}, {"r11", scR11, orig.R11},
		{"r12", scR12, orig.R12}, {"r13", scR13, orig.R13}, {"r14", scR14, orig.R14}, {"r15", scR15, orig.R15},
		{"rdi", scRDI, orig.RDI}, {"rsi", scRSI, orig.RSI}, {"rbp", scRBP, orig.RBP}, {"rbx", scRBX, orig.RBX},
		{"rdx", scRDX, orig.RDX}, {"rax", scRAX, orig.RAX}, {"rcx", scRCX, orig.RCX}, {"rsp", scRSP, orig.RSP},
		{"rip", scRIP, orig.RIP}, {"eflags", scFlags, orig.RFLAGS},
		{"err", scErr, orig.Error}, {"trapno", scTrapno, orig.Vector},
		{"oldmask", scOldmask, w.mask}, {"cr2", scCR2, 0x10},
	}
	for _, r := range regs {
		if got := get64(mc + r.off); got != r.want {
			t.Errorf("sigcontext.%s at +%d = %#x, want %#x", r.name, r.off, got, r.want)
		}
	}
	if cs, ss := uint16(get64(mc+scCS)), uint16(get64(mc+scCS)>>48); cs != amd64.KernelCS || ss != amd64.KernelDS {
		t.Errorf("sigcontext cs %#x ss %#x, want %#x %#x", cs, ss, amd64.KernelCS, amd64.KernelDS)
	}
	for off := uintptr(scReserved); off < 256; off += 8 {
		if get64(mc+off) != 0 {
			t.Errorf("sigcontext reserved word at +%d = %#x, want 0", off, get64(mc+off))
		}
	}

	// fpstate: a 64-byte aligned copy of the FXSAVE image above the frame.
	fp := uintptr(get64(mc + scFPState))
	if fp%64 != 0 || fp < frame+infoOff+128 || fp+512 > w.stk+w.stkSize {
		t.Errorf("fpstate %#x: want 64-byte aligned between the frame end %#x and the stack top %#x",
			fp, frame+infoOff+128, w.stk+w.stkSize)
	} else if !bytes.Equal(mem(fp, 512), fpuOrig) {
		t.Error("fpstate is not the thread's FXSAVE image")
	}

	// The handler runs with the signal and sa_mask blocked.
	if want := w.mask | 1<<(SIGSEGV-1) | w.actMask; th.SigMask != want {
		t.Errorf("mask in the handler %#x, want %#x", th.SigMask, want)
	}
}

func TestRtSigreturnRestoresTheInterruptedState(t *testing.T) {
	setup(t)
	w := newSigWorld(t, saOnStack|saRestorer|saSiginfo)
	th := lwkt.CurrentThread()
	f := faultFrame()
	orig := f
	fillFPU(0x10)
	fpuOrig := snapshot(fpu, 512)
	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0x10) {
		t.Fatal("Deliver refused")
	}
	frame := uintptr(f.RSP)

	// The handler runs: it clobbers registers and the FPU, and returns
	// through the restorer, whose RET popped pretcode.
	fillFPU(0x99)
	g := amd64.Frame{RAX: syscall.SYS_RT_SIGRETURN, RSP: uint64(frame + 8),
		R12: 0xBAD, RDI: 0xBAD, RIP: 0xBAD, CS: 0x33, SS: 0x2b, RFLAGS: 0x2 | amd64.FlagTF}
	Dispatch(&g, fpu)

	w1 := orig
	w1.RFLAGS = orig.RFLAGS&^amd64.FlagTF | amd64.FlagIF
	w1.Vector, w1.Error = g.Vector, g.Error // not part of the restored state
	if g != w1 {
		t.Errorf("after rt_sigreturn:\n got %+v\nwant %+v", g, w1)
	}
	if th.SigMask != w.mask {
		t.Errorf("mask after rt_sigreturn %#x, want %#x", th.SigMask, w.mask)
	}
	if !bytes.Equal(mem(fpu, 512), fpuOrig) {
		t.Error("rt_sigreturn did not restore the FPU image")
	}
}

// The runtime's sigpanic injection: the handler edits the saved RIP and
// RSP (and pushes a return address) and returns; execution continues where
// the edited context says.
func TestRtSigreturnHonoursEditedContext(t *testing.T) {
	setup(t)
	newSigWorld(t, saOnStack|saRestorer|saSiginfo)
	th := lwkt.CurrentThread()
	f := faultFrame()
	orig := f
	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Fatal("Deliver refused")
	}
	frame := uintptr(f.RSP)
	mc := frame + mcOff
	put64(mc+scRIP, 0x0048_8888)
	put64(mc+scRSP, get64(mc+scRSP)-8)
	put64(mc+scRAX, 0x1234)
	put64(mc+scFPState, 0) // no FPU state: the image is left alone
	put64(frame+ucMaskOff, 1<<(SIGURG-1))
	fillFPU(0x77)
	fpuNow := snapshot(fpu, 512)

	g := amd64.Frame{RAX: syscall.SYS_RT_SIGRETURN, RSP: uint64(frame + 8)}
	Dispatch(&g, fpu)
	if wantRSP := orig.RSP - 8; g.RIP != 0x0048_8888 || g.RSP != wantRSP || g.RAX != 0x1234 {
		t.Errorf("resumed at RIP %#x RSP %#x RAX %#x, want the edited 0x488888, %#x, 0x1234", g.RIP, g.RSP, g.RAX, wantRSP)
	}
	if th.SigMask != 1<<(SIGURG-1) {
		t.Errorf("mask %#x, want the edited uc_sigmask %#x", th.SigMask, 1<<(SIGURG-1))
	}
	if !bytes.Equal(mem(fpu, 512), fpuNow) {
		t.Error("rt_sigreturn with fpstate NULL changed the FPU image")
	}
}

func TestDeliverWithoutAltStack(t *testing.T) {
	setup(t)
	// No SA_ONSTACK: the frame goes on the interrupted stack, below the
	// 128-byte red zone.
	newSigWorld(t, saRestorer|saSiginfo)
	f := faultFrame()
	rsp := uintptr(f.RSP)
	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0x10) {
		t.Fatal("Deliver refused")
	}
	frame := uintptr(f.RSP)
	fp := uintptr(get64(frame + mcOff + scFPState))
	if (frame+8)%16 != 0 || fp+512 > rsp-128 || frame+infoOff+128 > fp {
		t.Errorf("frame %#x fpstate %#x for RSP %#x: want frame < fpstate, fpstate+512 <= RSP-128, (frame+8)%%16 == 0", frame, fp, rsp)
	}
	if f.RDI != SIGSEGV {
		t.Errorf("RDI %d", f.RDI)
	}
}

func TestDeliverAlreadyOnAltStack(t *testing.T) {
	setup(t)
	w := newSigWorld(t, saOnStack|saRestorer|saSiginfo)
	f := faultFrame()
	f.RSP = uint64(w.stk + w.stkSize/2) // a nested fault inside the handler
	rsp := uintptr(f.RSP)
	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Fatal("Deliver refused")
	}
	if uintptr(f.RSP) >= rsp-128 || uintptr(f.RSP) < w.stk {
		t.Errorf("nested frame at %#x, want below %#x-128 on the same stack", f.RSP, rsp)
	}
}

func TestDeliverNoDefer(t *testing.T) {
	setup(t)
	w := newSigWorld(t, saOnStack|saRestorer|saSiginfo|saNoDefer)
	th := lwkt.CurrentThread()
	f := faultFrame()
	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Fatal("Deliver refused")
	}
	if th.SigMask != w.mask|w.actMask {
		t.Errorf("SA_NODEFER mask %#x, want %#x (SIGSEGV not added)", th.SigMask, w.mask|w.actMask)
	}
}

func TestDeliverRefuses(t *testing.T) {
	setup(t)
	f := faultFrame()
	orig := f
	if Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Error("Deliver accepted SIG_DFL")
	}
	call(syscall.SYS_RT_SIGACTION, SIGSEGV, sigact(1, saRestorer, 0x1000, 0), 0, 8)
	if Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Error("Deliver accepted SIG_IGN")
	}
	call(syscall.SYS_RT_SIGACTION, SIGSEGV, sigact(0x2000, saSiginfo, 0, 0), 0, 8)
	if Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Error("Deliver accepted a handler without SA_RESTORER")
	}
	call(syscall.SYS_RT_SIGACTION, SIGSEGV, sigact(0x2000, saRestorer|saSiginfo, 0x1000, 0), 0, 8)
	f.RSP = 0x10000 // the frame would land in unmapped low memory
	if Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Error("Deliver built a frame on an inaccessible stack")
	}
	f.RSP = orig.RSP
	if f != orig {
		t.Error("a refused Deliver changed the frame")
	}
	if lwkt.CurrentThread().SigMask != 0 {
		t.Error("a refused Deliver changed the mask")
	}
}

func TestDeliverPending(t *testing.T) {
	setup(t)
	th := lwkt.CurrentThread()
	me := uintptr(th.ID)

	// SIGURG without a handler is ignored and consumed.
	call(syscall.SYS_TGKILL, 1, me, SIGURG)
	f := faultFrame()
	orig := f
	DeliverPending(&f, fpu)
	if f != orig || th.SigPending.Load() != 0 {
		t.Errorf("SIGURG without handler: frame changed %v, pending %#x", f != orig, th.SigPending.Load())
	}

	// With a handler, it is delivered as from tgkill.
	call(syscall.SYS_RT_SIGACTION, SIGURG, sigact(0x3000, saRestorer|saSiginfo, 0x4000, 0), 0, 8)
	_, r := sigprocmask(sigSet, 1<<(SIGURG-1))
	want(t, "block SIGURG", r, 0)
	call(syscall.SYS_TGKILL, 1, me, SIGURG)
	DeliverPending(&f, fpu)
	if f != orig || th.SigPending.Load() != 1<<(SIGURG-1) {
		t.Errorf("blocked SIGURG: delivered %v, pending %#x", f != orig, th.SigPending.Load())
	}
	_, r = sigprocmask(sigSet, 0)
	want(t, "unblock SIGURG", r, 0)
	DeliverPending(&f, fpu)
	if f.RIP != 0x3000 || f.RDI != SIGURG || th.SigPending.Load() != 0 {
		t.Fatalf("SIGURG not delivered: RIP %#x RDI %d pending %#x", f.RIP, f.RDI, th.SigPending.Load())
	}
	info := uintptr(f.RSI)
	if get32(info) != SIGURG || int32(get32(info+8)) != siTKill || get32(info+16) != 1 || get32(info+20) != 0 {
		t.Errorf("siginfo signo %d code %d pid %d uid %d, want %d SI_TKILL(-6) 1 0",
			get32(info), int32(get32(info+8)), get32(info+16), get32(info+20), SIGURG)
	}
	if th.SigMask&(1<<(SIGURG-1)) == 0 {
		t.Error("SIGURG not blocked in its handler")
	}

	// The lowest pending signal goes first.
	call(syscall.SYS_RT_SIGACTION, SIGBUS, sigact(0x5000, saRestorer|saSiginfo, 0x4000, 0), 0, 8)
	th.SigMask = 0
	call(syscall.SYS_TGKILL, 1, me, SIGURG)
	call(syscall.SYS_TGKILL, 1, me, SIGBUS)
	f = faultFrame()
	DeliverPending(&f, fpu)
	if f.RDI != SIGBUS || th.SigPending.Load() != 1<<(SIGURG-1) {
		t.Errorf("delivered %d with %#x pending, want SIGBUS first", f.RDI, th.SigPending.Load())
	}
}

// TestNoDeliveryIntoInterruptsOff: a thread that trapped with interrupts
// off keeps its asynchronous signal pending; it is delivered at a trap
// from interrupts-on code. Before, the handler ran inside the
// interrupts-off code and its sigreturn turned interrupts on there.
func TestNoDeliveryIntoInterruptsOff(t *testing.T) {
	setup(t)
	th := lwkt.CurrentThread()
	call(syscall.SYS_RT_SIGACTION, SIGURG, sigact(0x3000, saRestorer|saSiginfo, 0x4000, 0), 0, 8)
	call(syscall.SYS_TGKILL, 1, uintptr(th.ID), SIGURG)
	f := faultFrame()
	f.RFLAGS &^= amd64.FlagIF
	orig := f
	DeliverPending(&f, fpu)
	if f != orig || th.SigPending.Load() != 1<<(SIGURG-1) {
		t.Fatalf("delivered into an interrupts-off frame (RIP %#x), pending %#x", f.RIP, th.SigPending.Load())
	}
	f.RFLAGS |= amd64.FlagIF
	DeliverPending(&f, fpu)
	if f.RIP != 0x3000 || th.SigPending.Load() != 0 {
		t.Errorf("not delivered once interrupts are on: RIP %#x pending %#x", f.RIP, th.SigPending.Load())
	}
}
