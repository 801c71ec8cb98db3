package sysref

// Finding records for the shell, above the runtime: one by its sysid
// (Find), or all of them (Walk).

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"unsafe"

	"gofly/lwkt"
)

// Info describes one record for `sysref show`.
type Info struct {
	Entry
	Class   string // the class's name
	Owner   int    // the CPU whose tree indexes it
	Summary string // the class's own description; empty unless the record was active
}

// ParseSysid reads a sysid written in hex (0x…) or decimal.
func ParseSysid(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 0, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("sysref: %q is not a sysid (a non-zero 64-bit number, hex 0x… or decimal)", s)
	}
	return id, nil
}

// Find returns the record with sysid id, whatever its state. For an
// active record it takes a reference while the class's Summary runs.
func Find(id uint64) (Info, error) {
	owner := Owner(id)
	if owner < 0 || lwkt.OnlineMask()&(1<<owner) == 0 {
		return Info{}, fmt.Errorf("sysref: no resource has sysid %#x (no online CPU %d owns it)", id, owner)
	}
	a := &ListArgs{CPU: owner, From: id}
	if lwkt.TrapCall(ListCall, uintptr(unsafe.Pointer(a))) == 0 {
		return Info{}, errors.New("sysref: listing: argument block not accessible")
	}
	if a.N == 0 || a.Out[0].Sysid != id {
		return Info{}, fmt.Errorf("sysref: no resource has sysid %#x (cpu %d's tree does not index it)", id, owner)
	}
	info := Info{Entry: a.Out[0], Owner: owner, Class: "?"}
	c := classAt(info.Entry.Class)
	if c == nil {
		return info, fmt.Errorf("sysref: sysid %#x: record names no registered class (%#x)", id, info.Entry.Class)
	}
	info.Class = c.name
	if info.State != Active || c.summary == nil {
		return info, nil
	}
	obj := lwkt.TrapCall(LookupCall, uintptr(id))
	if obj == 0 {
		info.Summary = "(no longer active)"
		return info, nil
	}
	info.Summary = c.summary(obj)
	lwkt.TrapCall(PutCall, obj)
	return info, nil
}

// Walk calls fn on every record of every online CPU's tree, in CPU then
// sysid order, until fn returns false. Each batch is copied on the
// owning CPU in one critical section (ListCall), so fn sees a recent,
// per-batch view.
func Walk(fn func(Entry) bool) error {
	a := new(ListArgs)
	for m := lwkt.OnlineMask(); m != 0; m &= m - 1 {
		a.CPU, a.From = bits.TrailingZeros64(m), 0
		for {
			if lwkt.TrapCall(ListCall, uintptr(unsafe.Pointer(a))) == 0 {
				return errors.New("sysref: listing: argument block not accessible")
			}
			for _, e := range a.Out[:a.N] {
				if !fn(e) {
					return nil
				}
			}
			if a.N < ListBatch {
				break
			}
			a.From = a.Out[a.N-1].Sysid + 1
		}
	}
	return nil
}
