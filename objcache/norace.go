//go:build !race

package objcache

// raceEnabled: see race.go.
const raceEnabled = false
