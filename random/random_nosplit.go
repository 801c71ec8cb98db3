package random

// The generator: nosplit, called from trap context and early boot.

import "gofly/arch/amd64"

const (
	rounds = 8  // ChaCha8
	blocks = 16 // per key, as in chacha8rand
	bufLen = blocks * 64
	keyLen = 32
	outLen = bufLen - keyLen // bytes handed out per key
)

var (
	key    [8]uint32
	buf    [bufLen]byte
	left   int // bytes not yet handed out, at buf[outLen-left:outLen]
	source Source

	nonce [3]uint32 // always zero: every key makes a single stream
)

// Source says what seeded the generator.
type Source uint8

const (
	SourceNone   Source = iota // Init has not run
	SourceRDSEED               // the CPU's entropy source
	SourceRDRAND               // the CPU's DRBG
	SourceClocks               // the TSC and the RTC alone: guessable
)

// String names the source with the generator, for cpuinfo.
func (s Source) String() string {
	switch s {
	case SourceRDSEED:
		return "RDSEED+ChaCha8"
	case SourceRDRAND:
		return "RDRAND+ChaCha8"
	case SourceClocks:
		return "TSC+RTC+ChaCha8 (no RDSEED or RDRAND)"
	}
	return "unseeded"
}

// SeedSource returns what seeded the generator.
func SeedSource() Source { return source }

// Init seeds the generator from the best source the CPU has; rtc is the
// RTC's wall-clock time in nanoseconds.
//
//go:nosplit
func Init(rtc int64) {
	var seed [4]uint64
	switch {
	case amd64.HasRdseed() && fill(&seed, amd64.Rdseed):
		source = SourceRDSEED
	case amd64.HasRdrand() && fill(&seed, amd64.Rdrand):
		source = SourceRDRAND
	default:
		source = SourceClocks
	}
	// The clocks go in whatever the source: they cost nothing and differ
	// from boot to boot.
	seed[0] ^= amd64.Rdtsc()
	seed[1] ^= uint64(rtc)
	setKey(&seed)
}

// fill fills seed from next. It refuses a source that fails or returns
// one value throughout, as some AMD CPUs' RDRAND does after a resume (all
// ones, with CF=1).
//
//go:nosplit
func fill(seed *[4]uint64, next func() (uint64, bool)) bool {
	for i := range seed {
		v, ok := next()
		if !ok {
			return false
		}
		seed[i] = v
	}
	return seed[0] != seed[1] || seed[1] != seed[2] || seed[2] != seed[3]
}

// setKey starts a new keystream under seed, dropping any buffered bytes.
//
//go:nosplit
func setKey(seed *[4]uint64) {
	for i, w := range seed {
		key[2*i], key[2*i+1] = uint32(w), uint32(w>>32)
	}
	clear(buf[:])
	left = 0
}

// Read fills p with random bytes.
//
//go:nosplit
func Read(p []byte) {
	for len(p) > 0 {
		if left == 0 {
			refill()
		}
		at := outLen - left
		n := copy(p, buf[at:outLen])
		clear(buf[at : at+n]) // key-erasure
		left -= n
		p = p[n:]
	}
}

// refill makes the next bufLen bytes of keystream and keys the one after
// with their last keyLen bytes (key-erasure), so the block counter starts
// at 0 under every key.
//
//go:nosplit
func refill() {
	for i := 0; i < blocks; i++ {
		block((*[64]byte)(buf[64*i:]), &key, uint32(i), &nonce, rounds)
	}
	for i := range key {
		b := buf[outLen+4*i:]
		key[i] = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	}
	clear(buf[outLen:])
	left = outLen
}
