package sysref

// Classes, above the runtime: Init registers a class once, from an init
// function; ClassStats and Classes serve the shell.

import (
	"errors"
	"sync"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/lwkt/ipiq"
	"gofly/objcache"
)

// ClassConfig describes a class of resources.
type ClassConfig struct {
	Name string
	// Cache holds the class's resources, constructed; each begins with
	// its Record (offset 0). The cache's Ctor must leave the Record
	// alone: memory from mm is zero, and a Record goes back Free.
	Cache *objcache.FrameCache
	// Terminate runs once when the last active reference goes (Put
	// returned PutTerminate): the caller is the terminate handler and
	// holds the base reference, which Terminate must drop with Put, now
	// or later. A top-level //go:nosplit function of a *_nosplit.go
	// file, called below the runtime with the MP lock held. nil: the base
	// reference is dropped at once.
	Terminate func(obj uintptr)
	// Summary describes a resource in one line for `sysref show`. It
	// runs above the runtime while the caller holds a reference, and
	// reads fields other CPUs may be changing: a racy, display-only view.
	Summary func(obj uintptr) string
}

// Class is a class descriptor: a package variable (static memory: records
// name it by address), set up by Init.
type Class struct {
	name      string
	cache     *objcache.FrameCache
	terminate uintptr // funcval, 0: none
	summary   func(obj uintptr) string
	_         [64 - 16 - 8 - 8 - 8]byte

	// cpu[i] is written only by CPU i, inside its critical section;
	// ClassStats reads recent values (aligned words).
	cpu [amd64.MaxCPUs]classCPU
}

// classCPU is one CPU's count of what it did with a class's records.
type classCPU struct {
	allocs     uint64 // Alloc: records taken from the cache and indexed here
	terminates uint64 // Put calls that returned PutTerminate on this CPU
	releases   uint64 // records unindexed here and Freed (this CPU owns them)
	remoteOut  uint64 // last puts here of records another CPU owns: sent by passive IPI
	remoteIn   uint64 // such releases that arrived here
	deferred   uint64 // arrivals whose cache had no room: held for this CPU's next Alloc
	fails      uint64 // Alloc calls the cache could not serve
	_          uint64
}

func init() {
	ipiq.Register(idUnindex, remoteUnindex)
	ipiq.Register(idLookup, remoteLookup)
	ipiq.Register(idList, listLocal)
}

var (
	classesMu sync.Mutex
	classes   []*Class
)

// Init sets up c from cfg and registers it. Call it from an init
// function, on a package variable, before any CPU allocates from it.
func (c *Class) Init(cfg ClassConfig) error {
	switch {
	case cfg.Name == "":
		return errors.New("sysref: class has no name")
	case cfg.Cache == nil:
		return errors.New("sysref: class " + cfg.Name + " has no object cache")
	case cfg.Cache.ObjectSize() < int(unsafe.Sizeof(Record{})):
		return errors.New("sysref: class " + cfg.Name + ": objects smaller than a Record")
	}
	classesMu.Lock()
	defer classesMu.Unlock()
	for _, o := range classes {
		if o.name == cfg.Name {
			return errors.New("sysref: class " + cfg.Name + " registered twice")
		}
	}
	c.name, c.cache, c.summary = cfg.Name, cfg.Cache, cfg.Summary
	if cfg.Terminate != nil {
		c.terminate = *(*uintptr)(unsafe.Pointer(&cfg.Terminate))
	}
	classes = append(classes, c)
	return nil
}

// InitFrames sets up cache, a FrameCache of size-byte records over mm's
// frames for every CPU, registers it (for the shell and mm's reclaim
// path), and then c from cfg with cache as its own. Call it from an init
// function, on package variables.
func (c *Class) InitFrames(cache *objcache.FrameCache, size int, cfg ClassConfig) error {
	if ClassByName(cfg.Name) != nil {
		return errors.New("sysref: class " + cfg.Name + " registered twice")
	}
	if err := cache.Init(objcache.Config{Name: cfg.Name, Size: size, CPUs: amd64.MaxCPUs,
		PageAlloc: objcache.KernelPageAlloc, PageFree: objcache.KernelPageFree}); err != nil {
		return err
	}
	objcache.Register(cache)
	cfg.Cache = cache
	return c.Init(cfg)
}

// Name returns the class's name.
func (c *Class) Name() string { return c.name }

// Classes returns the registered classes in registration order.
func Classes() []*Class {
	classesMu.Lock()
	defer classesMu.Unlock()
	return append([]*Class(nil), classes...)
}

// ClassByName returns the registered class called name, or nil.
func ClassByName(name string) *Class {
	for _, c := range Classes() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// classAt returns the registered class at address a, or nil: a record's
// class field, checked against the registry before it is trusted.
func classAt(a uintptr) *Class {
	for _, c := range Classes() {
		if uintptr(unsafe.Pointer(c)) == a {
			return c
		}
	}
	return nil
}

// ClassStats sums a class's per-CPU counts.
type ClassStats struct {
	Name       string
	Live       int64  // records allocated and not yet Freed (allocs - releases)
	Allocs     uint64 // records allocated, ever
	Fails      uint64 // allocations the cache could not serve
	Terminates uint64 // terminate handlers run
	Releases   uint64 // records unindexed and Freed
	RemoteOut  uint64 // releases sent to the owning CPU by passive IPI
	RemoteIn   uint64 // such releases arrived at the owner
	Deferred   uint64 // of those, held until the owner's next Alloc (no room in the cache)
}

// Stats returns c's counts, summed over the CPUs. Each CPU's words are
// recent, not a consistent cut: exact only when no CPU uses the class.
func (c *Class) Stats() ClassStats {
	s := ClassStats{Name: c.name}
	for i := range c.cpu {
		p := &c.cpu[i]
		s.Allocs += p.allocs
		s.Fails += p.fails
		s.Terminates += p.terminates
		s.Releases += p.releases
		s.RemoteOut += p.remoteOut
		s.RemoteIn += p.remoteIn
		s.Deferred += p.deferred
	}
	s.Live = int64(s.Allocs - s.Releases)
	return s
}

// Addr returns the class's address, as records and Entry.Class name it.
func (c *Class) Addr() uintptr { return classAddr(c) }
