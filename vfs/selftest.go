package vfs

// vfs's in-kernel self-test (ktest): a file system of its own over real
// VM object pages, worked from every online CPU at once.

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"syscall"

	"gofly/ktest"
	"gofly/lwkt"
)

func init() {
	ktest.Register(ktest.Check{
		Name: "vfs: files over VM object pages from every CPU: disjoint writers, no torn read among overlapping writers, truncate racing writes leaves a consistent file, a full file system is ENOSPC and loses nothing, every page comes back",
		Run:  checkFiles,
	})
}

// Self-test sizes: regions of files, rounds of each worker, and the file
// system's limit (pages).
const (
	testRegion = 16 << 10
	testRounds = 20
	testLimit  = 256
)

func checkFiles() error {
	var cpus []int
	for m := lwkt.OnlineMask(); m != 0; m &= m - 1 {
		cpus = append(cpus, bits.TrailingZeros64(m))
	}
	if len(cpus) == 0 {
		return ktest.Skip("no CPU online (not in the kernel)")
	}
	f := New(ObjectPages{}, testLimit)
	workers := max(4, 2*len(cpus))
	run := func(fn func(w int) error) error {
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			go func() { errs <- lwkt.OnCPU(cpus[w%len(cpus)], func() error { return fn(w) }) }()
		}
		var first error
		for range workers {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	for _, step := range []func(*FS, func(func(int) error) error, int) error{disjointWriters, overlappingWriters, truncateRace, fillUp} {
		if err := step(f, run, workers); err != nil {
			return err
		}
	}
	if used, _ := f.Usage(); used != 0 {
		return fmt.Errorf("vfs: %d pages counted after every file went", used)
	}
	return nil
}

// disjointWriters: each worker fills its own region of one file with its
// number, again and again; each region holds its worker's number after.
func disjointWriters(f *FS, run func(func(int) error) error, workers int) error {
	v, err := f.Create("/disjoint", 0o644)
	if err != nil {
		return err
	}
	err = run(func(w int) error {
		b := bytes.Repeat([]byte{byte(w + 1)}, testRegion)
		for i := 0; i < testRounds; i++ {
			if _, err := v.WriteAt(b, int64(w*testRegion)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	got, err := f.ReadFile("/disjoint")
	if err != nil || len(got) != workers*testRegion {
		return fmt.Errorf("vfs: disjoint writers: %d bytes, %v", len(got), err)
	}
	for w := 0; w < workers; w++ {
		if r := got[w*testRegion : (w+1)*testRegion]; !bytes.Equal(r, bytes.Repeat([]byte{byte(w + 1)}, testRegion)) {
			return fmt.Errorf("vfs: disjoint writers: region %d does not hold its writer's bytes", w)
		}
	}
	return f.Remove("/disjoint")
}

// overlappingWriters: odd workers write the whole of one region with
// their number, even ones read it: every read sees one writer's bytes,
// never a mix.
func overlappingWriters(f *FS, run func(func(int) error) error, _ int) error {
	v, err := f.Create("/overlap", 0o644)
	if err != nil {
		return err
	}
	if _, err := v.WriteAt(bytes.Repeat([]byte{1}, testRegion), 0); err != nil {
		return err
	}
	err = run(func(w int) error {
		b := make([]byte, testRegion)
		for i := 0; i < testRounds; i++ {
			if w%2 == 1 {
				for j := range b {
					b[j] = byte(w + 1)
				}
				if _, err := v.WriteAt(b, 0); err != nil {
					return err
				}
				continue
			}
			if _, err := v.ReadAt(b, 0); err != nil {
				return err
			}
			if bytes.Count(b, b[:1]) != len(b) {
				return errors.New("vfs: a read saw a torn write (two writers' bytes at once)")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return f.Remove("/overlap")
}

// truncateRace: half the workers write a whole region of 'x', half
// truncate the file to sizes inside it: after, the file is 'x's then
// zeros (a write covers the region whole; a shrink keeps a prefix, a
// growth adds zeros), never a zero amid 'x's or a stale byte past a cut.
func truncateRace(f *FS, run func(func(int) error) error, _ int) error {
	v, err := f.Create("/truncate", 0o644)
	if err != nil {
		return err
	}
	err = run(func(w int) error {
		b := bytes.Repeat([]byte{'x'}, testRegion)
		for i := 0; i < testRounds; i++ {
			if w%2 == 0 {
				if _, err := v.WriteAt(b, 0); err != nil {
					return err
				}
			} else if err := v.Truncate(int64((w*7919 + i*104729) % testRegion)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	got, err := f.ReadFile("/truncate")
	if err != nil {
		return err
	}
	xs := len(got) - len(bytes.TrimLeft(got, "x"))
	if bytes.Count(got[xs:], []byte{0}) != len(got)-xs {
		return fmt.Errorf("vfs: truncate racing writes: %d bytes, not 'x's then zeros (%d 'x's first)", len(got), xs)
	}
	if held := v.Stat().Blocks / (PageSize / 512); held > (int64(len(got))+PageSize-1)/PageSize {
		return fmt.Errorf("vfs: truncate racing writes: %d pages held for %d bytes", held, len(got))
	}
	return f.Remove("/truncate")
}

// fillUp: files of one region each, made from every CPU until the file
// system is full: each writer stops at ENOSPC, every file written before
// reads back whole, and removing them all gives every page back.
func fillUp(f *FS, run func(func(int) error) error, _ int) error {
	var mu sync.Mutex
	var full []string // files written whole
	err := run(func(w int) error {
		b := bytes.Repeat([]byte{byte(w + 1)}, testRegion)
		for i := 0; ; i++ {
			name := fmt.Sprintf("/fill-%d-%d", w, i)
			v, err := f.Create(name, 0o644)
			if err != nil {
				return err
			}
			n, err := v.WriteAt(b, 0)
			if errors.Is(err, syscall.ENOSPC) {
				if v.Stat().Size != int64(n) {
					return fmt.Errorf("vfs: a write cut short by ENOSPC wrote %d bytes, the size says %d", n, v.Stat().Size)
				}
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			full = append(full, name)
			mu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	if used, limit := f.Usage(); used != limit {
		return fmt.Errorf("vfs: ENOSPC with %d of %d pages used", used, limit)
	}
	for _, name := range full {
		got, err := f.ReadFile(name)
		if err != nil || len(got) != testRegion || bytes.Count(got, got[:1]) != testRegion {
			return fmt.Errorf("vfs: %s lost what was written before the file system filled (%d bytes, %v)", name, len(got), err)
		}
	}
	es, _ := f.Root().ReadDir()
	for _, e := range es[2:] {
		if err := f.Remove("/" + e.Name); err != nil {
			return err
		}
	}
	return nil
}
