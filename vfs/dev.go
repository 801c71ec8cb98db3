package vfs

import (
	"io"

	"golang.org/x/sys/unix"
)

// The character devices of /dev.
type (
	nullDev    struct{} // reads end at once, writes vanish
	zeroDev    struct{} // reads zeros, writes vanish
	urandomDev struct{} // reads the kernel's random stream (getrandom(2), which the kernel serves its own program too), writes vanish
)

func (nullDev) ReadAt([]byte, int64) (int, error)      { return 0, io.EOF }
func (nullDev) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

func (zeroDev) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}
func (zeroDev) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// mapsAnonymous: a mapping of /dev/zero is anonymous memory, as on Linux.
func (zeroDev) mapsAnonymous() {}

// MapsAnonymous reports whether mmap of v gives anonymous memory
// (/dev/zero).
func (v *Vnode) MapsAnonymous() bool {
	_, ok := v.dev.(interface{ mapsAnonymous() })
	return ok
}

// ReadAt calls getrandom(2) itself: crypto/rand would bring in the FIPS
// DRBG's 32 MiB of bss.
func (urandomDev) ReadAt(p []byte, _ int64) (int, error) {
	n := 0
	for n < len(p) {
		k, err := unix.Getrandom(p[n:], 0)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}
func (urandomDev) WriteAt(p []byte, _ int64) (int, error) {
	return len(p), nil // as Linux: written bytes are mixed in; here they are dropped
}

// MakeDev fills /dev with null, zero and urandom.
func (f *FS) MakeDev() error {
	if _, err := f.Mkdir("/dev", 0o755); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		dev  Device
	}{{"null", nullDev{}}, {"zero", zeroDev{}}, {"urandom", urandomDev{}}} {
		if _, err := f.Mknod("/dev/"+d.name, 0o666, d.dev); err != nil {
			return err
		}
	}
	return nil
}
