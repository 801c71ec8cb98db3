package lwkt

// Pinning Go code to a CPU, above the runtime, for self-tests and
// benchmarks that must run on a given CPU: the goroutine locks itself to
// its thread and the thread's affinity (sched_setaffinity, served by
// SetAffinity) moves it there at once.

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// PinThread confines the calling thread (its goroutine locked to it) to
// CPU cpu, or frees it when cpu < 0.
func PinThread(cpu int) error {
	mask := ^uint64(0)
	if cpu >= 0 {
		mask = 1 << cpu
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, 8, uintptr(unsafe.Pointer(&mask))); e != 0 {
		return fmt.Errorf("lwkt: sched_setaffinity(%#x): %v", mask, e)
	}
	return nil
}

// OnCPU runs fn on a goroutine locked to a thread pinned to CPU cpu, and
// returns its error (or the pinning's).
func OnCPU(cpu int, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := PinThread(cpu); err != nil {
			ch <- err
			return
		}
		err := fn()
		if perr := PinThread(-1); err == nil {
			err = perr
		}
		ch <- err
	}()
	return <-ch
}
