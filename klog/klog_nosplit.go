package klog

// Logging is called from trap context and early boot: nosplit throughout.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/uart"
	"gofly/fatal"
)

// RingSize is the capacity of the log ring in bytes.
const RingSize = 64 << 10

var (
	ring    [RingSize]byte
	written uint64 // bytes ever logged

	// Quiet stops console output (the ring still records), for loglevel=0.
	Quiet bool

	// lock serialises the CPUs; interrupts are off while it is held, so
	// the holder cannot be interrupted into logging again.
	lock atomic.Uint32
)

//go:nosplit
func acquire() uint64 {
	fl := amd64.Rflags()
	amd64.Cli()
	for spins := 0; !lock.CompareAndSwap(0, 1); spins++ {
		if spins > 1<<22 && fatal.Throwing() {
			break // the holder was stopped by the throw's NMI: log anyway
		}
		amd64.Pause()
	}
	return fl
}

//go:nosplit
func release(fl uint64) {
	lock.Store(0)
	restore(fl)
}

//go:nosplit
func put(b byte) {
	ring[written%RingSize] = b
	written++
	if Quiet {
		return
	}
	if b == '\n' {
		uart.Putc('\r')
	}
	uart.Putc(b)
}

// Puts logs s.
//
//go:nosplit
func Puts(s string) {
	fl := acquire()
	for i := 0; i < len(s); i++ {
		put(s[i])
	}
	release(fl)
}

// Hex logs v as 0x-prefixed hexadecimal. Hex and Dec use no buffer and
// no bounds check, so they add little to the nosplit chains that log
// (the linker bounds each at 792 bytes).
//
//go:nosplit
func Hex(v uint64) {
	shift := 60
	for shift > 0 && v>>shift == 0 {
		shift -= 4
	}
	fl := acquire()
	put('0')
	put('x')
	for ; shift >= 0; shift -= 4 {
		put("0123456789abcdef"[v>>shift&15])
	}
	release(fl)
}

// Dec logs v in decimal.
//
//go:nosplit
func Dec(v uint64) {
	d := uint64(1)
	for v/d >= 10 {
		d *= 10
	}
	fl := acquire()
	for ; d > 0; d /= 10 {
		put(byte('0' + v/d%10))
	}
	release(fl)
}

//go:nosplit
func restore(flags uint64) {
	if flags&amd64.FlagIF != 0 {
		amd64.Sti()
	}
}

// Written returns the number of bytes ever logged.
//
//go:nosplit
func Written() uint64 { return written }

// Copy copies the retained log, oldest byte first, into p and returns how
// many bytes it copied and how many older bytes were overwritten.
//
//go:nosplit
func Copy(p []byte) (n int, lost uint64) {
	fl := acquire()
	start := uint64(0)
	if written > RingSize {
		start = written - RingSize
	}
	if uint64(len(p)) < written-start {
		start = written - uint64(len(p))
	}
	for i := start; i < written; i++ {
		p[n] = ring[i%RingSize]
		n++
	}
	release(fl)
	return n, start
}
