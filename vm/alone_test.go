package vm

import (
	"sync"
	"testing"

	"gofly/fatal"
	"gofly/mm"
	"gofly/pmap"
)

// TestAlone: a memory call may run under its map's lock alone when the
// map is a process's with no object, the call makes none, and what it
// may free fits the deferred list in place; otherwise, and for a bad
// range, the MP lock's.
func TestAlone(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 8*p, rw, fixed, int64(a))
	f.touch(a, 8*p, true, true)
	big := uintptr(pmap.DeferNear+1) * p // more pages than the list holds in place
	f.mmap(a+64*p, big, rw, fixed, int64(a+64*p))
	f.touch(a+64*p, big, true, true)
	for _, c := range []struct {
		name          string
		addr, length  uintptr
		frees, shared bool
		want          bool
	}{
		{"mmap", 0, 4 * p, false, false, true},
		{"mprotect anywhere", a, 1 << 40, false, false, true},
		{"munmap of resident pages", a, 8 * p, true, false, true},
		{"munmap of nothing", a + 16*p, 32 * p, true, false, true},
		{"munmap unaligned (the call's EINVAL)", a + 1, p, true, false, true},
		{"munmap of more than fits in place", a + 64*p, big, true, false, false},
		{"a part of it that fits", a + 64*p, 64 * p, true, false, true},
		{"a shared mmap (a new object)", 0, p, false, true, false},
		{"munmap of length 0", a, 0, true, false, false},
		{"munmap wrapping", a, ^uintptr(0) - a + 2, true, false, false},
		{"munmap below userMin", testMin - p, 2 * p, true, false, false},
		{"munmap past UserMax", UserMax - p, 2 * p, true, false, false},
	} {
		if got := f.m.Alone(c.addr, c.length, c.frees, c.shared); got != c.want {
			t.Errorf("%s: Alone(%#x, %#x, frees %v, shared %v) = %v; want %v", c.name, c.addr, c.length, c.frees, c.shared, got, c.want)
		}
	}
	// An entry over an object: the MP lock's for a range that meets it
	// (even by one page at either end), not for one beside it or apart.
	f.mmap(a+32*p, 2*p, rw, shared, int64(a+32*p))
	for _, c := range []struct {
		name         string
		addr, length uintptr
		frees, want  bool
	}{
		{"mprotect over the object", a + 32*p, 2 * p, false, false},
		{"munmap of its first page", a + 31*p, 2 * p, true, false},
		{"munmap of its last page", a + 33*p, 2 * p, true, false},
		{"mprotect across it", a, 64 * p, false, false},
		{"munmap just below it", a + 24*p, 8 * p, true, true},
		{"mprotect just above it", a + 34*p, 4 * p, false, true},
		{"mmap elsewhere", 0, 4 * p, false, true},
	} {
		if got := f.m.Alone(c.addr, c.length, c.frees, false); got != c.want {
			t.Errorf("object in the map, %s: Alone(%#x, %#x, frees %v) = %v; want %v", c.name, c.addr, c.length, c.frees, got, c.want)
		}
	}
	// An edit beside it leaves it whole: no merge with private memory
	// (mmap checks the map's invariants).
	n := f.m.Len()
	f.mmap(a+34*p, 2*p, rw, fixed, int64(a+34*p))
	if f.m.Len() != n+1 {
		t.Errorf("map entries %d after a private mmap beside the object, want %d", f.m.Len(), n+1)
	}
	f.munmap(a+32*p, 2*p, 0)
	if !f.m.Alone(a+32*p, p, false, false) {
		t.Error("Alone after the object went; want true")
	}
}

// TestAloneKernel: the kernel's map is the MP lock's.
func TestAloneKernel(t *testing.T) {
	k := newFixture(t, testMin)
	if k.m.Alone(0, p, false, false) {
		t.Error("Alone of the kernel's map; want false")
	}
}

// TestDeferRoomHeld: a munmap Alone allows, in a map another CPU runs,
// defers its frames in place: as many as DeferRoom had, and no
// bookkeeping frame from mm.
func TestDeferRoomHeld(t *testing.T) {
	f := newUserFixture(t, testMin)
	pmap.Shootdown = func(uint64) {}
	defer func() { pmap.Shootdown = nil }()
	a := base
	n := uintptr(pmap.DeferNear - 8) // leaves room for the tables
	f.mmap(a, n*p, rw, fixed, int64(a))
	f.touch(a, n*p, true, true)
	f.pm.Activate(2)
	defer f.pm.Deactivate(2)
	if !f.m.Alone(a, n*p, true, false) {
		t.Fatal("Alone of a munmap that fits in place; want true")
	}
	room := pmap.DeferRoom()
	free := mm.Phys.FreePages()
	if f.m.Munmap(a, n*p) != 0 {
		t.Fatal("munmap failed")
	}
	if got := uint64(room - pmap.DeferRoom()); got != pmap.Deferred() || got < uint64(n) {
		t.Fatalf("room went from %d to %d with %d deferred; want at least %d pages in place", room, pmap.DeferRoom(), pmap.Deferred(), n)
	}
	if mm.Phys.FreePages() != free {
		t.Fatalf("FreePages %d during the deferral (was %d): a bookkeeping frame was taken or a frame freed early", mm.Phys.FreePages(), free)
	}
	pmap.FreeDeferred()
	if pmap.DeferRoom() != pmap.DeferNear {
		t.Fatalf("room %d after the shootdown; want %d", pmap.DeferRoom(), pmap.DeferNear)
	}
	f.check("after FreeDeferred")
}

// TestAloneRefusesShared: a munmap over a page another address space
// maps too (a fork's, copy on write) is the MP lock's; once the page is
// this map's alone (the other side copied it), the map's lock is enough.
func TestAloneRefusesShared(t *testing.T) {
	f := newUserFixture(t, testMin)
	a := base
	f.mmap(a, 2*p, rw, fixed, int64(a))
	f.fault(a, true, false, true)
	child := f.fork()
	defer child.Destroy()
	f.m.Lock()
	if !f.m.Fault(a+p, true, false) { // after the fork: the parent's alone
		t.Fatal("parent's fault failed")
	}
	f.m.Unlock()
	if f.m.Alone(a, p, true, false) {
		t.Error("Alone over a page the child maps too; want false")
	}
	if !f.m.Alone(a, p, false, false) {
		t.Error("Alone of an mprotect over it (frees nothing); want true")
	}
	if !f.m.Alone(a+p, p, true, false) {
		t.Error("Alone over a page only the parent maps; want true")
	}
	child.Lock()
	if !child.Fault(a, true, false) { // the child's write copies the page
		t.Fatal("child's copy-on-write fault failed")
	}
	child.Unlock()
	if !f.m.Alone(a, p, true, false) {
		t.Error("Alone after the child copied the page; want true")
	}
	if f.m.Alone(a, p, true, true) {
		t.Error("Alone of a call that makes or punches an object; want false")
	}
}

// TestUnmapBesideCopyOnWrite: a forked child unmaps pages only it maps
// under its own lock alone (as Alone allows, no MP lock) while the parent
// write-faults the pages they share copy-on-write under the MP lock (a
// mutex stands in), and the child unmaps those under the MP lock too,
// since Alone refuses them. Pages' PV lists (pvLock) and mm's bitmap
// (its own lock) stay whole, every page reads what was written, and
// every frame comes back. Run it with -race.
func TestUnmapBesideCopyOnWrite(t *testing.T) {
	f := newUserFixture(t, testMin)
	const n = 64
	a, own := base, base+n*p // shared copy-on-write; the child's own
	for round := 0; round < 20; round++ {
		f.mmap(a, n*p, rw, fixed, int64(a))
		for i := uintptr(0); i < n; i++ {
			f.fault(a+i*p, true, false, true)
			mark(t, f.m, a+i*p, uint64(i)+1)
		}
		child := f.fork()
		if child.Mmap(own, n*p, rw, fixed) != int64(own) {
			t.Fatal("child's mmap failed")
		}
		child.Lock()
		for i := uintptr(0); i < n; i++ {
			if !child.Fault(own+i*p, true, false) {
				t.Fatal("child's fault failed")
			}
		}
		child.Unlock()
		var mp sync.Mutex
		var wg sync.WaitGroup
		wg.Add(2)
		errs := make(chan string, 4*n)
		go func() {
			defer wg.Done()
			for i := uintptr(0); i < n; i++ {
				child.Lock()
				if !child.Alone(own+i*p, p, true, false) {
					errs <- "Alone refused a munmap of a page only the child maps"
				} else if child.Munmap(own+i*p, p) != 0 {
					errs <- "munmap failed"
				}
				alone := child.Alone(a+i*p, p, true, false)
				child.Unlock()
				mp.Lock()
				child.Lock()
				if alone && pmap.Mappings(f.frameOf(a+i*p)) > 1 {
					errs <- "Alone allowed a munmap of a page the parent maps too"
				}
				if child.Munmap(a+i*p, p) != 0 {
					errs <- "munmap failed"
				}
				child.Unlock()
				mp.Unlock()
			}
		}()
		go func() {
			defer wg.Done()
			for i := uintptr(n); i > 0; i-- { // from the other end: they meet in the middle
				mp.Lock()
				f.m.Lock()
				ok := f.m.Fault(a+(i-1)*p, true, false)
				f.m.Unlock()
				mp.Unlock()
				if !ok {
					errs <- "copy-on-write fault failed"
				}
			}
		}()
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
		for i := uintptr(0); i < n; i++ {
			if got := markOf(t, f.m, a+i*p); got != uint64(i)+1 {
				t.Fatalf("round %d: page %d reads %d; want %d", round, i, got, i+1)
			}
			if fl := f.pm.Flags(a + i*p); fl&pmap.Writable == 0 {
				t.Fatalf("round %d: page %d read-only after its write fault", round, i)
			}
		}
		if child.Len() != 0 || child.Pmap.Resident() != 0 {
			t.Fatalf("round %d: child has %d entries, %d pages after unmapping all", round, child.Len(), child.Pmap.Resident())
		}
		if msg := fatal.Catch(child.CheckPV); msg != "" {
			t.Fatalf("round %d: %s", round, msg)
		}
		child.Destroy()
		f.check("after the race")
		f.munmap(a, n*p, 0)
	}
}
