package pmap

import (
	"strings"
	"testing"

	"gofly/mm"
)

// newUserPmap returns an empty user address space over the host window
// and the free-page count after its root was taken.
func newUserPmap(t *testing.T) (*Pmap, uint64) {
	t.Helper()
	k, _ := newPmap(t)
	u := new(Pmap)
	u.InitUser(frame(t), k)
	return u, mm.Phys.FreePages()
}

// checkFree fails t unless every frame taken since free0 is a table, a
// resident page or PV bookkeeping.
func checkFree(t *testing.T, p *Pmap, free0 uint64, step string) {
	t.Helper()
	_, pvFrames := PVStats()
	if got, want := mm.Phys.FreePages(), free0-p.Tables()-p.Resident()-pvFrames; got != want {
		t.Fatalf("%s: FreePages %d; want %d (tables %d, resident %d, PV frames %d)", step, got, want, p.Tables(), p.Resident(), pvFrames)
	}
}

// TestPVEnterRemove: managed mappings go on their page's and their
// entry's lists and off both on removal, with their frames.
func TestPVEnterRemove(t *testing.T) {
	p, free0 := newUserPmap(t)
	var l PVList
	const a = 0x40_0000
	for i := uintptr(0); i < 8; i++ {
		if !p.EnterPV(a+i*pageSize, frame(t), User|Writable, &l) {
			t.Fatal("EnterPV failed")
		}
	}
	p.CheckList(&l, a, a+8*pageSize)
	if l.Len() != 8 || p.CountManaged(a, a+8*pageSize) != 8 {
		t.Fatalf("list %d, managed %d; want 8, 8", l.Len(), p.CountManaged(a, a+8*pageSize))
	}
	pa, _ := p.Extract(a + 3*pageSize)
	if Mappings(pa) != 1 {
		t.Fatalf("Mappings = %d; want 1", Mappings(pa))
	}
	// Re-entering the same page keeps its PV; another page replaces it.
	if !p.EnterPV(a+3*pageSize, pa, User, &l) || l.Len() != 8 || Mappings(pa) != 1 {
		t.Fatal("re-entering the same page changed its PVs")
	}
	other := frame(t)
	if msg := throws(func() { p.EnterPV(a+3*pageSize, other, User, &l) }); !strings.Contains(msg, "over another page's managed mapping") {
		t.Fatalf("EnterPV over another page: throw %q", msg)
	}
	mm.Phys.Free(other)
	p.CheckList(&l, a, a+8*pageSize)
	p.RemovePV(a+2*pageSize, a+5*pageSize, &l)
	p.CheckList(&l, a, a+8*pageSize)
	if l.Len() != 5 || p.Resident() != 5 {
		t.Fatalf("after removing 3: list %d, resident %d; want 5, 5", l.Len(), p.Resident())
	}
	checkFree(t, p, free0, "RemovePV")
	// Unmanaged Remove refuses a managed page.
	if msg := throws(func() { p.Remove(a, a+pageSize) }); !strings.Contains(msg, "managed page with no entry list") {
		t.Fatalf("Remove of a managed page: throw %q", msg)
	}
}

// TestPVSplitAppend: an entry's list splits at an address and joins back,
// as map entries are clipped and merged.
func TestPVSplitAppend(t *testing.T) {
	p, _ := newUserPmap(t)
	var l PVList
	const a = 0x40_0000
	for _, i := range []uintptr{5, 1, 7, 0, 3, 6, 2, 4} {
		if !p.EnterPV(a+i*pageSize, frame(t), User, &l) {
			t.Fatal("EnterPV failed")
		}
	}
	hi := l.Split(a + 3*pageSize)
	if l.Len() != 3 || hi.Len() != 5 {
		t.Fatalf("Split: %d and %d; want 3 and 5", l.Len(), hi.Len())
	}
	p.CheckList(&l, a, a+3*pageSize)
	p.CheckList(&hi, a+3*pageSize, a+8*pageSize)
	empty := l.Split(a + 100*pageSize)
	if empty.Len() != 0 || l.Len() != 3 {
		t.Fatal("Split past the end moved PVs")
	}
	l.Append(&hi)
	if l.Len() != 8 || hi.Len() != 0 {
		t.Fatalf("Append: %d and %d; want 8 and 0", l.Len(), hi.Len())
	}
	p.CheckList(&l, a, a+8*pageSize)
	l.Append(&empty)
	p.CheckList(&l, a, a+8*pageSize)
}

// TestPVCheckListCatches: CheckList throws on a list that does not match
// the page tables.
func TestPVCheckListCatches(t *testing.T) {
	p, _ := newUserPmap(t)
	var l, other PVList
	const a = 0x40_0000
	p.EnterPV(a, frame(t), User, &l)
	p.EnterPV(a+pageSize, frame(t), User, &other)
	if msg := throws(func() { p.CheckList(&l, a, a+2*pageSize) }); !strings.Contains(msg, "managed leaves without a PV") {
		t.Fatalf("a page on another list: throw %q", msg)
	}
	if msg := throws(func() { p.CheckList(&l, a+pageSize, a+2*pageSize) }); !strings.Contains(msg, "outside its entry") {
		t.Fatalf("a PV outside the range: throw %q", msg)
	}
	p.Enter(a+2*pageSize, frame(t), User) // unmanaged: no PV, not counted
	p.CheckList(&l, a, a+pageSize)
}

// TestPVShortcutTeardown: after RemoveAll, RemovePV walks the lists only
// (the page tables keep their stale leaves) and Destroy frees the tables
// without reading them; every frame comes back.
func TestPVShortcutTeardown(t *testing.T) {
	k, _ := newPmap(t)
	free0 := mm.Phys.FreePages()
	u := new(Pmap)
	u.InitUser(frame(t), k)
	var l1, l2 PVList
	for i := uintptr(0); i < 600; i++ { // two page tables' worth and more
		l := &l1
		if i >= 300 {
			l = &l2
		}
		if !u.EnterPV(0x40_0000+i*pageSize, frame(t), User|Writable, l) {
			t.Fatal("EnterPV failed")
		}
	}
	u.RemoveAll()
	u.RemoveDying(0x40_0000, 0x40_0000+300*pageSize, &l1)
	if l1.Len() != 0 || u.Resident() != 300 {
		t.Fatalf("shortcut: list %d, resident %d; want 0, 300", l1.Len(), u.Resident())
	}
	if _, ok := u.Extract(0x40_0000); !ok {
		t.Fatal("the shortcut touched a page table")
	}
	u.RemoveDying(0, userEnd, &l2)
	if msg := throws(func() { u.Enter(0x40_0000, 0x1000, User) }); !strings.Contains(msg, "Enter after RemoveAll") {
		t.Fatalf("Enter after RemoveAll: throw %q", msg)
	}
	u.Destroy()
	if live, _ := PVStats(); live != 0 {
		t.Fatalf("%d PVs live after teardown", live)
	}
	_, pvFrames := PVStats()
	if got := mm.Phys.FreePages(); got != free0-pvFrames {
		t.Fatalf("FreePages %d after teardown; want %d", got, free0-pvFrames)
	}
}
