package objcache

// The registry of the kernel's caches, for the shell's objcache command.
// Runs above the runtime.

import (
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// MaxRegistered bounds the registered caches.
const MaxRegistered = 32

// registered holds the FrameCaches, in a static array ReclaimAll can read
// below the runtime: written only by Register (under registryMu), from
// init functions, before other CPUs start.
var (
	registryMu  sync.Mutex
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
	registered[nRegistered] = c
	nRegistered++
}

// Caches returns the registered caches, in registration order.
func Caches() []*FrameCache {
	registryMu.Lock()
	defer registryMu.Unlock()
	return append([]*FrameCache(nil), registered[:nRegistered]...)
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

// GoLister is a Go-heap cache (a *Cache[T]) as the registry holds it.
type GoLister interface {
	Lister
	Reclaim() int
}

var goRegistry []GoLister

// RegisterGo adds a Go-heap cache to those the shell lists and
// GoReclaimer reclaims. Call it from an init function.
func RegisterGo(c GoLister) {
	registryMu.Lock()
	goRegistry = append(goRegistry, c)
	registryMu.Unlock()
}

// GoCaches returns the registered Go-heap caches.
func GoCaches() []Lister {
	registryMu.Lock()
	defer registryMu.Unlock()
	var out []Lister
	for _, c := range goRegistry {
		out = append(out, c)
	}
	return out
}

// goPressure counts memory-pressure events for GoReclaimer: ReclaimAll
// (below the runtime) adds one and wakes the reclaimer, which sleeps in
// the kernel's futex on this word.
var goPressure atomic.Uint32

// GoReclaimer is the Go half of mm's memory-pressure path: a goroutine
// the kernel starts once. Each time mm runs out of frames (ReclaimAll),
// it reclaims every registered Go-heap cache — Destroy and dropping the
// objects is Go code, which the below-runtime path cannot run — so the
// collector can reuse their memory.
func GoReclaimer() {
	for {
		seen := goPressure.Load()
		for goPressure.Load() == seen {
			syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(&goPressure)), futexWaitPrivate, uintptr(seen), 0, 0, 0)
		}
		registryMu.Lock()
		caches := append([]GoLister(nil), goRegistry...)
		registryMu.Unlock()
		for _, c := range caches {
			c.Reclaim()
		}
	}
}

const futexWaitPrivate = 0x80
