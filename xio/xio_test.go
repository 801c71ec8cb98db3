package xio

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// fakeMem is page memory on the host: frames by address, with hold counts.
type fakeMem struct {
	mu    sync.Mutex
	pages map[uint64][]byte
	holds map[uint64]int
	next  uint64
}

func newFake() *fakeMem {
	return &fakeMem{pages: map[uint64][]byte{}, holds: map[uint64]int{}, next: 0x100000}
}

// page makes a frame filled from fill, held once.
func (f *fakeMem) page(fill func(i int) byte) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	pa := f.next
	f.next += PageSize
	p := make([]byte, PageSize)
	for i := range p {
		p[i] = fill(i)
	}
	f.pages[pa] = p
	f.holds[pa] = 1
	return pa
}

func (f *fakeMem) Bytes(pa uint64) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.holds[pa] < 1 {
		panic("xio test: a page read without a hold")
	}
	return f.pages[pa]
}

func (f *fakeMem) Release(pas []uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, pa := range pas {
		if f.holds[pa] < 1 {
			panic("xio test: a hold dropped twice")
		}
		f.holds[pa]--
	}
}

func (f *fakeMem) held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, h := range f.holds {
		n += h
	}
	return n
}

// stream makes n pages whose bytes are the stream position's low byte
// plus seed.
func stream(f *fakeMem, n int, seed byte) []uint64 {
	pas := make([]uint64, n)
	for k := range pas {
		pas[k] = f.page(func(i int) byte { return byte(k*PageSize+i) + seed })
	}
	return pas
}

func TestInitRefusesAndHoldsNothing(t *testing.T) {
	f := newFake()
	pas := stream(f, 3, 0)
	bad := []struct {
		name       string
		pages      []uint64
		off, bytes int
	}{
		{"no pages", nil, 0, 1},
		{"too many pages", make([]uint64, MaxPages+1), 0, 1},
		{"offset past the first page", pas, PageSize, 1},
		{"negative offset", pas, -1, 1},
		{"no bytes", pas, 0, 0},
		{"bytes past the pages", pas, 100, 3*PageSize - 99},
		{"unaligned page", []uint64{pas[0] + 8}, 0, 1},
	}
	for _, c := range bad {
		var l List
		if err := l.Init(f, c.pages, c.off, c.bytes); err == nil {
			t.Errorf("%s: Init succeeded", c.name)
		}
		if l.Bytes() != 0 || len(l.Pages()) != 0 {
			t.Errorf("%s: a refused Init left %d bytes, %d pages", c.name, l.Bytes(), len(l.Pages()))
		}
	}
	if got := f.held(); got != 3 {
		t.Fatalf("holds after refused Inits: %d, want the caller's 3", got)
	}
}

func TestCopyAcrossPages(t *testing.T) {
	f := newFake()
	pas := stream(f, 3, 0)
	var l List
	const off, n = 1000, 3*PageSize - 1000 - 7
	if err := l.Init(f, pas, off, n); err != nil {
		t.Fatal(err)
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	before := l
	for _, c := range []struct{ uoff, n int }{{0, n}, {1, 1}, {PageSize - off - 1, 2}, {n - 1, 1}, {5000, 4000}, {n, 0}} {
		dst := make([]byte, c.n)
		if err := l.CopyTo(c.uoff, dst); err != nil {
			t.Fatalf("CopyTo(%d, %d): %v", c.uoff, c.n, err)
		}
		for i, b := range dst {
			if want := byte(off + c.uoff + i); b != want {
				t.Fatalf("CopyTo(%d, %d): byte %d is %d, want %d", c.uoff, c.n, i, b, want)
			}
		}
	}
	if l != before {
		t.Fatal("a copy changed the list")
	}
}

func TestCopyOutsideTouchesNothing(t *testing.T) {
	f := newFake()
	var l List
	if err := l.Init(f, stream(f, 2, 0), 0, PageSize+10); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ uoff, n int }{{PageSize, 11}, {-1, 2}, {0, PageSize + 11}, {PageSize + 11, 0}, {1 << 62, 1 << 62}} {
		dst := bytes.Repeat([]byte{0xee}, max(c.n, 0)%(1<<20))
		called := false
		err := l.Each(c.uoff, c.n, func([]byte) error { called = true; return nil })
		if !errors.Is(err, ErrRange) || called {
			t.Errorf("Each(%d, %d): %v, fn called %v; want ErrRange and no call", c.uoff, c.n, err, called)
		}
		if c.n < 1<<20 {
			if err := l.CopyTo(c.uoff, dst); !errors.Is(err, ErrRange) {
				t.Errorf("CopyTo(%d, %d): %v, want ErrRange", c.uoff, c.n, err)
			}
			if bytes.Count(dst, []byte{0xee}) != len(dst) {
				t.Errorf("CopyTo(%d, %d) wrote into dst", c.uoff, c.n)
			}
		}
	}
}

func TestEachStopsAtError(t *testing.T) {
	f := newFake()
	var l List
	if err := l.Init(f, stream(f, 3, 0), 0, 3*PageSize); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err := l.Each(0, 3*PageSize, func([]byte) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Fatalf("Each: %v after %d calls, want stop after 2", err, calls)
	}
}

func TestReleaseOnce(t *testing.T) {
	f := newFake()
	var l List
	if err := l.Init(f, stream(f, 4, 0), 0, 4*PageSize); err != nil {
		t.Fatal(err)
	}
	l.Release()
	if got := f.held(); got != 0 {
		t.Fatalf("holds after Release: %d", got)
	}
	if l.Err() != ErrReleased || l.Bytes() != 0 || len(l.Pages()) != 0 {
		t.Fatalf("released list: err %v, %d bytes, %d pages", l.Err(), l.Bytes(), len(l.Pages()))
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	if err := l.CopyTo(0, make([]byte, 1)); !errors.Is(err, ErrRange) {
		t.Fatalf("copy from a released list: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second Release did not panic")
		}
	}()
	l.Release()
}

// TestOwnersInParallel passes lists from writers to readers through a
// channel, as a pipe does, under -race: every byte arrives, every hold
// goes back.
func TestOwnersInParallel(t *testing.T) {
	f := newFake()
	const writers, lists = 4, 200
	ch := make(chan *List)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lists {
				n := 1 + (w+i)%MaxPages
				l := new(List)
				if err := l.Init(f, stream(f, n, byte(w)), 0, n*PageSize); err != nil {
					t.Error(err)
					return
				}
				ch <- l
			}
		}()
	}
	go func() { wg.Wait(); close(ch) }()
	var rg sync.WaitGroup
	for range 3 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for l := range ch {
				dst := make([]byte, l.Bytes())
				if err := l.CopyTo(0, dst); err != nil {
					t.Error(err)
				}
				seed := dst[0]
				for i, b := range dst {
					if b != byte(i)+seed {
						t.Errorf("byte %d of a list: %d, want %d", i, b, byte(i)+seed)
						break
					}
				}
				l.Release()
			}
		}()
	}
	rg.Wait()
	if got := f.held(); got != 0 {
		t.Fatalf("holds left: %d", got)
	}
}

func TestFrames(t *testing.T) {
	f := newFake()
	pas := stream(f, 3, 0)
	var l List
	if err := l.Init(f, pas, 100, 3*PageSize-200); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ uoff, first, off int }{{0, 0, 100}, {PageSize - 101, 0, PageSize - 1}, {PageSize - 100, 1, 0}, {3*PageSize - 201, 2, PageSize - 101}} {
		fr, off, err := l.Frames(c.uoff)
		if err != nil || off != c.off || len(fr) != 3-c.first || fr[0] != pas[c.first] {
			t.Errorf("Frames(%d): %d frames from %#x, offset %d, %v; want from page %d, offset %d", c.uoff, len(fr), fr[0], off, err, c.first, c.off)
		}
	}
	for _, uoff := range []int{-1, 3*PageSize - 200} {
		if _, _, err := l.Frames(uoff); !errors.Is(err, ErrRange) {
			t.Errorf("Frames(%d): %v, want ErrRange", uoff, err)
		}
	}
}
