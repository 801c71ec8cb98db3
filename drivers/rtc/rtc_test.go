package rtc

import (
	"testing"
	"time"
)

func TestUnixMatchesTimePackage(t *testing.T) {
	for _, tm := range []Time{
		{1970, 1, 1, 0, 0, 0}, {2000, 2, 29, 23, 59, 59}, {2026, 11, 23, 11, 17, 34},
		{2100, 3, 1, 0, 0, 1}, {1999, 12, 31, 12, 0, 0},
	} {
		want := time.Date(tm.Year, time.Month(tm.Month), tm.Day, tm.Hour, tm.Min, tm.Sec, 0, time.UTC).Unix()
		if got := tm.Unix(); got != want {
			t.Errorf("%+v.Unix() = %d, want %d", tm, got, want)
		}
	}
}

func TestBCD(t *testing.T) {
	if bcd(0x59) != 59 || bcd(0x00) != 0 || bcd(0x12) != 12 {
		t.Fatal("bcd decodes wrongly")
	}
}
