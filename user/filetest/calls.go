package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// callChecks: statx agrees with stat (and sees a link itself with
// AT_SYMLINK_NOFOLLOW), close_range closes a range or marks it
// close-on-exec, with Linux's errors.
func callChecks(check func(string, bool, ...any), dir string) {
	name := filepath.Join(dir, "statx")
	if err := os.WriteFile(name, make([]byte, 5000), 0o640); err != nil {
		check("statx: make the file", false, err)
		return
	}
	var st unix.Stat_t
	var sx unix.Statx_t
	serr := unix.Stat(name, &st)
	xerr := unix.Statx(unix.AT_FDCWD, name, 0, unix.STATX_BASIC_STATS, &sx)
	check("statx: size, mode, inode, links, blocks and mtime as stat's", serr == nil && xerr == nil &&
		sx.Mask&unix.STATX_BASIC_STATS == unix.STATX_BASIC_STATS && sx.Size == 5000 && uint32(sx.Mode) == st.Mode &&
		sx.Ino == st.Ino && uint64(sx.Nlink) == st.Nlink && int64(sx.Blocks) == st.Blocks &&
		sx.Mtime.Sec == st.Mtim.Sec && int64(sx.Mtime.Nsec) == st.Mtim.Nsec, serr, xerr, sx, st)
	link := filepath.Join(dir, "statx-link")
	os.Symlink("statx", link)
	xerr = unix.Statx(unix.AT_FDCWD, link, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, &sx)
	check("statx AT_SYMLINK_NOFOLLOW: the link", xerr == nil && sx.Mode&unix.S_IFMT == unix.S_IFLNK, xerr)
	f, err := os.Open(name)
	if err == nil {
		xerr = unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS, &sx)
		check("statx AT_EMPTY_PATH: the descriptor's file", xerr == nil && sx.Size == 5000, xerr)
		f.Close()
	}
	e1 := unix.Statx(unix.AT_FDCWD, name, 0x80000, unix.STATX_BASIC_STATS, &sx)
	e2 := unix.Statx(unix.AT_FDCWD, name, 0, 0x80000000, &sx)
	e3 := unix.Statx(unix.AT_FDCWD, filepath.Join(dir, "none"), 0, unix.STATX_BASIC_STATS, &sx)
	check("statx: an unknown flag or STATX__RESERVED is EINVAL, a missing path ENOENT",
		errors.Is(e1, syscall.EINVAL) && errors.Is(e2, syscall.EINVAL) && errors.Is(e3, syscall.ENOENT), e1, e2, e3)
	os.Remove(link)
	os.Remove(name)

	// Descriptors 100-103, a range nothing else here uses (the runtime's
	// epoll descriptor is low).
	null, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	if err != nil {
		check("close_range: open /dev/null", false, err)
		return
	}
	fds := []int{100, 101, 102, 103}
	for _, fd := range fds {
		if err := unix.Dup3(null, fd, 0); err != nil {
			check("close_range: dup3", false, err)
			return
		}
	}
	unix.Close(null)
	err = unix.CloseRange(100, 101, 0)
	_, f0 := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0)
	_, f1 := unix.FcntlInt(uintptr(fds[1]), unix.F_GETFD, 0)
	check("close_range closes its range", err == nil && errors.Is(f0, syscall.EBADF) && errors.Is(f1, syscall.EBADF), err, f0, f1)
	err = unix.CloseRange(uint(fds[2]), uint(fds[3]), unix.CLOSE_RANGE_CLOEXEC)
	fl, ferr := unix.FcntlInt(uintptr(fds[2]), unix.F_GETFD, 0)
	check("close_range CLOSE_RANGE_CLOEXEC marks it close-on-exec", err == nil && ferr == nil && fl&unix.FD_CLOEXEC != 0, err, fl, ferr)
	e1 = unix.CloseRange(5, 4, 0)
	e2 = unix.CloseRange(0, 0, 0x100)
	check("close_range: first past last, or an unknown flag, is EINVAL", errors.Is(e1, syscall.EINVAL) && errors.Is(e2, syscall.EINVAL), e1, e2)
	unix.Close(fds[2])
	unix.Close(fds[3])
}

// metaChecks: chmod (setuid and sticky bits too), chtimes (access and
// modification times apart, UTIME_OMIT), truncate by path.
func metaChecks(check func(string, bool, ...any), dir string) {
	name := filepath.Join(dir, "meta")
	if err := os.WriteFile(name, []byte("0123456789"), 0o644); err != nil {
		check("meta: make the file", false, err)
		return
	}
	err := os.Chmod(name, 0o600|os.ModeSetuid|os.ModeSticky)
	st, serr := os.Stat(name)
	check("chmod: the permission bits, setuid and sticky", err == nil && serr == nil &&
		st.Mode() == 0o600|os.ModeSetuid|os.ModeSticky, err, serr, st.Mode())
	f, err := os.Open(name)
	if err == nil {
		err = f.Chmod(0o640)
		f.Close()
		st, serr = os.Stat(name)
		check("fchmod", err == nil && serr == nil && st.Mode() == 0o640, err, serr, st.Mode())
	}
	at, mt := time.Unix(1_000_000_000, 123_000_000), time.Unix(1_500_000_000, 456_000_000)
	err = os.Chtimes(name, at, mt)
	var us unix.Stat_t
	serr = unix.Stat(name, &us)
	check("chtimes: access and modification times apart", err == nil && serr == nil &&
		us.Atim.Sec == at.Unix() && us.Atim.Nsec == 123_000_000 && us.Mtim.Sec == mt.Unix() && us.Mtim.Nsec == 456_000_000, err, serr, us.Atim, us.Mtim)
	err = os.Chtimes(name, time.Time{}, time.Unix(1_600_000_000, 0)) // a zero time: UTIME_OMIT
	serr = unix.Stat(name, &us)
	check("chtimes with a zero access time leaves it (UTIME_OMIT)", err == nil && serr == nil && us.Atim.Sec == at.Unix() && us.Mtim.Sec == 1_600_000_000, err, serr, us.Atim, us.Mtim)
	err = os.Truncate(name, 4)
	b, rerr := os.ReadFile(name)
	terr := os.Truncate(filepath.Join(dir, "none"), 0)
	check("truncate by path; a missing path ENOENT", err == nil && rerr == nil && string(b) == "0123" && errors.Is(terr, fs.ErrNotExist), err, rerr, string(b), terr)
	os.Remove(name)
}

// umaskChecks: umask(2) returns the old mask and the new one takes bits
// off open's and mkdir's modes; mkdir keeps the sticky bit, open
// setuid.
func umaskChecks(check func(string, bool, ...any), dir string) {
	old := syscall.Umask(0o077)
	back := syscall.Umask(0o077)
	check("umask: the old mask returned", back == 0o077, old, back)
	name := filepath.Join(dir, "masked")
	err := os.WriteFile(name, nil, 0o666)
	st, serr := os.Stat(name)
	check("umask 077: a file made 0666 is 0600", err == nil && serr == nil && st.Mode().Perm() == 0o600, err, serr, st)
	syscall.Umask(0)
	sticky := filepath.Join(dir, "sticky")
	err = unix.Mkdir(sticky, 0o1777)
	var dst unix.Stat_t
	serr = unix.Stat(sticky, &dst)
	suid := filepath.Join(dir, "suid")
	fd, ferr := unix.Open(suid, unix.O_CREAT|unix.O_WRONLY, 0o4755)
	var fst unix.Stat_t
	unix.Fstat(fd, &fst)
	unix.Close(fd)
	check("umask 0: mkdir 01777 keeps the sticky bit, open 04755 setuid", err == nil && serr == nil && ferr == nil &&
		dst.Mode&0o7777 == 0o1777 && fst.Mode&0o7777 == 0o4755, err, serr, ferr, dst.Mode, fst.Mode)
	syscall.Umask(old)
	os.Remove(name)
	os.Remove(sticky)
	os.Remove(suid)
}

// chownChecks: chown, lchown and fchown give a file an owner and group
// (root only: elsewhere EPERM), clearing setuid; lchown changes a link,
// not its target; getgroups and setgroups agree.
func chownChecks(check func(string, bool, ...any), dir string) {
	name := filepath.Join(dir, "owned")
	if err := os.WriteFile(name, nil, 0o755); err != nil {
		check("chown: make the file", false, err)
		return
	}
	defer os.Remove(name)
	unix.Chmod(name, 0o4755)
	err := os.Chown(name, 1234, 5678)
	var st unix.Stat_t
	serr := unix.Stat(name, &st)
	if os.Getuid() != 0 {
		check("chown by a user: EPERM", errors.Is(err, syscall.EPERM), err)
		return
	}
	check("chown 1234:5678: stat's owner and group, setuid cleared", err == nil && serr == nil &&
		st.Uid == 1234 && st.Gid == 5678 && st.Mode&unix.S_ISUID == 0, err, serr, st.Uid, st.Gid, st.Mode)
	link := filepath.Join(dir, "owned-link")
	os.Symlink("owned", link)
	defer os.Remove(link)
	err = os.Lchown(link, 42, 43)
	var lst unix.Stat_t
	unix.Lstat(link, &lst)
	unix.Stat(name, &st)
	check("lchown: the link's owner, not its target's", err == nil && lst.Uid == 42 && lst.Gid == 43 && st.Uid == 1234, err, lst.Uid, st.Uid)
	f, ferr := os.Open(name)
	if ferr == nil {
		err = f.Chown(-1, 99)
		f.Close()
	}
	unix.Stat(name, &st)
	check("fchown -1:99: the group alone", ferr == nil && err == nil && st.Uid == 1234 && st.Gid == 99, ferr, err, st.Uid, st.Gid)
	// Linux keeps groups per thread (libc sets every thread's): one
	// thread here.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, gerr := unix.Getgroups()
	serr = unix.Setgroups([]int{7, 8, 9})
	got, g2err := unix.Getgroups()
	check("setgroups 7 8 9, then getgroups reads them", gerr == nil && serr == nil && g2err == nil && len(got) == 3 && got[0] == 7 && got[2] == 9, gerr, serr, g2err, got)
	unix.Setgroups(old)
}

// fifoChecks: mkfifo makes a named pipe (S_IFIFO); a non-blocking reader
// opens at once, a non-blocking writer with no reader is ENXIO; a
// blocking reader and writer meet, the bytes pass, the writer's close is
// the reader's end of file.
func fifoChecks(check func(string, bool, ...any), dir string) {
	name := filepath.Join(dir, "fifo")
	err := unix.Mkfifo(name, 0o644)
	var st unix.Stat_t
	serr := unix.Stat(name, &st)
	check("mkfifo: a named pipe", err == nil && serr == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO, err, serr, st.Mode)
	if err != nil {
		return
	}
	defer os.Remove(name)
	_, werr := unix.Open(name, unix.O_WRONLY|unix.O_NONBLOCK, 0)
	rfd, rerr := unix.Open(name, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if rerr == nil {
		unix.Close(rfd)
	}
	check("a non-blocking reader opens at once; a non-blocking writer with no reader is ENXIO", rerr == nil && errors.Is(werr, syscall.ENXIO), rerr, werr)
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err == nil {
			_, err = w.Write([]byte("through the fifo"))
			w.Close()
		}
		done <- err
	}()
	r, err := os.Open(name)
	var got []byte
	if err == nil {
		got, err = io.ReadAll(r)
		r.Close()
	}
	werr = <-done
	check("a reader and a writer meet: the bytes, then end of file at the writer's close", err == nil && werr == nil && string(got) == "through the fifo", err, werr, string(got))
}
