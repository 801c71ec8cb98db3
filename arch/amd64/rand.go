package amd64

// The hardware random-number instructions (Intel SDM vol. 2, RDRAND and
// RDSEED), implemented in rand_amd64.s, and the CPUID bits that say they
// exist. Executing either where CPUID denies it raises #UD, so callers ask
// first.

// Rdrand returns 64 bits from the CPU's DRBG. ok is false when every try
// came back empty (CF=0), which Intel's DRNG guide (5.2.1) takes for a
// broken DRNG rather than a busy one.
func Rdrand() (v uint64, ok bool)

// Rdseed returns 64 bits straight from the CPU's conditioned entropy
// source, fit to seed a generator. It runs dry under load, so ok = false
// only after many tries.
func Rdseed() (v uint64, ok bool)

// HasRdrand reports CPUID.01H:ECX.RDRAND[bit 30].
//
//go:nosplit
func HasRdrand() bool {
	_, _, c, _ := Cpuid(1, 0)
	return c&(1<<30) != 0
}

// HasRdseed reports CPUID.(EAX=07H,ECX=0):EBX.RDSEED[bit 18]; leaf 7 must
// exist, or CPUID answers from another leaf.
//
//go:nosplit
func HasRdseed() bool {
	if max, _, _, _ := Cpuid(0, 0); max < 7 {
		return false
	}
	_, b, _, _ := Cpuid(7, 0)
	return b&(1<<18) != 0
}
