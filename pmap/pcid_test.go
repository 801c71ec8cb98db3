package pmap

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gofly/mm"
)

// The PCID protocol (pcid_nosplit.go) cannot be seen working under QEMU's
// TCG, which has no PCIDs, so it is checked here against a model of the
// hardware: per CPU, a TLB whose entries are tagged with the PCID current
// when they were made, used only under that PCID, kept by a CR3 load with
// bit 63 and dropped (that PCID's only) by one without, by INVLPG (the
// current PCID's entry for one page) and by the shootdown IPI. CPUs switch
// address spaces, touch pages, and invalidate user and kernel pages in two
// steps each, interleaved at random with the others' steps, as the real
// ones run in parallel:
//
//   - a switch: leave the old map and join the new one's Active set; then,
//     with interrupts still off, Load and the CR3 write (an IPI that came
//     meanwhile is taken after it);
//   - an invalidation: change the page table entry, INVLPG on this CPU and
//     flush's bookkeeping; then read Active and shoot those CPUs down
//     (kernel pages: every other CPU), which completes it.
//
// The check: a CPU never uses a translation of another address space, nor
// one that a completed invalidation replaced. The model calls the real
// Activate, Deactivate, Active, Load and flush; only the TLB and the IPIs
// are simulated.

type simEntry struct {
	space *simSpace
	v     uint64 // the version of the page's entry it was made from
}

type simPage struct {
	v       uint64 // current version (each change makes a new one)
	present bool
	done    uint64 // the newest version whose invalidation has completed
}

type simSpace struct {
	p     *Pmap // nil: the kernel's half
	pages map[uint64]*simPage
}

type simCPU struct {
	pcid      uint64
	cur       *simSpace // nil: the kernel's root (tag 0)
	switching *simSpace // joined, not yet loaded
	ipi       bool      // a shootdown waiting for the load
	tlb       map[uint64]map[uint64]simEntry
}

type simInval struct {
	cpu   int
	space *simSpace
	page  uint64
	v     uint64
}

type pcidSim struct {
	t       *testing.T
	rng     *rand.Rand
	cpus    []*simCPU
	spaces  []*simSpace
	kernel  *simSpace
	pending []simInval
	version uint64
	broken  string // "": the real protocol; else the step it leaves out
	stale   string // the first stale use seen
}

const (
	simUserPages   = 6
	simKernelPages = 4
	simKernelBase  = 1000
)

func (s *pcidSim) newSpace() *simSpace {
	sp := &simSpace{p: &Pmap{user: true, root: uint64(len(s.spaces)+1) << 12}, pages: map[uint64]*simPage{}}
	sp.p.id = nextID.Add(1)
	for i := uint64(0); i < simUserPages; i++ {
		s.version++
		sp.pages[i] = &simPage{v: s.version, present: true}
	}
	return sp
}

// flushTag drops every entry of c's current tag.
func (c *simCPU) flushTag() { c.tlb[c.pcid] = map[uint64]simEntry{} }

// shootdown is the IPI's work (FlushTLB) on CPU i.
func (s *pcidSim) shootdown(i int) {
	c := s.cpus[i]
	if c.switching != nil {
		c.ipi = true
		return
	}
	c.flushTag()
	if s.broken != "forget" {
		cpus[i].forget()
	}
}

func (s *pcidSim) access(i int) {
	c := s.cpus[i]
	if c.switching != nil {
		return
	}
	sp, page := s.kernel, simKernelBase+uint64(s.rng.IntN(simKernelPages))
	if c.cur != nil && s.rng.IntN(2) == 0 {
		sp, page = c.cur, uint64(s.rng.IntN(simUserPages))
	}
	pg := sp.pages[page]
	if e, ok := c.tlb[c.pcid][page]; ok {
		if e.space != sp || e.v < pg.done {
			if s.stale == "" {
				s.stale = fmt.Sprintf("cpu %d, tag %d, page %d: a translation of version %d (space %p) where the space %p has %d, invalidated up to %d",
					i, c.pcid, page, e.v, e.space, sp, pg.v, pg.done)
			}
		}
		return
	}
	if pg.present {
		c.tlb[c.pcid][page] = simEntry{sp, pg.v}
	}
}

func (s *pcidSim) startSwitch(i int, to *simSpace) {
	c := s.cpus[i]
	if c.switching != nil || c.cur == to {
		return
	}
	if c.cur != nil {
		c.cur.p.Deactivate(i)
	}
	to.p.Activate(i)
	c.switching = to
}

func (s *pcidSim) finishSwitch(i int) {
	c := s.cpus[i]
	to := c.switching
	if to == nil {
		return
	}
	to.p.Deactivate(i) // Load joins again: the real call does both
	cr3 := to.p.Load(i)
	if CR3(cr3)&^pcidMask != to.p.root {
		s.t.Fatalf("Load returned %#x for root %#x", cr3, to.p.root)
	}
	c.pcid, c.cur, c.switching = cr3&pcidMask, to, nil
	if c.pcid == 0 || c.pcid > nTags {
		s.t.Fatalf("Load handed out tag %d", c.pcid)
	}
	if cr3&noFlush == 0 {
		c.flushTag()
	}
	if c.ipi {
		c.ipi = false
		s.shootdown(i)
	}
}

// unload is vm.Map.Destroy's unloadMap on CPU i: the kernel's root, tag 0.
func (s *pcidSim) unload(i int, sp *simSpace) {
	c := s.cpus[i]
	if c.cur != sp {
		return
	}
	sp.p.Deactivate(i)
	c.cur, c.pcid = nil, 0
	c.flushTag()
}

func (s *pcidSim) invalidate(i int, sp *simSpace, page uint64) {
	c := s.cpus[i]
	if c.switching != nil {
		return
	}
	pg := sp.pages[page]
	s.version++
	pg.v, pg.present = s.version, s.rng.IntN(3) != 0
	delete(c.tlb[c.pcid], page) // INVLPG
	if sp.p == nil {
		if s.broken != "forget" {
			cpus[i].forget()
		}
	} else if s.broken != "gen" {
		sp.p.flush(uintptr(page) << 12)
	}
	s.pending = append(s.pending, simInval{i, sp, page, pg.v})
}

func (s *pcidSim) complete(k int) {
	in := s.pending[k]
	s.pending = append(s.pending[:k], s.pending[k+1:]...)
	var mask uint64
	if in.space.p == nil {
		mask = 1<<len(s.cpus) - 1
	} else {
		mask = in.space.p.Active()
	}
	mask &^= 1 << in.cpu
	for j := range s.cpus {
		if mask&(1<<j) != 0 {
			s.shootdown(j)
		}
	}
	if pg := in.space.pages[in.page]; in.v > pg.done {
		pg.done = in.v
	}
}

// run plays steps random steps and returns the stale use it saw, if any,
// and how many loads kept their translations and how many flushed.
func runPCIDSim(t *testing.T, seed uint64, broken string, steps int) (stale string, kept, flushed uint64) {
	saved := PCIDs
	PCIDs = true
	cpus = [len(cpus)]cpuTags{}
	defer func() { PCIDs, cpus = saved, [len(cpus)]cpuTags{} }()
	s := &pcidSim{t: t, rng: rand.New(rand.NewPCG(seed, 7)), broken: broken}
	s.kernel = &simSpace{pages: map[uint64]*simPage{}}
	for i := uint64(0); i < simKernelPages; i++ {
		s.version++
		s.kernel.pages[simKernelBase+i] = &simPage{v: s.version, present: true}
	}
	for range 4 {
		s.cpus = append(s.cpus, &simCPU{tlb: map[uint64]map[uint64]simEntry{0: {}}})
	}
	// More live spaces than a CPU has tags: tags are taken back.
	for range nTags + 4 {
		s.spaces = append(s.spaces, s.newSpace())
	}
	for range steps {
		i := s.rng.IntN(len(s.cpus))
		switch r := s.rng.IntN(1000); {
		case r < 500:
			s.access(i)
		case r < 630:
			s.startSwitch(i, s.spaces[s.rng.IntN(len(s.spaces))])
		case r < 760:
			s.finishSwitch(i)
		case r < 810:
			sp := s.spaces[s.rng.IntN(len(s.spaces))]
			s.invalidate(i, sp, uint64(s.rng.IntN(simUserPages)))
		case r < 815:
			s.invalidate(i, s.kernel, simKernelBase+uint64(s.rng.IntN(simKernelPages)))
		case r < 995:
			if len(s.pending) > 0 {
				s.complete(s.rng.IntN(len(s.pending)))
			}
		default:
			// A process ends: no thread runs in its space (none is
			// switching to it), its invalidations are done, every CPU
			// that holds it loads the kernel's root; a new one comes.
			k := s.rng.IntN(len(s.spaces))
			sp := s.spaces[k]
			busy := false
			for _, c := range s.cpus {
				busy = busy || c.switching == sp
			}
			for _, in := range s.pending {
				busy = busy || in.space == sp
			}
			if busy {
				continue
			}
			for j := range s.cpus {
				s.unload(j, sp)
			}
			s.spaces[k] = s.newSpace()
		}
		if s.stale != "" {
			break
		}
	}
	kept, flushed = PCIDStats()
	return s.stale, kept, flushed
}

// TestPCIDProtocol: no CPU ever uses a stale translation, and loads do
// keep their tags' translations (a protocol that always flushed would be
// safe and pointless).
func TestPCIDProtocol(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		stale, kept, flushed := runPCIDSim(t, seed, "", 100_000)
		if stale != "" {
			t.Fatalf("seed %d: stale translation used: %s", seed, stale)
		}
		if kept == 0 || flushed == 0 {
			t.Fatalf("seed %d: %d loads kept their tag, %d flushed: want both", seed, kept, flushed)
		}
		t.Logf("seed %d: %d loads kept their tag's translations, %d flushed", seed, kept, flushed)
	}
}

// TestPCIDProtocolCatchesOmissions: the model sees the stale use that
// leaving out either half of the protocol allows.
func TestPCIDProtocolCatchesOmissions(t *testing.T) {
	for _, broken := range []string{"gen", "forget"} {
		found := false
		for seed := uint64(1); seed <= 8 && !found; seed++ {
			stale, _, _ := runPCIDSim(t, seed, broken, 100_000)
			found = stale != ""
		}
		if !found {
			t.Errorf("without %q, no stale use seen: the model cannot fail", broken)
		}
	}
}

// TestInvalidationsBumpGeneration ties the model to the page-table code:
// every lowering of a user leaf (Remove, Protect, Enter over a present
// page) bumps the pmap's generation; raising its rights (Upgrade) does
// not need to.
func TestInvalidationsBumpGeneration(t *testing.T) {
	k, _ := newPmap(t)
	u := new(Pmap)
	u.InitUser(frame(t), k)
	if u.id == 0 {
		t.Fatal("InitUser gave no id")
	}
	const va = 0x40_0000
	step := func(what string, f func(), bump bool) {
		t.Helper()
		g := u.gen.Load()
		f()
		if got := u.gen.Load() != g; got != bump {
			t.Fatalf("%s: generation bumped %v, want %v", what, got, bump)
		}
	}
	step("Enter of an absent page", func() { u.Enter(va, frame(t), User|Writable) }, false)
	step("Protect to read-only", func() { u.Protect(va, va+pageSize, User) }, true)
	step("Enter over a present page", func() { u.Enter(va, frame(t), User|Writable) }, true)
	step("Remove", func() { u.Remove(va, va+pageSize) }, true)
	// A table left empty with no leaf removed from it (as an EnterPV that
	// ran out of memory after making it leaves one) is flushed when pruned.
	step("Enter of an absent page", func() { u.Enter(va, frame(t), User|Writable) }, false)
	e, _ := u.walk(va, 0)
	pa := *e & addrMask
	*e = 0
	u.resident--
	mm.Phys.Free(pa)
	tables := u.Tables()
	step("prune of a table with no leaf", func() { u.prune(va, va+pageSize) }, true)
	if u.Tables() >= tables {
		t.Fatalf("prune left %d tables of %d", u.Tables(), tables)
	}
	v := new(Pmap)
	v.InitUser(frame(t), k)
	if v.id == u.id {
		t.Fatalf("two pmaps share id %d", v.id)
	}
	u.Destroy()
	v.Destroy()
}
