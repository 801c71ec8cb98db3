package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
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

// slashChecks: a trailing slash asks for a directory (ENOTDIR for a
// file, a link to one, and a link whose target ends in a slash);
// rename of "file/" is ENOTDIR; O_CREAT through a dangling link makes
// its target, and with O_EXCL is EEXIST.
func slashChecks(check func(string, bool, ...any), dir string) {
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		check("slash: make the file", false, err)
		return
	}
	defer os.Remove(file)
	toFile := filepath.Join(dir, "to-plain")
	slashed := filepath.Join(dir, "to-plain-slash")
	os.Symlink("plain", toFile)
	os.Symlink("plain/", slashed)
	defer os.Remove(toFile)
	defer os.Remove(slashed)
	_, e1 := os.Open(file + "/")
	_, e2 := os.Stat(toFile + "/")
	_, e3 := os.Stat(slashed)
	_, e4 := os.Lstat(slashed + "/")
	check("a trailing slash on a file, a link to one, a link to \"plain/\": ENOTDIR",
		errors.Is(e1, syscall.ENOTDIR) && errors.Is(e2, syscall.ENOTDIR) && errors.Is(e3, syscall.ENOTDIR) && errors.Is(e4, syscall.ENOTDIR), e1, e2, e3, e4)
	e5 := os.Rename(file+"/", filepath.Join(dir, "moved"))
	e6 := os.Rename(file, filepath.Join(dir, "moved")+"/")
	_, serr := os.Stat(file)
	check("rename of \"plain/\" or to \"moved/\": ENOTDIR, the file stays", errors.Is(e5, syscall.ENOTDIR) && errors.Is(e6, syscall.ENOTDIR) && serr == nil, e5, e6, serr)
	dangling := filepath.Join(dir, "to-new")
	os.Symlink("new-target", dangling)
	defer os.Remove(dangling)
	defer os.Remove(filepath.Join(dir, "new-target"))
	_, e7 := os.OpenFile(dangling, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	f, e8 := os.OpenFile(dangling, os.O_CREATE|os.O_WRONLY, 0o644)
	if e8 == nil {
		f.Close()
	}
	st, e9 := os.Lstat(filepath.Join(dir, "new-target"))
	check("O_CREAT through a dangling link makes its target; with O_EXCL EEXIST",
		errors.Is(e7, syscall.EEXIST) && e8 == nil && e9 == nil && st.Mode().IsRegular(), e7, e8, e9)
}

// linkChecks: link gives a file a second name (one inode, two links, a
// write through one seen through the other, the file kept when one name
// goes); a directory cannot be linked (EPERM); a taken name is EEXIST.
func linkChecks(check func(string, bool, ...any), dir string) {
	a, b := filepath.Join(dir, "first-name"), filepath.Join(dir, "second-name")
	if err := os.WriteFile(a, []byte("one"), 0o644); err != nil {
		check("link: make the file", false, err)
		return
	}
	defer os.Remove(a)
	defer os.Remove(b)
	err := os.Link(a, b)
	var sa, sb unix.Stat_t
	unix.Stat(a, &sa)
	unix.Stat(b, &sb)
	check("link: one inode, two links", err == nil && sa.Ino == sb.Ino && sa.Nlink == 2, err, sa.Ino, sb.Ino, sa.Nlink)
	os.WriteFile(b, []byte("two"), 0o644)
	got, rerr := os.ReadFile(a)
	os.Remove(a)
	got2, rerr2 := os.ReadFile(b)
	unix.Stat(b, &sb)
	check("link: a write through one name is read through the other; removing one leaves the file, one link",
		rerr == nil && string(got) == "two" && rerr2 == nil && string(got2) == "two" && sb.Nlink == 1, rerr, string(got), rerr2, sb.Nlink)
	e1 := os.Link(dir, filepath.Join(dir, "dir-link"))
	os.WriteFile(a, nil, 0o644)
	e2 := os.Link(a, b)
	check("link of a directory: EPERM; to a taken name: EEXIST", errors.Is(e1, syscall.EPERM) && errors.Is(e2, syscall.EEXIST), e1, e2)
}
