package lineedit

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

const prompt = "> "

// driver feeds an Editor and checks the package invariants after every byte.
type driver struct {
	e   *Editor
	scr screen
	out []byte
	evs []string // events as eventString renders them
}

func newDriver(maxLine, historySize int) *driver {
	d := &driver{e: New(prompt, maxLine, historySize)}
	if err := d.scr.write(d.e.Prompt()); err != nil {
		panic(err)
	}
	return d
}

// feed feeds in one byte at a time, printing a fresh prompt after each event
// as the shell does.
func (d *driver) feed(in string) error {
	for i := 0; i < len(in); i++ {
		out, ev := d.e.Feed(in[i])
		d.out = append(d.out, out...)
		if err := d.scr.write(out); err != nil {
			return fmt.Errorf("byte %d (0x%02x): clean-output: %v", i, in[i], err)
		}
		if ev.Kind != None {
			if err := checkEvent(ev, d.e.maxLine); err != nil {
				return fmt.Errorf("byte %d (0x%02x): %v", i, in[i], err)
			}
			d.evs = append(d.evs, eventString(ev))
			if err := d.scr.write(d.e.Prompt()); err != nil {
				return err
			}
		}
		if err := d.check(); err != nil {
			return fmt.Errorf("byte %d (0x%02x): %v", i, in[i], err)
		}
	}
	return nil
}

// check tests the Editor's state against the invariants in doc.go.
func (d *driver) check() error {
	e := d.e
	if len(e.line) > e.maxLine || len(e.draft) > e.maxLine {
		return fmt.Errorf("line-bound: line %d, draft %d bytes, limit %d", len(e.line), len(e.draft), e.maxLine)
	}
	if len(e.history) > e.histSize {
		return fmt.Errorf("memory-bound: %d history entries, limit %d", len(e.history), e.histSize)
	}
	for _, h := range e.history {
		if len(h) > e.maxLine || !clean(h) {
			return fmt.Errorf("clean-line: history entry %q", h)
		}
	}
	if !clean(string(e.line)) {
		return fmt.Errorf("clean-line: line %q", e.line)
	}
	if err := d.scr.check(prompt + string(e.line)); err != nil {
		return fmt.Errorf("screen-sync: %v", err)
	}
	return nil
}

func checkEvent(ev Event, maxLine int) error {
	switch ev.Kind {
	case Line:
		if ev.Err != nil || len(ev.Line) > maxLine || !clean(ev.Line) {
			return fmt.Errorf("clean-line: bad Line event %+v", ev)
		}
	case Error:
		if ev.Err == nil || ev.Line != "" || !strings.HasPrefix(ev.Err.Error(), "lineedit: ") ||
			strings.ContainsAny(ev.Err.Error(), "\r\n") {
			return fmt.Errorf("bad Error event %+v", ev)
		}
	case Interrupt, EOF:
		if ev.Err != nil || ev.Line != "" {
			return fmt.Errorf("bad %v event %+v", ev.Kind, ev)
		}
	default:
		return fmt.Errorf("unknown event kind %v", ev.Kind)
	}
	return nil
}

// clean reports whether s is valid UTF-8 without control characters.
func clean(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

func eventString(ev Event) string {
	switch ev.Kind {
	case Line:
		return "Line:" + ev.Line
	case Error:
		return "Error:" + ev.Err.Error()
	}
	return ev.Kind.String()
}

type editCase struct {
	name    string
	maxLine int // 0 means 64
	hist    int // 0 means 8; use -1 for none
	in      string
	want    []string // events, as eventString renders them
	wantOut string   // if non-empty, all bytes echoed
}

func runCases(t *testing.T, cases []editCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			maxLine, hist := tc.maxLine, tc.hist
			if maxLine == 0 {
				maxLine = 64
			}
			switch hist {
			case 0:
				hist = 8
			case -1:
				hist = 0
			}
			d := newDriver(maxLine, hist)
			if err := d.feed(tc.in); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.evs, tc.want) {
				t.Errorf("events:\n got %q\nwant %q", d.evs, tc.want)
			}
			if tc.wantOut != "" && string(d.out) != tc.wantOut {
				t.Errorf("output:\n got %q\nwant %q", d.out, tc.wantOut)
			}
		})
	}
}

func TestEditing(t *testing.T) {
	runCases(t, []editCase{
		{name: "plain line", in: "ls -l\r", want: []string{"Line:ls -l"}, wantOut: "ls -l\r\n"},
		{name: "LF ends line", in: "a\n", want: []string{"Line:a"}, wantOut: "a\r\n"},
		{name: "empty line", in: "\r", want: []string{"Line:"}, wantOut: "\r\n"},
		{name: "CRLF is one end", in: "a\r\nb\r\n", want: []string{"Line:a", "Line:b"}, wantOut: "a\r\nb\r\n"},
		{name: "LFCR is one end", in: "a\n\rb\n\r", want: []string{"Line:a", "Line:b"}},
		{name: "CR CR is two ends", in: "a\r\r", want: []string{"Line:a", "Line:"}},
		{name: "LF LF is two ends", in: "a\n\n", want: []string{"Line:a", "Line:"}},
		{name: "CRLF CRLF is two ends", in: "a\r\n\r\n", want: []string{"Line:a", "Line:"}},
		{name: "telnet CR NUL is one end", in: "a\r\x00b\r", want: []string{"Line:a", "Line:b"}},
		{name: "UTF-8", in: "héllo 世界 🙂\r", want: []string{"Line:héllo 世界 🙂"}, wantOut: "héllo 世界 🙂\r\n"},
		{name: "backspace DEL and BS", in: "abc\x7f\x08d\r", want: []string{"Line:ad"},
			wantOut: "abc\b \b\b \bd\r\n"},
		{name: "backspace on empty line", in: "\x7f\x08x\r", want: []string{"Line:x"}, wantOut: "x\r\n"},
		{name: "backspace erases whole rune", in: "a世\x7f\r", want: []string{"Line:a"}, wantOut: "a世\b \b\r\n"},
		{name: "Ctrl-U", in: "aé\x15xy\r", want: []string{"Line:xy"}, wantOut: "aé\b \b\b \bxy\r\n"},
		{name: "Ctrl-U on empty line", in: "\x15\r", want: []string{"Line:"}, wantOut: "\r\n"},
		{name: "Ctrl-C mid-line", in: "abc\x03def\r", want: []string{"Interrupt", "Line:def"},
			wantOut: "abc^C\r\ndef\r\n"},
		{name: "Ctrl-D on empty line", in: "\x04", want: []string{"EOF"}, wantOut: "\r\n"},
		{name: "Ctrl-D mid-line ignored", in: "ab\x04c\r", want: []string{"Line:abc"}},
		{name: "Ctrl-L redraws", in: "ab\x0c\r", want: []string{"Line:ab"}, wantOut: "ab\x1b[H\x1b[2J> ab\r\n"},
	})
}

func TestBadInput(t *testing.T) {
	const (
		badUTF8 = "Error:lineedit: invalid UTF-8 in input"
		ctrlA   = "Error:lineedit: control byte 0x01 in input"
	)
	runCases(t, []editCase{
		{name: "control byte", in: "a\x01b\r", want: []string{ctrlA}, wantOut: "ab\r\n"},
		{name: "NUL mid-line", in: "a\x00\r", want: []string{"Error:lineedit: control byte 0x00 in input"}},
		{name: "tab", in: "\t\r", want: []string{"Error:lineedit: control byte 0x09 in input"}},
		{name: "lone continuation byte", in: "a\x80\r", want: []string{badUTF8}, wantOut: "a\r\n"},
		{name: "0xff", in: "\xff\r", want: []string{badUTF8}},
		{name: "overlong two-byte", in: "\xc0\xaf\r", want: []string{badUTF8}},
		{name: "overlong three-byte", in: "\xe0\x80\xaf\r", want: []string{badUTF8}},
		{name: "surrogate", in: "\xed\xa0\x80\r", want: []string{badUTF8}},
		{name: "above U+10FFFF", in: "\xf4\x90\x80\x80\r", want: []string{badUTF8}},
		{name: "truncated rune then CR", in: "\xe4\xb8\rok\r", want: []string{badUTF8, "Line:ok"},
			wantOut: "\r\nok\r\n"},
		{name: "truncated rune then backspace", in: "ab\xe4\x7f\r", want: []string{badUTF8}, wantOut: "ab\b \b\r\n"},
		{name: "C1 control", in: "\xc2\x9b\r", want: []string{"Error:lineedit: control character U+009B in input"}},
		{name: "first problem wins", in: "\x01\xff\r", want: []string{ctrlA}},
		{name: "backspace keeps mark", in: "a\x01\x7f\r", want: []string{ctrlA}},
		{name: "Ctrl-U clears mark", in: "\x01\x15ok\r", want: []string{"Line:ok"}},
		{name: "Ctrl-C clears mark", in: "\x01\x03ok\r", want: []string{"Interrupt", "Line:ok"}},
		{name: "error then fresh line", in: "\x01\r\nok\r\n", want: []string{ctrlA, "Line:ok"}},
		{name: "Ctrl-D on empty bad line", in: "\x01\x04ok\r", want: []string{"EOF", "Line:ok"}},
	})
}

func TestEscapes(t *testing.T) {
	runCases(t, []editCase{
		{name: "sequences ignored", in: "a\x1b[Cb\x1b[1;5Dc\x1b[3~d\x1bOPe\x1b[200~f\x1b[?25hg\r",
			want: []string{"Line:abcdefg"}, wantOut: "abcdefg\r\n"},
		{name: "ESC then letter keeps letter", in: "\x1bx\r", want: []string{"Line:x"}},
		{name: "ESC then CR ends line", in: "ab\x1b\r", want: []string{"Line:ab"}},
		{name: "ESC [ then CR ends line", in: "ab\x1b[\r", want: []string{"Line:ab"}},
		{name: "CSI params then CR ends line", in: "ab\x1b[1;\r", want: []string{"Line:ab"}},
		{name: "ESC O then CR ends line", in: "ab\x1bO\r", want: []string{"Line:ab"}},
		{name: "ESC then Ctrl-C", in: "ab\x1b\x03", want: []string{"Interrupt"}},
		{name: "ESC then backspace", in: "ab\x1b\x7f\r", want: []string{"Line:a"}},
		{name: "ESC then UTF-8", in: "\x1bé\r", want: []string{"Line:é"}},
		{name: "ESC then control byte", in: "\x1b\x01\r", want: []string{"Error:lineedit: control byte 0x01 in input"}},
		{name: "ESC mid-rune", in: "\xc3\x1b[Cx\r", want: []string{"Error:lineedit: invalid UTF-8 in input"},
			wantOut: "x\r\n"},
		{name: "ESC ESC", in: "\x1b\x1b[Cx\r", want: []string{"Line:x"}},
		{name: "long CSI", in: "\x1b[" + strings.Repeat("1;", 5000) + "~x\r", want: []string{"Line:x"}},
	})
}

func TestHistory(t *testing.T) {
	runCases(t, []editCase{
		{name: "up recalls newest", in: "one\rtwo\r\x1b[A\r", want: []string{"Line:one", "Line:two", "Line:two"}},
		{name: "up twice", in: "one\rtwo\r\x1b[A\x1b[A\r",
			want:    []string{"Line:one", "Line:two", "Line:one"},
			wantOut: "one\r\ntwo\r\ntwo\b \b\b \b\b \bone\r\n"},
		{name: "up stops at oldest", in: "one\r\x1b[A\x1b[A\x1b[A\r", want: []string{"Line:one", "Line:one"}},
		{name: "SS3 arrows", in: "one\rtwo\r\x1bOA\x1bOA\x1bOB\r", want: []string{"Line:one", "Line:two", "Line:two"}},
		{name: "down restores draft", in: "one\rdr\x1b[A\x1b[B\r", want: []string{"Line:one", "Line:dr"},
			wantOut: "one\r\ndr\b \b\b \bone\b \b\b \b\b \bdr\r\n"},
		{name: "down on draft does nothing", in: "x\x1b[B\r", want: []string{"Line:x"}, wantOut: "x\r\n"},
		{name: "modified arrow ignored", in: "one\r\x1b[1;5A\r", want: []string{"Line:one", "Line:"}},
		{name: "ESC ESC [ A", in: "one\r\x1b\x1b[A\r", want: []string{"Line:one", "Line:one"}},
		{name: "up split by Ctrl-C", in: "one\r\x1b[\x03\r", want: []string{"Line:one", "Interrupt", "Line:"}},
		{name: "edit recalled entry", in: "one\r\x1b[Ax\r\x1b[A\r", want: []string{"Line:one", "Line:onex", "Line:onex"}},
		{name: "edits discarded when walking", in: "one\rtwo\r\x1b[A\x7f\x1b[A\x1b[B\r",
			want: []string{"Line:one", "Line:two", "Line:two"}},
		{name: "no history", hist: -1, in: "a\r\x1b[A\r", want: []string{"Line:a", "Line:"}},
		{name: "empty lines not stored", in: "a\r\r\x1b[A\r", want: []string{"Line:a", "Line:", "Line:a"}},
		{name: "bounded", hist: 2, in: "a\rb\rc\r\x1b[A\x1b[A\x1b[A\r",
			want: []string{"Line:a", "Line:b", "Line:c", "Line:b"}},
		{name: "errors not stored", in: "a\r\x01b\r\x1b[A\r",
			want: []string{"Line:a", "Error:lineedit: control byte 0x01 in input", "Line:a"}},
		{name: "recalled entry drops draft mark", in: "one\r\x01x\x1b[A\r", want: []string{"Line:one", "Line:one"}},
		{name: "draft mark restored", in: "one\r\x01x\x1b[A\x1b[B\r",
			want: []string{"Line:one", "Error:lineedit: control byte 0x01 in input"}},
		{name: "mark on recalled entry dropped", in: "one\r\x1b[A\x01\x1b[B\r", want: []string{"Line:one", "Line:"}},
		{name: "walk ignored after overflow", maxLine: 3, in: "one\rabcd\x1b[A\r",
			want: []string{"Line:one", "Error:lineedit: line too long (4 bytes, limit 3)"}},
	})
}

func TestHistoryContents(t *testing.T) {
	tests := []struct {
		name string
		hist int
		in   string
		want []string
	}{
		{"no consecutive duplicates", 8, "a\ra\rb\rb\r", []string{"a", "b"}},
		{"other duplicates kept", 8, "a\rb\ra\r", []string{"a", "b", "a"}},
		{"oldest dropped", 2, "a\rb\rc\r", []string{"b", "c"}},
		{"size zero", 0, "a\rb\r", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(64, tc.hist)
			if err := d.feed(tc.in); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.e.history, tc.want) {
				t.Errorf("history %q, want %q", d.e.history, tc.want)
			}
		})
	}
}

func TestLineTooLong(t *testing.T) {
	x := strings.Repeat("x", 10000)
	runCases(t, []editCase{
		{name: "exactly maxLine", maxLine: 4, in: "abcd\r", want: []string{"Line:abcd"}},
		{name: "one over", maxLine: 4, in: "abcde\r", wantOut: "abcd\r\n",
			want: []string{"Error:lineedit: line too long (5 bytes, limit 4)"}},
		{name: "rune straddles limit", maxLine: 4, in: "abc€\r", wantOut: "abc\r\n",
			want: []string{"Error:lineedit: line too long (6 bytes, limit 4)"}},
		{name: "backspace ignored after overflow", maxLine: 3, in: "abcd\x7f\x7f\r", wantOut: "abc\r\n",
			want: []string{"Error:lineedit: line too long (4 bytes, limit 3)"}},
		{name: "Ctrl-U recovers", maxLine: 3, in: "abcdef\x15ok\r", wantOut: "abc\b \b\b \b\b \bok\r\n",
			want: []string{"Line:ok"}},
		{name: "Ctrl-C recovers", maxLine: 3, in: "abcdef\x03ok\r", want: []string{"Interrupt", "Line:ok"}},
		{name: "Ctrl-D ignored after overflow", maxLine: 1, in: "ab\x04\r",
			want: []string{"Error:lineedit: line too long (2 bytes, limit 1)"}},
		{name: "bad byte after overflow", maxLine: 2, in: "abc\x01\r",
			want: []string{"Error:lineedit: line too long (3 bytes, limit 2)"}},
		{name: "overflow after bad byte", maxLine: 2, in: "\x01abc\r",
			want: []string{"Error:lineedit: control byte 0x01 in input"}},
		{name: "10000 bytes", maxLine: 256, in: x + "\rok\r", wantOut: x[:256] + "\r\nok\r\n",
			want: []string{"Error:lineedit: line too long (10000 bytes, limit 256)", "Line:ok"}},
		{name: "10000 bytes of runes", maxLine: 255, in: strings.Repeat("é", 5000) + "\r",
			wantOut: strings.Repeat("é", 127) + "\r\n",
			want:    []string{"Error:lineedit: line too long (10000 bytes, limit 255)"}},
		{name: "10000 bytes fit", maxLine: 10000, in: x + "\r", want: []string{"Line:" + x}},
	})
}

// TestSplitSequences checks that a sequence echoes or acts only on its last
// byte, however the bytes arrive.
func TestSplitSequences(t *testing.T) {
	tests := []struct {
		name    string
		before  string
		seq     string
		wantOut string
	}{
		{"rune", "", "🙂", "🙂"},
		{"CSI with params", "ab", "\x1b[1;5C", ""},
		{"delete key", "ab", "\x1b[3~", ""},
		{"up", "one\r", "\x1b[A", "one"},
		{"SS3 up", "one\r", "\x1bOA", "one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(64, 8)
			if err := d.feed(tc.before); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(tc.seq)-1; i++ {
				if out, ev := d.e.Feed(tc.seq[i]); out != nil || ev.Kind != None {
					t.Fatalf("byte %d of %q: got %q, %v before the sequence ended", i, tc.seq, out, ev.Kind)
				}
			}
			out, ev := d.e.Feed(tc.seq[len(tc.seq)-1])
			if string(out) != tc.wantOut || ev.Kind != None {
				t.Errorf("last byte: got %q, %v; want %q, None", out, ev.Kind, tc.wantOut)
			}
		})
	}
}

func TestNewPanics(t *testing.T) {
	for _, tc := range []struct{ maxLine, hist int }{{0, 1}, {-1, 1}, {1, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d, %d) did not panic", tc.maxLine, tc.hist)
				}
			}()
			New("", tc.maxLine, tc.hist)
		}()
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{None: "None", Line: "Line", Interrupt: "Interrupt",
		EOF: "EOF", Error: "Error", 9: "EventKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("EventKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

// FuzzFeed checks every invariant in doc.go on arbitrary input. For
// no-silent-loss it also checks that a line typed without editing keys comes
// back byte for byte, so a rejected or dropped byte cannot end in Line.
func FuzzFeed(f *testing.F) {
	for _, s := range []string{
		"ls -l\r\n", "a\x01b\r", "héllo\x7f\r", "\xe4\xb8\r", "\xc2\x9b\r", "one\rtwo\r\x1b[A\x1b[A\x1b[B\r",
		"\x1b[1;5C\x1bOA\x1b\x1b[3~x\r", "abc\x03\x04", "\x01\x15ok\r", "abcdefghijklmnop\r", "a\r\x00b\n\r",
		"\x0c\x1b", "\xf0\x9f\x99\x82\xf0\x9f\r",
	} {
		f.Add(uint8(8), uint8(4), []byte(s))
	}
	f.Fuzz(func(t *testing.T, maxLine, hist uint8, data []byte) {
		d := newDriver(int(maxLine%64)+1, int(hist%8))
		var typed []byte // bytes of the current line, excluding a swallowed pair byte
		plain := true    // no key that edits or recalls text in the current line
		var lastEnd byte // CR or LF that ended the previous line
		for i, b := range data {
			evs := len(d.evs)
			if err := d.feed(string([]byte{b})); err != nil {
				t.Fatalf("input %q: %v", data[:i+1], err)
			}
			if len(d.evs) > evs {
				ev := d.evs[len(d.evs)-1]
				if plain && strings.HasPrefix(ev, "Line:") && ev != "Line:"+string(typed) {
					t.Fatalf("input %q: no-silent-loss: got %s for typed %q", data[:i+1], ev, typed)
				}
				typed, plain, lastEnd = typed[:0], true, 0
				if b == '\r' || b == '\n' {
					lastEnd = b
				}
				continue
			}
			if (lastEnd == '\r' && (b == '\n' || b == 0)) || (lastEnd == '\n' && b == '\r') {
				lastEnd = 0
				continue
			}
			lastEnd = 0
			switch b {
			case esc, del, '\b', ctrlU, ctrlL, ctrlD:
				plain = false
			}
			if plain {
				typed = append(typed, b)
			}
		}
	})
}
