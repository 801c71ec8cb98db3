package xio

import (
	"errors"
	"fmt"
)

// PageSize is the size of the pages a List describes.
const PageSize = 4096

// MaxPages bounds a List, as DragonFly's XIO_INTERNAL_PAGES does
// (MAXPHYS, 128 KiB): a larger transfer takes several lists.
const MaxPages = 32

// Pages is what a List needs of the memory its pages live in.
type Pages interface {
	// Bytes returns the page at physical address pa, PageSize bytes.
	Bytes(pa uint64) []byte
	// Release drops one hold on each page of pas.
	Release(pas []uint64)
}

var (
	// ErrRange is a copy past the list's bytes.
	ErrRange = errors.New("xio: copy outside the list's bytes")
	// ErrReleased is the error of a released list.
	ErrReleased = errors.New("xio: released")
)

// List is a page list: bytes [Off, Off+Bytes) of its pages taken end to
// end.
type List struct {
	pages [MaxPages]uint64
	n     int
	off   int
	bytes int
	mem   Pages
	err   error
}

// Init makes l describe bytes bytes from offset off into pages, each of
// which the caller holds once for l; Release gives the holds back. It
// fails, taking no hold over, when the pages cannot carry the bytes.
func (l *List) Init(mem Pages, pages []uint64, off, bytes int) error {
	switch {
	case len(pages) == 0 || len(pages) > MaxPages:
		return fmt.Errorf("xio: %d pages (1 to %d)", len(pages), MaxPages)
	case off < 0 || off >= PageSize || bytes <= 0 || off+bytes > len(pages)*PageSize:
		return fmt.Errorf("xio: bytes [%d, %d) outside %d pages", off, off+bytes, len(pages))
	}
	for i, pa := range pages {
		if pa%PageSize != 0 {
			return fmt.Errorf("xio: page %d at %#x is not page-aligned", i, pa)
		}
	}
	*l = List{off: off, bytes: bytes, mem: mem}
	l.n = copy(l.pages[:], pages)
	return nil
}

// Bytes returns how many bytes l carries.
func (l *List) Bytes() int { return l.bytes }

// Pages returns l's pages (its caller must not change them).
func (l *List) Pages() []uint64 { return l.pages[:l.n] }

// Err is ErrReleased once l is released, nil before.
func (l *List) Err() error { return l.err }

// Each calls fn on the bytes [uoff, uoff+n) of l, a page's piece at a
// time, in order, and stops at fn's first error, which it returns. A
// range outside l's bytes is ErrRange, and fn is not called.
func (l *List) Each(uoff, n int, fn func([]byte) error) error {
	if uoff < 0 || n < 0 || uoff+n > l.bytes || uoff+n < uoff {
		return ErrRange
	}
	at := l.off + uoff
	for n > 0 {
		p := l.mem.Bytes(l.pages[at/PageSize])
		k := min(n, PageSize-at%PageSize)
		if err := fn(p[at%PageSize : at%PageSize+k]); err != nil {
			return err
		}
		at, n = at+k, n-k
	}
	return nil
}

// Frames returns, for the bytes from uoff on, the pages that hold them
// and the offset of byte uoff into the first: for a copy that walks the
// pages itself (one trap for a whole list). Out of range is ErrRange.
func (l *List) Frames(uoff int) ([]uint64, int, error) {
	if uoff < 0 || uoff >= l.bytes {
		return nil, 0, ErrRange
	}
	at := l.off + uoff
	return l.pages[at/PageSize : l.n], at % PageSize, nil
}

// CopyTo copies l's bytes from uoff into dst, all of dst or none
// (ErrRange).
func (l *List) CopyTo(uoff int, dst []byte) error {
	return l.Each(uoff, len(dst), func(p []byte) error {
		dst = dst[copy(dst, p):]
		return nil
	})
}

// Release gives l's holds back and empties it. A second Release is a
// caller's bug: it panics rather than drop holds twice.
func (l *List) Release() {
	if l.err == ErrReleased {
		panic("xio: a list released twice")
	}
	if l.n > 0 {
		l.mem.Release(l.pages[:l.n])
	}
	*l = List{err: ErrReleased}
}

// Check verifies l's bounds invariant, and returns what is broken.
func (l *List) Check() error {
	switch {
	case l.err == ErrReleased:
		if l.n != 0 || l.bytes != 0 {
			return fmt.Errorf("xio: a released list keeps %d pages, %d bytes", l.n, l.bytes)
		}
	case l.n < 1 || l.n > MaxPages:
		return fmt.Errorf("xio: %d pages", l.n)
	case l.off < 0 || l.off >= PageSize || l.off+l.bytes > l.n*PageSize:
		return fmt.Errorf("xio: bytes [%d, %d) outside %d pages", l.off, l.off+l.bytes, l.n)
	}
	return nil
}
