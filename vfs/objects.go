package vfs

import (
	"unsafe"

	"gofly/mm"
	"gofly/vm"
)

// ObjectPages keeps files' bytes in VM objects (vm.FileObject), each page
// reached through the direct map: the kernel's Pages.
type ObjectPages struct{}

// New implements Pages.
func (ObjectPages) New() (uint32, error) { return vm.FileObject() }

// Page implements Pages: a page the object has is found without the MP
// lock (the caller holds a range lock over it: vm.FileFrames).
func (ObjectPages) Page(obj uint32, idx uint64, alloc bool) ([]byte, bool, error) {
	if idx < vm.FileMaxPages {
		var pa [1]uint64
		if vm.FileFrames(obj, idx, pa[:]); pa[0] != 0 {
			return unsafe.Slice((*byte)(mm.Direct(pa[0])), PageSize), false, nil
		}
	}
	pa, fresh, err := vm.FilePage(obj, idx, alloc)
	if pa == 0 {
		return nil, false, err
	}
	return unsafe.Slice((*byte)(mm.Direct(pa)), PageSize), fresh, nil
}

// Resize implements Pages.
func (ObjectPages) Resize(obj uint32, pages uint64) int64 { return vm.ResizeFile(obj, pages) }

// Pages implements Pages, without the MP lock (vm.FileFrames: the
// caller, a read, holds a range lock over them).
func (ObjectPages) Pages(obj uint32, idx uint64, out [][]byte) {
	var pas [readBatch]uint64
	for len(out) > 0 {
		k := min(len(out), readBatch)
		vm.FileFrames(obj, idx, pas[:k])
		for i, pa := range pas[:k] {
			out[i] = nil
			if pa != 0 {
				out[i] = unsafe.Slice((*byte)(mm.Direct(pa)), PageSize)
			}
		}
		out, idx = out[k:], idx+uint64(k)
	}
}

// Punch implements Pages.
func (ObjectPages) Punch(obj uint32, idx, n uint64) int64 { return vm.PunchFile(obj, idx, n) }

// Extend implements Pages.
func (ObjectPages) Extend(obj uint32, pages uint64) { vm.ExtendFile(obj, pages) }

// Release implements Pages.
func (ObjectPages) Release(obj uint32) { vm.ReleaseFile(obj) }
