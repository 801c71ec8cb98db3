package sysref

// The reference-count state machine of a record: one 64-bit atomic word
// holding a state (top byte) and a count (low 56 bits), so every
// transition is a single compare-and-swap and no lock is needed.
//
// It follows DragonFly's sys/sys/sysref2.h and kern/kern_sysref.c
// (sysref_alloc, sysref_activate, sysref_get, sysref_put, _sysref_put),
// where one signed refcnt encodes the phases (0 cached, -0x40000000+k
// building or terminating, >0 active). Here the phases are named states,
// and one is added: Dead, the window between the last put and the
// owning CPU removing the record from its tree (which may arrive by
// passive IPI), during which the record must not be recycled.
//
//	from         call       count n     to            Put returns
//	Free         Alloc                  Building, 1
//	Building     Get        n           Building, n+1
//	Building     Put        n > 1       Building, n-1  PutHeld
//	Building     Put        1           Dead, 0        PutLast (never activated: no terminate)
//	Building     Activate   n           Active, n
//	Active       Get/TryGet n           Active, n+1
//	Active       Put        n > 1       Active, n-1    PutHeld
//	Active       Put        1           Terminating, 1 PutTerminate
//	Terminating  Get        n           Terminating, n+1
//	Terminating  Put        n > 1       Terminating, n-1 PutHeld
//	Terminating  Put        1           Dead, 0        PutLast
//	Terminating  Activate   n           Active, n      (revival)
//	Dead         Release    0           Free, 0
//
// TryGet fails in every state but Active; anything not listed throws.
//
// Counts: in Building the allocator holds one reference (the base), in
// Terminating the terminate handler does: it inherits the last active
// reference. Others may Get temporary references in both (DragonFly's
// "temporary ref" in the negative phase); they never make the record
// visible again. Whoever drops the count to zero in Building or
// Terminating — base holder or temporary holder, whichever is last —
// gets PutLast and must unindex the record and Release it.
//
// Rules (ref-*, quoted by ref_test.go):
//   - ref-lookup: TryGet succeeds only in Active, so a lookup never
//     returns a record being built, terminated or freed.
//   - ref-terminate-once: the Active→Terminating step is one CAS from
//     (Active, 1), so exactly one Put per activation returns PutTerminate.
//   - ref-no-resurrection: Get, Put and Activate on a Free or Dead record
//     throw; only Activate leaves Building or Terminating for Active.
//   - ref-free-once: exactly one Put per allocation returns PutLast, and
//     Release (Dead→Free) happens once, after the record left its tree.

import (
	"sync/atomic"

	"gofly/fatal"
)

// State is a record's phase.
type State uint8

const (
	Free        State = iota // in the cache, not indexed; refs refused
	Building                 // allocated and indexed, invisible to lookup
	Active                   // visible to lookup; count >= 1
	Terminating              // last active ref gone; terminate runs
	Dead                     // count 0; waiting to leave its tree
)

const (
	stateShift = 56
	countMask  = 1<<stateShift - 1
)

// word packs a state and a count.
//
//go:nosplit
func word(s State, n uint64) uint64 { return uint64(s)<<stateShift | n }

// PutResult says what the caller of Put must do next.
type PutResult uint8

const (
	PutHeld      PutResult = iota // others still hold references: nothing
	PutTerminate                  // run the class's terminate; the caller now holds the base ref
	PutLast                       // the record is Dead: unindex it on its owner, then Release
)

// Ref is a record's reference word. The zero value is Free with no refs.
type Ref struct {
	w atomic.Uint64
}

// Load returns the state and count as one snapshot.
//
//go:nosplit
func (r *Ref) Load() (State, uint64) {
	w := r.w.Load()
	return State(w >> stateShift), w & countMask
}

// Alloc moves a Free record to Building with the allocator's base ref.
//
//go:nosplit
func (r *Ref) Alloc() {
	if !r.w.CompareAndSwap(word(Free, 0), word(Building, 1)) {
		fatal.Throw("sysref: Ref.Alloc: record not free")
	}
}

// Activate makes a Building record visible, or revives a Terminating one
// (DragonFly's vget of a cached vnode); references held are kept.
//
//go:nosplit
func (r *Ref) Activate() {
	for {
		w := r.w.Load()
		s, n := State(w>>stateShift), w&countMask
		if (s != Building && s != Terminating) || n == 0 {
			fatal.Throw("sysref: Ref.Activate: not building or terminating")
		}
		if r.w.CompareAndSwap(w, word(Active, n)) {
			return
		}
	}
}

// Get adds a reference for a caller that already holds one (or is the
// allocator or terminate handler). One atomic add; the old word is then
// checked, so a Get on a Free or Dead record throws.
//
//go:nosplit
func (r *Ref) Get() {
	w := r.w.Add(1) - 1
	s, n := State(w>>stateShift), w&countMask
	if s == Free || s >= Dead || n == 0 {
		fatal.Throw("sysref: Ref.Get: no reference held")
	}
	if n+1 > countMask {
		fatal.Throw("sysref: Ref.Get: count overflow")
	}
}

// TryGet adds a reference only if the record is Active: the lookup path,
// for a caller that holds none.
//
//go:nosplit
func (r *Ref) TryGet() bool {
	for {
		w := r.w.Load()
		if State(w>>stateShift) != Active {
			return false
		}
		if r.w.CompareAndSwap(w, w+1) {
			return true
		}
	}
}

// Put drops one reference and reports what the caller must do.
//
//go:nosplit
func (r *Ref) Put() PutResult {
	for {
		w := r.w.Load()
		s, n := State(w>>stateShift), w&countMask
		var nw uint64
		res := PutHeld
		switch {
		case n == 0 || s == Free || s > Terminating:
			fatal.Throw("sysref: Ref.Put: no reference held")
		case n > 1:
			nw = w - 1
		case s == Active:
			nw, res = word(Terminating, 1), PutTerminate
		default: // Building or Terminating, last ref
			nw, res = word(Dead, 0), PutLast
		}
		if r.w.CompareAndSwap(w, nw) {
			return res
		}
	}
}

// Release returns a Dead record, already removed from its tree, to Free.
//
//go:nosplit
func (r *Ref) Release() {
	if !r.w.CompareAndSwap(word(Dead, 0), word(Free, 0)) {
		fatal.Throw("sysref: Ref.Release: record not dead")
	}
}
