// Command clocktest checks the vDSO from a Go program's side, each check
// with Linux's outcome (its host test runs the same checks under the
// host's Linux): AT_SYSINFO_EHDR points at an ELF shared object that
// exports __vdso_clock_gettime, __vdso_gettimeofday and __vdso_time at
// version LINUX_2.6; Go's runtime found it; each function, called
// directly, agrees with the system call read before and after it; clocks
// the vDSO does not serve fall back to the system call, errors included;
// and a write to the vDSO (after mprotect) stays in this process. With
// the argument "child" it only reports its vDSO's header byte; with
// "bench" it prints the cost of time.Now and of getpid.
package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unsafe"

	_ "unsafe" // linkname

	"golang.org/x/sys/unix"
)

// callC calls fn(a, b) with the C calling convention (call_amd64.s).
func callC(fn, a, b uintptr) uintptr

// The runtime's pointer to the vDSO's gettimeofday, which the syscall
// package reads too: set when the runtime found the vDSO and the symbol
// at version LINUX_2.6.
//
//go:linkname vdsoGettimeofdaySym runtime.vdsoGettimeofdaySym
var vdsoGettimeofdaySym uintptr

// padByte is an ELF header padding byte (e_ident[EI_PAD]), unused by
// any reader: the byte the write check changes.
const padByte = elf.EI_PAD

// atSysinfoEhdr is the auxiliary vector's vDSO entry (linux/auxvec.h).
const atSysinfoEhdr = 33

func main() {
	if os.Getpid() == 1 { // Linux's /init, for make bench
		bench(os.Stdout)
		return
	}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "child":
			base := vdsoBase()
			if base == 0 {
				fmt.Println("no vdso")
				os.Exit(1)
			}
			fmt.Println(mem(base, padByte+1)[padByte])
			return
		case "bench":
			bench(os.Stdout)
			return
		}
	}
	os.Exit(run(os.Stdout))
}

// vdsoBase returns AT_SYSINFO_EHDR, 0 if there is none.
func vdsoBase() uintptr {
	auxv, err := unix.Auxv()
	if err != nil {
		return 0
	}
	for _, kv := range auxv {
		if kv[0] == atSysinfoEhdr {
			return kv[1]
		}
	}
	return 0
}

// mem is the n bytes at addr: memory the Go heap does not own (the
// vDSO), reached by reinterpreting the address's bits.
func mem(addr uintptr, n int) []byte {
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), n)
}

// vdsoSyms reads the ELF image at base (its PT_LOAD's extent) and returns
// its dynamic symbols' addresses by name, for those at version LINUX_2.6.
func vdsoSyms(base uintptr) (map[string]uintptr, error) {
	hdr := mem(base, 64)
	if !bytes.HasPrefix(hdr, []byte(elf.ELFMAG)) {
		return nil, fmt.Errorf("no ELF header at %#x", base)
	}
	// The image's size, from its headers.
	le := binary.LittleEndian
	phoff, phnum := le.Uint64(hdr[32:]), le.Uint16(hdr[56:])
	var size uint64
	for i := range uint64(phnum) {
		ph := mem(base+uintptr(phoff+i*56), 56)
		if le.Uint32(ph) == uint32(elf.PT_LOAD) {
			size = max(size, le.Uint64(ph[8:])+le.Uint64(ph[32:]))
		}
	}
	// The section headers are part of the image too (the whole file is
	// mapped), though outside any segment's extent.
	size = max(size, le.Uint64(hdr[40:])+uint64(le.Uint16(hdr[58:]))*uint64(le.Uint16(hdr[60:])))
	f, err := elf.NewFile(bytes.NewReader(mem(base, int(size))))
	if err != nil {
		return nil, err
	}
	if f.Type != elf.ET_DYN || f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("type %v machine %v", f.Type, f.Machine)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return nil, err
	}
	var load uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			load = p.Vaddr - p.Off
			break
		}
	}
	out := map[string]uintptr{}
	for _, s := range syms {
		if s.Version == "LINUX_2.6" && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF {
			out[s.Name] = base + uintptr(s.Value-load)
		}
	}
	return out, nil
}

// rawClock reads clock clk by the system call.
func rawClock(clk int) (int64, syscall.Errno) {
	var ts unix.Timespec
	_, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, uintptr(clk), uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano(), e
}

func run(w io.Writer) int {
	bad := 0
	check := func(what string, ok bool, got ...any) {
		if ok {
			fmt.Fprintf(w, "clocktest: %s: ok\n", what)
			return
		}
		bad++
		fmt.Fprintf(w, "clocktest: %s: FAIL %v\n", what, got)
	}
	base := vdsoBase()
	check("AT_SYSINFO_EHDR is in the auxiliary vector", base != 0 && base%4096 == 0, base)
	if base == 0 {
		return 1
	}
	syms, err := vdsoSyms(base)
	_, cg := syms["__vdso_clock_gettime"]
	_, gtod := syms["__vdso_gettimeofday"]
	_, tm := syms["__vdso_time"]
	check("an ELF shared object exporting clock_gettime, gettimeofday and time at LINUX_2.6", err == nil && cg && gtod && tm, err, syms)
	if !cg || !gtod || !tm {
		return 1
	}
	check("Go's runtime found the vDSO", vdsoGettimeofdaySym == syms["__vdso_gettimeofday"], vdsoGettimeofdaySym)

	var ts unix.Timespec
	clock := func(clk int) (int64, uintptr) {
		ts = unix.Timespec{}
		r := callC(syms["__vdso_clock_gettime"], uintptr(clk), uintptr(unsafe.Pointer(&ts)))
		return ts.Nano(), r
	}
	for _, c := range []struct {
		name string
		clk  int
	}{{"CLOCK_REALTIME", unix.CLOCK_REALTIME}, {"CLOCK_MONOTONIC", unix.CLOCK_MONOTONIC},
		{"CLOCK_MONOTONIC_RAW", unix.CLOCK_MONOTONIC_RAW}, {"CLOCK_BOOTTIME", unix.CLOCK_BOOTTIME}} {
		before, e1 := rawClock(c.clk)
		got, r := clock(c.clk)
		after, e2 := rawClock(c.clk)
		check("clock_gettime("+c.name+") lies between the system call's readings before and after", e1 == 0 && e2 == 0 && r == 0 && before <= got && got <= after, before, got, after, r)
	}
	// A coarse clock may lag a tick behind the fine one.
	fine, _ := rawClock(unix.CLOCK_MONOTONIC)
	coarse, r := clock(unix.CLOCK_MONOTONIC_COARSE)
	check("clock_gettime(CLOCK_MONOTONIC_COARSE) is within 20 ms of CLOCK_MONOTONIC", r == 0 && coarse > fine-20e6 && coarse < fine+20e6, fine, coarse, r)

	prev, ok := int64(0), true
	for range 10000 {
		t, _ := clock(unix.CLOCK_MONOTONIC)
		ok = ok && t >= prev
		prev = t
	}
	check("10,000 monotonic readings never go back", ok)

	cpu, r := clock(unix.CLOCK_PROCESS_CPUTIME_ID)
	check("a clock it does not serve goes to the system call (CLOCK_PROCESS_CPUTIME_ID)", r == 0 && cpu > 0, cpu, r)
	_, r = clock(1234)
	check("an invalid clock returns -EINVAL", int(r) == -int(syscall.EINVAL), int(r))

	var tv unix.Timeval
	tz := [2]int32{7, 7}
	beforeTV, _ := rawClock(unix.CLOCK_REALTIME)
	r = callC(syms["__vdso_gettimeofday"], uintptr(unsafe.Pointer(&tv)), uintptr(unsafe.Pointer(&tz)))
	afterTV, _ := rawClock(unix.CLOCK_REALTIME)
	check("gettimeofday: the wall clock in microseconds, the time zone UTC", r == 0 && tv.Nano() >= beforeTV/1000*1000 && tv.Nano() <= afterTV && tz == [2]int32{}, beforeTV, tv, afterTV, tz, r)
	r = callC(syms["__vdso_gettimeofday"], 0, 0)
	check("gettimeofday(NULL, NULL) returns 0", r == 0, r)

	var t int64
	beforeT, _ := rawClock(unix.CLOCK_REALTIME)
	r = callC(syms["__vdso_time"], uintptr(unsafe.Pointer(&t)), 0)
	afterT, _ := rawClock(unix.CLOCK_REALTIME)
	check("time(&t): the wall clock's seconds, returned and stored", int64(r) == t && t >= beforeT/1e9 && t <= afterT/1e9, beforeT, t, afterT, r)
	r = callC(syms["__vdso_time"], 0, 0)
	check("time(NULL) returns the seconds", int64(r) >= t && int64(r) <= t+10, r, t)

	// The system calls the vDSO stands for.
	var sysTV unix.Timeval
	err = unix.Gettimeofday(&sysTV)
	nowSec, _, e := syscall.RawSyscall(syscall.SYS_TIME, 0, 0, 0)
	var res unix.Timespec
	errRes := unix.ClockGetres(unix.CLOCK_MONOTONIC, &res)
	errBad := unix.ClockGetres(1234, &res)
	check("the gettimeofday, time and clock_getres system calls", err == nil && e == 0 && sysTV.Sec >= t && int64(nowSec) >= t && int64(nowSec) <= t+10 &&
		errRes == nil && res == unix.Timespec{Nsec: 1} && errBad == syscall.EINVAL, err, sysTV, nowSec, e, errRes, res, errBad)
	mono, _ := rawClock(unix.CLOCK_MONOTONIC)
	check("time.Now's monotonic and wall readings", time.Now().Sub(time.Unix(0, afterT)) >= 0 && time.Since(time.Now()) < time.Second && mono > 0, mono)

	// A write to the vDSO, where mprotect allows it (Linux seals the
	// vDSO where configured, and mprotect fails), is this process's: an
	// exec'd child sees the original.
	page := mem(base, 4096)
	perr := unix.Mprotect(page, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC)
	if perr == nil {
		page[padByte] = 0x5a
		err = unix.Mprotect(page, unix.PROT_READ|unix.PROT_EXEC)
	}
	exe, _ := os.Executable()
	out, cerr := exec.Command(exe, "child").CombinedOutput()
	check("a write to this process's vDSO is its own", (perr != nil || err == nil && page[padByte] == 0x5a) && cerr == nil && strings.TrimSpace(string(out)) == "0", perr, err, cerr, string(out))
	if perr == nil {
		fmt.Fprintln(w, "clocktest: (the vDSO was made writable and written)")
	}
	t2, r := clock(unix.CLOCK_REALTIME)
	check("the vDSO still works after the write", r == 0 && t2 >= afterT, t2, r)

	if bad > 0 {
		fmt.Fprintf(w, "clocktest: %d checks failed\n", bad)
		return 1
	}
	return 0
}

// bench prints the cost of time.Now (the vDSO, through the runtime) and
// of a getpid system call, each the mean of many.
func bench(w io.Writer) {
	const n = 20000
	start := time.Now()
	for range n {
		time.Now()
	}
	now := time.Since(start) / n
	start = time.Now()
	for range n / 10 {
		syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
	}
	getpid := time.Since(start) / (n / 10)
	fmt.Fprintf(w, "clocktest: time.Now %d ns, getpid %d ns\n", now.Nanoseconds(), getpid.Nanoseconds())
}
