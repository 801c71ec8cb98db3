package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// writeTree writes files (path -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildFixture writes a module "gofly" with files into a temporary
// directory and builds its ./cmd/fx as a static linux/amd64 ELF, as the
// kernel is built. It returns the module root and the binary.
func buildFixture(t *testing.T, files map[string]string) (root, bin string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	root = t.TempDir()
	files["go.mod"] = "module gofly\n\ngo 1.22\n"
	writeTree(t, root, files)
	bin = filepath.Join(root, "fx.elf")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/fx")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0",
		"GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the fixture: %v\n%s", err, out)
	}
	return root, bin
}

var fixtureCfg = elfConfig{asmPrefix: "gofly/", scope: []string{"gofly/", "internal/runtime/", "runtime/internal/"}}

func checkFixture(t *testing.T, bin string) ([]Finding, elfStats) {
	t.Helper()
	b, err := load(bin)
	if err != nil {
		t.Fatal(err)
	}
	return checkBinary(b, fixtureCfg)
}

// TestNosplitCallsSplittable: of two nosplit functions in x_nosplit.go,
// the one calling an ordinary Go function is flagged, with its chain, and
// the one calling only nosplit code (also from an assembly root) is not.
func TestNosplitCallsSplittable(t *testing.T) {
	_, bin := buildFixture(t, map[string]string{
		"x/x_nosplit.go": `package x

// Good calls only nosplit code.
//
//go:nosplit
//go:noinline
func Good(a int) int { return leaf(a) + 1 }

// Bad calls Deep, an ordinary (splittable) function.
//
//go:nosplit
//go:noinline
func Bad(a int) int { return Deep(a) + 1 }

//go:nosplit
//go:noinline
func leaf(a int) int { return a * 3 }
`,
		"x/x.go": `package x

// Deep is ordinary Go: it calls (itself), so it has a stack check.
//
//go:noinline
func Deep(n int) int {
	if n <= 0 {
		return 0
	}
	return Deep(n-1) + 1
}

// Entry is an assembly root calling Good through its ABI0 wrapper.
func Entry()
`,
		"x/x_amd64.s": `#include "textflag.h"

TEXT ·Entry(SB),NOSPLIT,$16-0
	MOVQ $1, 0(SP)
	CALL ·Good(SB)
	RET
`,
		"cmd/fx/main.go": `package main

import "gofly/x"

func main() {
	x.Entry()
	println(x.Good(1), x.Bad(2))
}
`,
	})
	got, st := checkFixture(t, bin)
	if len(got) != 1 {
		t.Fatalf("want exactly one finding, got %d: %v", len(got), got)
	}
	f := got[0]
	if f.Kind != "splittable" || strings.Join(f.Chain, " -> ") != "gofly/x.Bad -> gofly/x.Deep" {
		t.Errorf("finding = %v, want splittable gofly/x.Bad -> gofly/x.Deep", f)
	}
	if !strings.Contains(f.At, "x_nosplit.go:13") {
		t.Errorf("call site = %q, want x_nosplit.go:13", f.At)
	}
	// Roots: Good, Bad, leaf (x_nosplit.go) and Entry (x_amd64.s).
	if st.roots != 4 {
		t.Errorf("roots = %d, want 4", st.roots)
	}

	// The command: exit 1, one line per offender.
	var out, errb bytes.Buffer
	root := filepath.Dir(bin)
	if rc := run([]string{"-elf", bin, "-src", root}, &out, &errb); rc != 1 {
		t.Errorf("run exit = %d, want 1; stdout:\n%s\nstderr:\n%s", rc, &out, &errb)
	}
	if n := strings.Count(out.String(), "splittable below the runtime:"); n != 1 {
		t.Errorf("report has %d offender lines, want 1:\n%s", n, &out)
	}
}

// TestMoreCases: a function in a *_nosplit.go file without //go:nosplit;
// an assembly root that tail-jumps (JMP) to an ordinary function; and the
// runtime's bounds, divide and shift panics, which are allowed.
func TestMoreCases(t *testing.T) {
	_, bin := buildFixture(t, map[string]string{
		"y/y_nosplit.go": `package y

import "unsafe"

// Forgot lacks //go:nosplit and calls, so it is splittable.
//
//go:noinline
func Forgot(n int) int {
	if n <= 0 {
		return 0
	}
	return Forgot(n-1) + 1
}

// Checks fails only through the compiler's own checks.
//
//go:nosplit
//go:noinline
func Checks(s []int, p *byte, i, d int, sh int) int {
	return s[i]/d<<sh + len(unsafe.Slice(p, d))
}
`,
		"y/y.go": `package y

//go:noinline
func Deep(n int) int {
	if n <= 0 {
		return 0
	}
	return Deep(n-1) + 1
}

func Jump(n int) int
`,
		"y/y_amd64.s": `#include "textflag.h"

TEXT ·Jump(SB),NOSPLIT,$0-16
	JMP ·Deep(SB)
`,
		"cmd/fx/main.go": `package main

import "gofly/y"

func main() {
	println(y.Forgot(3), y.Checks([]int{1}, new(byte), 0, 1, 1), y.Jump(2), y.Deep(1))
}
`,
	})
	got, st := checkFixture(t, bin)
	var lines []string
	for _, f := range got {
		lines = append(lines, f.Kind+" "+strings.Join(f.Chain, " -> "))
	}
	sort.Strings(lines)
	want := []string{
		"missing-nosplit gofly/y.Forgot",
		"splittable gofly/y.Jump.abi0 -> gofly/y.Deep.abi0 -> gofly/y.Deep",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	allowed := strings.Join(st.allowed, " ")
	for _, p := range []string{"runtime.panicBounds", "runtime.panicdivide", "runtime.panicshift",
		"runtime.panicunsafeslicelen", "runtime.panicunsafeslicenilptr"} {
		if !strings.Contains(allowed, p) {
			t.Errorf("allowlisted callees %q lack %s", allowed, p)
		}
	}
}

func TestAllowlist(t *testing.T) {
	for name, want := range map[string]bool{
		"runtime.panicBounds":         true,
		"runtime.panicBounds64":       true,
		"runtime.panicIndex.abi0":     true,
		"runtime.goPanicSliceAlen":    true,
		"runtime.panicdivide":         true,
		"runtime.panicshift":          true,
		"runtime.panicmemAddr":        true,
		"runtime.panicunsafeslicelen": true,
		"runtime.gopanic":             false,
		"runtime.throw":               false,
		"runtime.panicdottypeE":       false,
		"gofly/kernel.panicdivide":    false,
		"runtime.morestack_noctxt":    false,
		"runtime.panicshiftSomehow2":  false,
	} {
		if got := isAllowed(name); got != want {
			t.Errorf("isAllowed(%q) = %v, want %v", name, got, want)
		}
	}
}
