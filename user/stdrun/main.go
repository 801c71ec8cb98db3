// Command stdrun runs Go test binaries that make stdtest packed into an
// initramfs (cmd/stdtest), one after another, each in its package's
// directory (where its testdata is) with -test.short -test.v, and prints
// one line per package for cmd/stdtest to read:
//
//	stdrun: result PKG PASS|FAIL passed N failed N skipped N seconds S [first failure]
//
// then "stdrun: done". It runs the same on Gofly (from the shell: run
// /stdrun) and on Linux, where it is /init: it mounts what Go's tests
// expect, sets the loopback interface up, and powers the machine off at
// the end.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// testLine is a test's end in -test.v output; top-level tests only.
var testLine = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): `)

func main() {
	root := flag.String("root", "/pkg", "where the packages' directories are")
	timeout := flag.Duration("timeout", 10*time.Minute, "each package's -test.timeout")
	flag.BoolVar(&verbose, "v", false, "copy each test binary's output to the console as it runs")
	flag.Parse()
	if os.Getpid() == 1 {
		initLinux()
		defer powerOff()
	}
	var bins []string
	filepath.WalkDir(*root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".test") {
			bins = append(bins, path)
		}
		return nil
	})
	sort.Strings(bins)
	if len(bins) == 0 {
		fmt.Printf("stdrun: no test binaries under %s\n", *root)
	}
	for _, bin := range bins {
		pkg, _ := filepath.Rel(*root, filepath.Dir(bin))
		run(pkg, bin, *timeout)
	}
	fmt.Println("stdrun: done")
}

// verbose is -v: the test binaries' output goes to the console too.
var verbose bool

// run runs one package's test binary and prints its result line.
func run(pkg, bin string, timeout time.Duration) {
	cmd := exec.Command(bin, "-test.short", "-test.v", "-test.timeout", timeout.String())
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), "HOME=/tmp", "TMPDIR=/tmp")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if verbose {
		both := io.MultiWriter(&out, os.Stdout)
		cmd.Stdout, cmd.Stderr = both, both
	}
	t0 := time.Now()
	err := cmd.Run()
	secs := time.Since(t0).Seconds()
	counts := map[string]int{}
	first := ""
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for prev := ""; sc.Scan(); {
		line := sc.Text()
		if m := testLine.FindStringSubmatch(line); m != nil {
			counts[m[1]]++
			if m[1] == "FAIL" && first == "" {
				first = line
			}
		}
		if first == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
			first = line
		}
		if strings.HasPrefix(prev, "--- FAIL: ") && first == prev && strings.TrimSpace(line) != "" {
			first = prev + " " + strings.TrimSpace(line)
		}
		prev = line
	}
	status := "PASS"
	if err != nil {
		status = "FAIL"
		if first == "" {
			first = err.Error()
		}
	}
	if status == "PASS" {
		first = ""
	}
	fmt.Printf("stdrun: result %s %s passed %d failed %d skipped %d seconds %.2f %s\n",
		pkg, status, counts["PASS"], counts["FAIL"], counts["SKIP"], secs, strings.Join(strings.Fields(first), " "))
	if status == "FAIL" {
		os.WriteFile(filepath.Join("/tmp", strings.ReplaceAll(pkg, "/", "_")+".out"), out.Bytes(), 0o644)
	}
}

// initLinux gives Go's tests under Linux, as /init, what a system has:
// /proc, /sys, /tmp, /dev.
func initLinux() {
	for _, m := range []struct{ src, dir, typ string }{
		{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"tmpfs", "/tmp", "tmpfs"}, {"devtmpfs", "/dev", "devtmpfs"},
	} {
		os.MkdirAll(m.dir, 0o755)
		if err := syscall.Mount(m.src, m.dir, m.typ, 0, ""); err != nil && err != syscall.EBUSY {
			fmt.Printf("stdrun: mount %s: %v\n", m.dir, err)
		}
	}
	os.Chmod("/tmp", 0o1777)
	if err := loopbackUp(); err != nil {
		fmt.Printf("stdrun: lo: %v\n", err)
	}
}

// loopbackUp sets the loopback interface up (SIOCGIFFLAGS, then
// SIOCSIFFLAGS with IFF_UP), as a system's init does: Go's tests listen
// on 127.0.0.1.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: the name, then the flags at 16
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	ifr[16] |= syscall.IFF_UP | syscall.IFF_RUNNING
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}

// powerOff ends the machine when stdrun is Linux's /init.
func powerOff() {
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}
