// Package amd64 owns the x86-64 processor state that the rest of the kernel
// builds on: the instructions Go cannot express (port I/O, MSRs, control
// registers, interrupt flag, TSC, FPU save/restore), the trap frame layout,
// and the descriptor tables (GDT with a TSS and its IST stacks, IDT).
//
// Invariants:
//   - frame-layout: Frame mirrors, word for word, what kernel/entry_amd64.s
//     pushes on trap and system-call entry; offsets_test.go checks it.
//   - ist-stacks: every IDT gate uses an IST stack, so a trap never runs on
//     the interrupted goroutine's stack: interrupts and system calls use IST1
//     (the per-CPU trap stack), CPU exceptions IST2, #DF IST3, NMI IST4 and
//     #MC IST5, so that a fault taken while the kernel is on the trap stack
//     does not overwrite the frame it is working on.
//
// Everything in *_nosplit.go and cpu_amd64.s runs below the Go runtime (before
// it starts, and from trap entry): no allocation, no stack growth, no
// pointer stores into the Go heap. Descriptor tables are static arrays of
// plain integers.
package amd64
