package sysref

// Sysids: 64-bit ids, unique across CPUs, within a boot and across
// reboots, never reused. The scheme is the one in Dillon's syslink/sysreg
// mail (shared/seeds/002): "each cpu just initializes a 64 bit sysid to a
// shifted timestamp on boot, and then increments it by <ncpus>".
// DragonFly's code (init_main.c mi_gdinit, kern_sysref.c sysref_ctor)
// seeds with the CPU number only and reuses ids; Gofly follows the mail.
//
// Layout. Let B = CPUBits (8, fixed: it does not depend on how many CPUs
// this boot has) and F = Fit (ncpus rounded up to a power of two, F <= 2^B):
//
//	seed(cpu)        = stamp<<B | cpu          stamp: boot time in µs since
//	id_k(cpu)        = seed(cpu) + k·F           the Unix epoch, 0 < stamp < 2^56
//	id & (F-1)       = cpu                     (the owning CPU: Owner)
//
// Why ids are unique:
//   - across CPUs of one boot: id ≡ cpu (mod F), since stamp<<B and k·F
//     are multiples of F; different CPUs, different residues.
//   - within one CPU: id_k grows strictly with k. It cannot wrap in
//     practice (Alloc throws if it would): a 2026 stamp is about 2^50.7
//     µs, so ids start near 2^58.7 and a CPU has about 2^64/F ids left —
//     with F = 8, over 700 years at 10^8 ids a second.
//   - across reboots: boot N's ids all lie in [stamp_N·2^B,
//     stamp_N·2^B + K_N·F + F), where K_N is the most ids any one CPU
//     made; boot N+1's all lie at or above stamp_{N+1}·2^B. They are
//     disjoint as long as the boot timestamp advances by more than
//     (K_N+1)·F/2^B µs — with F <= 2^B, it suffices that no CPU made, on
//     average, more than one id per µs between the two boots' seeds
//     (an allocation costs far more than 1 µs/(2^B/F)). B is fixed, not
//     log2(F), so the argument holds when ncpus changes between boots.
//   - never reused: a record takes a fresh id on every allocation.
//
// Per-CPU state, no lock, no atomic: each CPU's counter is read and
// written only by that CPU inside its critical section; the caller passes
// the CPU index. Counters sit on separate cache lines. F is the one
// shared word: written once by Boot, after the counters, and read
// atomically, so a caller that finds it set finds them seeded.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/fatal"
)

// CPUBits is the width of the id field below the timestamp (B above).
const CPUBits = 8

// The id layout must have room for every CPU the kernel can run.
var _ [1<<CPUBits - amd64.MaxCPUs]byte

// StampLimit bounds a boot stamp: stamp<<CPUBits must fit in 64 bits.
const StampLimit = 1 << (64 - CPUBits)

// cpuSysid is one CPU's counter, alone on its cache line.
type cpuSysid struct {
	next uint64 // the id Alloc returns next; protected by that CPU's critical section
	_    [56]byte
}

// Sysids is the generator: Boot seeds it once, before any CPU allocates;
// then each CPU calls Alloc with its own index.
type Sysids struct {
	fit atomic.Uint64 // F: ncpus rounded up to a power of two; set last by Boot
	cpu [amd64.MaxCPUs]cpuSysid
}

// Boot seeds every CPU's counter from stamp (µs since the Unix epoch, the
// boot's wall clock) for a machine of ncpus CPUs. Run once per boot, on
// one CPU, before any Alloc.
//
//go:nosplit
func (s *Sysids) Boot(stamp uint64, ncpus int) {
	if ncpus < 1 || ncpus > amd64.MaxCPUs {
		fatal.Throw("sysref: Sysids.Boot: ncpus out of range")
	}
	if stamp == 0 || stamp >= StampLimit {
		fatal.Throw("sysref: Sysids.Boot: boot stamp out of range")
	}
	fit := uint64(1)
	for fit < uint64(ncpus) {
		fit <<= 1
	}
	for c := range s.cpu {
		s.cpu[c].next = stamp<<CPUBits | uint64(c)
	}
	// fit last: the kernel boots sysids from Go code, which a tick may
	// interrupt on this CPU; a clone in between sees fit 0 ("not yet":
	// no record) rather than unseeded counters.
	s.fit.Store(fit)
}

// Alloc returns a new id made by CPU cpu. The caller runs on cpu inside
// its critical section (host tests: one goroutine per simulated CPU).
//
//go:nosplit
func (s *Sysids) Alloc(cpu int) uint64 {
	fit := s.fit.Load()
	if uint64(cpu) >= fit || cpu >= len(s.cpu) {
		fatal.Throw("sysref: Sysids.Alloc: cpu out of range or not booted")
	}
	c := &s.cpu[cpu]
	id := c.next
	if id+fit < id {
		fatal.Throw("sysref: Sysids.Alloc: sysid space exhausted")
	}
	c.next = id + fit
	return id
}

// Owner returns the CPU that made id in this boot, whose tree indexes it.
//
//go:nosplit
func (s *Sysids) Owner(id uint64) int { return int(id & (s.fit.Load() - 1)) }

// Fit returns F, the step between one CPU's successive ids.
//
//go:nosplit
func (s *Sysids) Fit() uint64 { return s.fit.Load() }
