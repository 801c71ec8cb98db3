package klog

// Logging is called from trap context and early boot: nosplit throughout.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/drivers/uart"
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
	for !lock.CompareAndSwap(0, 1) {
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

// Hex logs v as 0x-prefixed hexadecimal.
//
//go:nosplit
func Hex(v uint64) {
	var buf [18]byte
	i := len(buf)
	for {
		i--
		buf[i] = "0123456789abcdef"[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	i--
	buf[i] = 'x'
	i--
	buf[i] = '0'
	putBytes(buf[i:])
}

// Dec logs v in decimal.
//
//go:nosplit
func Dec(v uint64) {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	putBytes(buf[i:])
}

//go:nosplit
func putBytes(p []byte) {
	fl := acquire()
	for _, b := range p {
		put(b)
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
