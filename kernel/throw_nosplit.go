package kernel

// The throw report runs wherever an invariant broke, in trap context or
// during early boot: nosplit, allocation-free.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/drivers/power"
	"gofly/fatal"
	"gofly/klog"
	"gofly/lwkt"
	"gofly/mm"
)

// throwReport is the kernel's fatal.Handler: it stops the other CPUs by
// NMI, prints the message, the CPU, the thread, the call site and the
// registers of the trap this CPU is serving, and ends QEMU with the throw
// status. A throw before the local APIC is up stops only this CPU (the
// others are not started yet).
//
//go:nosplit
func throwReport(msg string, pc uintptr) {
	amd64.Cli()
	cpu := amd64.CPU()
	if apicUp {
		apic.SendNMIToOthers()
	}
	klog.Begin() // held to the end: power.Fail does not return
	klog.Puts("\ngofly: throw: ")
	klog.Puts(msg)
	klog.Puts("\n  cpu ")
	klog.Dec(uint64(cpu))
	if lwktUp {
		klog.Puts(" thread ")
		klog.Dec(uint64(lwkt.CurrentThread().ID))
	}
	klog.Puts(" called from pc ")
	klog.Hex(uint64(pc))
	klog.Puts("\n")
	if f := cpuLocals[cpu].frame; f != 0 {
		klog.Puts("  serving trap vector ")
		fr := (*amd64.Frame)(mm.Ptr(uint64(f)))
		klog.Dec(fr.Vector)
		klog.Puts(":\n")
		printRegs(fr)
	} else {
		klog.Puts("  (not in a trap)\n")
	}
	power.Fail(power.CodeThrow)
}

// apicUp and lwktUp say how far boot got, so a throw reports only what
// exists. Written once each by the boot CPU during early boot.
var apicUp, lwktUp bool

// nmi serves a non-maskable interrupt, which has its own IST stack and
// may arrive anywhere, even inside the trap path: when another CPU is
// throwing it stops this CPU for good; otherwise it is reported and
// ignored.
//
//go:nosplit
func nmi() {
	if fatal.Throwing() {
		power.Halt()
	}
	nmis[amd64.CPU()].Add(1)
	klog.Puts("gofly: NMI ignored\n")
}

// nmis counts the NMIs each CPU ignored.
var nmis [amd64.MaxCPUs]atomic.Uint64
