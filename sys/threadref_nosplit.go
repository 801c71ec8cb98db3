package sys

// Threads as SYSREF resources: each thread's identity — its sysid, tid
// and scheduler slot — is a record of the thread class, from the class's
// object cache. Nosplit, trap context, MP lock held.

import (
	"gofly/lwkt"
	"gofly/mm"
	"gofly/sysref"
)

// threadRec is the thread class's resource.
type threadRec struct {
	sysref.Record
	tid  int32 // the thread's Linux tid
	slot int32 // its lwkt slot while it lives
}

//go:nosplit
func trec(a uintptr) *threadRec { return (*threadRec)(mm.Ptr(uint64(a))) }

// newRecord takes a thread record, Building (invisible), or reports
// false when the class's cache has none (mm out of memory). Before sysids
// are seeded (early boot) it gives 0 and true: AttachRecords covers the
// threads made then.
//
//go:nosplit
func newRecord() (uintptr, bool) {
	if sysref.Fit() == 0 {
		return 0, true
	}
	obj := sysref.Alloc(&threadClass)
	return obj, obj != 0
}

// bindRecord makes obj (from newRecord; 0: none) the record of the live
// thread in slot and activates it, with one reference: the thread's own,
// dropped when it exits.
//
//go:nosplit
func bindRecord(obj uintptr, slot int32) {
	if obj == 0 {
		return
	}
	t := lwkt.Get(slot)
	r := trec(obj)
	r.tid, r.slot = t.ID, slot
	t.Sysref, t.SysID = obj, r.Sysid()
	sysref.Activate(obj)
}

// detachRecord drops the current thread's reference to its record as it
// exits; a lookup may hold the record a while longer.
//
//go:nosplit
func detachRecord() {
	t := lwkt.CurrentThread()
	if obj := t.Sysref; obj != 0 {
		t.Sysref = 0
		sysref.Put(obj)
	}
}

// attachAll gives every live thread that has none its record (TrapCall
// body); it returns how many it could not serve.
//
//go:nosplit
func attachAll(uintptr) uintptr {
	var missed uintptr
	for i := lwkt.NextLive(-1); i >= 0; i = lwkt.NextLive(i) {
		if lwkt.Get(i).Sysref != 0 {
			continue
		}
		if obj, ok := newRecord(); ok {
			bindRecord(obj, i)
		} else {
			missed++
		}
	}
	return missed
}
