package pmap

// Process-context identifiers (Intel SDM vol. 3A, 4.10.1). With CR4.PCIDE
// set, CR3's low twelve bits tag every TLB entry and paging-structure-cache
// entry the CPU makes, the CPU uses only those of the current tag, and a
// CR3 load with bit 63 set keeps the new tag's entries instead of dropping
// them. So a CPU that returns to a process it ran recently finds that
// process's translations still cached — if nothing has made them stale
// meanwhile. That "if" is the whole design:
//
//   - Tags are per CPU: each CPU hands its nTags tags (1..nTags; 0 is the
//     kernel's root) to the address spaces it loads, round robin, and
//     remembers for each the owner's id (never reused: a dead pmap's tag
//     matches no live one) and the owner's generation when it loaded it.
//   - A user pmap's generation (Pmap.gen) is bumped by every invalidation
//     of its leaves (flush), before the invalidator reads Active to pick
//     the CPUs it shoots down. A CPU loading the pmap first joins Active
//     (a locked instruction) and then reads the generation. Either the
//     invalidator saw the CPU in Active (and shoots it down once it runs
//     the pmap: its interrupts are off until the load is done) or the CPU
//     sees the new generation and loads with a flush. A CPU that keeps
//     the tag but no longer runs the pmap gets no IPI and needs none.
//   - The kernel's half is in every root and not global (CR4.PGE is off),
//     so its entries are cached under every tag a CPU uses, but INVLPG
//     and a CR3 reload drop only the current tag's. A CPU that flushes
//     kernel translations (flush of the kernel's pmap, the shootdown IPI,
//     DropLow) therefore forgets all its tags: each is flushed at its next
//     load.
//   - A tag is reused only by a load that flushes it, so a dead pmap's
//     entries (and its freed tables' paging-structure entries) go before
//     its tag means anything again.
//
// Without PCIDs (QEMU's TCG has none) Load returns the bare root and every
// load flushes, as before.

import (
	"sync/atomic"

	"gofly/arch/amd64"
	"gofly/fatal"
)

// nTags is how many tags each CPU hands out: Linux keeps 6 per CPU, and a
// linear search of 16 costs less than the TLB refill one saves.
const nTags = 16

// noFlush is CR3's bit 63: keep the loaded tag's translations.
const noFlush = 1 << 63

// pcidMask is CR3's tag field.
const pcidMask = 0xFFF

// PCIDs says whether CR4.PCIDE is on. Set by the boot CPU before any other
// starts (every CPU then turns PCIDE on: the kernel's setupCPU); read-only
// after.
var PCIDs bool

// nextID numbers user pmaps (InitUser) for the tags: never 0, never reused.
var nextID atomic.Uint64

// tag is one PCID's last owner on a CPU, and the owner's generation when
// the CPU last loaded it with a flush or found it current.
type tag struct {
	id, gen uint64
}

// cpuTags is one CPU's PCIDs. Only that CPU touches it, with interrupts
// off (Load from the trap path, forget from a flush).
type cpuTags struct {
	tags [nTags]tag
	hand uint32 // the next tag to hand out when no owner matches

	// Loads that kept the tag's translations and loads that flushed them
	// (statistics: read racily by PCIDStats).
	kept, flushed uint64
}

var cpus [amd64.MaxCPUs]cpuTags

// load returns the CR3 value that makes p current on the CPU t belongs to,
// with noFlush when the tag it holds for p is as current as p's generation
// (read after the caller joined p's Active set).
//
//go:nosplit
func (t *cpuTags) load(p *Pmap) uint64 {
	fatal.Assert(p.id != 0, "pmap: pcid: a load of a pmap with no id (the kernel's, or not InitUser's)")
	g := p.gen.Load()
	k := -1
	for i := range t.tags {
		if t.tags[i].id == p.id {
			k = i
			break
		}
	}
	if k >= 0 && t.tags[k].gen == g {
		t.kept++
		return p.root | uint64(k+1) | noFlush
	}
	if k < 0 {
		k = int(t.hand % nTags)
		t.hand++
	}
	t.tags[k] = tag{p.id, g}
	t.flushed++
	return p.root | uint64(k+1)
}

// forget drops every tag's owner: each is flushed at its next load.
//
//go:nosplit
func (t *cpuTags) forget() {
	for i := range t.tags {
		t.tags[i].id = 0
	}
}

// Load joins this CPU (cpu, interrupts off) to p's Active set and returns
// the CR3 value that makes p current: its root, and with PCIDs the tag
// this CPU keeps for p, with bit 63 set when the tag's translations are
// still good. The caller loads it before it next returns to ring 3.
//
//go:nosplit
func (p *Pmap) Load(cpu int) uint64 {
	p.Activate(cpu)
	if !PCIDs {
		return p.root
	}
	return cpus[uint(cpu)%amd64.MaxCPUs].load(p)
}

// CR3 returns what CR3 holds once v, a value Load returned, is loaded:
// bit 63 is not kept.
//
//go:nosplit
func CR3(v uint64) uint64 { return v &^ noFlush }

// FlushTLB drops every translation of this CPU's current tag and forgets
// its other tags: the shootdown IPI's work, for the kernel's half (which
// every tag caches) as for a process's.
//
//go:nosplit
func FlushTLB() {
	amd64.WriteCR3(amd64.ReadCR3())
	forgetTags()
}

// forgetTags makes every tag of this CPU flush at its next load, after the
// CPU dropped kernel translations from its current tag only.
//
//go:nosplit
func forgetTags() {
	if PCIDs {
		cpus[cpuIndex()].forget()
	}
}

// PCIDStats returns how many loads, over all CPUs, kept their tag's
// translations and how many flushed them (0, 0 without PCIDs).
func PCIDStats() (kept, flushed uint64) {
	for i := range cpus {
		kept += atomic.LoadUint64(&cpus[i].kept)
		flushed += atomic.LoadUint64(&cpus[i].flushed)
	}
	return kept, flushed
}

// flush drops p's translation of va from this CPU's TLB after its leaf
// was removed or its rights lowered, and makes the CPUs that cache p under
// a tag they no longer run flush at their next load (p.gen; the CPUs
// running it get the shootdown the caller asks for). For the kernel's
// pmap, the CPU's other tags are forgotten. INVLPG only where p.invlpg
// (not on the host); the bookkeeping always.
//
//go:nosplit
func (p *Pmap) flush(va uintptr) {
	if p.invlpg {
		amd64.Invlpg(va)
	}
	if p.user {
		p.gen.Add(1)
	} else {
		forgetTags()
	}
}
