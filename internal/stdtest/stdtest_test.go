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
