package uart

import (
	"bytes"
	"testing"
)

func TestRingFIFO(t *testing.T) {
	var r Ring
	var want []byte
	for i := 0; i < 3*RingSize; i++ {
		b := byte(i * 7)
		r.Put(b)
		want = append(want, b)
		if i%5 == 4 { // drain in uneven chunks so the indices wrap
			p := make([]byte, 4+i%4)
			n := r.Read(p)
			if !bytes.Equal(p[:n], want[:n]) {
				t.Fatalf("read %x, want %x", p[:n], want[:n])
			}
			want = want[n:]
		}
	}
	if r.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", r.Len(), len(want))
	}
	if r.Dropped() != 0 {
		t.Fatalf("dropped %d bytes below capacity", r.Dropped())
	}
}

func TestRingFullCountsDrops(t *testing.T) {
	var r Ring
	for i := 0; i < RingSize+10; i++ {
		r.Put(byte(i))
	}
	if r.Len() != RingSize || r.Dropped() != 10 {
		t.Fatalf("Len %d Dropped %d, want %d and 10", r.Len(), r.Dropped(), RingSize)
	}
	p := make([]byte, RingSize+10)
	if n := r.Read(p); n != RingSize || p[0] != 0 || p[RingSize-1] != byte((RingSize-1)&0xFF) {
		t.Fatalf("read %d bytes, first %d last %d", n, p[0], p[n-1])
	}
	if r.Read(p) != 0 {
		t.Fatal("read from an empty ring returned bytes")
	}
}

func TestRingAllocatesNothing(t *testing.T) {
	var r Ring
	p := make([]byte, 16)
	if n := testing.AllocsPerRun(100, func() { r.Put(1); r.Read(p) }); n != 0 {
		t.Fatalf("Put/Read allocate %v times per run", n)
	}
}
