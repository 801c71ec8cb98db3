package klog

import (
	"bytes"
	"testing"
)

// logged fills the ring as if n bytes had been logged, byte i being i%251.
func logged(n uint64) {
	for i := uint64(0); i < n && i < RingSize; i++ {
		j := n - 1 - i
		ring[j%RingSize] = byte(j % 251)
	}
	written.Store(n)
}

func want(from, to uint64) []byte {
	var b []byte
	for i := from; i < to; i++ {
		b = append(b, byte(i%251))
	}
	return b
}

func TestCopy(t *testing.T) {
	for _, c := range []struct {
		logged uint64
		buf    int
		n      int
		lost   uint64
	}{
		{0, 16, 0, 0},
		{10, 16, 10, 0},
		{10, 4, 4, 6}, // the newest bytes that fit
		{RingSize + 100, RingSize + 50, RingSize, 100}, // the ring wrapped
		{3*RingSize + 7, 100, 100, 3*RingSize + 7 - 100},
	} {
		logged(c.logged)
		p := make([]byte, c.buf)
		n, lost := Copy(p)
		if n != c.n || lost != c.lost {
			t.Errorf("logged %d, buffer %d: Copy = %d, %d; want %d, %d", c.logged, c.buf, n, lost, c.n, c.lost)
			continue
		}
		if !bytes.Equal(p[:n], want(lost, lost+uint64(n))) {
			t.Errorf("logged %d, buffer %d: wrong bytes", c.logged, c.buf)
		}
	}
}
