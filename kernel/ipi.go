package kernel

import (
	"errors"
	"fmt"
	"time"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/lwkt/ipiq"
)

func init() {
	ipiq.Register(idCount, ipiCount)
	ipiq.Register(idStorm, ipiStorm)
	ipiq.Register(idPassive, ipiPassive)
	ipiq.Register(idPing, ipiPing)
	ipiq.Register(idPong, ipiPong)
	ipiq.Register(idSpin, ipiSpin)
	ipiq.Register(idMark, ipiMark)
}

// checkCPUSync runs cpusync over several CPU sets and checks that exactly
// the online CPUs of each set ran the function by the time it returned.
func checkCPUSync() error {
	var online uint64
	for _, c := range cpus {
		online |= 1 << c.Index
	}
	last := uint64(1) << cpus[len(cpus)-1].Index
	for _, mask := range []uint64{1, online, online &^ 1, last, online | 1<<(amd64.MaxCPUs-1)} {
		var seen uint64
		Critical(func() {
			cpusyncSeen.Store(0)
			lwkt.Cpusync(mask, idMark, 0, 0)
			seen = cpusyncSeen.Load()
		})
		if want := mask & online; seen != want {
			return fmt.Errorf("ipi: cpusync over %#b ran on %#b, want %#b", mask, seen, want)
		}
	}
	return nil
}

// IPIStats returns CPU cpu's IPI counters and the depth of its FIFO to each
// CPU.
func IPIStats(cpu int) (ipiq.Stats, []int) {
	depth := make([]int, len(cpus))
	for i := range cpus {
		depth[i] = lwkt.IPIs.Depth(cpu, cpus[i].Index)
	}
	return lwkt.IPIs.Stats(cpu), depth
}

// checkIPIStorm has every online CPU send n messages to every other, all
// at once, and checks that each arrives exactly once and in order per pair.
func checkIPIStorm(n uint64) error {
	if len(cpus) < 2 {
		return ipiq.SelfTest() // one CPU: the queue logic alone
	}
	var mask uintptr
	for _, c := range cpus {
		mask |= 1 << c.Index
	}
	Critical(func() {
		for _, s := range cpus {
			for _, d := range cpus {
				stormRecv[s.Index][d.Index].Store(0)
				stormNext[s.Index][d.Index] = 0
			}
		}
		stormOrder.Store(0)
		stormN.Store(n)
		me := amd64.CPU() // goroutines run on any CPU; interrupts off pins this one
		for _, c := range cpus {
			if c.Index != me {
				lwkt.Send(c.Index, ipiq.Msg{Fn: idStorm, Arg1: mask}, false)
			}
		}
		ipiStorm(mask, 0) // this CPU takes part too
	})
	want := n * uint64(len(cpus)) * uint64(len(cpus)-1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got uint64
		for _, s := range cpus {
			for _, d := range cpus {
				got += stormRecv[s.Index][d.Index].Load()
			}
		}
		if got == want {
			break
		}
		if got > want || time.Now().After(deadline) {
			return fmt.Errorf("ipi: no-loss: %d of %d storm messages delivered", got, want)
		}
		time.Sleep(time.Millisecond)
	}
	if o := stormOrder.Load(); o > 0 {
		return fmt.Errorf("ipi: per-pair-order: %d messages arrived out of order", o)
	}
	if b := lwkt.IPIs.BadCalls(); b > 0 {
		return fmt.Errorf("ipi: %d sends named a bad CPU or handler", b)
	}
	return nil
}

// checkIPIPassive sends one passive message from this CPU to the next and
// checks that it ran within two ticks without an interrupt being raised.
func checkIPIPassive() error {
	if len(cpus) < 2 {
		return nil
	}
	var raise, full bool
	passiveRunTick.Store(0)
	Critical(func() {
		dst := otherCPU()
		passiveSentTick.Store(timer.Ticks())
		// Other CPUs' traffic moves the IPI counters meanwhile; the send's
		// own decision is what must say "no interrupt".
		raise, full = lwkt.IPIs.SendPassive(amd64.CPU(), dst, ipiq.Msg{Fn: idPassive})
	})
	if raise || full {
		return fmt.Errorf("ipi: a passive send to an idle queue asked for an IPI (raise %v, full %v)", raise, full)
	}
	deadline := time.Now().Add(time.Second)
	for passiveRunTick.Load() == 0 {
		if time.Now().After(deadline) {
			return errors.New("ipi: passive message not delivered within a second")
		}
		time.Sleep(100 * time.Microsecond)
	}
	if d := passiveRunTick.Load() - passiveSentTick.Load(); d > 2 {
		return fmt.Errorf("ipi: passive message took %d ticks, want at most 2", d)
	}
	return nil
}

// otherCPU returns an online CPU other than this one. Interrupts are off,
// so the answer stays true while the caller uses it.
func otherCPU() int {
	me := amd64.CPU()
	for _, c := range cpus {
		if c.Index != me {
			return c.Index
		}
	}
	return me
}
