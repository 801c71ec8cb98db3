package kernel

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"

	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/sys"
	"gofly/vm"
)

// Check is one in-kernel self-test.
type Check struct {
	Name string
	Run  func() error
}

// SelfTests returns the kernel's self-tests: each package's invariants on
// the live hardware state, then the runtime services the kernel provides.
func SelfTests() []Check {
	return []Check{
		{"mm: page allocator", func() (err error) {
			Critical(func() { err = mm.Phys.SelfTest() })
			return err
		}},
		{"pmap: page tables", func() (err error) {
			Critical(func() { err = vm.Kernel.Pmap.SelfTest(vm.UserMax - 16*mm.PageSize) })
			return err
		}},
		{"vm: address map", func() (err error) {
			Critical(func() { err = vm.Kernel.SelfTest() })
			return err
		}},
		{"lwkt: scheduler", lwkt.SelfTest},
		{"lwkt: tokens exclusive across CPUs, released on block", checkTokens},
		{"lwkt: message ports: DoMsg, SendMsg and replies between threads", checkPorts},
		{"lwkt: critical sections hold off preemption and IPIs", checkCritical},
		{"ipi: storm, every CPU to every other", func() error { return checkIPIStorm(2000) }},
		{"ipi: passive delivery within two ticks", checkIPIPassive},
		{"ipi: cpusync reaches exactly the set asked for", checkCPUSync},
		{"timer: clock and tick", checkTimer},
		{"runtime: goroutines and channels", checkGoroutines},
		{"runtime: garbage collector", checkGC},
		{"runtime: nil dereference recovered", checkRecover},
		{"sys: unknown system call is ENOSYS", checkENOSYS},
		{"sys: mmap demand paging and munmap", checkMmap},
		{"kernel: no fatal fault recorded", func() error {
			if faultRecord.taken {
				return errors.New("kernel: a fatal fault was recorded")
			}
			return nil
		}},
	}
}

func checkTimer() error {
	t0, k0 := timer.Nanotime(), timer.Ticks()
	w0 := time.Now()
	time.Sleep(20 * time.Millisecond)
	d, k, w := timer.Nanotime()-t0, timer.Ticks()-k0, time.Since(w0)
	if d < 20e6 || d > 2e9 {
		return fmt.Errorf("timer: a 20ms sleep took %v on the monotonic clock", time.Duration(d))
	}
	if k < 10 {
		return fmt.Errorf("timer: only %d ticks during a 20ms sleep at %d Hz", k, timer.TickHz())
	}
	if w < 20*time.Millisecond {
		return fmt.Errorf("timer: time.Since measured %v for a 20ms sleep", w)
	}
	if y := time.Now().Year(); y < 2020 {
		return fmt.Errorf("timer: wall clock says year %d", y)
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
