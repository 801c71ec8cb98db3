package main

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// evasionBase is the part of the evasion fixture every case shares: the
// three registration entry points and a few legitimate handlers.
var evasionBase = map[string]string{
	"go.mod": "module gofly\n\ngo 1.22\n",
	"lwkt/lwkt.go": `package lwkt

import "gofly/other"

func TrapCall(fn func(arg uintptr) uintptr, arg uintptr) uintptr { return fn(arg) }

func Cpusync(mask uint64, fn, arg1, arg2 uintptr) {}

// Fields and methods that share the entry points' names are not them.
type box struct{ TrapCall int }

func (box) Cpusync() {}

type gbox[T any] struct{ TrapCall T }

func useBox(b box) int {
	b.Cpusync()
	return b.TrapCall + box{TrapCall: 1}.TrapCall + gbox[int]{TrapCall: 2}.TrapCall +
		other.S{Cpusync: 3}.Cpusync
}
`,
	"lwkt/ipiq/ipiq.go": `package ipiq

func Register(id int, fn func(a, b uintptr)) {}
`,
	"other/other_nosplit.go": `package other

//go:nosplit
func Good(uintptr) uintptr { return 0 }

//go:nosplit
func Handler(a, b uintptr) {}
`,
	"other/split.go": `package other

func Split(x uintptr) uintptr { return x * 2 }

type S struct{ Cpusync int }
`,
	// A package whose name is not its directory's.
	"ev/oddname/o_nosplit.go": `package odd

//go:nosplit
func Good(uintptr) uintptr { return 0 }
`,
	// What must stay accepted.
	"ev/ok/ok_nosplit.go": `package ok

//go:nosplit
func good(uintptr) uintptr { return 0 }

//go:nosplit
func handler(a, b uintptr) {}
`,
	"ev/ok/ok.go": `package ok

import (
	"gofly/lwkt"
	"gofly/ev/oddname"
	"gofly/lwkt/ipiq"
	"gofly/other"
)

const idX = 5

type fake struct{}

func (fake) TrapCall(func(uintptr) uintptr, uintptr) uintptr { return 0 }

func calls() {
	lwkt.TrapCall(good, 0)
	lwkt.TrapCall((good), 0)
	(lwkt.TrapCall)(good, 0)
	lwkt.TrapCall(other.Good, 0)
	lwkt.TrapCall(odd.Good, 0)
	lwkt.TrapCall(nil, 0)
	defer lwkt.TrapCall(good, 0)
	go lwkt.TrapCall(good, 0)
	ipiq.Register(1, handler)
	ipiq.Register(2, other.Handler)
	lwkt.Cpusync(1, idX, 0, 0)
	const id = 3
	lwkt.Cpusync(1, id, 0, 0)
}

// A local named like the import is not the package.
func shadowed() {
	lwkt := fake{}
	lwkt.TrapCall(func(uintptr) uintptr { return 1 }, 0)
}
`,
}

// An evasion of the handler rule: files added to evasionBase, and the
// finding each must produce.
type evasion struct {
	name  string
	files map[string]string
	at    string // file:line: of the finding
	text  string // part of its message
}

var evasions = []evasion{
	{
		name: "local closure shadowing a nosplit function",
		files: map[string]string{
			"ev/shadow/s_nosplit.go": `package shadow

//go:nosplit
func memCountsCopy(uintptr) uintptr { return 0 }
`,
			"ev/shadow/s.go": `package shadow

import "gofly/lwkt"

func use() {
	memCountsCopy := func(uintptr) uintptr { return 1 }
	lwkt.TrapCall(memCountsCopy, 0)
}
`,
		},
		at: "ev/shadow/s.go:7:", text: "memCountsCopy is not a top-level function: it is a local",
	},
	{
		name: "local shadow in the declaring file, parenthesised",
		files: map[string]string{
			"ev/samefile/s_nosplit.go": `package samefile

import "gofly/lwkt"

//go:nosplit
func h(uintptr) uintptr { return 0 }

func use() {
	h := func(uintptr) uintptr { return 1 }
	lwkt.TrapCall((h), 0)
}
`,
		},
		at: "ev/samefile/s_nosplit.go:10:", text: "h is not a top-level function: it is a local",
	},
	{
		name: "parameter shadowing a nosplit handler",
		files: map[string]string{
			"ev/param/p_nosplit.go": `package param

//go:nosplit
func handler(a, b uintptr) {}
`,
			"ev/param/p.go": `package param

import "gofly/lwkt/ipiq"

func reg(handler func(a, b uintptr)) { ipiq.Register(1, handler) }

func use() { reg(func(a, b uintptr) {}) }
`,
		},
		at: "ev/param/p.go:5:", text: "handler is not a top-level function: it is a local",
	},
	{
		name: "local variable shadowing a package import",
		files: map[string]string{
			"ev/method/m.go": `package method

import (
	"gofly/lwkt"
	"gofly/other"
)

type T struct{}

func (T) Good(uintptr) uintptr { return 1 }

func use() {
	other := T{}
	lwkt.TrapCall(other.Good, 0)
}

var _ = other.Good
`,
		},
		at: "ev/method/m.go:14:", text: "other.Good is a method value or field",
	},
	{
		name: "dot import of lwkt",
		files: map[string]string{
			"ev/dot/d.go": `package dot

import . "gofly/lwkt"

func use() { TrapCall(func(uintptr) uintptr { return 1 }, 0) }
`,
		},
		at: "ev/dot/d.go:3:", text: "dot import of gofly/lwkt",
	},
	{
		name: "dot import of ipiq",
		files: map[string]string{
			"ev/dotipiq/d.go": `package dotipiq

import (
	. "gofly/lwkt/ipiq"
)

func use() { Register(1, func(a, b uintptr) {}) }
`,
		},
		at: "ev/dotipiq/d.go:4:", text: "dot import of gofly/lwkt/ipiq",
	},
	{
		name: "local alias of TrapCall",
		files: map[string]string{
			"ev/alias/a.go": `package alias

import "gofly/lwkt"

func use() {
	tc := lwkt.TrapCall
	tc(func(uintptr) uintptr { return 1 }, 0)
}
`,
		},
		at: "ev/alias/a.go:6:", text: "lwkt.TrapCall is used as a value",
	},
	{
		name: "package-level alias of Register",
		files: map[string]string{
			"ev/aliasvar/a.go": `package aliasvar

import "gofly/lwkt/ipiq"

var reg = ipiq.Register

func use() { reg(1, func(a, b uintptr) {}) }
`,
		},
		at: "ev/aliasvar/a.go:5:", text: "ipiq.Register is used as a value",
	},
	{
		name: "Cpusync as a value",
		files: map[string]string{
			"ev/aliascs/a.go": `package aliascs

import "gofly/lwkt"

var cs func(uint64, uintptr, uintptr, uintptr) = lwkt.Cpusync
`,
		},
		at: "ev/aliascs/a.go:5:", text: "lwkt.Cpusync is used as a value",
	},
	{
		name: "TrapCall passed as an argument",
		files: map[string]string{
			"ev/asvalue/a.go": `package asvalue

import "gofly/lwkt"

func apply(f func(func(uintptr) uintptr, uintptr) uintptr) { f(func(uintptr) uintptr { return 1 }, 0) }

func use() { apply((lwkt.TrapCall)) }
`,
		},
		at: "ev/asvalue/a.go:7:", text: "lwkt.TrapCall is used as a value",
	},
	{
		name: "alias inside package lwkt",
		files: map[string]string{
			"lwkt/alias.go": `package lwkt

func viaAlias() uintptr {
	tc := TrapCall
	return tc(func(uintptr) uintptr { return 1 }, 0)
}
`,
		},
		at: "lwkt/alias.go:4:", text: "lwkt.TrapCall is used as a value",
	},
	{
		name: "func variable in a build-tagged twin of a nosplit function",
		files: map[string]string{
			"ev/tagvar/a_nosplit.go": `//go:build !never

package tagvar

//go:nosplit
func h(uintptr) uintptr { return 0 }
`,
			"ev/tagvar/b.go": `//go:build never

package tagvar

var h = func(uintptr) uintptr { return 1 }
`,
			"ev/tagvar/use.go": `package tagvar

import "gofly/lwkt"

func use() { lwkt.TrapCall(h, 0) }
`,
		},
		at: "ev/tagvar/use.go:5:", text: "h is a variable",
	},
	{
		name: "generic function, instantiated by inference",
		files: map[string]string{
			"ev/generic/g_nosplit.go": `package generic

//go:nosplit
func gen[T any](x T) T { return x }
`,
			"ev/generic/g.go": `package generic

import "gofly/lwkt"

func use() { lwkt.TrapCall(gen, 0) }
`,
		},
		at: "ev/generic/g.go:5:", text: "gen is generic",
	},
	{
		name: "arguments from a multi-value call",
		files: map[string]string{
			"ev/spread/s.go": `package spread

import "gofly/lwkt/ipiq"

func pair() (int, func(a, b uintptr)) { return 1, func(a, b uintptr) {} }

func use() { ipiq.Register(pair()) }
`,
		},
		at: "ev/spread/s.go:7:", text: "not written out",
	},
	{
		name: "go:linkname alias of TrapCall",
		files: map[string]string{
			"ev/lnk/l.go": `package lnk

import (
	_ "unsafe"

	_ "gofly/lwkt"
)

//go:linkname tc gofly/lwkt.TrapCall
func tc(fn func(uintptr) uintptr, arg uintptr) uintptr

func use() { tc(func(uintptr) uintptr { return 1 }, 0) }
`,
		},
		at: "ev/lnk/l.go:9:", text: "//go:linkname to gofly/lwkt.TrapCall",
	},
	{
		name: "nosplit declaration linknamed to a splittable function",
		files: map[string]string{
			"ev/lnkh/h_nosplit.go": `package lnkh

import (
	_ "unsafe"

	_ "gofly/other"
)

//go:nosplit
//go:linkname ln gofly/other.Split
func ln(uintptr) uintptr
`,
			"ev/lnkh/h.go": `package lnkh

import "gofly/lwkt"

func use() { lwkt.TrapCall(ln, 0) }
`,
		},
		at: "ev/lnkh/h.go:5:", text: "ln has a //go:linkname directive",
	},
	{
		name: "TrapCall called from assembly",
		files: map[string]string{
			"ev/asm/a.go": `package asm

import _ "gofly/lwkt"

func callIt()
`,
			"ev/asm/a_amd64.s": `#include "textflag.h"

// func callIt()
TEXT ·callIt(SB),NOSPLIT,$0-0
	CALL gofly∕lwkt·TrapCall(SB)
	RET
`,
		},
		at: "ev/asm/a_amd64.s:5:", text: "lwkt.TrapCall is referenced from assembly",
	},
	{
		name: "a package-level nil",
		files: map[string]string{
			"ev/nilvar/n.go": `package nilvar

import "gofly/lwkt"

var nil = func(uintptr) uintptr { return 1 }

func use() { lwkt.TrapCall(nil, 0) }
`,
		},
		at: "ev/nilvar/n.go:7:", text: "nil is a variable",
	},
}

// evasionTree writes the base fixture and every evasion case into one
// module.
func evasionTree(t *testing.T) string {
	t.Helper()
	files := map[string]string{}
	for k, v := range evasionBase {
		files[k] = v
	}
	for _, e := range evasions {
		for k, v := range e.files {
			if _, dup := files[k]; dup {
				t.Fatalf("%s: %s written twice", e.name, k)
			}
			files[k] = v
		}
	}
	root := t.TempDir()
	writeTree(t, root, files)
	return root
}

// Each evasion the source rule once let through is flagged, at its place,
// and nothing else is: the base's legitimate calls stay accepted.
func TestEvasions(t *testing.T) {
	root := evasionTree(t)
	got, _, err := checkSource(root)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range got {
		lines = append(lines, f.Msg)
	}
	sort.Strings(lines)
	used := make([]bool, len(lines))
	for _, e := range evasions {
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, e.at) && strings.Contains(l, e.text) {
				found, used[i] = true, true
			}
		}
		if !found {
			t.Errorf("%s: no finding %s ... %s", e.name, e.at, e.text)
		}
	}
	for i, l := range lines {
		if !used[i] {
			t.Errorf("unexpected finding: %s", l)
		}
	}
	if t.Failed() {
		t.Logf("all findings:\n%s", strings.Join(lines, "\n"))
	}
}

// The evasion fixture is real Go: each case compiles, so each is a way the
// kernel could have been built past the check.
func TestEvasionsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	root := evasionTree(t)
	cmd := exec.Command(goTool, "build", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0",
		"GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the evasion fixture: %v\n%s", err, out)
	}
}

// Assembly: the rule's functions are defined there (lwkt's TrapCall is),
// never otherwise referenced.
func TestCheckAsm(t *testing.T) {
	const src = `#include "textflag.h"

// CALL ·TrapCall(SB) in a comment is nothing
TEXT ·TrapCall(SB),NOSPLIT,$0-24
	CALL ·Cpusync(SB)
	MOVQ $·TrapCall(SB), AX
	CALL gofly∕lwkt∕ipiq·Register(SB)
	CALL gofly∕other·Register(SB)
	CALL ·Other(SB)
	RET
`
	got := checkAsm("lwkt/trapcall_amd64.s", "gofly/lwkt", "gofly", src)
	var lines []string
	for _, f := range got {
		lines = append(lines, f.Msg)
	}
	want := []string{
		"lwkt/trapcall_amd64.s:5: lwkt.Cpusync is referenced from assembly",
		"lwkt/trapcall_amd64.s:6: lwkt.TrapCall is referenced from assembly",
		"lwkt/trapcall_amd64.s:7: ipiq.Register is referenced from assembly",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("finding %d = %q, want %q...", i, lines[i], w)
		}
	}
}
