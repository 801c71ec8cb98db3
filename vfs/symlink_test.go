package vfs

import (
	"io/fs"
	"syscall"
	"testing"
)

// TestSymlinks: a lookup follows links met on the way, absolute and
// relative (from the link's directory), and the last one unless told not
// to (or a trailing slash asks for a directory); a dangling link is a
// link, and looking through it ENOENT; a loop is ELOOP; removing or
// renaming a link touches the link, not its target.
func TestSymlinks(t *testing.T) {
	f := New(newMemPages(), 1<<20)
	for _, d := range []string{"/a", "/a/b"} {
		if _, err := f.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file, err := f.Create("/a/b/file", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ target, path string }{
		{"/a/b", "/abs"},       // absolute
		{"b/file", "/a/rel"},   // relative to /a
		{"../a/b", "/a/up"},    // .. from /a
		{"nowhere", "/a/dead"}, // dangling
		{"/loop2", "/loop1"}, {"/loop1", "/loop2"},
		{"abs", "/chain"}, // a link to a link
	} {
		if _, err := f.SymlinkAt(nil, l.target, l.path); err != nil {
			t.Fatalf("symlink %s -> %s: %v", l.path, l.target, err)
		}
	}
	for _, c := range []struct {
		path string
		want *Vnode
	}{{"/abs/file", file}, {"/a/rel", file}, {"/a/up/file", file}, {"/chain/file", file}} {
		v, err := f.Lookup(c.path)
		if err != nil || v != c.want {
			t.Errorf("Lookup(%s) = %v, %v; want the file", c.path, v, err)
		}
	}
	if v, err := f.Lookup("/abs"); err != nil || !v.IsDir() {
		t.Errorf("Lookup(/abs) follows to the directory: %v, %v", v, err)
	}
	l, err := f.LookupLinkAt(nil, "/abs")
	if err != nil || l.Stat().Mode&fs.ModeSymlink == 0 || l.Stat().Size != 4 {
		t.Fatalf("LookupLinkAt(/abs) = %v, %v; want the link, 4 bytes", l, err)
	}
	if target, err := l.Readlink(); err != nil || target != "/a/b" {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	if v, err := f.LookupLinkAt(nil, "/abs/"); err != nil || !v.IsDir() {
		t.Errorf("a trailing slash follows the last link: %v, %v", v, err)
	}
	if _, err := file.Readlink(); err != syscall.EINVAL {
		t.Errorf("Readlink of a file: %v, want EINVAL", err)
	}
	_, err = f.Lookup("/a/dead")
	wantErrno(t, "through a dangling link", err, syscall.ENOENT)
	if _, err := f.LookupLinkAt(nil, "/a/dead"); err != nil {
		t.Errorf("a dangling link itself: %v", err)
	}
	_, err = f.Lookup("/loop1")
	wantErrno(t, "a loop", err, syscall.ELOOP)
	_, err = f.Lookup("/loop1/x")
	wantErrno(t, "through a loop", err, syscall.ELOOP)
	_, err = f.SymlinkAt(nil, "", "/empty")
	wantErrno(t, "an empty target", err, syscall.ENOENT)
	_, err = f.SymlinkAt(nil, "/x", "/abs")
	wantErrno(t, "a link over a name", err, syscall.EEXIST)
	if _, err := f.Create("/abs/new", 0o644); err != nil { // made through the link
		t.Fatal(err)
	}
	if _, err := f.Lookup("/a/b/new"); err != nil {
		t.Fatalf("a file made through a link is not in its target: %v", err)
	}

	if err := f.RenameAt(nil, "/abs", nil, "/abs2", 0); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Lookup("/abs2/file"); err != nil || v != file {
		t.Fatalf("the renamed link: %v, %v", v, err)
	}
	if err := f.RemoveAt(nil, "/abs2", RemoveAny); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Lookup("/a/b/file"); err != nil || v != file {
		t.Fatalf("removing a link removed its target: %v, %v", v, err)
	}
	wantErrno(t, "rmdir of a link", f.RemoveAt(nil, "/a/up", RemoveDir), syscall.ENOTDIR)
	es, err := f.root.ReadDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Name == "chain" && e.Type != fs.ModeSymlink {
			t.Errorf("ReadDir: chain's type %v, want a symlink", e.Type)
		}
	}
}
