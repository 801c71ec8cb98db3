package sysref

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"gofly/fatal"
)

// pinned keeps the tests' record memory alive for the whole run: the trees
// hold only addresses, which do not keep Go memory alive, so memory the
// test itself no longer mentions could be freed and reused under them.
var (
	pinnedMu sync.Mutex
	pinned   []any
)

func pin(x any) {
	pinnedMu.Lock()
	pinned = append(pinned, x)
	pinnedMu.Unlock()
}

// records returns n records in one Go slice, pinned: their addresses are
// stable, as records in mm frames are.
func records(n int) []Record {
	r := make([]Record, n)
	pin(r)
	return r
}

// byteRecords places n records in a []byte, the way the kernel places
// them in raw frames: memory the GC does not scan for pointers.
func byteRecords(n int) (mem []byte, addrs []uintptr) {
	size := unsafe.Sizeof(Record{})
	mem = make([]byte, uintptr(n)*size+8)
	pin(mem)
	base := uintptr(unsafe.Pointer(&mem[0]))
	off := (8 - base%8) % 8
	for i := range n {
		addrs = append(addrs, Addr((*Record)(unsafe.Pointer(&mem[off+uintptr(i)*size]))))
	}
	return mem, addrs
}

// checkAgainst compares t with the model after one operation.
func checkAgainst(t *testing.T, tr *Tree, model map[uint64]uintptr, step int, op string) {
	t.Helper()
	if err := tr.Check(); err != nil {
		t.Fatalf("step %d (%s): %v", step, op, err)
	}
	if tr.Len() != len(model) {
		t.Fatalf("step %d (%s): Len %d, model %d", step, op, tr.Len(), len(model))
	}
}

// checkWalk compares the in-order walk with the model's sorted keys.
func checkWalk(t *testing.T, tr *Tree, model map[uint64]uintptr) {
	t.Helper()
	want := make([]uint64, 0, len(model))
	for k := range model {
		want = append(want, k)
	}
	slices.Sort(want)
	var got []uint64
	tr.Walk(func(a uintptr) bool {
		got = append(got, At(a).Sysid())
		return true
	})
	if !slices.Equal(got, want) {
		t.Fatalf("walk %v, want %v", got, want)
	}
}

// TestTreeModel is the property test: random insert/delete/lookup/ceil
// sequences against a map, every rb-* invariant checked after each step.
func TestTreeModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			const nrec = 300
			var addrs []uintptr
			if seed%2 == 0 {
				recs := records(nrec)
				for i := range recs {
					addrs = append(addrs, Addr(&recs[i]))
				}
			} else {
				_, addrs = byteRecords(nrec)
			}
			// Keys from a small range so that hits, misses, deletes of
			// the root and of leaves all happen often.
			keyRange := uint64(400 + seed*50)
			var tr Tree
			model := map[uint64]uintptr{}
			free := slices.Clone(addrs)
			for step := range 4000 {
				k := rng.Uint64N(keyRange) * 3 // gaps, for Ceil
				switch op := rng.IntN(10); {
				case op < 4 && len(free) > 0: // insert
					if _, ok := model[k]; ok {
						continue
					}
					a := free[len(free)-1]
					free = free[:len(free)-1]
					At(a).SetSysid(k)
					tr.Insert(a)
					model[k] = a
					checkAgainst(t, &tr, model, step, "insert")
				case op < 8: // delete
					a, ok := model[k]
					if !ok {
						if len(model) == 0 {
							continue
						}
						for kk, aa := range model { // any present key
							k, a = kk, aa
							break
						}
					}
					tr.Delete(a)
					delete(model, k)
					free = append(free, a)
					checkAgainst(t, &tr, model, step, "delete")
				default: // lookup and ceil
					if got, want := tr.Lookup(k), model[k]; got != want {
						t.Fatalf("step %d: Lookup(%d) = %#x, model %#x", step, k, got, want)
					}
					var want uintptr
					for kk, aa := range model {
						if kk >= k && (want == 0 || kk < At(want).Sysid()) {
							want = aa
						}
					}
					if got := tr.Ceil(k); got != want {
						t.Fatalf("step %d: Ceil(%d) = %#x, model %#x", step, k, got, want)
					}
				}
				if step%100 == 0 {
					checkWalk(t, &tr, model)
				}
			}
			// Drain: delete everything, in random order.
			keys := make([]uint64, 0, len(model))
			for k := range model {
				keys = append(keys, k)
			}
			rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			for i, k := range keys {
				tr.Delete(model[k])
				delete(model, k)
				checkAgainst(t, &tr, model, i, "drain")
			}
			if tr.Min() != 0 || tr.root != 0 {
				t.Fatal("drained tree not empty")
			}
		})
	}
}

// TestTreeSequential inserts ascending and descending keys (the common
// case: one CPU's sysids grow) and checks the height stays logarithmic.
func TestTreeSequential(t *testing.T) {
	for _, desc := range []bool{false, true} {
		recs := records(1 << 12)
		var tr Tree
		for i := range recs {
			k := uint64(i)
			if desc {
				k = uint64(len(recs) - i)
			}
			recs[i].SetSysid(k)
			tr.Insert(Addr(&recs[i]))
		}
		if err := tr.Check(); err != nil {
			t.Fatal(err)
		}
		if h := height(&tr); h > 2*12 { // rb bound: 2·log2(n+1)
			t.Fatalf("height %d for %d records", h, len(recs))
		}
	}
}

// height is the longest root-to-leaf path, in records.
func height(tr *Tree) int {
	h := 0
	for a := tr.Min(); a != 0; a = tr.Next(a) {
		d := 0
		for x := a; x != 0; x = At(x).parent {
			d++
		}
		h = max(h, d)
	}
	return h
}

// TestTreeThrows: a duplicate sysid and a record not in the tree are
// broken invariants.
func TestTreeThrows(t *testing.T) {
	recs := records(3)
	var tr Tree
	recs[0].SetSysid(5)
	recs[1].SetSysid(5)
	recs[2].SetSysid(7)
	tr.Insert(Addr(&recs[0]))
	if msg := fatal.Catch(func() { tr.Insert(Addr(&recs[1])) }); !strings.Contains(msg, "already indexed") {
		t.Errorf("duplicate insert: throw %q", msg)
	}
	if msg := fatal.Catch(func() { tr.Delete(Addr(&recs[2])) }); !strings.Contains(msg, "not in this tree") {
		t.Errorf("delete of a stranger: throw %q", msg)
	}
}

// TestTreeNoAlloc: the nosplit paths allocate nothing.
func TestTreeNoAlloc(t *testing.T) {
	recs := records(64)
	var tr Tree
	for i := range recs {
		recs[i].SetSysid(uint64(i * 2))
	}
	n := testing.AllocsPerRun(100, func() {
		for i := range recs {
			tr.Insert(Addr(&recs[i]))
		}
		for i := range recs {
			_ = tr.Lookup(uint64(i))
			_ = tr.Ceil(uint64(i))
		}
		for a := tr.Min(); a != 0; a = tr.Next(a) {
		}
		for i := range recs {
			tr.Delete(Addr(&recs[i]))
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}

// BenchmarkLookup: lookup of a present sysid in one CPU's tree, at 1k,
// 10k and 100k records. "random" looks ids up in shuffled order (every
// lookup walks cold records once the tree outgrows the caches);
// "ascending" in id order (the path stays cached, so the cost is the
// comparisons). The depth metric is the mean number of records a lookup
// visits: it grows with log2 n (about 10, 13, 17 levels).
func BenchmarkLookup(b *testing.B) {
	for _, order := range []string{"random", "ascending"} {
		for _, n := range []int{1_000, 10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/%d", order, n), func(b *testing.B) {
				var s Sysids
				s.Boot(1_785_000_000_000_000, 4)
				recs := records(n)
				var tr Tree
				ids := make([]uint64, n)
				for i := range recs {
					ids[i] = s.Alloc(1)
					recs[i].SetSysid(ids[i])
					tr.Insert(Addr(&recs[i]))
				}
				if order == "random" {
					rng := rand.New(rand.NewPCG(1, 2))
					rng.Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if tr.Lookup(ids[i%n]) == 0 {
						b.Fatal("lost a record")
					}
				}
				b.StopTimer()
				visited := 0
				for i := range recs {
					for x := Addr(&recs[i]); x != 0; x = At(x).parent {
						visited++
					}
				}
				b.ReportMetric(float64(visited)/float64(n), "depth")
				b.ReportMetric(float64(height(&tr)), "height")
			})
		}
	}
}

// BenchmarkLifecycle: a whole resource life against a 1k-record tree —
// new sysid, index, alloc, activate, lookup+put, final put, terminate's
// put, unindex, release.
func BenchmarkLifecycle(b *testing.B) {
	var s Sysids
	s.Boot(1_785_000_000_000_000, 4)
	recs := records(1001)
	var tr Tree
	for i := range 1000 {
		recs[i].SetSysid(s.Alloc(0))
		tr.Insert(Addr(&recs[i]))
	}
	r := &recs[1000]
	a := Addr(r)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.SetSysid(s.Alloc(0))
		tr.Insert(a)
		r.Ref().Alloc()
		r.Ref().Activate()
		if tr.LookupRef(r.Sysid()) != a || r.Ref().Put() != PutHeld ||
			r.Ref().Put() != PutTerminate || r.Ref().Put() != PutLast {
			b.Fatal("lifecycle")
		}
		tr.Delete(a)
		r.Ref().Release()
	}
}
