// Command filetest checks files from a Go program's side through the os
// package, each check with Linux's outcome (its host test runs the same
// checks under the host's Linux, in a temporary directory): make, write,
// append, read back, holes, seek, truncate, list, remove (an open file
// keeps its bytes until closed), rename, the working directory, the errors for
// missing, existing and
// wrong-kind paths, /dev/null and /dev/zero, and a file of many pages. It
// works under ROOT (its argument; / by default) and prints a line per
// check, exiting 0 if all held.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	root := "/"
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	os.Exit(run(os.Stdout, root))
}

func run(w io.Writer, root string) int {
	bad := 0
	check := func(what string, ok bool, got ...any) {
		if ok {
			fmt.Fprintf(w, "filetest: %s: ok\n", what)
			return
		}
		bad++
		fmt.Fprintf(w, "filetest: %s: FAIL %v\n", what, got)
	}
	syscall.Umask(0o022)                     // Gofly's fixed mask, and the host's for its test
	dir := filepath.Join(root, "filetest.d") // not /filetest: that is the program itself
	os.RemoveAll(dir)
	err := os.Mkdir(dir, 0o755)
	check("mkdir", err == nil, err)
	err = os.Mkdir(dir, 0o755)
	check("mkdir of an existing directory is EEXIST", errors.Is(err, syscall.EEXIST), err)

	a := filepath.Join(dir, "a")
	err = os.WriteFile(a, []byte("hello, files\n"), 0o666)
	b, rerr := os.ReadFile(a)
	check("write a file and read it back", err == nil && rerr == nil && string(b) == "hello, files\n", err, rerr, string(b))
	st, err := os.Stat(a)
	check("stat: a regular file, its size, the mode less the umask", err == nil && st.Mode().IsRegular() && st.Size() == 13 && st.Mode().Perm() == 0o644, err, st)

	f, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		f.Seek(0, io.SeekStart) // O_APPEND writes at the end whatever the offset
		_, err = f.Write([]byte("more\n"))
		f.Close()
	}
	b, _ = os.ReadFile(a)
	check("O_APPEND writes at the end", err == nil && string(b) == "hello, files\nmore\n", err, string(b))

	f, err = os.OpenFile(a, os.O_RDWR, 0)
	check("open for reading and writing", err == nil, err)
	if err != nil {
		return 1
	}
	_, err = f.WriteAt([]byte("far"), 2*4096+5)
	hole := make([]byte, 4096)
	n, rerr := f.ReadAt(hole, 4096)
	check("pwrite past the end leaves a hole of zeros", err == nil && rerr == nil && n == 4096 && bytes.Equal(hole, make([]byte, 4096)), err, rerr, n)
	end, err := f.Seek(0, io.SeekEnd)
	check("lseek to the end is the size", err == nil && end == 2*4096+8, err, end)
	_, err = f.Seek(-1, io.SeekStart)
	check("lseek before the start is EINVAL", errors.Is(err, syscall.EINVAL), err)
	err = f.Truncate(5)
	b, _ = os.ReadFile(a)
	check("ftruncate shrinks", err == nil && string(b) == "hello", err, string(b))
	err = f.Truncate(8)
	b, _ = os.ReadFile(a)
	check("ftruncate grows with zeros", err == nil && string(b) == "hello\x00\x00\x00", err, b)

	err = os.Remove(a)
	n, rerr = f.ReadAt(hole[:5], 0)
	check("a removed file stays readable while open", err == nil && n == 5 && string(hole[:5]) == "hello", err, rerr, n)
	f.Close()
	_, err = os.Stat(a)
	check("and is gone from its directory", errors.Is(err, fs.ErrNotExist), err)

	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "x"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "b"), []byte("b"), 0o644)
	es, err := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, fmt.Sprintf("%s:%v", e.Name(), e.IsDir()))
	}
	check("readdir lists the entries by name, with their kinds", err == nil && slices.Equal(names, []string{"b:false", "sub:true"}), err, names)
	err = os.Remove(sub)
	check("remove of a full directory is ENOTEMPTY", errors.Is(err, syscall.ENOTEMPTY), err)
	err = os.Rename(filepath.Join(dir, "b"), filepath.Join(sub, "moved"))
	b, rerr = os.ReadFile(filepath.Join(sub, "moved"))
	_, serr := os.Stat(filepath.Join(dir, "b"))
	check("rename moves a file to another directory", err == nil && rerr == nil && string(b) == "b" && errors.Is(serr, fs.ErrNotExist), err, rerr, serr)
	os.Rename(filepath.Join(sub, "moved"), filepath.Join(dir, "b"))
	err = os.Rename(dir, filepath.Join(sub, "in"))
	check("rename of a directory under itself is EINVAL", errors.Is(err, syscall.EINVAL), err)
	_, err = os.Open(filepath.Join(dir, "nothing"))
	check("open of a missing file is ENOENT", errors.Is(err, syscall.ENOENT), err)
	_, err = os.OpenFile(filepath.Join(dir, "b"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	check("O_CREAT|O_EXCL of an existing file is EEXIST", errors.Is(err, syscall.EEXIST), err)
	_, err = os.OpenFile(sub, os.O_WRONLY, 0)
	check("a directory opened for writing is EISDIR", errors.Is(err, syscall.EISDIR), err)
	_, err = os.ReadDir(filepath.Join(dir, "b"))
	check("readdir of a file is ENOTDIR", errors.Is(err, syscall.ENOTDIR), err)
	_, err = os.Stat(filepath.Join(dir, "b", "x"))
	check("a path through a file is ENOTDIR", errors.Is(err, syscall.ENOTDIR), err)

	v, err := os.Create(filepath.Join(dir, "v"))
	if err == nil {
		var n1, n2 int
		n1, err = unix.Writev(int(v.Fd()), [][]byte{[]byte("gather "), nil, []byte("write")})
		p1, p2 := make([]byte, 3), make([]byte, 20)
		v.Seek(0, io.SeekStart)
		n2, rerr = unix.Readv(int(v.Fd()), [][]byte{p1, p2})
		check("writev gathers, readv scatters", err == nil && rerr == nil && n1 == 12 && n2 == 12 && string(p1)+string(p2[:9]) == "gather write", err, rerr, n1, n2)
		v.Close()
	} else {
		check("create for writev", false, err)
	}

	exe, err := os.Executable()
	est, serr := os.Stat(exe)
	check("os.Executable (/proc/self/exe) names this program", err == nil && serr == nil && filepath.IsAbs(exe) && est.Mode().IsRegular(), err, serr, exe)
	_, err = os.Readlink(filepath.Join(dir, "b"))
	check("readlink of a file that is no link is EINVAL", errors.Is(err, syscall.EINVAL), err)

	real, _ := filepath.EvalSymlinks(dir) // the host's temporary directory may sit behind a link
	err = os.Chdir(dir)
	wd, werr := os.Getwd()
	check("chdir, and getcwd says where", err == nil && werr == nil && wd == real, err, werr, wd, real)
	err = os.WriteFile("rel", []byte("r"), 0o644)
	b, rerr = os.ReadFile(filepath.Join(dir, "rel"))
	check("a relative path starts at the working directory", err == nil && rerr == nil && string(b) == "r", err, rerr)
	err = os.Chdir("b")
	check("chdir to a file is ENOTDIR", errors.Is(err, syscall.ENOTDIR), err)
	os.Chdir(root)

	big := make([]byte, 1<<20+123)
	for i := range big {
		big[i] = byte(i * 7 / 4096)
	}
	err = os.WriteFile(filepath.Join(dir, "big"), big, 0o644)
	b, rerr = os.ReadFile(filepath.Join(dir, "big"))
	check("a file of 257 pages reads back whole", err == nil && rerr == nil && bytes.Equal(b, big), err, rerr, len(b))

	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err == nil {
		_, werr := null.Write([]byte("gone"))
		n, rerr = null.Read(hole)
		check("/dev/null swallows writes and reads end of file", werr == nil && n == 0 && rerr == io.EOF, werr, n, rerr)
		null.Close()
	} else {
		check("/dev/null opens", false, err)
	}
	zero, err := os.Open("/dev/zero")
	if err == nil {
		hole[0] = 1
		n, rerr = zero.Read(hole)
		check("/dev/zero reads zeros", rerr == nil && n == len(hole) && bytes.Equal(hole, make([]byte, len(hole))), n, rerr)
		zero.Close()
	} else {
		check("/dev/zero opens", false, err)
	}
	_, err = os.Stdout.Stat()
	check("fstat of standard output", err == nil, err)
	mmapChecks(check, dir)
	symlinkChecks(check, dir)
	callChecks(check, dir)
	metaChecks(check, dir)
	umaskChecks(check, dir)
	chownChecks(check, dir)
	slashChecks(check, dir)
	linkChecks(check, dir)
	fifoChecks(check, dir)
	accessChecks(check, dir)
	procChecks(check, dir)
	textBusyChecks(check, dir)

	err = os.RemoveAll(dir)
	_, serr = os.Stat(dir)
	check("remove everything", err == nil && errors.Is(serr, fs.ErrNotExist), err, serr)
	if bad > 0 {
		return 1
	}
	return 0
}
