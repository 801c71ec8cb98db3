// Package acpi finds and checks the firmware's ACPI tables and reads the few
// things the kernel needs from them before it has an AML interpreter: the
// FADT's power-management ports, the \_S5 sleep type for power-off, the reset
// register, and the MADT's interrupt controllers for SMP bring-up.
//
// The package owns no hardware and no global state. It reads physical memory
// and touches I/O ports only through a Machine, which the kernel implements
// with its direct map and in/out instructions and the tests with a fake.
//
// Invariants:
//
//   - checked: every table in a Tables passed its checksum when it was read.
//     A table that fails is left out and its error kept in Tables.Errs, as
//     ACPICA refuses to install such a table; only a bad RSDP or root table
//     makes Load fail.
//   - copied: a Tables holds copies of firmware memory and is never changed
//     after Load, so it needs no lock and goroutines may share it.
//
// No code here runs below the runtime; PowerOff and Reset are ordinary Go
// called from the shell or shutdown path.
//
// The sleep and reset sequences follow ACPICA (hwsleep.c, hwxface.c and
// evxfevnt.c), which DragonFly builds under sys/contrib/dev/acpica. Unlike
// ACPICA, \_S5 is found by byte pattern rather than by running AML. That works
// for the static Name (_S5, Package () {...}) that firmware writes in
// practice, QEMU's included, but not for an _S5 computed by a method.
//
// u-root's pkg/acpi (v0.16.0, already in go.mod) is not used, because it
// cannot work freestanding. Every path that finds or reads a table goes to
// the host OS: GetRSDPEBDA opens /dev/mem, GetRSDPMem and ReadRawTable call
// memio.Read, which mmaps /dev/mem, GetRSDPEFI reads
// /sys/firmware/efi/systab, and RawTablesFromSys globs
// /sys/firmware/acpi/tables. Only NewRaw and NewSDT parse byte slices, and
// they cover just the header and the [RX]SDT entry list: an RSDP cannot be
// built from bytes (its data field is unexported and filled by memio),
// RSDP.SDTAddr prefers the 32-bit RSDT over the XSDT, no checksum is
// checked, and there is no FADT, MADT or AML parsing. Importing it for those
// two helpers would also link memio's /dev/mem and /dev/port code and
// pkg/boot/ebda into the kernel.
package acpi
