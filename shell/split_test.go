package shell

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"echo hello world", []string{"echo", "hello", "world"}, false},
		{"  echo   spaced  ", []string{"echo", "spaced"}, false},
		{`echo "a b" 'c d'`, []string{"echo", "a b", "c d"}, false},
		{`echo a\ b`, []string{"echo", "a b"}, false},
		{`echo "it's"`, []string{"echo", "it's"}, false},
		{"echo hi # a comment", []string{"echo", "hi"}, false},
		{"echo a#b", []string{"echo", "a#b"}, false},
		{"", nil, false},
		{`echo "open`, nil, true},
		{`echo 'open`, nil, true},
		{`echo trailing\`, nil, true},
	} {
		got, err := split(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("split(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && len(got)+len(tc.want) > 0 && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("split(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
