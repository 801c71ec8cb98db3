package random

import (
	"bytes"
	"testing"

	"github.com/klauspost/cpuid/v2"

	"gofly/arch/amd64"
)

var testSeed = [4]uint64{0x0706050403020100, 0x0f0e0d0c0b0a0908, 0x1716151413121110, 0x1f1e1d1c1b1a1918}

func read(n int) []byte {
	b := make([]byte, n)
	Read(b)
	return b
}

// The output under a key is that key's ChaCha8 keystream from block 0, but
// for its last 32 bytes, which become the next key.
func TestStreamIsChaCha8WithKeyErasure(t *testing.T) {
	s := testSeed
	setKey(&s)
	k := key
	var want []byte
	for round := 0; round < 3; round++ {
		var stream [bufLen]byte
		for i := 0; i < blocks; i++ {
			block((*[64]byte)(stream[64*i:]), &k, uint32(i), &nonce, 8)
		}
		want = append(want, stream[:outLen]...)
		for i := range k {
			b := stream[outLen+4*i:]
			k[i] = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		}
	}
	if got := read(len(want)); !bytes.Equal(got, want) {
		t.Fatal("Read is not the ChaCha8 keystream, rekeyed from its last 32 bytes every 1 KiB")
	}
	if key != k {
		t.Error("the key is not the last 32 bytes of the previous keystream")
	}
}

// Reads of any sizes take consecutive bytes of one stream.
func TestReadsAreOneStream(t *testing.T) {
	s := testSeed
	setKey(&s)
	var got []byte
	for _, n := range []int{0, 1, 7, 64, 500, outLen, 3, 2 * outLen, 1} {
		got = append(got, read(n)...)
	}
	setKey(&s)
	if want := read(len(got)); !bytes.Equal(got, want) {
		t.Error("piecewise reads differ from one read of the same length")
	}
}

func TestHandedOutBytesAreErased(t *testing.T) {
	s := testSeed
	setKey(&s)
	out := read(100)
	if !bytes.Equal(buf[:100], make([]byte, 100)) {
		t.Error("bytes handed out are still in the buffer")
	}
	if bytes.Contains(buf[:], out[60:]) {
		t.Error("the buffer still holds output")
	}
	if !bytes.Equal(buf[outLen:], make([]byte, keyLen)) {
		t.Error("the next key is still in the buffer")
	}
	if left != outLen-100 {
		t.Errorf("left = %d after reading 100 of %d", left, outLen)
	}
}

func TestSeedsGiveDifferentStreams(t *testing.T) {
	a, b := testSeed, testSeed
	b[3] ^= 1
	setKey(&a)
	x := read(64)
	setKey(&b)
	y := read(64)
	if bytes.Equal(x, y) {
		t.Error("seeds one bit apart give the same bytes")
	}
	setKey(&a)
	if z := read(64); !bytes.Equal(x, z) {
		t.Error("the same seed gives different bytes")
	}
}

func TestFillRefusesFailingOrStuckSources(t *testing.T) {
	counter := func() func() (uint64, bool) {
		n := uint64(0)
		return func() (uint64, bool) { n++; return n, true }
	}
	failsThird := func() func() (uint64, bool) {
		n := 0
		return func() (uint64, bool) { n++; return uint64(n), n != 3 }
	}
	allOnes := func() (uint64, bool) { return ^uint64(0), true } // AMD RDRAND after resume
	var s [4]uint64
	if !fill(&s, counter()) || s != [4]uint64{1, 2, 3, 4} {
		t.Errorf("fill from a working source: %v, want [1 2 3 4] and true", s)
	}
	if fill(&s, failsThird()) {
		t.Error("fill accepted a source that failed")
	}
	if fill(&s, allOnes) {
		t.Error("fill accepted a source stuck at all ones")
	}
}

// Init picks RDSEED, else RDRAND, else the clocks, as CPUID says.
func TestInitUsesTheBestSource(t *testing.T) {
	if got, want := amd64.HasRdseed(), cpuid.CPU.Supports(cpuid.RDSEED); got != want {
		t.Errorf("HasRdseed = %v, cpuid says %v", got, want)
	}
	if got, want := amd64.HasRdrand(), cpuid.CPU.Supports(cpuid.RDRAND); got != want {
		t.Errorf("HasRdrand = %v, cpuid says %v", got, want)
	}
	Init(1_700_000_000e9)
	want := SourceClocks
	switch {
	case amd64.HasRdseed():
		want = SourceRDSEED
	case amd64.HasRdrand():
		want = SourceRDRAND
	}
	if SeedSource() != want {
		t.Errorf("seeded from %v, want %v", SeedSource(), want)
	}
	a, b := read(32), read(32)
	if bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 32)) {
		t.Error("the seeded generator repeats itself or returns zeros")
	}
}

func TestHardwareInstructions(t *testing.T) {
	for _, in := range []struct {
		name string
		has  bool
		next func() (uint64, bool)
	}{
		{"RDRAND", amd64.HasRdrand(), amd64.Rdrand},
		{"RDSEED", amd64.HasRdseed(), amd64.Rdseed},
	} {
		if !in.has {
			t.Logf("%s: not on this CPU", in.name)
			continue
		}
		var s [4]uint64
		if !fill(&s, in.next) {
			t.Errorf("%s failed or repeated one value: %#x", in.name, s)
		}
	}
}

func TestSourceNames(t *testing.T) {
	for s, want := range map[Source]string{
		SourceNone:   "unseeded",
		SourceRDSEED: "RDSEED+ChaCha8",
		SourceRDRAND: "RDRAND+ChaCha8",
		SourceClocks: "TSC+RTC+ChaCha8 (no RDSEED or RDRAND)",
	} {
		if s.String() != want {
			t.Errorf("Source(%d) = %q, want %q", s, s.String(), want)
		}
	}
}

func TestReadAllocatesNothing(t *testing.T) {
	p := make([]byte, 3*outLen)
	if n := testing.AllocsPerRun(20, func() { Read(p) }); n != 0 {
		t.Errorf("Read allocates %v times per call", n)
	}
}
