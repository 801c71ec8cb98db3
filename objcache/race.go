//go:build race

package objcache

// raceEnabled: under the race detector, a P's magazines are also guarded
// by a spinlock (goCore.pin), because the detector cannot see that two
// goroutines pinned to one P in turn are ordered by the Go scheduler.
const raceEnabled = true
