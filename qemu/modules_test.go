package qemu_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// userProgram returns the path of user program name: $env when set (make
// test builds it), else a fresh `CGO_ENABLED=0 go build` of ./user/name
// with the Makefile's linker flags for it (userLdflags).
func userProgram(t testing.TB, env, name string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return ImageFromEnv(t, env, v)
	}
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-ldflags="+userLdflags[name], "-o", out, "./user/"+name)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building user/%s: %v\n%s", name, err, b)
	}
	return out
}

// userLdflags are the linker flags of the user programs that need some,
// as the Makefile gives them.
var userLdflags = map[string]string{"probe": "-E=main.start"}

// moduleLine is one module of the modules command.
var moduleLine = regexp.MustCompile(`(?m)^(\d+): "([^"]*)" at 0x[0-9a-f]+, (\d+) bytes: (.*)$`)

// TestModules boots with the hello program given twice as multiboot
// modules, and a text file: the modules command must list them in order
// with their strings and sizes, read the programs as static x86-64
// executables, and say the text file is not ELF; load builds hello's
// address space and initial stack, verifies both through the page tables
// and destroys them, and refuses the text file (ENOEXEC), a module that
// does not exist and a missing argument. (A module string may
// carry arguments after a space, but the harness's QEMU arguments hold
// no spaces.)
func TestModules(t *testing.T) {
	RequireQEMU(t)
	hello := userProgram(t, "GOFLY_USER_HELLO", "hello")
	st, err := os.Stat(hello)
	if err != nil {
		t.Fatal(err)
	}
	notELF := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notELF, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := Boot(t, Options{QEMUArgs: []string{"-initrd", hello + "," + hello + "," + notELF}})
	out := m.Run(t, "modules")
	loads := map[string]string{
		"load 0": "",
		"load 2": "load: module 2 (" + notELF + "): exec format error: ",
		"load 9": `load: no module "9" (3 modules)`,
		"load":   "load: usage: load N",
	}
	for line, want := range loads {
		got := m.Run(t, line)
		if want == "" {
			wantMatch(t, line, got, regexp.MustCompile(`(?m)^module 0 \(`+regexp.QuoteMeta(hello)+`\): entry 0x[0-9a-f]+, 3 segments, \d+ pages and \d+ page tables mapped; bytes and permissions verified\nstack: sp 0x7fff[0-9a-f]+0, argv \["`+regexp.QuoteMeta(hello)+`"\], 3 environment strings, 14 auxv entries; AT_PHDR reads the program headers\naddress space destroyed$`))
			continue
		}
		wantContains(t, line, got, want)
	}
	m.Poweroff(t)
	rows := moduleLine.FindAllStringSubmatch(out, -1)
	if len(rows) != 3 {
		t.Fatalf("modules lists %d modules, want 3:\n%s", len(rows), out)
	}
	want := []string{hello, hello, notELF}
	for i, r := range rows {
		if r[2] != want[i] {
			t.Errorf("module %d named %q, want %q", i, r[2], want[i])
		}
	}
	for _, r := range rows[:2] {
		if r[3] != strconv.FormatInt(st.Size(), 10) {
			t.Errorf("module %s: %s bytes, the file has %d", r[1], r[3], st.Size())
		}
		if !regexp.MustCompile(`^ELF ELFCLASS64 EM_X86_64 ET_EXEC, static, entry 0x[0-9a-f]+, \d PT_LOAD segments$`).MatchString(r[4]) {
			t.Errorf("module %s described as %q, want a static x86-64 executable", r[1], r[4])
		}
	}
	if !regexp.MustCompile(`^not an ELF file`).MatchString(rows[2][4]) {
		t.Errorf("a text file described as %q", rows[2][4])
	}
}
