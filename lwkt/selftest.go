package lwkt

// lwkt's in-kernel self-tests, registered with ktest: the scheduler's
// invariants, tokens, message ports, TrapCall, and the IPI queues between
// CPUs. They run above the runtime (the shell's selftest); their
// below-runtime halves are in selftest_nosplit.go.

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/timer"
	"gofly/ktest"
	"gofly/lwkt/ipiq"
)

func init() {
	ipiq.Register(idTestCount, ipiCount)
	ipiq.Register(idTestStorm, ipiStorm)
	ipiq.Register(idTestPassive, ipiPassive)
	ipiq.Register(idTestPing, ipiPing)
	ipiq.Register(idTestPong, ipiPong)
	ipiq.Register(idTestSpin, ipiSpin)
	ipiq.Register(idTestMark, ipiMark)
	ipiq.Register(idTestToken, ipiTokens)

	ktest.Register(
		ktest.Check{Name: "lwkt: scheduler", Run: SelfTest},
		ktest.Check{Name: "lwkt: TrapCall holds its CPU: no switch, no IPI, no migration", Run: checkTrapCall},
		ktest.Check{Name: "lwkt: tokens: invariants, exclusive across CPUs", Run: checkTokens},
		ktest.Check{Name: "ipiq: queue invariants on a private set", Run: ipiq.SelfTest},
		ktest.Check{Name: "ipi: storm, every CPU to every other", Run: func() error { return checkIPIStorm(2000) }},
		ktest.Check{Name: "ipi: passive delivery within two ticks", Run: checkIPIPassive},
		ktest.Check{Name: "ipi: cpusync reaches exactly the set asked for", Run: checkCPUSync},
	)
}

// onlineCPUs returns the online CPUs, in index order.
func onlineCPUs() []int {
	var out []int
	for m := OnlineMask(); m != 0; m &= m - 1 {
		out = append(out, bits.TrailingZeros64(m))
	}
	return out
}

// cycles converts d to TSC cycles.
func cycles(d time.Duration) uint64 { return uint64(d.Seconds() * float64(timer.TSCHz())) }

// checkTrapCall checks what TrapCall promises Go code: (a) a body that
// spins for 30 ms stays on one CPU and one thread, and its CPU switches no
// thread meanwhile; (b) with two CPUs, an IPI message answering a ping the
// body sent does not run before the body ends (interrupts are off), and
// does run within a second after; (c) beside a goroutine looping
// runtime.GC() (whose stop-the-worlds moved goroutines inside the old
// critical sections to other threads and CPUs), 20 bodies of 5 ms each
// start and end on the same CPU and thread.
func checkTrapCall() error {
	a := holdArgs{cycles: cycles(30 * time.Millisecond), ping: true, wait: cycles(time.Second)}
	TrapCall(holdCPU, uintptr(unsafe.Pointer(&a)))
	if err := a.held("a 30 ms body"); err != nil {
		return err
	}
	if a.target >= 0 && !a.queued {
		return fmt.Errorf("lwkt: TrapCall: cpu %d's pong was not queued to cpu %d within a second of its ping", a.target, a.cpu0)
	}
	if a.pongs1 != a.pongs0 {
		return fmt.Errorf("lwkt: TrapCall: %d IPI messages ran on cpu %d inside the body", a.pongs1-a.pongs0, a.cpu0)
	}
	if a.target >= 0 {
		for deadline := time.Now().Add(time.Second); pongs.Load() == a.pongs1; {
			if time.Now().After(deadline) {
				return fmt.Errorf("lwkt: TrapCall: the pong from cpu %d to cpu %d did not run within a second of TrapCall", a.target, a.cpu0)
			}
			time.Sleep(time.Millisecond)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for r := 0; r < 20; r++ {
		a := holdArgs{cycles: cycles(5 * time.Millisecond)}
		TrapCall(holdCPU, uintptr(unsafe.Pointer(&a)))
		if err := a.held(fmt.Sprintf("round %d beside runtime.GC()", r)); err != nil {
			return err
		}
	}
	if a.target < 0 {
		return ktest.Skip("no-IPI part needs 2 CPUs; the rest passed")
	}
	return nil
}

// held checks that the body stayed on one CPU and thread, with no switch.
func (a *holdArgs) held(what string) error {
	if a.cpu0 != a.cpu1 || a.thread0 != a.thread1 {
		return fmt.Errorf("lwkt: TrapCall: %s started on cpu %d thread slot %d and ended on cpu %d thread slot %d",
			what, a.cpu0, a.thread0, a.cpu1, a.thread1)
	}
	if a.switches != 0 {
		return fmt.Errorf("lwkt: TrapCall: cpu %d switched threads %d times during %s", a.cpu0, a.switches, what)
	}
	return nil
}

// checkTokens runs the token logic's own checks (TokenSelfTest), then has
// every online CPU contend for one token at once, from IPI handlers
// started by one Cpusync that wait for each other before they start: the
// sections must never overlap, and every increment made under the token
// must count. Release-on-block is covered
// by the host tests (token_test.go): Go code cannot hold a token.
func checkTokens() error {
	if err := TokenSelfTest(); err != nil {
		return err
	}
	crossToken.Init("selftest-cross")
	tokArrived.Store(0)
	tokInside.Store(0)
	tokOverlaps.Store(0)
	tokBugs.Store(0)
	tokLate.Store(0)
	tokTotal = 0
	n := len(onlineCPUs())
	TrapCall(tokenCall, 0)
	if l := tokLate.Load(); l > 0 {
		return fmt.Errorf("lwkt: token: %d CPUs waited over a second for the others to run the check", l)
	}
	if b := tokBugs.Load(); b > 0 {
		return fmt.Errorf("lwkt: token: %d bug reports from TryToken or RelToken in the handlers", b)
	}
	if o := tokOverlaps.Load(); o > 0 {
		return fmt.Errorf("lwkt: token-excl: %d sections overlapped on %d CPUs", o, n)
	}
	if want := uint64(n * tokRounds); tokTotal != want {
		return fmt.Errorf("lwkt: token-excl: %d increments counted, want %d", tokTotal, want)
	}
	if w := crossToken.word.Load(); w&^tokExclReq != 0 {
		return fmt.Errorf("lwkt: token: not free after the check: %s", &crossToken)
	}
	return nil
}

// checkIPIStorm has every online CPU send n messages to every other, all
// at once, and checks that each arrives exactly once and in order per pair.
func checkIPIStorm(n uint64) error {
	cpus := onlineCPUs()
	if len(cpus) < 2 {
		return ktest.Skip("needs 2 CPUs")
	}
	stormN.Store(n)
	TrapCall(stormCall, uintptr(OnlineMask()))
	want := n * uint64(len(cpus)) * uint64(len(cpus)-1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got uint64
		for _, s := range cpus {
			for _, d := range cpus {
				got += stormRecv[s][d].Load()
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
	if b := IPIs.BadCalls(); b > 0 {
		return fmt.Errorf("ipi: %d sends named a bad CPU or handler", b)
	}
	return nil
}

// checkIPIPassive sends one passive message from this CPU to another and
// checks that it ran within two of the target's ticks without the send
// asking for an interrupt (a tickless target is kicked instead: it has no
// tick to wait for).
func checkIPIPassive() error {
	passiveRunTick.Store(0)
	r := TrapCall(passiveCall, 0)
	if r&passiveAlone != 0 {
		return ktest.Skip("needs 2 CPUs")
	}
	if r != 0 {
		return fmt.Errorf("ipi: a passive send to an idle queue asked for an IPI (raise %v, full %v)",
			r&passiveRaise != 0, r&passiveFull != 0)
	}
	deadline := time.Now().Add(time.Second)
	for passiveRunTick.Load() == 0 {
		if time.Now().After(deadline) {
			return errors.New("ipi: passive message not delivered within a second")
		}
		time.Sleep(100 * time.Microsecond)
	}
	if d := passiveRunTick.Load() - passiveSentTick.Load(); d > 2 {
		return fmt.Errorf("ipi: passive message took %d of the target's ticks, want at most 2", d)
	}
	return nil
}

// checkCPUSync runs Cpusync over several CPU sets and checks that exactly
// the online CPUs of each set ran the function by the time it returned.
func checkCPUSync() error {
	cpus := onlineCPUs()
	online := OnlineMask()
	last := uint64(1) << cpus[len(cpus)-1]
	for _, mask := range []uint64{1, online, online &^ 1, last, online | 1<<(amd64.MaxCPUs-1)} {
		seen := uint64(TrapCall(markCall, uintptr(mask)))
		if want := mask & online; seen != want {
			return fmt.Errorf("ipi: cpusync over %#b ran on %#b, want %#b", mask, seen, want)
		}
	}
	return nil
}
