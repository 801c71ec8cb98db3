package sys

// The thread class's registration and summary, above the runtime.

import (
	"fmt"
	"unsafe"

	"gofly/lwkt"
	"gofly/objcache"
	"gofly/sysref"
)

var (
	threadCache objcache.FrameCache
	threadClass sysref.Class
)

func init() {
	if err := threadClass.InitFrames(&threadCache, int(unsafe.Sizeof(threadRec{})), sysref.ClassConfig{Name: "thread", Summary: threadSummary}); err != nil {
		panic(err)
	}
}

// AttachRecords gives the threads made before sysids were seeded their
// SYSREF records. The kernel calls it once, after sysref.Boot.
func AttachRecords() error {
	if n := lwkt.TrapCall(attachAll, 0); n != 0 {
		return fmt.Errorf("sys: %d threads got no SYSREF record (out of memory)", n)
	}
	return nil
}

// threadSummary describes a thread record for `sysref show`.
func threadSummary(obj uintptr) string {
	r := trec(obj)
	ts, _ := lwkt.Snapshot()
	for _, t := range ts {
		if t.Slot == r.slot && t.ID == r.tid && t.SysID == r.Sysid() {
			state := t.State.String()
			if t.Idle {
				state = "idle"
			}
			return fmt.Sprintf("thread tid %d: %s on cpu %d, wait %q, priority %d, %d switches, %d moves",
				t.ID, state, t.CPU, t.Wait.String(), t.Pri, t.Switches, t.Migrations)
		}
	}
	return fmt.Sprintf("thread tid %d: exited", r.tid)
}
