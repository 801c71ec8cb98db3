package sys

// The host environment the system-call tests run in. The kernel reaches a
// caller's buffer through vm.Kernel.Touch and mm.Ptr, with virtual ==
// physical. On the host, Ptr(a) is simply the address a, so any host memory
// can serve as a "user" buffer once the kernel's page tables say it is
// present. The tests therefore build a small world out of one window of
// anonymous host memory mapped at a fixed low address:
//
//	base            +16 MiB                 +56 MiB-4K  +56 MiB       +64 MiB
//	| RAM (mm.Phys) | direct map (buffers)  | hole      | user region |
//
//   - RAM: frames for page tables and demand-zero pages (package hostram
//     says why the window sits low).
//   - direct map: every page is entered identity-mapped in pmap.Kernel, so
//     Touch's "below userMin: present or not at all" check accepts it. The
//     tests carve their buffers from here with kalloc; it holds one
//     buffer of getrandom's largest count.
//   - hole: one page left unmapped, so a buffer running into it is EFAULT.
//   - user region: at and above userMin, where vm.Kernel's map decides and
//     Touch faults pages in as the hardware would. MAP_FIXED mappings here are
//     backed by host memory, so a system call can really write into them.
//
// Addresses that mmap picks itself (from vm.MmapBase up) have no host
// memory behind them: the tests check them but never pass them as buffers.
//
// Privileged instructions fault on the host, so the tests avoid every path
// that reaches one: klog (Cli), a thread switch in lwkt.Schedule (its FS-base
// MSR), Snapshot, arch_prctl's MSR accesses, clone past its flag check,
// exit_group, and console writes of any bytes.

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/uart"
	"gofly/internal/hostram"
	"gofly/klog"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/pmap"
	"gofly/random"
	"gofly/vm"
)

const (
	winLen    = hostram.Size
	ramLen    = 16 << 20
	directLen = 40 << 20
	pageSz    = 4096
)

var (
	envOnce sync.Once
	envErr  string

	winBase uintptr // start of the window
	hole    uintptr // the unmapped page at the end of the direct map
	userMin uintptr // vm.Kernel's userMin: start of the user region
	userEnd uintptr // end of the window
	bump    uintptr // next free byte of the direct map, for kalloc
	bump0   uintptr // bump after the environment's own allocations
	fpu     uintptr // the FXSAVE image Dispatch is given
)

func buildEnv(t testing.TB) {
	envErr = "no free low host address for the test window" // if Window skips
	b, _ := hostram.Window(t)
	envErr = ""
	winBase = uintptr(b)
	klog.Quiet = true
	Trace = false

	if !mm.Phys.Init([]mm.Range{{Base: uint64(winBase), Len: ramLen}}, nil) {
		envErr = "mm.Phys.Init failed"
		return
	}
	root := mm.Phys.Alloc()
	if root == 0 {
		envErr = "no frame for the PML4"
		return
	}
	vm.Kernel.Pmap.Init(root, false) // false: INVLPG is privileged

	direct := winBase + ramLen
	hole = direct + directLen - pageSz
	for va := direct; va < hole; va += pageSz {
		if !vm.Kernel.Pmap.Enter(va, uint64(va), pmap.Writable) {
			envErr = "pmap.Enter failed for the direct map"
			return
		}
	}
	userMin = direct + directLen
	userEnd = winBase + winLen
	vm.Kernel.Init(userMin)
	bump = direct

	lwkt.Init(1, 1, 1) // any non-zero idle PC, SP and FS base
	random.Init(0)     // as at boot, before the first system call
	fpu = kalloc(512)
	bump0 = bump
}

// setup builds the world once and returns every piece of system-call state
// to its boot value, so tests do not see each other's descriptors, signal
// handlers or mappings.
func setup(t testing.TB) {
	t.Helper()
	onCPU0(t)
	envOnce.Do(func() { buildEnv(t) })
	if envErr != "" {
		t.Skip(envErr)
	}
	bump = bump0 // no test keeps a buffer past its end
	files = [MaxFiles]file{{kind: fdConsole}, {kind: fdConsole}, {kind: fdConsole}}
	actions = [numSignals + 1]sigaction{}
	unblock()
	th := lwkt.CurrentThread()
	th.SigMask = 0
	th.SigPending.Store(0)
	th.AltSP, th.AltSize, th.AltFlags = 0, 0, 0
	th.Wait, th.WaitKey, th.Deadline, th.TimeoutRet = lwkt.WaitNone, 0, 0, 0
	th.WaitArg = [3]uintptr{}
	lwkt.SetTrapFrame(0)
	for uart.Rx.Len() > 0 {
		var b [64]byte
		uart.Rx.Read(b[:])
	}
	WallBase = 0
	Trace = false
	if r := vm.Kernel.Munmap(userMin, vm.UserMax-userMin); r != 0 {
		t.Fatalf("setup: munmap of the user range = %d", r)
	}
	clear(mem(userMin, userEnd-userMin)) // what a fresh demand-zero page reads
}

// fakeCPULocal stands in for the kernel's per-CPU block: amd64.CPU reads
// its first word through the GS base, which the kernel points at its
// cpuLocal and a Linux process leaves at 0.
var fakeCPULocal [4]uint64

// onCPU0 makes the calling test's thread look like CPU 0 to the kernel
// code: it locks the goroutine to its thread and points that thread's GS
// base at fakeCPULocal (the Go runtime does not use GS on linux/amd64).
func onCPU0(t testing.TB) {
	const archSetGS = 0x1001
	runtime.LockOSThread()
	if _, _, errno := syscall.Syscall(syscall.SYS_ARCH_PRCTL, archSetGS, uintptr(unsafe.Pointer(&fakeCPULocal)), 0); errno != 0 {
		t.Fatalf("arch_prctl(ARCH_SET_GS): %v", errno)
	}
}

// kalloc returns n zeroed bytes of the direct map, 64-byte aligned.
func kalloc(n uintptr) uintptr {
	a := (bump + 63) &^ 63
	if a+n > hole {
		panic("sys test: direct map exhausted")
	}
	bump = a + n
	clear(mem(a, n))
	return a
}

// kallocPages returns n zeroed whole pages of the direct map.
func kallocPages(n uintptr) uintptr {
	bump = (bump + pageSz - 1) &^ (pageSz - 1)
	return kalloc(n * pageSz)
}

// mem returns the n bytes at a as a slice (host memory outside the heap).
func mem(a, n uintptr) []byte { return unsafe.Slice((*byte)(mm.Ptr(uint64(a))), n) }

func get64(a uintptr) uint64    { return *u64(a) }
func get32(a uintptr) uint32    { return *u32(a) }
func put64(a uintptr, v uint64) { *u64(a) = v }
func put32(a uintptr, v uint32) { *u32(a) = v }

// call makes system call nr with up to six arguments (RDI, RSI, RDX, R10,
// R8, R9) and returns RAX as a signed value.
func call(nr uintptr, args ...uintptr) int64 {
	f := frameFor(nr, args...)
	Dispatch(&f, fpu)
	return int64(f.RAX)
}

func frameFor(nr uintptr, args ...uintptr) amd64.Frame {
	f := amd64.Frame{RAX: uint64(nr), Vector: amd64.VectorSyscall}
	regs := []*uint64{&f.RDI, &f.RSI, &f.RDX, &f.R10, &f.R8, &f.R9}
	for i, a := range args {
		*regs[i] = uint64(a)
	}
	return f
}

// errno returns the RAX value of a failed call with error e.
func errno(e syscall.Errno) int64 { return -int64(e) }

// want fails the test when a system call returned got instead of want.
func want(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %s, want %s", what, show(got), show(want))
	}
}

// wantFail fails the test when a system call that must fail succeeded.
// It is for refusals whose errno is this kernel's own policy rather than
// Linux's (Linux has no direct map below userMin).
func wantFail(t *testing.T, what string, got int64) {
	t.Helper()
	if got >= 0 || got <= -4096 {
		t.Errorf("%s = %s, want an error", what, show(got))
	}
}

// show prints a system-call result, naming errno values.
func show(r int64) string {
	if r < 0 && r > -4096 {
		return syscall.Errno(-r).Error() + " (" + itoa(r) + ")"
	}
	return itoa(r)
}

func itoa(v int64) string {
	if v < 0 {
		return "-" + itoa(-v)
	}
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + string(rune('0'+v%10))
}

// blockedHere reports whether the current thread is blocked with kind on
// key (lwkt.Snapshot would need CLI, which the host forbids).
func blockedHere(kind lwkt.WaitKind, key uintptr) bool {
	return lwkt.FindBlocked(-1, kind, key) == lwkt.Current()
}

// unblock ends any wait the current thread entered and makes it running
// again, as the scheduler does when it switches back to a woken thread:
// the host has no switch, but Schedule, with the test's thread the only one
// runnable, just picks it again.
func unblock() {
	lwkt.Wakeup(lwkt.Current(), 0)
	var f amd64.Frame
	fp := fpu
	lwkt.Schedule(&f, &fp)
}

func TestHostEnvironment(t *testing.T) {
	setup(t)
	if userMin > vm.MmapBase {
		t.Fatalf("userMin %#x above vm.MmapBase: munmap of mmap results would fail", userMin)
	}
	b := kalloc(16)
	if !vm.Kernel.Touch(b, 16, true) {
		t.Fatal("a direct-map buffer is not accessible")
	}
	if vm.Kernel.Touch(hole, 1, false) {
		t.Fatal("the hole page is accessible")
	}
	if fpu%16 != 0 {
		t.Fatalf("fpu image %#x not 16-byte aligned", fpu)
	}
	if lwkt.Current() == lwkt.Idle() {
		t.Fatal("the test runs as the idle thread")
	}
}

// snapshot copies the n bytes at a into the heap.
//
// It is not inlined because go1.26.8's compiler crashes ("disjointTypes:
// one of arguments is not a pointer", during lower) on an inlined
// fixed-size copy out of memory reached through mm.Ptr, e.g.
// bytes.Clone(mem(fpu, 512)).
//
//go:noinline
func snapshot(a, n uintptr) []byte {
	b := make([]byte, n)
	copy(b, mem(a, n))
	return b
}
