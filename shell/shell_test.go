package shell

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testShell() (*Shell, *bytes.Buffer) {
	var out bytes.Buffer
	sh := New(&out, map[string]*Command{
		"say":  {"WORDS...", "print words", func(sh *Shell, a []string) error { sh.Out.Write([]byte(strings.Join(a, "|") + "\n")); return nil }},
		"boom": {"", "always fails", func(*Shell, []string) error { return errors.New("it broke") }},
	})
	return sh, &out
}

func feed(sh *Shell, s string) {
	for i := 0; i < len(s); i++ {
		sh.Feed(s[i])
	}
}

func TestShellRunsCommands(t *testing.T) {
	sh, out := testShell()
	sh.Start()
	feed(sh, "say 'a b' c\r")
	if !strings.Contains(out.String(), "a b|c\n") || !strings.HasSuffix(out.String(), Prompt) {
		t.Fatalf("output %q", out.String())
	}
}

func TestShellReportsErrorsAndContinues(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"nosuch\r", `gofly: unknown command "nosuch"; type help for the list`},
		{"boom\r", "boom: it broke"},
		{"say \"open\r", "gofly: unterminated \" quote"},
		{"say \x01x\r", "gofly: lineedit: control byte 0x01 in input"},
		{strings.Repeat("x", 10000) + "\r", "gofly: lineedit: line too long (10000 bytes"},
		{"say \xff\xfe\r", "gofly: lineedit: invalid UTF-8 in input"},
	} {
		sh, out := testShell()
		sh.Start()
		feed(sh, tc.in)
		feed(sh, "say still here\r")
		got := out.String()
		if !strings.Contains(got, tc.want) {
			t.Errorf("input %.20q: output lacks %q:\n%q", tc.in, tc.want, got)
		}
		if !strings.Contains(got, "still|here\n") {
			t.Errorf("input %.20q: shell did not keep working: %q", tc.in, got)
		}
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	sh, out := testShell()
	sh.Exec("help")
	for _, name := range []string{"say", "boom", "help"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("help lacks %q: %q", name, out.String())
		}
	}
	out.Reset()
	sh.Exec("help nosuch")
	if !strings.Contains(out.String(), `help: no command "nosuch"`) {
		t.Errorf("help nosuch: %q", out.String())
	}
}
