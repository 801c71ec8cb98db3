package sysref

// Code in *_nosplit.go runs below the Go runtime (a trap, an IPI handler,
// a critical section on the owning CPU): every function is nosplit, none
// allocates, and records refer to each other by address (uintptr), never
// by Go pointer, so no store needs a write barrier.

import (
	"unsafe"

	"gofly/mm"
)

// Record is the SYSREF record a resource embeds. Its address is the
// handle the tree links and lookups use; the resource lives in memory the
// garbage collector does not scan (frames from mm below the runtime, a
// pinned Go slice in host tests), so the address is stable.
//
// Fields by guard:
//   - left, right, parent, color: the tree of the CPU that owns sysid
//     (Owner), touched only inside that CPU's critical section.
//   - sysid: written only while the record is Free or Building and not
//     indexed; read by the owning CPU's tree code.
//   - ref: atomic (ref_nosplit.go); any CPU.
//   - class: the Class's address, set by Alloc.
type Record struct {
	left, right, parent uintptr // tree links: Record addresses, 0 = none
	color               color   // red or black
	sysid               uint64  // the key; 0 means "no id"
	ref                 Ref     // state and reference count, one atomic word
	class               uintptr // *Class, by address
}

// Sysid returns the record's id (0 before SetSysid).
//
//go:nosplit
func (r *Record) Sysid() uint64 { return r.sysid }

// SetSysid gives a record that is not in any tree its id.
// Precondition: not indexed (left, right, parent zero and not a root).
//
//go:nosplit
func (r *Record) SetSysid(id uint64) { r.sysid = id }

// Ref returns the record's reference word.
//
//go:nosplit
func (r *Record) Ref() *Ref { return &r.ref }

// rec turns a record address into a pointer, through mm's one audited
// conversion; records never move, so the pointer is valid for as long as
// the record is.
//
//go:nosplit
func rec(a uintptr) *Record { return (*Record)(mm.Ptr(uint64(a))) }

// Addr returns the address that stands for r in trees and lookups.
//
//go:nosplit
func Addr(r *Record) uintptr { return uintptr(unsafe.Pointer(r)) }

// At is the inverse of Addr.
//
//go:nosplit
func At(a uintptr) *Record { return rec(a) }
