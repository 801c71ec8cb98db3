// Package power stops the machine: ACPI soft-off (S5), reset, and QEMU's
// isa-debug-exit device, which tests use to turn a kernel failure into
// QEMU's exit status. It is called from trap context (exit_group, fatal
// faults) and from the shell: nosplit, no allocation. The ACPI register and
// value are found by package acpi in ordinary Go at start-up and stored
// here as plain integers, so the stop path needs nothing from the runtime.
package power
