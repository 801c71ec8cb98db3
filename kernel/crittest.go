package kernel

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/lwkt/ipiq"
)

// checkCritical spins for 30 ms inside a critical section and checks that
// its CPU switched no thread meanwhile, and, with several CPUs, that an
// IPI message sent to it during the section ran only after CritExit.
func checkCritical() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lwkt.CritEnter()
	cpu := amd64.CPU() // fixed now: threads never migrate
	switches := lwkt.SwitchCount(cpu)
	before := pongs.Load()
	if len(cpus) > 1 {
		Critical(func() { lwkt.Send(otherCPU(), ipiq.Msg{Fn: idPing, Arg1: uintptr(cpu)}, false) })
	}
	// Spin on the TSC, not the clock: a system call inside the section
	// could itself run IPI messages or let the runtime preempt (block).
	for end := amd64.Rdtsc() + 30*timer.TSCHz()/1000; amd64.Rdtsc() < end; {
	}
	during, ranEarly := lwkt.SwitchCount(cpu)-switches, pongs.Load() != before
	lwkt.CritExit()
	if during != 0 {
		return fmt.Errorf("lwkt: critical: cpu %d switched threads %d times inside a critical section", cpu, during)
	}
	if ranEarly {
		return errors.New("lwkt: critical: an IPI message ran inside a critical section")
	}
	if len(cpus) > 1 {
		for deadline := time.Now().Add(time.Second); pongs.Load() == before; {
			if time.Now().After(deadline) {
				return errors.New("lwkt: critical: the IPI message deferred by the section never ran")
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}
