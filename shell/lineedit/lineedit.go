package lineedit

import (
	"bytes"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// EventKind says how a line ended.
type EventKind int

const (
	None      EventKind = iota // the line is still being typed
	Line                       // a complete line, in Event.Line
	Interrupt                  // Ctrl-C abandoned the line
	EOF                        // Ctrl-D on an empty line
	Error                      // the line held bad input; see Event.Err
)

var kindNames = [...]string{"None", "Line", "Interrupt", "EOF", "Error"}

func (k EventKind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
	return kindNames[k]
}

// Event reports the end of a line. Line is set only for Kind Line, Err only
// for Kind Error.
type Event struct {
	Kind EventKind
	Line string
	Err  error
}

// escState is where the escape-sequence decoder stands.
type escState uint8

const (
	escNone  escState = iota // not in a sequence
	escStart                 // after ESC
	escCSI                   // after ESC [, before the final byte
	escSS3                   // after ESC O, before the final byte
)

const (
	ctrlC = 'C' & 0x1f
	ctrlD = 'D' & 0x1f
	ctrlL = 'L' & 0x1f
	ctrlU = 'U' & 0x1f
	esc   = 0x1b
	del   = 0x7f

	eraseRune   = "\b \b"
	clearScreen = "\x1b[H\x1b[2J"
)

var errInvalidUTF8 = errors.New("lineedit: invalid UTF-8 in input")

// Editor turns raw terminal input bytes into complete lines, producing the
// echo/redraw bytes a serial terminal needs.
type Editor struct {
	prompt   string
	maxLine  int
	histSize int

	// The line being typed. Invariant line-bound: len(line) <= maxLine.
	line    []byte
	dropped int   // bytes not stored since the line overflowed; > 0 means too long
	fail    error // first rejected input; set only before the line overflows

	// Decoders between keystrokes. At most one is mid-sequence at a time.
	esc       escState
	csiParams bool // the CSI has parameter or intermediate bytes
	runeBuf   [utf8.UTFMax]byte
	runeLen   int // bytes of runeBuf collected so far
	runeWant  int // bytes the rune needs in total

	// pairEnd is the CR or LF that just ended a line; its partner byte, if
	// it comes next, is the same keystroke and is swallowed.
	pairEnd byte

	history   []string // oldest first; len(history) <= histSize
	histPos   int      // entry shown; len(history) means the draft
	draft     []byte   // the typed line, saved while history is shown
	draftFail error    // fail belonging to draft
}

// New returns an Editor that prints prompt, accepts lines of up to maxLine
// bytes and remembers the last historySize lines, skipping repeats. The
// prompt should be printable text; the Editor echoes it as given on Ctrl-L.
func New(prompt string, maxLine int, historySize int) *Editor {
	if maxLine < 1 {
		panic("lineedit.New: maxLine < 1")
	}
	if historySize < 0 {
		panic("lineedit.New: historySize < 0")
	}
	return &Editor{prompt: prompt, maxLine: maxLine, histSize: historySize}
}

// Prompt returns the bytes that print a fresh prompt. The shell writes them
// at start and after every event.
func (e *Editor) Prompt() []byte {
	return []byte(e.prompt)
}

// Feed consumes one input byte. It returns bytes to write back to the
// terminal (echo, erase sequences, redraws) and, when a line is complete,
// ev.Kind != None. The editor is then ready for a fresh line.
func (e *Editor) Feed(b byte) (out []byte, ev Event) {
	if p := e.pairEnd; p != 0 {
		e.pairEnd = 0
		if (p == '\r' && (b == '\n' || b == 0)) || (p == '\n' && b == '\r') {
			return nil, Event{}
		}
	}
	if e.esc != escNone {
		if out, ok := e.escape(b); ok {
			return out, Event{}
		}
	}
	if e.runeLen > 0 {
		if out, ok := e.continueRune(b); ok {
			return out, Event{}
		}
	}
	return e.key(b)
}

// escape advances the escape decoder. It reports false when b cannot be part
// of the sequence; the sequence is then dropped and b handled as a key.
func (e *Editor) escape(b byte) (out []byte, ok bool) {
	state := e.esc
	e.esc = escNone
	switch state {
	case escStart:
		switch b {
		case '[':
			e.esc, e.csiParams = escCSI, false
			return nil, true
		case 'O':
			e.esc = escSS3
			return nil, true
		}
	case escCSI:
		switch {
		case b >= 0x20 && b <= 0x3f: // parameter or intermediate byte
			e.esc, e.csiParams = escCSI, true
			return nil, true
		case b >= 0x40 && b <= 0x7e: // final byte
			if e.csiParams {
				return nil, true // modified keys such as ESC [ 1 ; 5 A
			}
			return e.arrow(b), true
		}
	case escSS3:
		if b >= 0x20 && b <= 0x7e {
			return e.arrow(b), true
		}
	}
	return nil, false
}

// arrow acts on the final byte of an unmodified cursor-key sequence.
func (e *Editor) arrow(b byte) []byte {
	switch b {
	case 'A':
		return e.walkHistory(-1)
	case 'B':
		return e.walkHistory(+1)
	}
	return nil
}

// continueRune adds b to a multi-byte UTF-8 sequence. It reports false when b
// is not a continuation byte; the partial rune is then rejected and b handled
// as a key, so a CR after a truncated rune still ends the line.
func (e *Editor) continueRune(b byte) (out []byte, ok bool) {
	if b&0xc0 != 0x80 {
		e.runeLen = 0
		e.reject(errInvalidUTF8)
		return nil, false
	}
	e.runeBuf[e.runeLen] = b
	e.runeLen++
	if e.runeLen < e.runeWant {
		return nil, true
	}
	p := e.runeBuf[:e.runeLen]
	e.runeLen = 0
	r, size := utf8.DecodeRune(p)
	switch {
	case r == utf8.RuneError && size <= 1: // overlong or surrogate
		e.reject(errInvalidUTF8)
		return nil, true
	case unicode.IsControl(r): // C1 controls, e.g. U+009B, a CSI to some terminals
		e.reject(fmt.Errorf("lineedit: control character %U in input", r))
		return nil, true
	}
	return e.insert(p), true
}

// key handles b outside any escape or UTF-8 sequence.
func (e *Editor) key(b byte) ([]byte, Event) {
	switch {
	case b == '\r' || b == '\n':
		return e.endLine(b)
	case b == del || b == '\b':
		return e.backspace(), Event{}
	case b == ctrlC:
		e.reset()
		return []byte("^C\r\n"), Event{Kind: Interrupt}
	case b == ctrlD:
		if len(e.line) > 0 || e.dropped > 0 {
			return nil, Event{}
		}
		e.reset()
		return []byte("\r\n"), Event{Kind: EOF}
	case b == ctrlU:
		out := e.erase()
		e.line, e.dropped, e.fail = e.line[:0], 0, nil
		return out, Event{}
	case b == ctrlL:
		out := append([]byte(clearScreen+e.prompt), e.line...)
		return out, Event{}
	case b == esc:
		e.esc = escStart
		return nil, Event{}
	case b < 0x20:
		e.reject(fmt.Errorf("lineedit: control byte 0x%02x in input", b))
		return nil, Event{}
	case b < 0x80:
		return e.insert([]byte{b}), Event{}
	}
	// A UTF-8 lead byte; see the table in RFC 3629 section 4.
	switch {
	case b >= 0xc2 && b <= 0xdf:
		e.runeWant = 2
	case b >= 0xe0 && b <= 0xef:
		e.runeWant = 3
	case b >= 0xf0 && b <= 0xf4:
		e.runeWant = 4
	default:
		e.reject(errInvalidUTF8)
		return nil, Event{}
	}
	e.runeBuf[0] = b
	e.runeLen = 1
	return nil, Event{}
}

// insert appends the rune p to the line and echoes it, or, once the line is
// full, only counts it.
func (e *Editor) insert(p []byte) []byte {
	if e.dropped > 0 || len(e.line)+len(p) > e.maxLine {
		e.dropped += len(p)
		return nil
	}
	e.line = append(e.line, p...)
	return append([]byte(nil), p...)
}

// reject marks the line bad with err unless it already has a problem; the
// error reports the first one.
func (e *Editor) reject(err error) {
	if e.fail == nil && e.dropped == 0 {
		e.fail = err
	}
}

func (e *Editor) backspace() []byte {
	if e.dropped > 0 || len(e.line) == 0 {
		return nil
	}
	_, size := utf8.DecodeLastRune(e.line)
	e.line = e.line[:len(e.line)-size]
	return []byte(eraseRune)
}

// erase returns the bytes that blank the line on screen, one rune at a time,
// leaving the cursor just after the prompt.
func (e *Editor) erase() []byte {
	return bytes.Repeat([]byte(eraseRune), utf8.RuneCount(e.line))
}

// walkHistory moves d entries through history (negative is older) and shows
// the entry in place of the line. It saves the typed line as the draft on the
// way out and restores it on the way back.
func (e *Editor) walkHistory(d int) []byte {
	pos := e.histPos + d
	if e.dropped > 0 || pos < 0 || pos > len(e.history) {
		return nil
	}
	if e.histPos == len(e.history) {
		e.draft = append(e.draft[:0], e.line...)
		e.draftFail = e.fail
	}
	out := e.erase()
	e.histPos = pos
	if pos == len(e.history) {
		e.line = append(e.line[:0], e.draft...)
		e.fail = e.draftFail
	} else {
		e.line = append(e.line[:0], e.history[pos]...)
		e.fail = nil
	}
	return append(out, e.line...)
}

// endLine finishes the line on CR or LF b.
func (e *Editor) endLine(b byte) ([]byte, Event) {
	var ev Event
	switch {
	case e.fail != nil:
		ev = Event{Kind: Error, Err: e.fail}
	case e.dropped > 0:
		ev = Event{Kind: Error, Err: fmt.Errorf("lineedit: line too long (%d bytes, limit %d)",
			len(e.line)+e.dropped, e.maxLine)}
	default:
		ev = Event{Kind: Line, Line: string(e.line)}
		e.remember(ev.Line)
	}
	e.reset()
	e.pairEnd = b
	return []byte("\r\n"), ev
}

// remember appends a completed line to history, skipping empty lines and
// repeats of the newest entry and dropping the oldest when full.
func (e *Editor) remember(s string) {
	n := len(e.history)
	if s == "" || e.histSize == 0 || (n > 0 && e.history[n-1] == s) {
		return
	}
	if n == e.histSize {
		copy(e.history, e.history[1:])
		e.history = e.history[:n-1]
	}
	e.history = append(e.history, s)
}

// reset starts a fresh line. Called only outside escape and UTF-8 sequences.
func (e *Editor) reset() {
	e.line, e.dropped, e.fail = e.line[:0], 0, nil
	e.histPos = len(e.history)
	e.draft, e.draftFail = e.draft[:0], nil
}
