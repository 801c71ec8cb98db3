package rtc

// Reading the RTC happens before the runtime starts: nosplit.

import "gofly/arch/amd64"

const (
	cmosIndex = 0x70
	cmosData  = 0x71
)

//go:nosplit
func read(reg uint8) uint8 {
	amd64.Outb(cmosIndex, reg|0x80) // bit 7 keeps NMIs disabled while we read
	return amd64.Inb(cmosData)
}

//go:nosplit
func bcd(v uint8) uint8 { return v&15 + v>>4*10 }

// Time is a broken-down RTC reading.
type Time struct {
	Year                       int
	Month, Day, Hour, Min, Sec int
}

// Read returns the current RTC time, read twice until two consecutive
// readings agree so that an update in the middle cannot tear it.
//
//go:nosplit
func Read() Time {
	var a, b Time
	for {
		for read(0x0A)&0x80 != 0 { // update in progress
		}
		a = readOnce()
		for read(0x0A)&0x80 != 0 {
		}
		b = readOnce()
		if a == b {
			return a
		}
	}
}

//go:nosplit
func readOnce() Time {
	status := read(0x0B)
	sec, min, hour := read(0x00), read(0x02), read(0x04)
	day, mon, year, cent := read(0x07), read(0x08), read(0x09), read(0x32)
	pm := hour&0x80 != 0
	hour &= 0x7F
	if status&0x04 == 0 { // BCD encoding
		sec, min, hour = bcd(sec), bcd(min), bcd(hour)
		day, mon, year, cent = bcd(day), bcd(mon), bcd(year), bcd(cent)
	}
	if status&0x02 == 0 && pm { // 12-hour clock
		hour = (hour + 12) % 24
	}
	y := int(year)
	if cent >= 19 && cent <= 30 {
		y += int(cent) * 100
	} else {
		y += 2000
	}
	return Time{y, int(mon), int(day), int(hour), int(min), int(sec)}
}

// Unix converts t (taken as UTC) to seconds since 1970-01-01.
//
//go:nosplit
func (t Time) Unix() int64 {
	// Days from civil date (Howard Hinnant's algorithm).
	y := t.Year
	if t.Month <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	m := t.Month
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + t.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe - 719468
	return int64(days)*86400 + int64(t.Hour)*3600 + int64(t.Min)*60 + int64(t.Sec)
}
