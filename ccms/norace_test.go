//go:build !race

package ccms

const raceEnabled = false
