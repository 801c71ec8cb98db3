package objcache

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestInitRejects(t *testing.T) {
	ok := Config{Size: 16, CPUs: 1, PageAlloc: testPageAlloc, PageFree: testPageFree}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Size = 0 }, "object size"},
		{func(c *Config) { c.Size = MaxObjectSize + 1 }, "object size"},
		{func(c *Config) { c.CPUs = MaxCPUs + 1 }, "CPU count"},
		{func(c *Config) { c.Capacity = MagRounds + 1 }, "capacity"},
		{func(c *Config) { c.DepotMagazines = MaxMagazines - 1 }, "depot"},
		{func(c *Config) { c.Limit = -1 }, "limit"},
		{func(c *Config) { c.PageFree = nil }, "page source"},
	} {
		cfg := ok
		tc.edit(&cfg)
		err := new(FrameCache).Init(cfg)
		if err == nil || !strings.HasPrefix(err.Error(), "objcache: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Init(%+v) = %v, want an error about %q", cfg, err, tc.want)
		}
	}
	if err := new(FrameCache).Init(ok); err != nil {
		t.Errorf("Init(%+v) = %v", ok, err)
	}
}

// TestSlabPages: objects are carved PageSize/size to a page, and a page
// goes back to the source with its last object (slab-empty-page).
func TestSlabPages(t *testing.T) {
	resetHarness(t)
	c := newCache(t, Config{Size: 1000, CPUs: 1, Capacity: 1, DepotMagazines: 1})
	s := &c.slab
	per := int(s.perPage)
	if per != (PageSize-int(slabHeader))/1000 {
		t.Fatalf("perPage %d", per)
	}
	var objs []uintptr
	for i := 0; i < 3*per; i++ {
		o := s.alloc()
		if o == 0 || (o-slabHeader)%PageSize%1000 != 0 {
			t.Fatalf("alloc %d = %#x", i, o)
		}
		objs = append(objs, o)
	}
	if s.pages != 3 || poolOut.Load() != 3 || s.inUse != int64(3*per) {
		t.Fatalf("pages %d, pool out %d, in use %d", s.pages, poolOut.Load(), s.inUse)
	}
	for i, o := range objs {
		s.free(o)
		if want := int64(3 - (i+1)/per); s.pages != want || poolOut.Load() != want {
			t.Fatalf("after %d frees: pages %d, pool out %d, want %d", i+1, s.pages, poolOut.Load(), want)
		}
	}
	if msg := catch(func() { s.free(poolBase + 8) }); !strings.Contains(msg, "never gave out") {
		t.Errorf("free of a misaligned address: %q", msg)
	}
}

// TestFailures: a Get fails, and counts a failure, when the page source is
// dry, when the ctor fails and at the limit; nothing leaks either way.
func TestFailures(t *testing.T) {
	resetHarness(t)
	c := newCache(t, Config{Size: 2048, CPUs: 1, Capacity: 2})
	poolLimit.Store(1) // one page: one 2048-byte object fits
	a := c.Get(0)
	if a == 0 {
		t.Fatal("first Get failed")
	}
	if b := c.Get(0); b != 0 {
		t.Fatalf("Get with the page source dry = %#x", b)
	}
	poolLimit.Store(0)
	ctorFailEach.Store(1)
	if b := c.Get(0); b != 0 {
		t.Fatalf("Get with a failing ctor = %#x", b)
	}
	ctorFailEach.Store(0)
	var s Stats
	c.Stats(&s)
	if s.CPU[0].Fails != 2 || s.Live != 1 || s.Pages != 1 {
		t.Fatalf("after two failed Gets: %+v", s)
	}
	gotten(a)
	putting(a)
	c.Put(0, a)
	drain(t, c)

	resetHarness(t)
	c = newCache(t, Config{Size: 64, CPUs: 2, Capacity: 2, Limit: 3})
	var out []uintptr
	for i := 0; i < 3; i++ {
		out = append(out, c.Get(i%2))
		gotten(out[i])
	}
	if o := c.Get(1); o != 0 {
		t.Fatalf("Get beyond the limit = %#x", o)
	}
	putting(out[0])
	c.Put(0, out[0])
	if o := c.Get(1); o != 0 { // cached on CPU 0, out of CPU 1's reach
		t.Fatalf("Get on CPU 1 at the limit = %#x", o)
	}
	if o := c.Get(0); o != out[0] {
		t.Fatalf("Get on CPU 0 = %#x, want its cached %#x", o, out[0])
	}
	gotten(out[0])
	for _, o := range out {
		putting(o)
		c.Put(1, o)
	}
	drain(t, c)
	checkHarness(t)
}

// TestDestroyWhenNoRoom: with both magazines full and no empty magazine in
// the depot, Put destroys the object at once (ctor/dtor pairs stay exact).
func TestDestroyWhenNoRoom(t *testing.T) {
	resetHarness(t)
	c := newCache(t, Config{CPUs: 1, Capacity: 2, DepotMagazines: 1})
	var out []uintptr
	for i := 0; i < 7; i++ {
		out = append(out, c.Get(0))
		gotten(out[i])
	}
	for _, o := range out {
		putting(o)
		c.Put(0, o)
	}
	var s Stats
	c.Stats(&s)
	// 2 + 2 on the CPU, 2 in the depot's one magazine, 1 destroyed.
	if s.CPU[0].Destroyed != 1 || dtors.Load() != 1 || s.Live != 6 || s.DepotFull != 1 || s.DepotEmpty != 0 {
		t.Fatalf("stats %+v, dtors %d", s, dtors.Load())
	}
	if n := c.Reclaim(0); n != 6 {
		t.Fatalf("Reclaim = %d, want 6", n)
	}
	drain(t, c)
	checkHarness(t)
}

// TestTryPutNoRoom: where Put would destroy, TryPut refuses and leaves
// the object live and constructed with its caller; where there is room it
// caches like Put.
func TestTryPutNoRoom(t *testing.T) {
	resetHarness(t)
	c := newCache(t, Config{CPUs: 1, Capacity: 2, DepotMagazines: 1})
	var out []uintptr
	for i := 0; i < 7; i++ {
		out = append(out, c.Get(0))
		gotten(out[i])
	}
	for i, o := range out[:6] {
		putting(o)
		if !c.TryPut(0, o) {
			t.Fatalf("TryPut %d refused with room left", i)
		}
	}
	if c.TryPut(0, out[6]) {
		t.Fatal("TryPut accepted an object with no room anywhere")
	}
	var s Stats
	c.Stats(&s)
	if s.CPU[0].Destroyed != 0 || dtors.Load() != 0 || s.Live != 7 || s.CPU[0].Puts != 6 {
		t.Fatalf("after a refused TryPut: stats %+v, dtors %d", s, dtors.Load())
	}
	putting(out[6])
	c.Put(0, out[6])
	c.Stats(&s)
	if s.CPU[0].Destroyed != 1 || s.Live != 6 || s.CPU[0].Puts != 7 {
		t.Fatalf("after Put: stats %+v", s)
	}
	c.Reclaim(0)
	drain(t, c)
	checkHarness(t)
}

// TestTryGetNeverConstructs: TryGet hands out cached objects (magazines,
// then a depot trade) and returns 0 rather than reach the slab.
func TestTryGetNeverConstructs(t *testing.T) {
	resetHarness(t)
	c := newCache(t, Config{CPUs: 1, Capacity: 2, DepotMagazines: 2})
	if c.TryGet(0) != 0 {
		t.Fatal("TryGet on an empty cache returned an object")
	}
	var out []uintptr
	for i := 0; i < 6; i++ {
		out = append(out, c.Get(0))
		gotten(out[i])
	}
	for _, o := range out {
		putting(o)
		c.Put(0, o)
	}
	var took []uintptr
	for o := c.TryGet(0); o != 0; o = c.TryGet(0) {
		gotten(o)
		took = append(took, o)
	}
	var s Stats
	c.Stats(&s)
	if len(took) != 6 || s.CPU[0].Misses != 6 || s.CPU[0].Fails != 2 {
		t.Fatalf("TryGet took %d cached objects (want 6); misses %d (want 6, all from Get), fails %d (want 2)", len(took), s.CPU[0].Misses, s.CPU[0].Fails)
	}
	for _, o := range took {
		putting(o)
		c.Put(0, o)
	}
	c.Reclaim(0)
	drain(t, c)
	checkHarness(t)
}

// TestBadCalls: a Put of 0 and a CPU index out of range throw.
func TestBadCalls(t *testing.T) {
	resetHarness(t)
	c := newCache(t, Config{CPUs: 2})
	if msg := catch(func() { c.Put(0, 0) }); !strings.Contains(msg, "nil object") {
		t.Errorf("Put(0, 0): %q", msg)
	}
	if msg := catch(func() { c.Get(2) }); !strings.Contains(msg, "CPU index") {
		t.Errorf("Get(2) on a 2-CPU cache: %q", msg)
	}
}

// TestNoGoAllocations: the fast and slow paths allocate nothing.
func TestNoGoAllocations(t *testing.T) {
	resetHarness(t)
	c := newCache(t, Config{CPUs: 1, Capacity: 4, DepotMagazines: 2})
	var objs [20]uintptr
	n := testing.AllocsPerRun(100, func() {
		for i := range objs {
			objs[i] = c.Get(0)
			gotten(objs[i])
		}
		for _, o := range objs {
			putting(o)
			c.Put(0, o)
		}
		c.Reclaim(0)
	})
	if n != 0 {
		t.Errorf("Get/Put/Reclaim: %v allocations per run", n)
	}
	drain(t, c)
	checkHarness(t)
}

// TestLayout: each CPU's share is two cache lines, and a FrameCache holds no
// pointer but its name (it may live in static memory and be written below
// the runtime without write barriers).
func TestLayout(t *testing.T) {
	if s := unsafe.Sizeof(cpuCache{}); s != 128 {
		t.Errorf("cpuCache is %d bytes, want 128", s)
	}
	if o := unsafe.Offsetof(FrameCache{}.cpu); o%64 != 0 {
		t.Errorf("FrameCache.cpu at offset %d, not cache-line aligned within the FrameCache", o)
	}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		switch ty.Kind() {
		case reflect.Struct:
			for i := 0; i < ty.NumField(); i++ {
				walk(ty.Field(i).Type, path+"."+ty.Field(i).Name)
			}
		case reflect.Array:
			walk(ty.Elem(), path+"[]")
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
			t.Errorf("FrameCache%s is a %v: a Go pointer below the runtime", path, ty.Kind())
		case reflect.String:
			if path != ".name" {
				t.Errorf("FrameCache%s is a string", path)
			}
		}
	}
	walk(reflect.TypeOf(FrameCache{}), "")
}
