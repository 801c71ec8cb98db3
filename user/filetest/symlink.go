package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// symlinkChecks makes symbolic links in dir: Stat follows them, Lstat and
// Readlink see the link, a dangling one is ENOENT through and a link
// itself, a loop is ELOOP, O_NOFOLLOW refuses a link, a listing types
// it, and removing it leaves its target.
func symlinkChecks(check func(string, bool, ...any), dir string) {
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("pointed at\n"), 0o644); err != nil {
		check("symlink: make the target", false, err)
		return
	}
	link := filepath.Join(dir, "link")
	err := os.Symlink("target", link) // relative: from the link's directory
	b, rerr := os.ReadFile(link)
	check("symlink, and a read through it", err == nil && rerr == nil && string(b) == "pointed at\n", err, rerr)
	st, serr := os.Stat(link)
	lst, lerr := os.Lstat(link)
	check("Stat follows a link, Lstat sees it", serr == nil && lerr == nil && st.Mode().IsRegular() &&
		lst.Mode()&fs.ModeSymlink != 0 && lst.Size() == int64(len("target")), serr, lerr)
	got, err := os.Readlink(link)
	_, ferr := os.Readlink(target)
	check("Readlink: the target as written; of a file EINVAL", err == nil && got == "target" && errors.Is(ferr, syscall.EINVAL), err, got, ferr)
	dirLink := filepath.Join(dir, "dirlink")
	err = os.Symlink(dir, dirLink)
	_, serr = os.Stat(filepath.Join(dirLink, "target"))
	check("an absolute link to a directory, looked through", err == nil && serr == nil, err, serr)
	dead := filepath.Join(dir, "dead")
	err = os.Symlink("nowhere", dead)
	_, serr = os.Stat(dead)
	_, lerr = os.Lstat(dead)
	check("a dangling link: ENOENT through it, the link itself there", err == nil && errors.Is(serr, fs.ErrNotExist) && lerr == nil, err, serr, lerr)
	loop := filepath.Join(dir, "loop")
	os.Symlink("loop", loop)
	_, serr = os.Stat(loop)
	check("a link to itself is ELOOP", errors.Is(serr, syscall.ELOOP), serr)
	_, err = os.OpenFile(link, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	check("O_NOFOLLOW refuses a link (ELOOP)", errors.Is(err, syscall.ELOOP), err)
	err = os.Symlink("x", link)
	check("a link over a name is EEXIST", errors.Is(err, fs.ErrExist), err)
	es, err := os.ReadDir(dir)
	typed := false
	for _, e := range es {
		if e.Name() == "link" && e.Type()&fs.ModeSymlink != 0 {
			typed = true
		}
	}
	check("a listing types a link", err == nil && typed, err)
	err = os.Remove(link)
	_, serr = os.Stat(target)
	check("removing a link leaves its target", err == nil && serr == nil, err, serr)
	for _, p := range []string{dirLink, dead, loop, target} {
		os.Remove(p)
	}
}
