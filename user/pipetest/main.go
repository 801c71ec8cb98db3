// Command pipetest checks pipes the way programs use them, and measures
// them. Gofly lends the pages of a large write to the pipe copy-on-write
// (proc/pipe.go), so the checks rewrite a buffer the moment write returns
// and expect the reader to see what was written, not what came after.
// Each check prints "pipetest: WHAT: ok" or the first thing wrong and
// exits 1; the same program passes under Linux.
//
//	pipetest [-mb N]   the checks, N MiB through each stream (default 100)
//	pipetest -bench    1 MiB writes through a 1 MiB pipe for 2 s, the buffer
//	                   left alone and rewritten before each write: MiB/s of each
//
// With PIPETEST_READER=N in its environment it reads N bytes from stdin
// and checks them instead: the child of the cross-process check.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const mib = 1 << 20

// pattern is the stream's byte at offset o: it differs between one MiB
// round and the next at every offset of the buffer, so a reader handed the
// writer's next round sees it.
func pattern(o int64) byte { return byte(o ^ (o>>12)*0x9e ^ (o>>20)*0x3b) }

func fill(b []byte, at int64) {
	for i := range b {
		b[i] = pattern(at + int64(i))
	}
}

// check reads n bytes from r in uneven reads and checks the pattern.
func check(r io.Reader, n int64) error {
	buf := make([]byte, 100_003)
	var at int64
	for at < n {
		k, err := r.Read(buf[:min(int64(len(buf)), n-at)])
		for i := range k {
			if buf[i] != pattern(at+int64(i)) {
				return fmt.Errorf("byte %d is %#x, want %#x", at+int64(i), buf[i], pattern(at+int64(i)))
			}
		}
		at += int64(k)
		if err != nil {
			return fmt.Errorf("after %d bytes: %v", at, err)
		}
	}
	if k, err := r.Read(buf[:1]); k != 0 || err != io.EOF {
		return fmt.Errorf("after the stream: %d bytes, %v; want end of file", k, err)
	}
	return nil
}

// send writes n bytes of the pattern to w in writes of size bytes from
// one buffer at offset skew into its allocation, refilled as soon as each
// write returns.
func send(w io.WriteCloser, n int64, size, skew int) error {
	defer w.Close()
	buf := make([]byte, size+skew)[skew:]
	for at := int64(0); at < n; at += int64(size) {
		b := buf[:min(int64(size), n-at)]
		fill(b, at)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// stream sends n bytes through a fresh pipe to a reader goroutine.
func stream(n int64, size, skew int) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	errc := make(chan error, 1)
	go func() { errc <- send(w, n, size, skew) }()
	if err := check(r, n); err != nil {
		return err
	}
	return <-errc
}

// crossProcess sends n bytes to a child process's stdin.
func crossProcess(n int64) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", readerEnv, n))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	w, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	serr := send(w, n, mib, 0)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("the reader: %v", err)
	}
	return serr
}

// atomicWrites has four writers of 4096-byte records (PIPE_BUF) of their
// own byte: no record reaches the reader mixed with another.
func atomicWrites() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	const writers, records = 4, 500
	var wg sync.WaitGroup
	for id := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := bytes.Repeat([]byte{byte('a' + id)}, 4096)
			for range records {
				if _, err := w.Write(rec); err != nil {
					panic(err)
				}
			}
		}()
	}
	go func() { wg.Wait(); w.Close() }()
	rec := make([]byte, 4096)
	for n := 0; ; n++ {
		if _, err := io.ReadFull(r, rec); err == io.EOF {
			if n != writers*records {
				return fmt.Errorf("%d records, want %d", n, writers*records)
			}
			return nil
		} else if err != nil {
			return err
		}
		if bytes.Count(rec, rec[:1]) != len(rec) {
			return fmt.Errorf("record %d mixes writers", n)
		}
	}
}

// sharedSource writes from MAP_SHARED memory (copied, not lent), and
// writes from and reads into a buffer whose second half is PROT_NONE: the
// bytes before it count, then EFAULT.
func sharedSource() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	defer w.Close()
	shared, err := syscall.Mmap(-1, 0, 64<<10, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_ANON)
	if err != nil {
		return err
	}
	defer syscall.Munmap(shared)
	fill(shared, 0)
	if n, err := w.Write(shared); n != len(shared) || err != nil {
		return fmt.Errorf("write from shared memory: %d, %v", n, err)
	}
	fill(shared, 1<<20) // after the write: the pipe has a copy
	got := make([]byte, len(shared))
	if _, err := io.ReadFull(r, got); err != nil {
		return err
	}
	for i, b := range got {
		if b != pattern(int64(i)) {
			return fmt.Errorf("shared memory: byte %d changed after the write", i)
		}
	}
	half, err := syscall.Mmap(-1, 0, 64<<10, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return err
	}
	defer syscall.Munmap(half)
	if err := syscall.Mprotect(half[32<<10:], syscall.PROT_NONE); err != nil {
		return err
	}
	fill(half[:32<<10], 0)
	n, err := syscall.Write(int(w.Fd()), half)
	if n != 32<<10 || err != nil {
		return fmt.Errorf("write half PROT_NONE: %d, %v; want 32768, nil", n, err)
	}
	if _, err := syscall.Write(int(w.Fd()), half[32<<10:]); err != syscall.EFAULT {
		return fmt.Errorf("write from PROT_NONE: %v, want EFAULT", err)
	}
	// Copied (below the lending size): 24 KiB up to the PROT_NONE page.
	if n, err := syscall.Write(int(w.Fd()), half[8<<10:48<<10]); n != 24<<10 || err != nil {
		return fmt.Errorf("write of 40 KiB, PROT_NONE after 24: %d, %v; want 24576, nil", n, err)
	}
	// Reads stop at a PROT_NONE page of the buffer, counting what came.
	if n, err := syscall.Read(int(r.Fd()), half[16<<10:48<<10]); n != 16<<10 || err != nil {
		return fmt.Errorf("read of 32 KiB into a buffer PROT_NONE after 16: %d, %v; want 16384, nil", n, err)
	}
	if n, err := syscall.Read(int(r.Fd()), half[32<<10:]); n != -1 || err != syscall.EFAULT {
		return fmt.Errorf("read into PROT_NONE: %d, %v; want EFAULT", n, err)
	}
	return nil
}

// readerGone lends a full pipe's worth of pages, then closes the read
// end: the next write is EPIPE, and the lent pages go back (the boot
// test counts free frames around the run).
func readerGone() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer w.Close()
	buf := make([]byte, 64<<10)
	fill(buf, 0)
	if n, err := syscall.Write(int(w.Fd()), buf); n != len(buf) || err != nil {
		return fmt.Errorf("write 64 KiB into an empty pipe: %d, %v", n, err)
	}
	r.Close()
	if _, err := syscall.Write(int(w.Fd()), buf); err != syscall.EPIPE {
		return fmt.Errorf("write after the reader closed: %v, want EPIPE", err)
	}
	return nil
}

// capacity: a pipe holds 64 KiB, lent pages or copied bytes alike (a
// non-blocking write of more fills it, then EAGAIN); F_SETPIPE_SZ rounds
// up to a power of two pages and refuses to shrink below what it holds.
func capacity() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	defer w.Close()
	wfd := int(w.Fd()) // blocking now; made non-blocking below
	if err := syscall.SetNonblock(wfd, true); err != nil {
		return err
	}
	if n, err := unix.FcntlInt(uintptr(wfd), unix.F_GETPIPE_SZ, 0); n != 65536 || err != nil {
		return fmt.Errorf("F_GETPIPE_SZ: %d, %v; want 65536", n, err)
	}
	buf := make([]byte, 128<<10+1)
	if n, err := syscall.Write(wfd, buf); n != 65536 || err != nil {
		return fmt.Errorf("non-blocking write of 128 KiB+1: %d, %v; want 65536", n, err)
	}
	if _, err := syscall.Write(wfd, buf); err != syscall.EAGAIN {
		return fmt.Errorf("write to a full pipe: %v, want EAGAIN", err)
	}
	if _, err := unix.FcntlInt(uintptr(wfd), unix.F_SETPIPE_SZ, 4096); err != syscall.EBUSY {
		return fmt.Errorf("F_SETPIPE_SZ below what it holds: %v, want EBUSY", err)
	}
	if n, err := unix.FcntlInt(uintptr(wfd), unix.F_SETPIPE_SZ, 100000); n != 131072 || err != nil {
		return fmt.Errorf("F_SETPIPE_SZ 100000: %d, %v; want 131072", n, err)
	}
	if n, err := syscall.Write(wfd, buf); n != 65536 || err != nil {
		return fmt.Errorf("write into the grown pipe: %d, %v; want the 65536 left", n, err)
	}
	got := make([]byte, 1<<20)
	if n, err := io.ReadFull(r, got[:131072]); n != 131072 || err != nil {
		return fmt.Errorf("read it all back: %d, %v", n, err)
	}
	return nil
}

// bench times 1 MiB writes through a pipe to a reader goroutine for d,
// with the buffer rewritten before each write or not, and returns MiB/s.
func bench(d time.Duration, rewrite bool) (float64, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	// A 1 MiB pipe (F_SETPIPE_SZ, Linux's largest for a user): a write
	// goes in whole, lent or copied.
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, mib); err != nil {
		return 0, fmt.Errorf("F_SETPIPE_SZ: %v", err)
	}
	done := make(chan int64)
	go func() {
		buf := make([]byte, mib)
		var n int64
		for {
			k, err := r.Read(buf)
			n += int64(k)
			if err != nil {
				done <- n
				return
			}
		}
	}()
	buf := make([]byte, mib)
	fill(buf, 0)
	t0 := time.Now()
	var sent int64
	for time.Since(t0) < d {
		if rewrite {
			buf[0]++
			for i := 4096; i < len(buf); i += 4096 {
				buf[i] = buf[0] // every page written: a lent one is copied
			}
		}
		if _, err := w.Write(buf); err != nil {
			return 0, err
		}
		sent += mib
	}
	w.Close()
	got := <-done
	el := time.Since(t0)
	if got != sent {
		return 0, fmt.Errorf("bench: %d bytes sent, %d read", sent, got)
	}
	return float64(sent) / mib / el.Seconds(), nil
}

// readerEnv names the cross-process check's child's byte count.
const readerEnv = "PIPETEST_READER"

// reader is the cross-process check's child, when readerEnv is set: it
// reports whether it was, and exits if its check fails.
func reader() bool {
	v := os.Getenv(readerEnv)
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil {
		err = check(os.Stdin, n)
	}
	if err != nil {
		fmt.Printf("pipetest: reader: %v\n", err)
		os.Exit(1)
	}
	return true
}

func main() {
	mbs := flag.Int64("mb", 100, "MiB through each stream")
	benchFlag := flag.Bool("bench", false, "measure 1 MiB writes")
	flag.Parse()
	if reader() {
		return
	}
	if *benchFlag {
		for _, rewrite := range []bool{false, true} {
			rate, err := bench(2*time.Second, rewrite)
			if err != nil {
				fmt.Println("pipetest:", err)
				os.Exit(1)
			}
			fmt.Printf("pipetest: 1 MiB writes, buffer rewritten %v: %.1f MiB/s\n", rewrite, rate)
		}
		return
	}
	os.Exit(run(os.Stdout, *mbs))
}

// run makes every check with mbs MiB streams, printing to w, and returns
// the exit status.
func run(w io.Writer, mbs int64) int {
	n := mbs * mib
	checks := []struct {
		what string
		run  func() error
	}{
		{fmt.Sprintf("%d MiB in 1 MiB writes, buffer rewritten after each, intact", mbs), func() error { return stream(n, mib, 0) }},
		{fmt.Sprintf("%d MiB in writes of 200000 bytes at an odd offset, intact", mbs/4), func() error { return stream(n/4, 200_000, 100) }},
		{fmt.Sprintf("%d MiB to another process, intact", mbs/4), func() error { return crossProcess(n / 4) }},
		{"PIPE_BUF writes from 4 writers never mix", atomicWrites},
		{"writes from shared memory, writes and reads up to a PROT_NONE page", sharedSource},
		{"EPIPE once the reader closes, its lent pages given back", readerGone},
		{"a pipe holds 64 KiB, lent or copied; F_SETPIPE_SZ", capacity},
	}
	for _, c := range checks {
		if err := c.run(); err != nil {
			if errors.Is(err, syscall.ENOSYS) {
				err = fmt.Errorf("%w (a system call the kernel lacks)", err)
			}
			fmt.Fprintf(w, "pipetest: %s: %v\n", c.what, err)
			return 1
		}
		fmt.Fprintf(w, "pipetest: %s: ok\n", c.what)
	}
	return 0
}
