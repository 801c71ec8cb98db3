//go:build !race

package lwkt

const raceEnabled = false
