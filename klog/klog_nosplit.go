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
	written atomic.Uint64 // bytes ever logged; changed only under lock

	// Quiet stops console output (the ring still records), for loglevel=0.
	Quiet bool

	// lock serialises the CPUs: the holder's CPU index + 1, 0 when free.
	// Interrupts are off while it is held, so only an NMI or an exception
	// can make its holder log again; that nested logging goes ahead
	// without the lock (the holder is suspended under it) rather than
	// spinning on itself forever.
	lock atomic.Uint32
)

// acquire takes the lock with interrupts off and returns the flags to
// restore and whether this CPU already held it (nested).
//
//go:nosplit
func acquire() (fl uint64, nested bool) {
	fl = amd64.Rflags()
	amd64.Cli()
	me := uint32(amd64.CPU()) + 1
	if lock.Load() == me {
		return fl, true
	}
	for spins := 0; !lock.CompareAndSwap(0, me); spins++ {
		if spins > 1<<22 && fatal.Throwing() {
			break // the holder was stopped by the throw's NMI: log anyway
		}
		amd64.Pause()
	}
	return fl, false
}

//go:nosplit
func release(fl uint64, nested bool) {
	if !nested {
		lock.Store(0)
	}
	restore(fl)
}

//go:nosplit
func put(b byte) {
	w := written.Load()
	ring[w%RingSize] = b
	written.Store(w + 1)
	if Quiet {
		return
	}
	if b == '\n' {
		uart.Putc('\r')
	}
	uart.Putc(b)
}

// Message keeps one multi-part message whole: between Begin and End this
// CPU holds the log's lock (interrupts off), so the Puts, Hex and Dec calls
// in between nest under it and no other CPU's text lands inside the
// message. Two CPUs reporting at once (a spin both watch, say) would
// otherwise interleave piece by piece.
type Message struct {
	flags  uint64
	nested bool
}

// Begin starts a message; End must follow on the same CPU, and nothing in
// between may block or fault on purpose.
//
//go:nosplit
func Begin() Message {
	fl, nested := acquire()
	return Message{fl, nested}
}

// End ends the message, releasing the lock Begin took.
//
//go:nosplit
func (m Message) End() { release(m.flags, m.nested) }

// Puts logs s.
//
//go:nosplit
func Puts(s string) {
	fl, nested := acquire()
	for i := 0; i < len(s); i++ {
		put(s[i])
	}
	release(fl, nested)
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
	fl, nested := acquire()
	put('0')
	put('x')
	for ; shift >= 0; shift -= 4 {
		put("0123456789abcdef"[v>>shift&15])
	}
	release(fl, nested)
}

// Dec logs v in decimal.
//
//go:nosplit
func Dec(v uint64) {
	d := uint64(1)
	for v/d >= 10 {
		d *= 10
	}
	fl, nested := acquire()
	for ; d > 0; d /= 10 {
		put(byte('0' + v/d%10))
	}
	release(fl, nested)
}

//go:nosplit
func restore(flags uint64) {
	if flags&amd64.FlagIF != 0 {
		amd64.Sti()
	}
}
