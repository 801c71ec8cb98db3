package main

import (
	"bytes"
	"sort"
	"strings"
	"testing"
)

// The source rule over a fixture tree (parsed only, never built): handlers
// given to lwkt.TrapCall, ipiq.Register and lwkt.Cpusync.
func TestHandlerRule(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"go.mod": "module gofly\n\ngo 1.22\n",
		"lwkt/lwkt.go": `package lwkt

func TrapCall(fn func(uintptr), arg uintptr)     {}
func Cpusync(mask uint64, fn, arg1, arg2 uintptr) {}

func inside() {
	TrapCall(func(uintptr) {}, 0) // line 7: literal, inside package lwkt
}
`,
		"lwkt/ipiq/ipiq.go": `package ipiq

func Register(id int, fn func(a, b uintptr)) {}
`,
		"other/other_nosplit.go": `package other

//go:nosplit
func Good(a, b uintptr) {}
`,
		"k/k_nosplit.go": `package k

//go:nosplit
func good(uintptr) {}

//go:nosplit
func handler(a, b uintptr) {}

func notNosplit(uintptr) {}
`,
		"k/k.go": `package k

import (
	"gofly/lwkt"
	lw "gofly/lwkt"
	"gofly/lwkt/ipiq"
	"gofly/other"
)

//go:nosplit
func plain(uintptr) {}

var hv = good

const idX = 5

type T struct{}

func (T) M(a, b uintptr) {}

func calls() {
	lwkt.TrapCall(good, 0)              // line 22: fine
	lwkt.TrapCall(func(uintptr) {}, 0)  // line 23: func literal
	lwkt.TrapCall(notNosplit, 0)        // line 24: no //go:nosplit
	lw.TrapCall(plain, 0)               // line 25: not in a *_nosplit.go file
	lwkt.TrapCall(hv, 0)                // line 26: a variable
	lwkt.TrapCall((good), 0)            // line 27: fine
	ipiq.Register(3, handler)           // line 28: fine
	ipiq.Register(4, other.Good)        // line 29: fine
	ipiq.Register(5, T{}.M)             // line 30: method value
	f := func(a, b uintptr) {}
	ipiq.Register(6, f)                 // line 32: local closure
	lwkt.Cpusync(1, idX, 0, 0)          // line 33: fine, a handler id
	lwkt.Cpusync(1, func() {}, 0, 0)    // line 34: func literal
}
`,
		"k/k_test.go": `package k

import "gofly/lwkt"

func init() { lwkt.TrapCall(func(uintptr) {}, 0) } // tests are not checked
`,
	})
	got, roots, err := checkSource(root)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range got {
		if f.Kind != "handler" {
			t.Errorf("kind %q: %v", f.Kind, f)
		}
		lines = append(lines, f.Msg)
	}
	sort.Strings(lines)
	want := []struct{ at, text string }{
		{"k/k.go:23:", "TrapCall function is a func literal"},
		{"k/k.go:24:", "notNosplit (k/k_nosplit.go) lacks //go:nosplit"},
		{"k/k.go:25:", "plain is declared in k/k.go, not in a *_nosplit.go file"},
		{"k/k.go:26:", "hv is a variable"},
		{"k/k.go:30:", "is a method value"},
		{"k/k.go:32:", "f is not a top-level function"},
		{"k/k.go:34:", "Cpusync handler is a func literal"},
		{"lwkt/lwkt.go:7:", "TrapCall function is a func literal"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w.at) || !strings.Contains(lines[i], w.text) {
			t.Errorf("finding %d = %q, want %s ... %s", i, lines[i], w.at, w.text)
		}
	}
	sort.Strings(roots)
	wantRoots := "gofly/k.good gofly/k.good gofly/k.handler gofly/k.notNosplit gofly/k.plain gofly/other.Good"
	if got := strings.Join(roots, " "); got != wantRoots {
		t.Errorf("roots = %s, want %s", got, wantRoots)
	}

	var out, errb bytes.Buffer
	if rc := run([]string{"-src", root}, &out, &errb); rc != 1 || !strings.Contains(out.String(), "8 problem(s)") {
		t.Errorf("run = %d, output:\n%s%s", rc, &out, &errb)
	}
}

// A clean tree: one line, exit 0.
func TestCleanTree(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"go.mod": "module gofly\n\ngo 1.22\n",
		"lwkt/lwkt.go": `package lwkt

func TrapCall(fn func(uintptr), arg uintptr) {}
`,
		"k/k_nosplit.go": `package k

import "gofly/lwkt"

//go:nosplit
func good(uintptr) {}

func use() { lwkt.TrapCall(good, 0) }
`,
	})
	var out, errb bytes.Buffer
	if rc := run([]string{"-src", root}, &out, &errb); rc != 0 {
		t.Fatalf("run = %d, output:\n%s%s", rc, &out, &errb)
	}
	if s := out.String(); strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "worlds: OK") {
		t.Errorf("output = %q, want one OK line", s)
	}
}
