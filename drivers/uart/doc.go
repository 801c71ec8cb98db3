// Package uart drives the 16550 UART behind COM1, the kernel console.
//
// Receive is interrupt-driven: the IRQ 4 handler drains the receive FIFO
// into Ring, a fixed-size buffer that the console read path empties.
// Transmit waits for the holding register to empty before each byte, so
// no byte is lost however fast the kernel writes.
//
// Invariants:
//   - ring-bounded: Ring never holds more than its capacity. When it is
//     full the receive interrupt is turned off and bytes wait in the UART
//     (and its sender) until a reader makes room (flow control); a byte
//     Put into a full Ring anyway is counted in Dropped, never silently
//     lost.
//
// Runs below the Go runtime (trap context and early boot): nosplit,
// allocation-free. Callers hold interrupts off, on the one CPU that takes
// IRQ 4.
package uart
