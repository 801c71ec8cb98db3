package timer

// Clock code serves system calls and the tick in trap context: nosplit.

import (
	"math/bits"

	"gofly/arch/amd64"
)

// PITHz is the 8254's input clock.
const PITHz = 1193182

// Ports of the 8254 and the system control port B.
const (
	pitCh2   = 0x42
	pitCmd   = 0x43
	portB    = 0x61
	portBOut = 0x20 // channel 2 output
)

var (
	tscHz   uint64
	tsc0    uint64
	mult    uint64 // nanoseconds per TSC cycle, as a 32.32 fixed-point number
	tickHz  uint64
	ticks   uint64
	calibMs uint64
)

// CalibrateTSC measures the TSC rate against PIT channel 2 over ms
// milliseconds (polling, interrupts not needed) and starts the monotonic
// clock at zero.
//
//go:nosplit
func CalibrateTSC(ms uint64) {
	count := PITHz * ms / 1000
	// Gate channel 2 on, speaker off; mode 0 (interrupt on terminal count),
	// so OUT rises when the count expires.
	amd64.Outb(portB, amd64.Inb(portB)&^0x02|0x01)
	amd64.Outb(pitCmd, 0xB0) // channel 2, lobyte/hibyte, mode 0, binary
	amd64.Outb(pitCh2, uint8(count))
	amd64.Outb(pitCh2, uint8(count>>8))
	t0 := amd64.Rdtsc()
	for amd64.Inb(portB)&portBOut == 0 {
	}
	t1 := amd64.Rdtsc()
	tscHz = (t1 - t0) * 1000 / ms
	if tscHz == 0 {
		tscHz = 1
	}
	mult = (1_000_000_000 << 32) / tscHz
	tsc0 = t0
	calibMs = ms
}

// SetTickRate records the rate of the scheduler tick (the local APIC
// timer), for TickHz.
//
//go:nosplit
func SetTickRate(hz uint64) { tickHz = hz }

// Tick counts one timer interrupt.
//
//go:nosplit
func Tick() { ticks++ }

// Ticks returns the number of timer interrupts so far.
//
//go:nosplit
func Ticks() uint64 { return ticks }

// TickHz returns the tick rate.
//
//go:nosplit
func TickHz() uint64 { return tickHz }

// TSCHz returns the calibrated TSC frequency.
//
//go:nosplit
func TSCHz() uint64 { return tscHz }

// Nanotime returns nanoseconds since calibration.
//
//go:nosplit
func Nanotime() int64 {
	return int64(CyclesToNs(amd64.Rdtsc() - tsc0))
}

// CyclesToNs converts a TSC interval to nanoseconds.
//
//go:nosplit
func CyclesToNs(c uint64) uint64 {
	hi, lo := bits.Mul64(c, mult)
	return hi<<32 | lo>>32
}
