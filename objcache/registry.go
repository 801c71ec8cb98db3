package objcache

// The registry of the kernel's caches, for the shell's objcache command.
// Runs above the runtime.

import "sync"

var (
	registryMu sync.Mutex
	registry   []*FrameCache
)

// MaxRegistered bounds the registered caches.
const MaxRegistered = 32

// registered is the registry as ReclaimAll reads it below the runtime:
// written only by Register, from init functions, before other CPUs start.
var (
	registered  [MaxRegistered]*FrameCache
	nRegistered int
)

// Register adds c, initialised, to the caches the shell lists and
// ReclaimAll reclaims. Call it from an init function, after c.Init; c
// must be a package variable (it stays listed for the life of the
// kernel).
func Register(c *FrameCache) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if nRegistered == MaxRegistered {
		panic("objcache: more than MaxRegistered caches")
	}
	registry = append(registry, c)
	registered[nRegistered] = c
	nRegistered++
}

// Caches returns the registered caches, in registration order.
func Caches() []*FrameCache {
	registryMu.Lock()
	defer registryMu.Unlock()
	return append([]*FrameCache(nil), registry...)
}

// Name returns the name c was initialised with.
func (c *FrameCache) Name() string { return c.name }

// ObjectSize returns the size of c's objects, after rounding.
func (c *FrameCache) ObjectSize() int { return int(c.slab.size) }

// Lister is what the shell's objcache command reads of a cache.
type Lister interface {
	Name() string
	Stats(*Stats)
}

var goRegistry []Lister

// RegisterGo adds a Go-heap cache (a *Cache[T]) to those the shell lists.
// Call it from an init function.
func RegisterGo(c Lister) {
	registryMu.Lock()
	goRegistry = append(goRegistry, c)
	registryMu.Unlock()
}

// GoCaches returns the registered Go-heap caches.
func GoCaches() []Lister {
	registryMu.Lock()
	defer registryMu.Unlock()
	return append([]Lister(nil), goRegistry...)
}
