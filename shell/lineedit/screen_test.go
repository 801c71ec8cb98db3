package lineedit

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// screen models the cursor row of a serial terminal, one column per rune, so
// tests can check what the user sees (invariant screen-sync). Its write
// rejects every byte the editor must not emit (invariant clean-output).
type screen struct {
	row []rune
	col int
}

// write applies one Feed's output. Each output must be complete: a sequence
// split across two Feed results is an error.
func (s *screen) write(p []byte) error {
	for len(p) > 0 {
		switch {
		case bytes.HasPrefix(p, []byte("\x1b[H")):
			s.col = 0
			p = p[3:]
		case bytes.HasPrefix(p, []byte("\x1b[2J")):
			s.row = s.row[:0]
			p = p[4:]
		case p[0] == '\r':
			s.col = 0
			p = p[1:]
		case p[0] == '\n': // new blank row, cursor column unchanged
			s.row = s.row[:0]
			p = p[1:]
		case p[0] == '\b':
			if s.col == 0 {
				return fmt.Errorf("backspace at column 0")
			}
			s.col--
			p = p[1:]
		default:
			r, size := utf8.DecodeRune(p)
			if r == utf8.RuneError && size <= 1 {
				return fmt.Errorf("invalid UTF-8 %q in output", p)
			}
			if unicode.IsControl(r) {
				return fmt.Errorf("control character %U in output", r)
			}
			for len(s.row) <= s.col {
				s.row = append(s.row, ' ')
			}
			s.row[s.col] = r
			s.col++
			p = p[size:]
		}
	}
	return nil
}

// check reports whether the row shows exactly want with the cursor after it
// and only blanks beyond.
func (s *screen) check(want string) error {
	got := string(s.row[:min(s.col, len(s.row))]) + strings.Repeat(" ", max(0, s.col-len(s.row)))
	if got != want {
		return fmt.Errorf("screen shows %q before the cursor, want %q", got, want)
	}
	if s.col < len(s.row) && strings.TrimRight(string(s.row[s.col:]), " ") != "" {
		return fmt.Errorf("screen shows %q after the cursor, want blanks", string(s.row[s.col:]))
	}
	return nil
}
