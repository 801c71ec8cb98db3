package uart

// RingSize is Ring's capacity in bytes (a power of two).
const RingSize = 4096

// Ring is a byte FIFO of fixed capacity. Its methods are nosplit and
// allocation-free; the caller serialises access (interrupts off).
type Ring struct {
	buf        [RingSize]byte
	head, tail uint64 // bytes ever read, bytes ever written
	dropped    uint64
}

// Put appends b, or counts it in Dropped when the ring is full.
//
//go:nosplit
func (r *Ring) Put(b byte) {
	if r.tail-r.head == RingSize {
		r.dropped++
		return
	}
	r.buf[r.tail%RingSize] = b
	r.tail++
}

// Read moves up to len(p) bytes into p and returns how many it moved.
//
//go:nosplit
func (r *Ring) Read(p []byte) int {
	n := 0
	for n < len(p) && r.head != r.tail {
		p[n] = r.buf[r.head%RingSize]
		r.head++
		n++
	}
	return n
}

// Len returns the number of buffered bytes.
//
//go:nosplit
func (r *Ring) Len() int { return int(r.tail - r.head) }

// Dropped returns how many bytes arrived while the ring was full.
//
//go:nosplit
func (r *Ring) Dropped() uint64 { return r.dropped }
