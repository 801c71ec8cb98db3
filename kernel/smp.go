package kernel

import (
	"fmt"
	"time"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/drivers/acpi"
	"gofly/drivers/apic"
	"gofly/drivers/timer"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/vm"
)

// trampBase is where the AP start-up code is copied: a page below 1 MiB
// (start-up IPIs name a real-mode page), in the low memory mm never hands
// out. boot/boot.S assembles the trampoline for this address.
const trampBase = 0x8000

// The trampoline's parameter words, counted back from its end (boot.S:
// tramp_cr3, tramp_stack, tramp_entry, tramp_cpu).
const (
	trampCR3   = 32
	trampStack = 24
	trampEntry = 16
	trampCPU   = 8
)

const apStackSize = 16 << 10

// apStacks are the APs' boot stacks, which become their idle threads'.
var apStacks [amd64.MaxCPUs][apStackSize]byte

// CPU describes one processor of the machine.
type CPU struct {
	Index  int
	APICID uint32
	Online bool
}

var cpus []CPU

// CPUs returns the processors the kernel found, in index order.
func CPUs() []CPU {
	out := append([]CPU(nil), cpus...)
	for i := range out {
		out[i].Online = cpuOnline[out[i].Index].Load()
	}
	return out
}

// otherCPUs returns the processors startAPs starts: enabled in the MADT,
// and not the boot CPU (apic id bsp), in MADT order.
func otherCPUs(m *acpi.MADT, bsp uint32) []acpi.Processor {
	var out []acpi.Processor
	for _, p := range m.Processors {
		if p.Enabled && p.APICID != bsp {
			out = append(out, p)
		}
	}
	return out
}

// startAPs starts every enabled processor the MADT lists with INIT and two
// start-up IPIs (Intel SDM vol. 3, 9.4.4), one at a time. It returns an
// error naming any that did not come up; the others keep running.
func startAPs(m *acpi.MADT) error {
	bsp := apic.ID()
	cpus = []CPU{{Index: 0, APICID: bsp}}
	lwkt.SetAPICID(0, bsp)
	cpuOnline[0].Store(true)
	if boot.trampLen == 0 || boot.trampLen > 4096 {
		return fmt.Errorf("kernel: smp: boot stub carries no usable trampoline (%d bytes)", boot.trampLen)
	}
	tramp := unsafe.Slice((*byte)(mm.Direct(trampBase)), boot.trampLen)
	copy(tramp, unsafe.Slice((*byte)(mm.Direct(boot.trampoline)), boot.trampLen))
	param := func(off uint64) *uint64 { return (*uint64)(mm.Direct(trampBase + boot.trampLen - off)) }
	_, _, _, apPC := codeAddrs()

	var failed []uint32
	for _, p := range otherCPUs(m, bsp) {
		cpu := len(cpus)
		if cpu == amd64.MaxCPUs {
			return fmt.Errorf("kernel: smp: more than %d CPUs; the rest stay off", amd64.MaxCPUs)
		}
		if lwkt.TrapCall(prepareAP, uintptr(cpu)) == 0 { // under the MP lock: the thread table is shared
			return fmt.Errorf("kernel: smp: no thread slot for cpu %d's idle thread", cpu)
		}
		*param(trampCR3) = vm.Kernel.Pmap.Root() // tag 0: an AP turns PCIDE on over it
		*param(trampStack) = uint64(uintptr(unsafe.Pointer(&apStacks[cpu][0])) + apStackSize)
		*param(trampEntry) = uint64(apPC)
		*param(trampCPU) = uint64(cpu)
		lwkt.SetAPICID(cpu, p.APICID)
		apic.SendInit(p.APICID)
		spin(apInitDelay)
		for try := 0; try < 2 && !cpuOnline[cpu].Load(); try++ {
			apic.SendStartup(p.APICID, trampBase>>12)
			waitOnline(cpu, 100*time.Millisecond)
		}
		if !cpuOnline[cpu].Load() {
			failed = append(failed, p.APICID)
			continue
		}
		cpus = append(cpus, CPU{Index: cpu, APICID: p.APICID})
	}
	if len(failed) > 0 {
		return fmt.Errorf("kernel: smp: CPUs with local APIC ids %v did not start", failed)
	}
	return nil
}

// The waits of AP start-up. A sleep ends at the first scheduler tick
// after its deadline, so the 1 ms sleep after INIT took 1.8-3 ms and each
// 50 µs poll while an AP came up took a whole tick: at -smp 4 the three
// APs cost 17 ms of boot, though each was online 0.1-0.5 ms after its
// start-up IPI. Both waits are short, so they spin on the TSC clock
// instead (sleeping only if an AP is slow to come up).
//
// apInitDelay follows INIT. The MP specification's 10 ms served the
// 82489DX; processors with an integrated local APIC (and QEMU's) take the
// start-up IPI at once, and Linux waits none on them. apSpin bounds the
// spinning part of waitOnline.
const (
	apInitDelay = 100 * time.Microsecond
	apSpin      = 10 * time.Millisecond
)

// spin busy-waits d on the TSC clock.
func spin(d time.Duration) {
	end := timer.Nanotime() + int64(d)
	for timer.Nanotime() < end {
		amd64.Pause()
	}
}

// waitOnline waits up to limit for cpu to come online: spinning for the
// first apSpin, then polling between sleeps.
func waitOnline(cpu int, limit time.Duration) {
	start := timer.Nanotime()
	for !cpuOnline[cpu].Load() {
		waited := time.Duration(timer.Nanotime() - start)
		switch {
		case waited >= limit:
			return
		case waited < apSpin:
			amd64.Pause()
		default:
			time.Sleep(50 * time.Microsecond)
		}
	}
}
