package sys

// Linux compatibility: each test states what Linux does in a case where
// the system-call layer once did otherwise.

import (
	"syscall"
	"testing"

	"gofly/lwkt"
	"gofly/vm"
)

// Linux removes a descriptor from every epoll interest list when it is
// closed (fs/eventpoll.c, eventpoll_release); otherwise the next file that
// gets the number would inherit the watch: ADD would fail with EEXIST and
// the new file's events would carry the old registration's data.
func TestCloseDropsFDFromEpollInterestList(t *testing.T) {
	setup(t)
	ep, a := newEpoll(t), newEventfd(t, 0)
	want(t, "epoll_ctl(ADD a)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, a, epollEvent(syscall.EPOLLIN, 0xAAAA)), 0)
	want(t, "close(a)", call(syscall.SYS_CLOSE, a), 0)
	b := newEventfd(t, 0)
	if b != a {
		t.Fatalf("new eventfd is %d, want the reused number %d", b, a)
	}
	evs := kalloc(4 * 12)
	want(t, "write(b)", eventfdWrite(1, b), 8)
	if n := call(syscall.SYS_EPOLL_PWAIT, ep, evs, 4, 0, 0, 8); n != 0 {
		_, d := eventAt(evs, 0)
		t.Errorf("epoll_pwait after close(a) and a new eventfd b on the same number: %s events (data %#x), want 0: b was never added", show(n), d)
	}
	want(t, "epoll_ctl(ADD b)", call(syscall.SYS_EPOLL_CTL, ep, syscall.EPOLL_CTL_ADD, b, epollEvent(syscall.EPOLLIN, 0xBBBB)), 0)
}

// Linux strips SIGKILL and SIGSTOP from sa_mask when the action is set
// (kernel/signal.c, do_sigaction: sigdelsetmask(&act->sa.sa_mask,
// sigmask(SIGKILL) | sigmask(SIGSTOP))), so neither rt_sigaction's oact nor
// a handler's mask ever has them; this matters because the Go runtime sets
// sa_mask to all ones (runtime.setsig).
func TestSaMaskCannotBlockSigkillSigstop(t *testing.T) {
	setup(t)
	oact := kalloc(32)
	want(t, "rt_sigaction(SIGSEGV, mask all)", call(syscall.SYS_RT_SIGACTION, SIGSEGV,
		sigact(0x45_1000, saRestorer|saSiginfo, 0x45_2000, ^uint64(0)), 0, 8), 0)
	want(t, "rt_sigaction(SIGSEGV) get", call(syscall.SYS_RT_SIGACTION, SIGSEGV, 0, oact, 8), 0)
	if m := get64(oact + 24); m&(killBit|stopBit) != 0 {
		t.Errorf("sa_mask read back %#x, want %#x (SIGKILL and SIGSTOP dropped)", m, ^uint64(killBit|stopBit))
	}
	f := faultFrame()
	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Fatal("Deliver refused")
	}
	if m := lwkt.CurrentThread().SigMask; m&(killBit|stopBit) != 0 {
		t.Errorf("mask in the handler %#x has SIGKILL/SIGSTOP blocked, want %#x", m, ^uint64(killBit|stopBit))
	}
}

// rt_sigreturn installs uc_sigmask through set_current_blocked, which drops
// SIGKILL and SIGSTOP (kernel/signal.c): a handler cannot block SIGKILL by
// editing its ucontext, as rt_sigprocmask cannot.
func TestRtSigreturnCannotBlockSigkillSigstop(t *testing.T) {
	setup(t)
	newSigWorld(t, saOnStack|saRestorer|saSiginfo)
	f := faultFrame()
	if !Deliver(&f, fpu, SIGSEGV, SEGVMapErr, 0) {
		t.Fatal("Deliver refused")
	}
	put64(uintptr(f.RSP)+ucMaskOff, ^uint64(0))
	g := frameFor(syscall.SYS_RT_SIGRETURN)
	g.RSP = f.RSP + 8
	Dispatch(&g, fpu)
	if m := lwkt.CurrentThread().SigMask; m != ^uint64(killBit|stopBit) {
		t.Errorf("mask after rt_sigreturn with uc_sigmask all ones: %#x, want %#x", m, ^uint64(killBit|stopBit))
	}
}

// Linux reads the new value before it writes the old one, so one buffer
// may serve as both (kernel/signal.c: rt_sigaction copies act in before
// do_sigaction and oact out after; rt_sigprocmask and sigaltstack
// likewise).
func TestSameBufferForInAndOut(t *testing.T) {
	t.Run("rt_sigaction", func(t *testing.T) {
		setup(t)
		buf := sigact(0x45_1000, saRestorer|saSiginfo, 0x45_2000, 0)
		want(t, "rt_sigaction(SIGSEGV, buf, buf)", call(syscall.SYS_RT_SIGACTION, SIGSEGV, buf, buf, 8), 0)
		if h := actions[SIGSEGV].handler; h != 0x45_1000 {
			t.Errorf("handler after rt_sigaction(SIGSEGV, &a, &a) with a.handler 0x451000: %#x, want 0x451000", h)
		}
		if get64(buf) != 0 {
			t.Errorf("buffer holds handler %#x, want the old SIG_DFL", get64(buf))
		}
	})
	t.Run("rt_sigprocmask", func(t *testing.T) {
		setup(t)
		th := lwkt.CurrentThread()
		th.SigMask = 1 << (SIGURG - 1)
		buf := kalloc(8)
		put64(buf, 1<<(sigUsr1-1))
		want(t, "rt_sigprocmask(SETMASK, buf, buf)", call(syscall.SYS_RT_SIGPROCMASK, sigSet, buf, buf, 8), 0)
		if th.SigMask != 1<<(sigUsr1-1) {
			t.Errorf("mask after SETMASK(&m, &m) with m = SIGUSR1: %#x, want %#x", th.SigMask, 1<<(sigUsr1-1))
		}
		if get64(buf) != 1<<(SIGURG-1) {
			t.Errorf("buffer holds %#x, want the old mask %#x", get64(buf), 1<<(SIGURG-1))
		}
	})
	t.Run("sigaltstack", func(t *testing.T) {
		setup(t)
		stk := kalloc(8192)
		buf := stackT(stk, 0, 8192)
		want(t, "sigaltstack(buf, buf)", call(syscall.SYS_SIGALTSTACK, buf, buf), 0)
		if th := lwkt.CurrentThread(); th.AltSP != uint64(stk) || th.AltSize != 8192 {
			t.Errorf("stack after sigaltstack(&s, &s): {%#x, %d}, want {%#x, 8192}", th.AltSP, th.AltSize, stk)
		}
	})
}

// Argument checks where Linux answers differently. Each case gives the
// input, Linux's answer and its source.
func TestLinuxArgumentChecks(t *testing.T) {
	t.Run("futex misaligned WAIT", func(t *testing.T) {
		setup(t)
		// kernel/futex/core.c get_futex_key: "if (unlikely((address %
		// sizeof(u32)) != 0)) return -EINVAL;"
		w := kalloc(8)
		want(t, "futex(addr%4 == 1, WAIT)", call(syscall.SYS_FUTEX, w+1, futexWaitPrivate, 0, 0), errno(syscall.EINVAL))
		unblock()
	})
	t.Run("futex misaligned WAKE", func(t *testing.T) {
		setup(t)
		w := kalloc(8)
		want(t, "futex(addr%4 == 2, WAKE)", call(syscall.SYS_FUTEX, w+2, futexWakePrivate, 1, 0), errno(syscall.EINVAL))
	})
	t.Run("sigaltstack SS_ONSTACK", func(t *testing.T) {
		setup(t)
		// kernel/signal.c do_sigaltstack accepts ss_mode SS_ONSTACK as
		// "enable" (old programs pass it).
		stk := kalloc(8192)
		want(t, "sigaltstack({sp, SS_ONSTACK, 8192})", call(syscall.SYS_SIGALTSTACK, stackT(stk, ssOnStack, 8192), 0), 0)
	})
	t.Run("epoll_create1 EPOLL_CLOEXEC", func(t *testing.T) {
		setup(t)
		ep := newEpoll(t) // with EPOLL_CLOEXEC
		want(t, "fcntl(epoll_create1(EPOLL_CLOEXEC), F_GETFD)", call(syscall.SYS_FCNTL, ep, syscall.F_GETFD), syscall.FD_CLOEXEC)
	})
	t.Run("epoll_create1 bad flags", func(t *testing.T) {
		setup(t)
		// fs/eventpoll.c do_epoll_create: "if (flags & ~EPOLL_CLOEXEC)
		// return -EINVAL;"
		want(t, "epoll_create1(1)", call(syscall.SYS_EPOLL_CREATE1, 1), errno(syscall.EINVAL))
	})
	t.Run("mmap unaligned hint", func(t *testing.T) {
		setup(t)
		// Without MAP_FIXED the address is only a hint; Linux rounds it
		// (mm/mmap.c: PAGE_ALIGN in the unmapped-area search) and never
		// fails for it.
		hint := uintptr(vm.MmapBase + 1<<40 + 123)
		r := mmapCall(hint, 4096, syscall.PROT_READ|syscall.PROT_WRITE, anonPrivate, minusOne)
		if r < vm.MmapBase || r%4096 != 0 {
			t.Errorf("mmap(hint %#x, no MAP_FIXED) = %s, want a page-aligned address", hint, show(r))
		}
	})
	t.Run("prlimit64 cur above max", func(t *testing.T) {
		setup(t)
		// kernel/sys.c do_prlimit: "if (new_rlim->rlim_cur >
		// new_rlim->rlim_max) return -EINVAL;"
		nw := kalloc(16)
		put64(nw, 32)
		put64(nw+8, 16)
		want(t, "prlimit64(NOFILE, {32, 16})", call(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, nw, 0), errno(syscall.EINVAL))
	})
	t.Run("sched_getaffinity odd length", func(t *testing.T) {
		setup(t)
		// kernel/sched/core.c sched_getaffinity: "if (len &
		// (sizeof(unsigned long)-1)) return -EINVAL;"
		want(t, "sched_getaffinity(len 12)", call(syscall.SYS_SCHED_GETAFFINITY, 0, 12, kalloc(16)), errno(syscall.EINVAL))
	})
	t.Run("tgkill tid 0", func(t *testing.T) {
		setup(t)
		// kernel/signal.c tgkill: "if (pid <= 0 || tgid <= 0) return -EINVAL;"
		want(t, "tgkill(1, 0, SIGURG)", call(syscall.SYS_TGKILL, 1, 0, SIGURG), errno(syscall.EINVAL))
	})
	t.Run("getrandom bad flags", func(t *testing.T) {
		setup(t)
		// drivers/char/random.c getrandom: unknown flag bits are EINVAL.
		want(t, "getrandom(buf, 8, 0x100)", call(318, kalloc(8), 8, 0x100), errno(syscall.EINVAL))
	})
}
