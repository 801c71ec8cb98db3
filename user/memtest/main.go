// Command memtest checks memory protection from a Go program's side,
// each check with Linux's outcome (its host test runs the same checks
// under the host's Linux): mprotect keeps a range's pages and their
// contents while it changes what may be done with them, a refused access
// faults at its address (debug.SetPanicOnFault turns the SIGSEGV into a
// panic that carries it), a system call given an inaccessible buffer
// fails with EFAULT, and a thread on another CPU loses its access as soon
// as mprotect returns (the TLB shootdown). It prints a line per check and
// exits 0 if all held.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

const page = 4096

// farAway is where the test's pages go (MAP_FIXED_NOREPLACE, Linux 4.17
// on): below the stack and Linux's mmap base, above where Gofly's first
// fit places mappings.
const (
	farAway           = 0x7e00_0000_0000
	mapFixedNoReplace = 0x100000
)

func main() { os.Exit(run(os.Stdout)) }

// faultAt runs f and returns the address of the fault it took, or 0.
func faultAt(f func()) (addr uintptr) {
	defer func() {
		if e := recover(); e != nil {
			if a, ok := e.(interface{ Addr() uintptr }); ok {
				addr = a.Addr()
				return
			}
			panic(e)
		}
	}()
	f()
	return 0
}

// mprotect is the raw call, so that a misaligned address reaches the
// kernel.
func mprotect(addr uintptr, n uintptr, prot int) syscall.Errno {
	_, _, e := syscall.Syscall(syscall.SYS_MPROTECT, addr, n, uintptr(prot))
	return e
}

func run(w io.Writer) int {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	bad := 0
	check := func(what string, ok bool, got any) {
		if ok {
			fmt.Fprintf(w, "memtest: %s: ok\n", what)
			return
		}
		bad++
		fmt.Fprintf(w, "memtest: %s: FAIL (%v)\n", what, got)
	}

	// Far from where the runtime maps its own memory: the hole the
	// checks below punch must stay a hole, which a mapping the runtime
	// makes meanwhile could otherwise fill (and the checks would then
	// drop the runtime's pages).
	base, _, e0 := syscall.Syscall6(syscall.SYS_MMAP, farAway, 6*page, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|mapFixedNoReplace, ^uintptr(0), 0)
	if e0 != 0 || base != farAway {
		fmt.Fprintf(w, "memtest: mmap at %#x: %v (at %#x)\n", uintptr(farAway), e0, base)
		return 1
	}
	b := unsafe.Slice((*byte)(unsafe.Add(nil, base)), 6*page) // memory the kernel mapped, outside the Go heap
	defer syscall.Syscall(syscall.SYS_MUNMAP, base, 6*page, 0)
	at := func(i int) uintptr { return base + uintptr(i)*page }
	for i := 0; i < 6; i++ {
		b[i*page] = byte(10 + i)
	}
	pg := func(i int) []byte { return b[i*page : (i+1)*page] }

	e := mprotect(at(1), page, syscall.PROT_READ)
	a := faultAt(func() { b[page] = 1 })
	check("a read-only page refuses a write at its address", e == 0 && a == at(1), fmt.Sprintf("errno %d, fault at %#x", e, a))
	check("and keeps its contents", b[page] == 11, b[page])

	e = mprotect(at(2), page, syscall.PROT_NONE)
	var v byte
	a = faultAt(func() { v = b[2*page+5] })
	check("a PROT_NONE page refuses a read", e == 0 && a == at(2)+5, fmt.Sprintf("errno %d, fault at %#x", e, a))
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		fmt.Fprintf(w, "memtest: pipe: %v\n", err)
		return 1
	}
	_, err := syscall.Write(fds[1], pg(2))
	check("write(2) from a PROT_NONE page is EFAULT", err == syscall.EFAULT, err)
	e = mprotect(at(1), 2*page, syscall.PROT_READ|syscall.PROT_WRITE)
	b[page], b[2*page] = 21, 22
	check("PROT_READ|PROT_WRITE again: contents kept, writes work", e == 0 && v == 0 && b[2*page+0] == 22 && b[page] == 21,
		fmt.Sprintf("errno %d, %d %d", e, b[page], b[2*page]))

	e = mprotect(at(3), page, syscall.PROT_WRITE)
	check("a PROT_WRITE page is readable too (x86-64)", e == 0 && faultAt(func() { v = b[3*page] }) == 0 && v == 13, v)

	check("a misaligned address is EINVAL", mprotect(base+1, page, syscall.PROT_READ) == syscall.EINVAL, nil)
	check("an unknown protection bit is EINVAL", mprotect(base, page, 0x10) == syscall.EINVAL, nil)
	syscall.Syscall(syscall.SYS_MUNMAP, at(5), page, 0)
	e = mprotect(at(4), 2*page, syscall.PROT_READ)
	a = faultAt(func() { b[4*page] = 1 })
	check("a range with an unmapped page is ENOMEM, the page before the hole changed", e == syscall.ENOMEM && a == at(4),
		fmt.Sprintf("errno %d, fault at %#x", e, a))
	check("a length of 0 does nothing", mprotect(at(5), 0, syscall.PROT_READ) == 0, nil)
	check("a length of 0 is checked before the protection", mprotect(base, 0, 0x10) == 0, nil)
	_, _, e = syscall.Syscall(syscall.SYS_MADVISE, base, page, syscall.MADV_REMOVE)
	check("MADV_REMOVE of private memory is EINVAL", e == syscall.EINVAL, e)
	_, _, e = syscall.Syscall(syscall.SYS_MADVISE, at(3), 3*page, syscall.MADV_DONTNEED) // at(5) is unmapped
	check("MADV_DONTNEED over a hole is ENOMEM, the mapped pages dropped all the same", e == syscall.ENOMEM && b[3*page] == 0,
		fmt.Sprintf("errno %d, page %d", e, b[3*page]))

	// A thread on another CPU using a page the whole time: once mprotect
	// has returned, its next access must fault (an earlier one may). Over
	// a hole too, where the call fails after changing the page.
	mprotect(at(4), page, syscall.PROT_READ|syscall.PROT_WRITE)
	e, a = whileAnotherThread(func() { b[4*page]++ }, func() syscall.Errno {
		return mprotect(at(4), 2*page, syscall.PROT_READ) // at(5) is unmapped
	})
	check("another thread's next write after mprotect over a hole faults", e == syscall.ENOMEM && a == at(4),
		fmt.Sprintf("errno %d, fault at %#x", e, a))
	var sum byte
	e, a = whileAnotherThread(func() { sum += b[4*page] }, func() syscall.Errno {
		return mprotect(at(4), page, syscall.PROT_NONE)
	})
	check("another thread's next read after mprotect faults", e == 0 && a == at(4), fmt.Sprintf("errno %d, fault at %#x", e, a))
	mincoreChecks(check)
	fpuChecks(check)

	if bad > 0 {
		return 1
	}
	return 0
}

// whileAnotherThread runs access over and over on a locked thread of its
// own (another CPU, given more than one) until change, made meanwhile,
// has returned; it returns change's errno and the address where access
// faulted, 0 if it never did: the access after change returned must
// fault.
func whileAnotherThread(access func(), change func() syscall.Errno) (syscall.Errno, uintptr) {
	var stop, started atomic.Bool
	result := make(chan uintptr)
	go func() {
		runtime.LockOSThread()
		debug.SetPanicOnFault(true)
		result <- faultAt(func() {
			for {
				last := stop.Load()
				access()
				started.Store(true)
				if last {
					return
				}
			}
		})
	}()
	for !started.Load() {
		runtime.Gosched()
	}
	e := change()
	stop.Store(true)
	return e, <-result
}

// mincore is the raw call.
func mincore(addr, n uintptr, vec *[4]byte) syscall.Errno {
	return mincoreAt(addr, n, uintptr(unsafe.Pointer(vec)))
}

// mincoreAt is mincore with the vector's address as a number.
func mincoreAt(addr, n, vec uintptr) syscall.Errno {
	_, _, e := syscall.Syscall(syscall.SYS_MINCORE, addr, n, vec)
	return e
}

// mincoreChecks: mincore reports the pages touched, this program's own
// text (its file's pages), and Linux's errors.
func mincoreChecks(check func(string, bool, any)) {
	const at = farAway + 16*page
	base, _, e := syscall.Syscall6(syscall.SYS_MMAP, at, 4*page, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|mapFixedNoReplace, ^uintptr(0), 0)
	if e != 0 || base != at {
		check("mincore: mmap", false, e)
		return
	}
	defer syscall.Syscall(syscall.SYS_MUNMAP, base, 4*page, 0)
	b := unsafe.Slice((*byte)(unsafe.Add(nil, base)), 4*page)
	b[0], b[2*page] = 1, 1
	var vec [4]byte
	e = mincore(base, 4*page-100, &vec) // a length rounds up to whole pages
	check("mincore: the pages written are resident, the others not", e == 0 && vec == [4]byte{1, 0, 1, 0}, fmt.Sprint(e, vec))
	text := uintptr(reflectFuncPC()) &^ (page - 1)
	e = mincore(text, 1, &vec)
	check("mincore: this program's running text is resident", e == 0 && vec[0]&1 == 1, fmt.Sprint(e, vec[0]))
	check("mincore: a misaligned address is EINVAL", mincore(base+1, page, &vec) == syscall.EINVAL, nil)
	syscall.Syscall(syscall.SYS_MUNMAP, base+3*page, page, 0)
	check("mincore: a range with an unmapped page is ENOMEM", mincore(base, 4*page, &vec) == syscall.ENOMEM, nil)
	check("mincore: a vector in the kernel's half is EFAULT",
		mincoreAt(base, page, 0xffff800000000000) == syscall.EFAULT, nil)
}

// reflectFuncPC is the address of some code of this program.
func reflectFuncPC() uintptr {
	pc, _, _, _ := runtime.Caller(0)
	return pc
}

// fpuKept holds values in X0-X15 and a MXCSR other than the default
// across n system calls and n page faults (fpu_amd64.s).
func fpuKept(n int, mxcsr uint32, pages uintptr) (changed int)

// fpuChecks: a thread's SSE registers and MXCSR survive system calls and
// page faults, on 8 threads at once (so also switches between them).
func fpuChecks(check func(string, bool, any)) {
	const threads, rounds, n = 8, 20, 32
	var wg sync.WaitGroup
	changed := make([]int, threads)
	errs := make([]error, threads)
	for i := range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for range rounds {
				m, err := syscall.Mmap(-1, 0, n*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
				if err != nil {
					errs[i] = err
					return
				}
				// Round toward zero, and denormals flushed: not Go's.
				changed[i] += fpuKept(n, 0x1F80|0x6000|0x8000, uintptr(unsafe.Pointer(&m[0])))
				syscall.Munmap(m)
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
	total := 0
	for _, c := range changed {
		total += c
	}
	check("XMM registers and MXCSR survive system calls and page faults, 8 threads", total == 0 && errors.Join(errs...) == nil,
		fmt.Sprintf("%d changed, %v", total, errors.Join(errs...)))
}
