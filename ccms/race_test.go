//go:build race

package ccms

const raceEnabled = true
