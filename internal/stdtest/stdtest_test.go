package stdtest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestExpandAsBuilt: "std" lists exactly the packages that have test files
// as the binaries are built (no cgo), so a package whose files all need
// cgo, which go test -c cannot build then, is not in it.
func TestExpandAsBuilt(t *testing.T) {
	got, err := expand([]string{"std"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{len .GoFiles}} {{len .TestGoFiles}} {{len .XTestGoFiles}}", "std")
	cmd.Env = append(os.Environ(), buildEnv...)
	b, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && !strings.HasPrefix(f[0], "vendor/") && (f[2] != "0" || f[3] != "0") {
			want = append(want, f[0])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("expand(std): %d packages, want the %d with test files without cgo", len(got), len(want))
	}
	for _, p := range got {
		if p == "runtime/cgo" || strings.HasSuffix(p, "/cgobench") {
			t.Errorf("expand(std) has %s, which needs cgo", p)
		}
	}
}

// TestBatches: packages go in order into groups of at most the limit's
// bytes of binaries; one larger than the limit goes alone; a package
// without a binary in none.
func TestBatches(t *testing.T) {
	dir := t.TempDir()
	bins := map[string]string{}
	for p, n := range map[string]int{"a": 40, "b": 40, "c": 30, "d": 100, "e": 10} {
		bins[p] = dir + "/" + p
		if err := os.WriteFile(bins[p], make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := batches([]string{"a", "b", "nobin", "c", "d", "e"}, bins, 80)
	want := [][]string{{"a", "b"}, {"c"}, {"d"}, {"e"}}
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("batches = %v, want %v", got, want)
	}
}
