package msgport

// The port records' TrapCall bodies: below the runtime, MP lock held.

import (
	"unsafe"

	"gofly/sysref"
)

// portRec is the port class's resource.
type portRec struct {
	sysref.Record
	owner int32 // the owner's thread ID
}

// allocPortRec takes a port record for owner thread tid (Building), or 0.
//
//go:nosplit
func allocPortRec(tid uintptr) uintptr {
	obj := sysref.Alloc(&portClass)
	if obj != 0 {
		(*portRec)(unsafe.Pointer(sysref.At(obj))).owner = int32(tid)
	}
	return obj
}

// activatePortRec makes a port record visible to lookups.
//
//go:nosplit
func activatePortRec(obj uintptr) uintptr {
	sysref.Activate(obj)
	return 0
}
