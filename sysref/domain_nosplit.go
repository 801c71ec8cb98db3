package sysref

// The kernel's SYSREF domain: the sysid generator, one Tree per CPU and
// the calls every class uses — Alloc, Activate, Get, Put, Lookup — all
// below the runtime (nosplit, no allocation, no Go pointer stores).
//
// Where each call runs. The caller is on CPU me with interrupts off: the
// trap path or a lwkt.TrapCall body. Alloc and Put need the MP lock too
// (the class's cache may reach mm; a terminate handler may need it);
// Activate, Get and Lookup do not.
//
// Which CPU touches which tree. A record's sysid says which CPU made it
// (Sysids.Owner), and only that CPU's tree holds it, from Alloc until its
// last Put. Each tree is read and written only by its CPU, with
// interrupts off — in Alloc and Lookup on the owner itself, and in the IPI
// handlers below when another CPU asks:
//   - a last Put (PutLast) on a CPU that does not own the record posts
//     idUnindex to the owner as a passive message (no interrupt: it runs at
//     the owner's next tick or trap, or at once if the owner idles
//     tickless). Until then the record is Dead: in its tree, invisible to
//     Lookup, refusing references, not reusable.
//   - a Lookup of another CPU's id runs idLookup on the owner by
//     lwkt.Cpusync and waits for the answer.
//   - a listing (List) copies a batch of the owner's tree by Cpusync.
//
// An IPI handler runs without the MP lock, so idUnindex files the freed
// record in the cache with TryPut, which never reaches mm; when the cache
// has no room the record waits on its owner's deferred list (linked
// through Record.left, free now that the record left the tree) until the
// owner's next Alloc, which holds the MP lock and Puts it properly.

import (
	"unsafe"

	"gofly/arch/amd64"
	"gofly/lwkt"
	"gofly/lwkt/ipiq"
	"gofly/mm"
	"gofly/vm"
)

// IPI handler ids: objcache's tests take FirstFreeHandler+16 and +17.
const (
	idUnindex = lwkt.FirstFreeHandler + 24 + iota
	idLookup
	idList
)

// cpuDomain is one CPU's share. Guard: that CPU, interrupts off
// (owner-cpu), except lookupAns, written by the CPU that answers this
// one's remote Lookup while this one waits in Cpusync.
type cpuDomain struct {
	tree      Tree
	deferred  uintptr // records Freed by idUnindex that found no room in their cache
	lookupAns uintptr // the answer to this CPU's remote Lookup
	_         [64 - 16 - 8 - 8]byte
}

var (
	ids    Sysids
	domain [amd64.MaxCPUs]cpuDomain
)

// Boot seeds the sysid generator for ncpus CPUs with stamp, the boot's
// wall clock in µs since the Unix epoch. Once per boot, before any
// Alloc and before the other CPUs start.
//
//go:nosplit
func Boot(stamp uint64, ncpus int) { ids.Boot(stamp, ncpus) }

// Fit returns the sysid step (the CPU count rounded up to a power of
// two; 0 before Boot).
//
//go:nosplit
func Fit() uint64 { return ids.Fit() }

// Owner returns the CPU whose tree indexes id, or -1 when no CPU of this
// boot could have made it.
//
//go:nosplit
func Owner(id uint64) int {
	if ids.Fit() == 0 {
		return -1
	}
	return ids.Owner(id)
}

//go:nosplit
func classOf(r *Record) *Class {
	return (*Class)(mm.Ptr(uint64(r.class)))
}

//go:nosplit
func classAddr(c *Class) uintptr { return uintptr(unsafe.Pointer(c)) }

// Alloc takes a resource of class c from its cache, gives it a fresh
// sysid and indexes it in this CPU's tree, Building with one reference
// (the caller's). It returns the resource's address (its Record), or 0
// when the cache has none (limit reached, or mm out of memory). The
// caller holds the MP lock. The resource stays invisible to Lookup until
// Activate.
//
//go:nosplit
func Alloc(c *Class) uintptr {
	me := amd64.CPU()
	d := &domain[uint(me)%amd64.MaxCPUs]
	drainDeferred(me, d)
	obj := c.cache.Get(me)
	pc := &c.cpu[uint(me)%amd64.MaxCPUs]
	if obj == 0 {
		pc.fails++
		return 0
	}
	r := rec(obj)
	r.class = classAddr(c)
	r.sysid = ids.Alloc(me)
	d.tree.Insert(obj)
	r.ref.Alloc()
	pc.allocs++
	return obj
}

// Activate makes a resource visible to Lookup (or revives one being
// terminated). The caller holds a reference.
//
//go:nosplit
func Activate(obj uintptr) { rec(obj).ref.Activate() }

// Get adds a reference for a caller that holds one.
//
//go:nosplit
func Get(obj uintptr) { rec(obj).ref.Get() }

// Put drops a reference. The last active one runs the class's Terminate
// (or, without one, drops the base reference at once); the very last
// unindexes the record on its owner CPU — here, or by passive IPI — and
// returns it to the cache. The caller holds the MP lock.
//
//go:nosplit
func Put(obj uintptr) {
	r := rec(obj)
	res := r.ref.Put()
	if res == PutTerminate {
		c := classOf(r)
		c.cpu[uint(amd64.CPU())%amd64.MaxCPUs].terminates++
		if c.terminate != 0 {
			callTerminate(c.terminate, obj)
			return
		}
		res = r.ref.Put()
	}
	if res == PutLast {
		release(obj)
	}
}

// callTerminate runs the terminate handler held as funcval fv on obj.
//
//go:nosplit
func callTerminate(fv, obj uintptr) {
	(*(*func(uintptr))(unsafe.Pointer(&fv)))(obj)
}

// release takes a Dead record out of its owner's tree and back to the
// cache: here if this CPU owns it, else by a passive message to the owner.
//
//go:nosplit
func release(obj uintptr) {
	me := amd64.CPU()
	r := rec(obj)
	owner := ids.Owner(r.sysid)
	if owner == me {
		unindex(me, obj)
		classOf(r).cache.Put(me, obj) // MP lock held: may give a page back
		return
	}
	classOf(r).cpu[uint(me)%amd64.MaxCPUs].remoteOut++
	lwkt.Send(owner, ipiq.Msg{Fn: idUnindex, Arg1: obj}, true)
}

// unindex removes a Dead record from CPU me's tree (me owns it) and
// makes it Free.
//
//go:nosplit
func unindex(me int, obj uintptr) {
	r := rec(obj)
	domain[uint(me)%amd64.MaxCPUs].tree.Delete(obj)
	r.ref.Release()
	classOf(r).cpu[uint(me)%amd64.MaxCPUs].releases++
}

// remoteUnindex is idUnindex: another CPU dropped the last reference to
// obj, which this CPU owns. No MP lock here: the record goes to the cache
// only if it has room without reaching mm, else to the deferred list.
//
//go:nosplit
func remoteUnindex(obj, _ uintptr) {
	me := amd64.CPU()
	unindex(me, obj)
	c := classOf(rec(obj))
	pc := &c.cpu[uint(me)%amd64.MaxCPUs]
	pc.remoteIn++
	if c.cache.TryPut(me, obj) {
		return
	}
	pc.deferred++
	d := &domain[uint(me)%amd64.MaxCPUs]
	rec(obj).left, d.deferred = d.deferred, obj
}

// drainDeferred puts CPU me's deferred records into their caches. The
// caller holds the MP lock (a Put may give a page back).
//
//go:nosplit
func drainDeferred(me int, d *cpuDomain) {
	for d.deferred != 0 {
		obj := d.deferred
		d.deferred = rec(obj).left
		rec(obj).left = 0
		classOf(rec(obj)).cache.Put(me, obj)
	}
}

// Drain puts this CPU's deferred records into their caches (Alloc does it
// too). The caller holds the MP lock.
//
//go:nosplit
func Drain() {
	me := amd64.CPU()
	drainDeferred(me, &domain[uint(me)%amd64.MaxCPUs])
}

// Lookup returns the active resource with this sysid, with a new
// reference the caller must Put, or 0: no such id, or not active (being
// built, terminated or freed). An id another CPU owns is looked up there,
// by Cpusync. No MP lock needed.
//
//go:nosplit
func Lookup(id uint64) uintptr {
	me := amd64.CPU()
	owner := Owner(id)
	if owner < 0 {
		return 0
	}
	if owner == me {
		return domain[uint(me)%amd64.MaxCPUs].tree.LookupRef(id)
	}
	d := &domain[uint(me)%amd64.MaxCPUs]
	d.lookupAns = 0
	lwkt.Cpusync(1<<uint(owner), idLookup, uintptr(id), uintptr(me)) // skipped when owner is offline: 0
	return d.lookupAns
}

// remoteLookup is idLookup: CPU asker wants a reference to id, which this
// CPU owns.
//
//go:nosplit
func remoteLookup(id, asker uintptr) {
	me := amd64.CPU()
	domain[asker%amd64.MaxCPUs].lookupAns = domain[uint(me)%amd64.MaxCPUs].tree.LookupRef(uint64(id))
}

// Entry is one record as a listing sees it.
type Entry struct {
	Sysid uint64
	Addr  uintptr
	Class uintptr // the Class's address
	State State
	Refs  uint64
}

// ListBatch is how many entries one listing call copies.
const ListBatch = 64

// ListArgs is the argument block of ListCall: List copies, from CPU CPU's
// tree, up to ListBatch records with sysids >= From into Out and sets N.
type ListArgs struct {
	CPU  int
	From uint64
	N    int
	Out  [ListBatch]Entry
}

// ListCall is the TrapCall body of a listing (arg: a *ListArgs); it
// returns 1, or 0 when the ListArgs is not accessible memory.
//
//go:nosplit
func ListCall(arg uintptr) uintptr {
	if !touch(arg, unsafe.Sizeof(ListArgs{})) {
		return 0
	}
	a := (*ListArgs)(mm.Ptr(uint64(arg)))
	a.N = 0
	if a.CPU == amd64.CPU() {
		listLocal(arg, 0)
	} else {
		lwkt.Cpusync(1<<(uint(a.CPU)%amd64.MaxCPUs), idList, arg, 0)
	}
	return 1
}

// listLocal is idList: copy a batch of this CPU's tree into a ListArgs.
//
//go:nosplit
func listLocal(arg, _ uintptr) {
	a := (*ListArgs)(mm.Ptr(uint64(arg)))
	t := &domain[uint(amd64.CPU())%amd64.MaxCPUs].tree
	for x := t.Ceil(a.From); x != 0 && a.N < ListBatch; x = t.Next(x) {
		r := rec(x)
		s, n := r.ref.Load()
		a.Out[uint(a.N)%ListBatch] = Entry{Sysid: r.sysid, Addr: x, Class: r.class, State: s, Refs: n}
		a.N++
	}
}

// touch makes the Go memory [a, a+n) that a TrapCall body was handed
// present: a fresh heap page is mapped on first touch, and a page fault
// inside the trap path is fatal. It reports false when the range is not
// accessible. The caller holds the MP lock.
//
//go:nosplit
func touch(a, n uintptr) bool { return vm.Kernel.Touch(a, n, true) }

// LookupCall is Lookup as a TrapCall body (arg: the sysid).
//
//go:nosplit
func LookupCall(id uintptr) uintptr { return Lookup(uint64(id)) }

// PutCall is Put as a TrapCall body (arg: the resource).
//
//go:nosplit
func PutCall(obj uintptr) uintptr {
	Put(obj)
	return 0
}
