// Package rtc reads the CMOS real-time clock, the machine's battery-backed
// wall clock, once at boot. Reading happens before the Go runtime starts:
// nosplit, no allocation.
package rtc
