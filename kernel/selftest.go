package kernel

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"

	"gofly/drivers/timer"
	"gofly/ktest"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/sys"
)

// The kernel's own self-tests, registered with ktest (each package
// registers its own; lwkt's come first, as the kernel imports it): the
// memory packages' invariants on the live state, then the services the
// kernel gives the Go runtime.
func init() {
	ktest.Register(
		// Nosplit tests that assert the MP lock: run in TrapCall bodies
		// (selftest_nosplit.go). A broken invariant throws; 1 means the
		// test could not run.
		ktest.Check{Name: "mm: page allocator", Run: func() error {
			return ranOrSkip(lwkt.TrapCall(mmSelfTest, 0), "no free frame to test with")
		}},
		ktest.Check{Name: "pmap: page tables", Run: func() error {
			return ranOrSkip(lwkt.TrapCall(pmapSelfTest, 0), "scratch page mapped, or no free frame")
		}},
		ktest.Check{Name: "vm: address map", Run: func() error {
			return ranOrSkip(lwkt.TrapCall(vmSelfTest, 0), "could not run")
		}},
		ktest.Check{Name: "timer: clock and tick", Run: checkTimer},
		ktest.Check{Name: "timer: TSC rate within 0.05% of the PIT", Run: checkTSCRate},
		ktest.Check{Name: "runtime: goroutines and channels", Run: checkGoroutines},
		ktest.Check{Name: "runtime: garbage collector", Run: checkGC},
		ktest.Check{Name: "runtime: nil dereference recovered", Run: checkRecover},
		ktest.Check{Name: "sys: unknown system call is ENOSYS", Run: checkENOSYS},
		ktest.Check{Name: "sys: mmap demand paging and munmap", Run: checkMmap},
		ktest.Check{Name: "kernel: an NMI inside the trap path leaves the thread's FPU state alone", Run: checkNMIFPU},
		ktest.Check{Name: "kernel: no fatal fault recorded", Run: func() error {
			if faultRecord.taken {
				return errors.New("kernel: a fatal fault was recorded")
			}
			return nil
		}},
	)
}

// checkNMIFPU puts a value in X1, then, inside the trap path, another one
// and takes an NMI there: the thread must get its own value back. Before
// NMIs had an FXSAVE area of their own, the NMI saved the trap path's
// registers over the thread's image, and the thread resumed with them.
func checkNMIFPU() error {
	const mine = 0x1111_1111_1111_1111
	got := fpuProbe(nmiBody, mine)
	if !nmiSeen.Load() {
		return errors.New("kernel: an NMI sent to this CPU did not arrive")
	}
	if got != mine {
		return fmt.Errorf("kernel: after an NMI in the trap path X1 is %#x, want the thread's %#x", got, uint64(mine))
	}
	return nil
}

// ranOrSkip turns a memory self-test body's result into a check's.
func ranOrSkip(r uintptr, why string) error {
	if r != 0 {
		return ktest.Skip("%s", why)
	}
	return nil
}

func checkTimer() error {
	w0 := time.Now()
	time.Sleep(20 * time.Millisecond)
	w := time.Since(w0)
	// A CPU ticks while busy (idle, it stops its tick): spin 20 ms on CPU
	// 0, whose ticks timer.Ticks counts.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lwkt.PinThread(0); err != nil {
		return err
	}
	// TCG on a busy host drops periodic timer interrupts it could not
	// deliver in time (its vCPU thread descheduled), so demand a quarter
	// of the ticks the measured interval should hold, in the best of
	// three spins: enough to show the tick runs at its rate.
	var d int64
	var k, want uint64
	for try := 0; try < 3 && (try == 0 || k < want); try++ {
		t0, k0 := timer.Nanotime(), timer.Ticks()
		for timer.Nanotime()-t0 < 20e6 {
		}
		d, k = timer.Nanotime()-t0, timer.Ticks()-k0
		want = uint64(d) * timer.TickHz() / 1e9 / 4
	}
	if err := lwkt.PinThread(-1); err != nil {
		return err
	}
	if d > 2e9 {
		return fmt.Errorf("timer: a 20ms spin took %v on the monotonic clock", time.Duration(d))
	}
	if k < want {
		return fmt.Errorf("timer: only %d ticks in %v of spinning on cpu 0 at %d Hz (the best of three spins), want at least %d", k, time.Duration(d), timer.TickHz(), want)
	}
	if w < 20*time.Millisecond {
		return fmt.Errorf("timer: time.Since measured %v for a 20ms sleep", w)
	}
	if y := time.Now().Year(); y < 2020 {
		return fmt.Errorf("timer: wall clock says year %d", y)
	}
	return nil
}

// tscCheckMs is how long checkTSCRate times the TSC: long enough that its
// own error is a few ppm.
const tscCheckMs = 20

// checkTSCRate measures the TSC rate against the PIT again, over far
// longer than the boot calibration did, and demands that the calibrated
// rate (which every clock reading uses) agree within 0.05%.
func checkTSCRate() error {
	ref := uint64(lwkt.TrapCall(tscMeasure, tscCheckMs))
	cal := timer.TSCHz()
	if ref == 0 {
		return errors.New("timer: the PIT re-measurement found no TSC rate")
	}
	diff := max(cal, ref) - min(cal, ref)
	if ppm := diff * 1_000_000 / ref; ppm > 500 {
		calPPM, calNs, _ := timer.CalibrationError()
		return fmt.Errorf("timer: TSC calibrated at %d Hz (±%d ppm over %v), but %d Hz over %d ms: %d ppm apart, more than 0.05%%",
			cal, calPPM, time.Duration(calNs), ref, tscCheckMs, ppm)
	}
	return nil
}

func checkGoroutines() error {
	const n = 100
	ch := make(chan int)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); ch <- i }()
	}
	go func() { wg.Wait(); close(ch) }()
	sum := 0
	for v := range ch {
		sum += v
	}
	if sum != n*(n+1)/2 {
		return fmt.Errorf("runtime: goroutines summed to %d, want %d", sum, n*(n+1)/2)
	}
	return nil
}

var sink [][]byte

func checkGC() error {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 200; i++ {
		sink = append(sink, make([]byte, 64<<10))
		if len(sink) > 16 {
			sink = sink[1:]
		}
	}
	m := make(map[int]string)
	for i := 0; i < 1000; i++ {
		m[i] = fmt.Sprint(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	sink = nil
	if after.NumGC <= before.NumGC {
		return fmt.Errorf("runtime: NumGC stayed at %d", after.NumGC)
	}
	if m[777] != "777" {
		return errors.New("runtime: map lost a value across GC")
	}
	return nil
}

func checkRecover() (err error) {
	before := signalsRaised
	defer func() {
		r := recover()
		if r == nil {
			err = errors.New("runtime: nil dereference did not panic")
		} else if signalsRaised != before+1 {
			err = fmt.Errorf("runtime: recovered %v but the kernel raised %d signals", r, signalsRaised-before)
		}
	}()
	Fault("nil")
	return errors.New("runtime: execution continued past a nil dereference")
}

func checkENOSYS() error {
	before := sys.Unknown()
	_, _, errno := syscall.Syscall(499, 0, 0, 0)
	if errno != syscall.ENOSYS {
		return fmt.Errorf("sys: system call 499 returned errno %d, want ENOSYS", errno)
	}
	if sys.Unknown() != before+1 {
		return errors.New("sys: unknown system call not counted")
	}
	return nil
}

func checkMmap() error {
	const n = 64 << 10
	free0 := mm.Phys.FreePages()
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return fmt.Errorf("sys: mmap: %v", err)
	}
	if mm.Phys.FreePages()+4 < free0 { // slack: other threads may fault pages in meanwhile
		return fmt.Errorf("sys: mmap took %d frames before the pages were touched", free0-mm.Phys.FreePages())
	}
	for i := 0; i < n; i += mm.PageSize {
		if b[i] != 0 {
			return fmt.Errorf("sys: demand-zero page at offset %d not zero", i)
		}
		b[i] = 1
	}
	touched := mm.Phys.FreePages()
	if err := syscall.Munmap(b); err != nil {
		return fmt.Errorf("sys: munmap: %v", err)
	}
	if back := int64(mm.Phys.FreePages()) - int64(touched); back < n/mm.PageSize-4 {
		return fmt.Errorf("sys: munmap of %d touched pages gave back %d frames", n/mm.PageSize, back)
	}
	return nil
}
