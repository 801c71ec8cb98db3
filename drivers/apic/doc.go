// Package apic drives the interrupt controllers of an SMP PC: each CPU's
// local APIC (its timer, end-of-interrupt, inter-processor interrupts)
// and the I/O APIC that routes device IRQs to CPUs.
//
// The local APIC is reached through its MMIO page (xAPIC, in the direct
// map, mm.Direct) or, when the CPU has x2APIC, through MSRs 0x800+; read
// and write hide the difference.
//
// Invariants:
//   - one-eoi: every interrupt delivered by a local APIC (its timer, an
//     I/O APIC line, an IPI) gets exactly one EOI; the spurious vector gets
//     none.
//
// Runs below the Go runtime (early boot, trap context, AP start-up):
// nosplit, no allocation. Each CPU touches only its own local APIC; the
// I/O APIC is programmed once, at start-up, by the boot CPU.
package apic
