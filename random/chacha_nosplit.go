package random

// The ChaCha block function (RFC 8439, section 2.3) with a variable round
// count: nosplit, called from trap context.

// The state's first row: "expand 32-byte k".
const (
	sigma0 = 0x61707865
	sigma1 = 0x3320646e
	sigma2 = 0x79622d32
	sigma3 = 0x6b206574
)

// block writes the ChaCha block for key, block counter and nonce after
// rounds rounds (an even number: a column round and a diagonal round per
// pass) to out, as RFC 8439's serialised little-endian words.
//
//go:nosplit
func block(out *[64]byte, key *[8]uint32, counter uint32, nonce *[3]uint32, rounds int) {
	x := [16]uint32{
		sigma0, sigma1, sigma2, sigma3,
		key[0], key[1], key[2], key[3],
		key[4], key[5], key[6], key[7],
		counter, nonce[0], nonce[1], nonce[2],
	}
	for i := 0; i < rounds; i += 2 {
		x[0], x[4], x[8], x[12] = qr(x[0], x[4], x[8], x[12])
		x[1], x[5], x[9], x[13] = qr(x[1], x[5], x[9], x[13])
		x[2], x[6], x[10], x[14] = qr(x[2], x[6], x[10], x[14])
		x[3], x[7], x[11], x[15] = qr(x[3], x[7], x[11], x[15])
		x[0], x[5], x[10], x[15] = qr(x[0], x[5], x[10], x[15])
		x[1], x[6], x[11], x[12] = qr(x[1], x[6], x[11], x[12])
		x[2], x[7], x[8], x[13] = qr(x[2], x[7], x[8], x[13])
		x[3], x[4], x[9], x[14] = qr(x[3], x[4], x[9], x[14])
	}
	// Add the input back in, from its sources rather than a copy of the
	// state: the boot path that fills AT_RANDOM runs close to the nosplit
	// stack limit.
	x[0] += sigma0
	x[1] += sigma1
	x[2] += sigma2
	x[3] += sigma3
	for i, k := range key {
		x[4+i] += k
	}
	x[12] += counter
	for i, n := range nonce {
		x[13+i] += n
	}
	for i, v := range x {
		out[4*i] = byte(v)
		out[4*i+1] = byte(v >> 8)
		out[4*i+2] = byte(v >> 16)
		out[4*i+3] = byte(v >> 24)
	}
}

// qr is the ChaCha quarter round (RFC 8439, section 2.1).
//
//go:nosplit
func qr(a, b, c, d uint32) (uint32, uint32, uint32, uint32) {
	a += b
	d ^= a
	d = d<<16 | d>>16
	c += d
	b ^= c
	b = b<<12 | b>>20
	a += b
	d ^= a
	d = d<<8 | d>>24
	c += d
	b ^= c
	b = b<<7 | b>>25
	return a, b, c, d
}
