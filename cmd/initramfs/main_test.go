package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

// TestWrite: the archive holds /dev, /dev/console, /dev/null, /init and each -file
// under its name (its directories before it), with its contents; a bad or
// repeated name is refused.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	in := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	initP, probe := in("bench", "init program"), in("probe", "probe program")
	out := filepath.Join(dir, "a.cpio")
	if err := write(initP, []string{probe, probe + ":other", probe + ":bin/sub/p"}, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	contents := map[string]string{}
	for _, r := range recs {
		names = append(names, r.Name)
		if r.Mode&cpio.S_IFMT == cpio.S_IFREG {
			b := make([]byte, r.FileSize)
			if _, err := r.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			contents[r.Name] = string(b)
		}
	}
	if want := []string{"dev", "dev/console", "dev/null", "init", "probe", "other", "bin", "bin/sub", "bin/sub/p"}; !slices.Equal(names, want) {
		t.Fatalf("records %q; want %q", names, want)
	}
	if contents["init"] != "init program" || contents["probe"] != "probe program" || contents["other"] != "probe program" || contents["bin/sub/p"] != "probe program" {
		t.Fatalf("contents %q", contents)
	}
	for _, bad := range []string{probe + ":init", probe + ":/a", probe + ":a/../b", probe + ":../a", probe + ":dev", probe + ":init/x", probe + ":dev/null/x", probe + ":.", probe + ":"} {
		if err := write(initP, []string{bad}, out); err == nil {
			t.Errorf("-file %s accepted", bad)
		}
	}
	if err := write(initP, []string{probe + ":a", probe + ":a"}, out); err == nil {
		t.Error("a name given twice accepted")
	}
}

// TestWriteNoInit: without -init the archive holds no /init.
func TestWriteNoInit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ls")
	if err := os.WriteFile(p, []byte("ls"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "a.cpio")
	if err := write("", []string{p + ":bin/ls"}, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.Name)
	}
	if want := []string{"dev", "dev/console", "dev/null", "bin", "bin/ls"}; !slices.Equal(names, want) {
		t.Fatalf("records %q; want %q", names, want)
	}
}
