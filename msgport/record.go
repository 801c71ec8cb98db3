package msgport

// Ports as SYSREF resources: an initialised port has a record of class
// port (its sysid and owner thread) from the class's FrameCache, active
// while the port is, and is listed in byID so that the record's sysid
// leads back to the Port for `sysref show`.

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"gofly/lwkt"
	"gofly/objcache"
	"gofly/sysref"
)

var (
	portCache objcache.FrameCache
	portClass sysref.Class

	byIDMu sync.Mutex
	byID   = map[uint64]*Port{} // initialised ports by sysid
)

func init() {
	if err := portClass.InitFrames(&portCache, int(unsafe.Sizeof(portRec{})), sysref.ClassConfig{Name: "port", Summary: portSummary}); err != nil {
		panic(err)
	}
}

// ErrNoRecord is InitPort's error when no SYSREF record could be had.
var ErrNoRecord = errors.New("msgport: no SYSREF record for the port (out of memory)")

// attach gives p its record: allocated (Building), entered in byID under
// its sysid, then activated, so a lookup that finds it finds the port.
func (p *Port) attach(tid int32) error {
	if sysref.Fit() == 0 {
		return nil // before sysids are seeded: no record (early boot)
	}
	obj := lwkt.TrapCall(allocPortRec, uintptr(tid))
	if obj == 0 {
		return ErrNoRecord
	}
	p.rec, p.sysid = obj, sysref.At(obj).Sysid()
	byIDMu.Lock()
	byID[p.sysid] = p
	byIDMu.Unlock()
	lwkt.TrapCall(activatePortRec, obj)
	return nil
}

// detach drops p's reference to its record; the record goes when the
// last lookup holding it puts it.
func (p *Port) detach() {
	if p.rec == 0 {
		return
	}
	byIDMu.Lock()
	delete(byID, p.sysid)
	byIDMu.Unlock()
	lwkt.TrapCall(sysref.PutCall, p.rec)
	p.rec, p.sysid = 0, 0
}

// portSummary describes a port record for `sysref show`.
func portSummary(obj uintptr) string {
	r := (*portRec)(unsafe.Pointer(sysref.At(obj)))
	id := sysref.At(obj).Sysid()
	byIDMu.Lock()
	p := byID[id]
	byIDMu.Unlock()
	if p == nil {
		return fmt.Sprintf("port of thread %d: released", r.owner)
	}
	p.mu.Lock()
	queued := len(p.queue)
	p.mu.Unlock()
	return fmt.Sprintf("port of thread %d: %d messages queued, %d put so far", r.owner, queued, p.gen.Load())
}
