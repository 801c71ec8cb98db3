package main

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestReadTimeline(t *testing.T) {
	const out = "boottime\r\n" +
		"  since stub         step  phase\r\n" +
		"          0s           0s  boot stub entered\r\n" +
		"       318µs        318µs  Go image entered\r\n" +
		"     3.107ms      1.263ms  TSC calibrated\r\n" +
		"    55.513ms      6.477ms  first prompt\r\n" +
		"gofly> "
	tl, err := readTimeline(bufio.NewReader(strings.NewReader(out)))
	if err != nil {
		t.Fatal(err)
	}
	want := timeline{
		{"boot stub entered", 0},
		{"Go image entered", 318 * time.Microsecond},
		{"TSC calibrated", 1263 * time.Microsecond},
		{"first prompt", 6477 * time.Microsecond},
	}
	if len(tl) != len(want) {
		t.Fatalf("got %d steps %v, want %v", len(tl), tl, want)
	}
	for i := range want {
		if tl[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, tl[i], want[i])
		}
	}
}

func TestReadTimelineCut(t *testing.T) {
	if _, err := readTimeline(bufio.NewReader(strings.NewReader("       318µs        318µs  Go image entered\n"))); err == nil {
		t.Error("a timeline without its first prompt read without error")
	}
}
