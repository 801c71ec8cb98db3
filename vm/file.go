package vm

import (
	"errors"
	"runtime"
	"unsafe"

	"gofly/lwkt"
)

// File objects, for Go code (a RAM file system's vnodes): each call is
// one TrapCall (fileCall) under the MP lock. A file's pages are reached
// through the direct map (mm.Ptr) by whoever keeps them from being
// truncated meanwhile (the file's own lock).

// ErrNoSpace is a file object refused for want of memory or a free slot
// in the object table.
var ErrNoSpace = errors.New("vm: no memory for a file's page or object")

// FileObject makes an object for a file's pages, with the reference the
// file holds (ReleaseFile drops it).
func FileObject() (uint32, error) {
	a := fileArgs{op: fileNew}
	lwkt.TrapCall(fileCall, uintptr(unsafe.Pointer(&a)))
	if a.ret == 0 {
		return 0, ErrNoSpace
	}
	return uint32(a.ret), nil
}

// FilePage returns the frame of obj's page idx: 0 for a hole when alloc
// is false; when it is true, a fresh zeroed page the object holds from
// now on (fresh: this call made it, not another's meanwhile), or
// ErrNoSpace when memory is short (a file's pages leave the kernel the
// reserve a process's faults leave it).
func FilePage(obj uint32, idx uint64, alloc bool) (pa uint64, fresh bool, err error) {
	if idx >= objMaxPages {
		return 0, false, ErrNoSpace
	}
	a := fileArgs{op: filePage, obj: obj, idx: idx, alloc: alloc}
	lwkt.TrapCall(fileCall, uintptr(unsafe.Pointer(&a)))
	if a.ret == 0 && alloc {
		return 0, false, ErrNoSpace
	}
	return a.ret, a.fresh, nil
}

// FilePages fills out with the frames of obj's pages idx, idx+1, ...: 0
// for a hole; one TrapCall for them all. mincore's: obj is from a map
// entry the caller saw, whose object may have gone since (another
// thread's munmap), which reads as holes. A file's reads and writes use
// FileFrames.
func FilePages(obj uint32, idx uint64, out []uint64) {
	if len(out) == 0 {
		return
	}
	if idx >= objMaxPages || uint64(len(out)) > objMaxPages-idx {
		panic("vm: FilePages past an object's reach")
	}
	a := fileArgs{op: filePages, obj: obj, idx: idx, n: uint64(len(out)), out: uintptr(unsafe.Pointer(&out[0]))}
	lwkt.TrapCall(fileCall, uintptr(unsafe.Pointer(&a)))
	runtime.KeepAlive(out)
}

// FileFrames is FilePages for a file's own read or write, without the MP
// lock: the caller holds the file's range lock over those pages, which
// keeps them (a truncate or PunchFile waits for it) and the object (the
// file's last close waits for every range: vfs freeIfGone). A page a
// mapping's fault adds meanwhile is seen or not, zeroed either way.
func FileFrames(obj uint32, idx uint64, out []uint64) {
	if obj == 0 || obj >= MaxObjects || idx >= objMaxPages || uint64(len(out)) > objMaxPages-idx {
		panic("vm: FileFrames past an object's reach")
	}
	objects[obj].frames(idx, out)
}

// ResizeFile records that obj's file has pages pages (a process's access
// to a page past them is a bus error, SIGBUS) and frees obj's pages at
// index pages and above, unmapped from every address space first; it
// returns how many it freed.
func ResizeFile(obj uint32, pages uint64) int64 {
	a := fileArgs{op: fileResize, obj: obj, idx: pages}
	lwkt.TrapCall(fileCall, uintptr(unsafe.Pointer(&a)))
	return int64(a.ret)
}

// punchChunk bounds the pages one PunchFile trap looks at: the MP lock is
// held for each chunk, not for a whole hole.
const punchChunk = 4096

// PunchFile frees obj's pages at index idx to idx+n, each first unmapped
// from every address space, leaving holes that read as zero and fault in
// fresh pages; it returns how many it freed. The file's caller holds a
// range lock over them (vfs): a read or write copying to or from one of
// them through the direct map must not see it freed.
func PunchFile(obj uint32, idx, n uint64) int64 {
	if idx >= objMaxPages || n > objMaxPages-idx {
		panic("vm: PunchFile past an object's reach")
	}
	var freed int64
	for n > 0 {
		k := min(n, punchChunk)
		a := fileArgs{op: filePunch, obj: obj, idx: idx, n: k}
		lwkt.TrapCall(fileCall, uintptr(unsafe.Pointer(&a)))
		freed += int64(a.ret)
		idx, n = idx+k, n-k
	}
	return freed
}

// ExtendFile records that obj's file has at least pages pages (a write
// ended past its old end): mappings may reach them. It frees nothing:
// pages past the file's recorded end may be other writes' in flight.
func ExtendFile(obj uint32, pages uint64) {
	a := fileArgs{op: fileExtend, obj: obj, idx: pages}
	lwkt.TrapCall(fileCall, uintptr(unsafe.Pointer(&a)))
}

// ReleaseFile drops the file's reference to obj: the object and its
// pages go with the last.
func ReleaseFile(obj uint32) {
	a := fileArgs{op: fileRelease, obj: obj}
	lwkt.TrapCall(fileCall, uintptr(unsafe.Pointer(&a)))
}

// FileMaxPages is the most pages a file object holds (512 GiB).
const FileMaxPages = objMaxPages
