package ccms

// The I/O rules (design note §3, "Our design"): CCMS replaces the vnode
// lock for data I/O, so each call locks every byte it may touch, and does
// its size checks inside the lock.
//   read  [off, off+n-1] Shared
//   write [off, off+n-1] Modifying
//   append    [EOF, max] Modifying
//   truncate  [min(old, new), max] Modifying
// Edge cases, explicit:
//   - n == 0: the request locks nothing. It returns at once, conflicts
//     with nothing, touches no CST, and must still be unlocked (once). A
//     zero-byte read or write moves no data, so no ordering is lost.
//     (DragonFly's ccms_lock_get_uio locked to the end of the space here,
//     by its overflow rule.)
//   - off+n-1 past max: the range ends at max, the last offset there is.
//     It never wraps to low offsets. Such an I/O fails its size checks in
//     the file system (EFBIG, EINVAL) under a lock that covers everything
//     it could have touched.

import (
	"context"
	"math"
)

// ioRange is the range [off, off+n-1], clamped at max; ok is false when
// n == 0 (nothing to lock).
func ioRange(off, n uint64) (beg, end uint64, ok bool) {
	if n == 0 {
		return 0, 0, false
	}
	if n-1 > math.MaxUint64-off {
		return off, math.MaxUint64, true
	}
	return off, off + n - 1, true
}

// emptyLock is the held lock of a zero-length request.
func (s *Space) emptyLock(m Mode) *Lock {
	return &Lock{s: s, mode: m, empty: true, state: held}
}

// LockRead locks the n bytes at off for a read: Shared.
func (s *Space) LockRead(ctx context.Context, off, n uint64) (*Lock, error) {
	return s.lockIO(ctx, off, n, Shared)
}

// LockWrite locks the n bytes at off for a write: Modifying.
func (s *Space) LockWrite(ctx context.Context, off, n uint64) (*Lock, error) {
	return s.lockIO(ctx, off, n, Modifying)
}

func (s *Space) lockIO(ctx context.Context, off, n uint64, m Mode) (*Lock, error) {
	beg, end, ok := ioRange(off, n)
	if !ok {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return s.emptyLock(m), nil
	}
	return s.LockContext(ctx, beg, end, m)
}

// LockAppend locks [EOF, max] Modifying for an append, size giving the
// file's size (EOF). An append writes at EOF, which other writers may move
// until the lock is held: size is read again under the lock, and if the
// file shrank below the locked range (a truncate ran first) the lock is
// taken again from the new EOF. Under the returned lock size() cannot
// change (every size change holds a lock reaching max, or a write
// overlapping [EOF, max]) and is at least the locked beginning: the
// append goes at size().
func (s *Space) LockAppend(ctx context.Context, size func() uint64) (*Lock, error) {
	return s.lockTail(ctx, math.MaxUint64, size)
}

// LockTruncate locks [min(old, newSize), max] Modifying for a truncate or
// extension to newSize, old being size(). As LockAppend, it checks size
// again under the lock and takes it again if the file shrank below the
// locked range meanwhile, so the bytes the truncate frees or zero-fills
// are all under it.
func (s *Space) LockTruncate(ctx context.Context, newSize uint64, size func() uint64) (*Lock, error) {
	return s.lockTail(ctx, newSize, size)
}

// lockTail holds [min(size(), at), max] with size() read under the lock.
func (s *Space) lockTail(ctx context.Context, at uint64, size func() uint64) (*Lock, error) {
	for {
		beg := min(size(), at)
		l, err := s.LockContext(ctx, beg, math.MaxUint64, Modifying)
		if err != nil {
			return nil, err
		}
		if min(size(), at) >= beg {
			return l, nil
		}
		l.Unlock()
	}
}
