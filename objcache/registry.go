package objcache

// The registry of the kernel's caches, for the shell's objcache command.
// Runs above the runtime.

import "sync"

var (
	registryMu sync.Mutex
	registry   []*Cache
)

// MaxRegistered bounds the registered caches.
const MaxRegistered = 32

// registered is the registry as ReclaimAll reads it below the runtime:
// written only by Register, from init functions, before other CPUs start.
var (
	registered  [MaxRegistered]*Cache
	nRegistered int
)

// Register adds c, initialised, to the caches the shell lists and
// ReclaimAll reclaims. Call it from an init function, after c.Init; c
// must be a package variable (it stays listed for the life of the
// kernel).
func Register(c *Cache) {
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
func Caches() []*Cache {
	registryMu.Lock()
	defer registryMu.Unlock()
	return append([]*Cache(nil), registry...)
}

// Name returns the name c was initialised with.
func (c *Cache) Name() string { return c.name }

// ObjectSize returns the size of c's objects, after rounding.
func (c *Cache) ObjectSize() int { return int(c.slab.size) }
