package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapsLine is one line of /proc/PID/maps.
type mapsLine struct {
	lo, hi     uint64
	perm       string
	off, inode uint64
	name       string
}

// readMaps parses /proc/PID/maps as Linux writes it.
func readMaps(path string) ([]mapsLine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []mapsLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			return nil, fmt.Errorf("short line %q", sc.Text())
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		var l mapsLine
		var e1, e2, e3, e4 error
		l.lo, e1 = strconv.ParseUint(lo, 16, 64)
		l.hi, e2 = strconv.ParseUint(hi, 16, 64)
		l.off, e3 = strconv.ParseUint(f[2], 16, 64)
		l.inode, e4 = strconv.ParseUint(f[4], 10, 64)
		if err := errors.Join(e1, e2, e3, e4); err != nil || len(f[1]) != 4 || l.lo >= l.hi {
			return nil, fmt.Errorf("bad line %q: %v", sc.Text(), err)
		}
		l.perm = f[1]
		if len(f) > 5 {
			l.name = strings.Join(f[5:], " ")
		}
		out = append(out, l)
	}
	return out, nil
}

// procChecks: /proc/self/maps and /proc/PID/maps name the executable's
// text (its path and inode, executable and private), the stack and the
// vDSO, list a file mapped with MAP_SHARED by its path, and keep the
// mappings in order; other /proc paths and writes fail as on Linux
// (run as root: the write is the file's refusal, not the open's).
func procChecks(check func(string, bool, ...any), dir string) {
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	var st syscall.Stat_t
	serr := syscall.Stat(exe, &st)
	file := filepath.Join(dir, "maps-file")
	os.WriteFile(file, make([]byte, 8192), 0o644)
	f, ferr := os.OpenFile(file, os.O_RDWR, 0)
	var mem []byte
	if ferr == nil {
		mem, ferr = unix.Mmap(int(f.Fd()), 4096, 4096, unix.PROT_READ, unix.MAP_SHARED)
		f.Close()
	}
	maps, err := readMaps("/proc/self/maps")
	var text, stack, vdso, mapped, ordered bool
	ordered = len(maps) > 0
	for i, l := range maps {
		if i > 0 && l.lo < maps[i-1].hi {
			ordered = false
		}
		switch {
		case l.name == exe && l.perm == "r-xp" && l.inode == st.Ino:
			text = true
		case l.name == "[stack]" && strings.HasPrefix(l.perm, "rw"):
			stack = true
		case l.name == "[vdso]" && l.perm[2] == 'x':
			vdso = true
		case l.name == file && l.perm == "r--s" && l.off == 4096 && ferr == nil && l.lo == uint64(uintptr(unsafe.Pointer(&mem[0]))):
			mapped = true
		}
	}
	check("/proc/self/maps: the executable's text (r-xp, its path and inode), [stack], [vdso], a shared file at its offset, in order",
		err == nil && serr == nil && ferr == nil && text && stack && vdso && mapped && ordered, err, serr, ferr, text, stack, vdso, mapped, ordered)
	if mem != nil {
		unix.Munmap(mem)
	}
	byPID, err2 := readMaps("/proc/" + strconv.Itoa(os.Getpid()) + "/maps")
	check("/proc/PID/maps is the same process's", err2 == nil && len(byPID) > 0 && byPID[0] == maps[0], err2, len(byPID))
	cmdline, err := os.ReadFile("/proc/self/cmdline")
	want := strings.Join(os.Args, "\x00") + "\x00"
	check("/proc/self/cmdline is the arguments, each ended by a NUL", err == nil && string(cmdline) == want, err, string(cmdline), want)
	environ, err := os.ReadFile("/proc/self/environ")
	check("/proc/self/environ holds this process's environment", err == nil && len(os.Environ()) > 0 &&
		strings.Contains("\x00"+string(environ), "\x00"+os.Environ()[0]+"\x00"), err, len(environ))
	w, e1 := os.OpenFile("/proc/self/maps", os.O_WRONLY, 0)
	if e1 == nil {
		_, e1 = w.Write([]byte("x"))
		w.Close()
	}
	_, e2 := os.Open("/proc/self/no-such-file")
	_, e3 := os.Open("/proc/999999/maps")
	check("/proc: root opens maps for writing, but a write is EINVAL; a missing file or process is ENOENT", errors.Is(e1, syscall.EINVAL) &&
		errors.Is(e2, syscall.ENOENT) && errors.Is(e3, syscall.ENOENT), e1, e2, e3)
}
