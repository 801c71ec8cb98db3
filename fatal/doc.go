// Package fatal ends the machine when a kernel invariant breaks: the
// kernel's throw. Below the runtime a broken invariant is never turned into
// an errno or ignored; it calls Throw (or Assert), which prints the
// message, the CPU, the thread and the registers of the trap being served,
// stops every other CPU by NMI and ends QEMU with the throw status
// (power.CodeThrow).
//
// The printing and stopping live in package kernel, which installs them
// with SetHandler during early boot, before the first invariant can be
// checked; this package imports nothing that touches hardware, so the
// pure packages (mm, pmap, vm, lwkt's queues) can throw and still run as
// host unit tests, where the default handler panics with the message.
//
// Invariants:
//   - no-return: Throw never returns; if a handler returns, Throw halts
//     the CPU in a loop.
//   - one-throw: the first Throw on any CPU wins (Throwing); a Throw while
//     another is being reported stops the CPU that made it.
//
// Below the runtime: throw_nosplit.go (trap context, no g).
package fatal
