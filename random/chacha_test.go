package random

import (
	"encoding/hex"
	"testing"
)

// rfcKey is the key 00:01:...:1f of RFC 8439's test vectors.
func rfcKey() *[8]uint32 {
	var k [8]uint32
	for i := range k {
		b := byte(4 * i)
		k[i] = uint32(b) | uint32(b+1)<<8 | uint32(b+2)<<16 | uint32(b+3)<<24
	}
	return &k
}

func TestQuarterRoundRFC8439(t *testing.T) {
	// RFC 8439, section 2.1.1.
	a, b, c, d := qr(0x11111111, 0x01020304, 0x9b8d6f43, 0x01234567)
	if a != 0xea2a92f4 || b != 0xcb1cf8ce || c != 0x4581472e || d != 0x5881c4bb {
		t.Errorf("qr = %#x %#x %#x %#x, want 0xea2a92f4 0xcb1cf8ce 0x4581472e 0x5881c4bb", a, b, c, d)
	}
}

// The core is the standard ChaCha block function: with 20 rounds it
// gives RFC 8439's block.
func TestBlockChaCha20RFC8439(t *testing.T) {
	// RFC 8439, section 2.3.2: nonce 00:00:00:09:00:00:00:4a:00:00:00:00,
	// block count 1.
	const want = "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
		"d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
	nonce := [3]uint32{0x09000000, 0x4a000000, 0}
	var out [64]byte
	block(&out, rfcKey(), 1, &nonce, 20)
	if got := hex.EncodeToString(out[:]); got != want {
		t.Errorf("ChaCha20 block:\n got %s\nwant %s", got, want)
	}
}

// With 8 rounds it is ChaCha8 as Go's runtime runs it. The expected block
// came from Go 1.26's internal/chacha8rand block_generic for seed 00..1f,
// counter 0 (its first interleaved block), with the feed-forward of words
// 0-3 and 12, which chacha8rand skips, added back.
func TestBlockChaCha8(t *testing.T) {
	const want = "4015b28f6e12ab6ad9e8667b31c51233f78f172790b2d94f326b2ed7ffbcbecb" +
		"ff9ead365f89ce3b6f4055bc759d90fd8f831d27c7b0df93b3b9ed8238a256d6"
	var zero [3]uint32
	var out [64]byte
	block(&out, rfcKey(), 0, &zero, rounds)
	if got := hex.EncodeToString(out[:]); got != want {
		t.Errorf("ChaCha8 block:\n got %s\nwant %s", got, want)
	}
}
