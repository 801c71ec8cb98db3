package main

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// accessChecks: access and faccessat2 as root, who may read and write
// anything and execute what has an execute bit or is a directory; a
// missing file is ENOENT, an unknown mode bit EINVAL, and
// AT_SYMLINK_NOFOLLOW looks at a dangling link itself.
func accessChecks(check func(string, bool, ...any), dir string) {
	none := filepath.Join(dir, "access-none")
	plain := filepath.Join(dir, "access-plain")
	prog := filepath.Join(dir, "access-prog")
	os.WriteFile(none, nil, 0)
	os.WriteFile(plain, nil, 0o644)
	os.WriteFile(prog, nil, 0o755)
	os.Chmod(none, 0) // past the umask
	e1 := unix.Access(none, unix.F_OK)
	e2 := unix.Access(filepath.Join(dir, "access-missing"), unix.F_OK)
	check("access: F_OK finds a file, ENOENT for a missing one", e1 == nil && errors.Is(e2, syscall.ENOENT), e1, e2)
	e1 = unix.Access(none, unix.R_OK|unix.W_OK)
	e2 = unix.Access(plain, unix.X_OK)
	e3 := unix.Access(prog, unix.R_OK|unix.X_OK)
	e4 := unix.Access(dir, unix.X_OK)
	check("access as root: read and write a mode 000 file, execute only with an x bit or a directory",
		e1 == nil && errors.Is(e2, syscall.EACCES) && e3 == nil && e4 == nil, e1, e2, e3, e4)
	pp, _ := syscall.BytePtrFromString(plain)
	_, _, en := syscall.Syscall(syscall.SYS_ACCESS, uintptr(unsafe.Pointer(pp)), 8, 0)
	check("access with an unknown mode bit is EINVAL", en == syscall.EINVAL, en)
	link := filepath.Join(dir, "access-dangling")
	os.Symlink("access-missing", link)
	e1 = unix.Faccessat(unix.AT_FDCWD, link, unix.F_OK, unix.AT_SYMLINK_NOFOLLOW)
	e2 = unix.Faccessat(unix.AT_FDCWD, link, unix.F_OK, unix.AT_EACCESS)
	check("faccessat2: AT_SYMLINK_NOFOLLOW sees a dangling link, following it is ENOENT", e1 == nil && errors.Is(e2, syscall.ENOENT), e1, e2)
	for _, f := range []string{none, plain, prog, link} {
		os.Remove(f)
	}
}
