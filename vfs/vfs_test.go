package vfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"
)

// memPages is Pages in Go memory, for the host: it counts the pages it
// holds, so a test sees every page come back.
type memPages struct {
	mu    sync.Mutex
	objs  map[uint32]map[uint64][]byte
	next  uint32
	held  int
	short bool // every allocation fails, as when mm is out of frames
}

func newMemPages() *memPages { return &memPages{objs: map[uint32]map[uint64][]byte{}, next: 1} }

func (m *memPages) New() (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[m.next] = map[uint64][]byte{}
	m.next++
	return m.next - 1, nil
}

func (m *memPages) Page(obj uint32, idx uint64, alloc bool) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.objs[obj][idx]; ok {
		return p, false, nil
	}
	if !alloc {
		return nil, false, nil
	}
	if m.short {
		return nil, false, errors.New("no memory")
	}
	p := make([]byte, PageSize)
	m.objs[obj][idx] = p
	m.held++
	return p, true, nil
}

func (m *memPages) Resize(obj uint32, pages uint64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := int64(0)
	for idx := range m.objs[obj] {
		if idx >= pages {
			delete(m.objs[obj], idx)
			n++
		}
	}
	m.held -= int(n)
	return n
}

func (m *memPages) Punch(obj uint32, idx, n uint64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := int64(0)
	for i := idx; i < idx+n; i++ {
		if _, ok := m.objs[obj][i]; ok {
			delete(m.objs[obj], i)
			k++
		}
	}
	m.held -= int(k)
	return k
}

func (m *memPages) Extend(uint32, uint64) {} // the host has no mappings to fault past the end

func (m *memPages) Pages(obj uint32, idx uint64, out [][]byte) {
	for i := range out {
		out[i], _, _ = m.Page(obj, idx+uint64(i), false)
	}
}

func (m *memPages) Release(obj uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held -= len(m.objs[obj])
	delete(m.objs, obj)
}

func wantErrno(t *testing.T, what string, err error, want syscall.Errno) {
	t.Helper()
	var e syscall.Errno
	if !errors.As(err, &e) || e != want {
		t.Fatalf("%s: error %v; want %v", what, err, want)
	}
}

// TestTree: directories and files are made, found by path (., .., extra
// slashes), listed in order, and refused with Linux's errors.
func TestTree(t *testing.T) {
	f := New(newMemPages(), 100)
	if _, err := f.Mkdir("/a", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Mkdir("/a/b", 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Create("/a/b/c", 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Create("/a/x", 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/a/b/c", "a/b/c", "//a//b/./c", "/a/b/../b/c", "/../a/b/c"} {
		v, err := f.Lookup(p)
		if err != nil || v.Stat().Mode != 0o644 {
			t.Fatalf("Lookup(%q) = %v, %v", p, v, err)
		}
	}
	root, _ := f.Lookup("/")
	if root != f.Root() || !root.IsDir() {
		t.Fatal("/ is not the root directory")
	}
	a, _ := f.Lookup("/a")
	es, err := a.ReadDir()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, " "); got != ". .. b x" {
		t.Fatalf("ReadDir(/a) = %q; want \". .. b x\"", got)
	}
	if s := a.Stat(); s.Nlink != 3 || s.Mode != fs.ModeDir|0o755 {
		t.Fatalf("/a: nlink %d mode %v; want 3 and drwxr-xr-x", s.Nlink, s.Mode)
	}
	_, err = f.Lookup("/a/nothing")
	wantErrno(t, "missing", err, syscall.ENOENT)
	_, err = f.Lookup("/a/x/y")
	wantErrno(t, "through a file", err, syscall.ENOTDIR)
	_, err = f.Lookup("/a/x/")
	wantErrno(t, "a file with a slash", err, syscall.ENOTDIR)
	_, err = f.Lookup("")
	wantErrno(t, "empty path", err, syscall.ENOENT)
	_, err = f.Lookup("/" + strings.Repeat("n", NameMax+1))
	wantErrno(t, "long name", err, syscall.ENAMETOOLONG)
	_, err = f.Lookup(strings.Repeat("/a", PathMax/2))
	wantErrno(t, "long path", err, syscall.ENAMETOOLONG)
	_, err = f.Mkdir("/a/b", 0o755)
	wantErrno(t, "mkdir over a directory", err, syscall.EEXIST)
	_, err = f.Create("/a/x", 0o644)
	wantErrno(t, "create over a file", err, syscall.EEXIST)
	_, err = f.Create("/nothing/x", 0o644)
	wantErrno(t, "create in a missing directory", err, syscall.ENOENT)
	_, err = f.Create("/a/x/y", 0o644)
	wantErrno(t, "create under a file", err, syscall.ENOTDIR)
	_, err = f.Mkdir("/", 0o755)
	wantErrno(t, "mkdir /", err, syscall.EEXIST)
	wantErrno(t, "remove a full directory", f.Remove("/a/b"), syscall.ENOTEMPTY)
	wantErrno(t, "remove a missing file", f.Remove("/a/nothing"), syscall.ENOENT)
	wantErrno(t, "remove /", f.Remove("/"), syscall.EBUSY)
	if err := f.Remove("/a/b/c"); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove("/a/b"); err != nil {
		t.Fatal(err)
	}
	if s := a.Stat(); s.Nlink != 2 {
		t.Fatalf("/a: nlink %d after its subdirectory went; want 2", s.Nlink)
	}
}

// TestData: bytes written read back, holes and gaps read as zeros, reads
// end at the size, truncate frees the pages past the end and zeroes the
// tail of the last, and every page comes back when the file goes.
func TestData(t *testing.T) {
	pages := newMemPages()
	f := New(pages, 100)
	v, err := f.Create("/f", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := v.WriteAt([]byte("hello"), 3*PageSize-2); n != 5 || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if s := v.Stat(); s.Size != 3*PageSize+3 || s.Blocks != 2*PageSize/512 || pages.held != 2 {
		t.Fatalf("size %d, blocks %d, pages %d; want %d, %d, 2 (the first two pages a hole... the write spans two)", s.Size, s.Blocks, pages.held, 3*PageSize+3, 2*PageSize/512)
	}
	b := make([]byte, 3*PageSize+10)
	n, err := v.ReadAt(b, 0)
	if n != 3*PageSize+3 || err != io.EOF {
		t.Fatalf("ReadAt = %d, %v; want %d, EOF", n, err, 3*PageSize+3)
	}
	if !bytes.Equal(b[:3*PageSize-2], make([]byte, 3*PageSize-2)) || string(b[3*PageSize-2:n]) != "hello" {
		t.Fatal("the hole is not zero or the bytes are not what was written")
	}
	if n, err := v.ReadAt(b, 4*PageSize); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v", n, err)
	}
	if err := v.Truncate(3*PageSize - 1); err != nil { // keeps "h"
		t.Fatal(err)
	}
	if pages.held != 1 {
		t.Fatalf("%d pages after the cut; want 1", pages.held)
	}
	if err := v.Truncate(3*PageSize + 3); err != nil { // grows again: zeros, not "ello"
		t.Fatal(err)
	}
	n, _ = v.ReadAt(b, 3*PageSize-2)
	if n != 5 || string(b[:5]) != "h\x00\x00\x00\x00" {
		t.Fatalf("after shrink and grow: %q; want \"h\" and zeros", b[:n])
	}
	wantErrno(t, "negative offset", func() error { _, err := v.ReadAt(b, -1); return err }(), syscall.EINVAL)
	wantErrno(t, "negative size", v.Truncate(-1), syscall.EINVAL)
	wantErrno(t, "too large", v.Truncate(FileMax+1), syscall.EFBIG)
	if err := f.Remove("/f"); err != nil {
		t.Fatal(err)
	}
	if used, _ := f.Usage(); pages.held != 0 || used != 0 {
		t.Fatalf("%d pages held, %d counted after the file went; want 0", pages.held, used)
	}
}

// TestNoSpace: a full file system is ENOSPC; what fit was written and
// stays readable; other files are intact; freeing space lets writes go on.
func TestNoSpace(t *testing.T) {
	pages := newMemPages()
	f := New(pages, 4)
	a, _ := f.Create("/a", 0o644)
	if _, err := a.WriteAt(bytes.Repeat([]byte{'a'}, PageSize), 0); err != nil {
		t.Fatal(err)
	}
	b, _ := f.Create("/b", 0o644)
	big := bytes.Repeat([]byte{'b'}, 5*PageSize)
	n, err := b.WriteAt(big, 0)
	wantErrno(t, "a write past the limit", err, syscall.ENOSPC)
	if n != 3*PageSize || b.Stat().Size != 3*PageSize {
		t.Fatalf("wrote %d, size %d; want %d", n, b.Stat().Size, 3*PageSize)
	}
	got, err := f.ReadFile("/b")
	if err != nil || !bytes.Equal(got, big[:3*PageSize]) {
		t.Fatalf("what fit: %d bytes, %v", len(got), err)
	}
	if got, _ := f.ReadFile("/a"); !bytes.Equal(got, bytes.Repeat([]byte{'a'}, PageSize)) {
		t.Fatal("a full file system changed another file")
	}
	if err := f.Remove("/a"); err != nil {
		t.Fatal(err)
	}
	if n, err := b.WriteAt(big[:PageSize], 3*PageSize); n != PageSize || err != nil {
		t.Fatalf("after freeing a page: %d, %v", n, err)
	}
	pages.short = true // mm out of frames: ENOSPC too
	_, err = b.WriteAt([]byte{1}, 10*PageSize)
	wantErrno(t, "no frames", err, syscall.ENOSPC)
	if used, _ := f.Usage(); used != int64(pages.held) {
		t.Fatalf("used %d, held %d: a failed allocation was counted", used, pages.held)
	}
}

// TestLoad: a plain module becomes /NAME; a newc cpio archive unpacks
// with its directories and files; an archive with a symlink is refused
// clearly.
func TestLoad(t *testing.T) {
	f := New(newMemPages(), 100)
	if n, err := f.Load("/boot/probe arg1", []byte("\x7fELF...")); n != 1 || err != nil {
		t.Fatalf("Load(probe) = %d, %v", n, err)
	}
	if got, _ := f.ReadFile("/probe"); string(got) != "\x7fELF..." {
		t.Fatalf("/probe = %q", got)
	}
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	recs := []cpio.Record{
		cpio.Directory("etc", 0o755),
		cpio.StaticFile("etc/motd", "hi there\n", 0o644),
		cpio.Directory("bin", 0o755),
		cpio.StaticFile("bin/tool", strings.Repeat("x", 3*PageSize+1), 0o755),
	}
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Load("initramfs.cpio", buf.Bytes()); n != 4 || err != nil {
		t.Fatalf("Load(cpio) = %d, %v; want 4 files", n, err)
	}
	if got, _ := f.ReadFile("/etc/motd"); string(got) != "hi there\n" {
		t.Fatalf("/etc/motd = %q", got)
	}
	v, err := f.Lookup("/bin/tool")
	if err != nil || v.Stat().Size != 3*PageSize+1 || v.Stat().Mode != 0o755 {
		t.Fatalf("/bin/tool: %v", err)
	}
	buf.Reset()
	w = cpio.Newc.Writer(&buf)
	if err := cpio.WriteRecordsAndDirs(w, []cpio.Record{cpio.Symlink("link", "/etc/motd")}); err != nil {
		t.Fatal(err)
	}
	cpio.WriteTrailer(w)
	if _, err := f.Load("links.cpio", buf.Bytes()); err != nil {
		t.Fatalf("Load of a symlink: %v", err)
	}
	if got, err := f.ReadFile("/link"); err != nil || string(got) != "hi there\n" {
		t.Fatalf("through the loaded link: %q, %v", got, err)
	}
	buf.Reset()
	w = cpio.Newc.Writer(&buf)
	if err := cpio.WriteRecordsAndDirs(w, []cpio.Record{{Info: cpio.Info{Name: "fifo", Mode: cpio.S_IFIFO | 0o644}}}); err != nil {
		t.Fatal(err)
	}
	cpio.WriteTrailer(w)
	if _, err := f.Load("fifo.cpio", buf.Bytes()); err == nil || !strings.Contains(err.Error(), "only directories, regular files and symbolic links") {
		t.Fatalf("Load of a FIFO: %v; want a clear refusal", err)
	}
}

// TestDevices: /dev/null reads nothing and swallows writes, /dev/zero
// reads zeros, /dev/urandom reads bytes that are not all zero.
func TestDevices(t *testing.T) {
	f := New(newMemPages(), 10)
	if err := f.MakeDev(); err != nil {
		t.Fatal(err)
	}
	b := []byte{1, 2, 3}
	null, _ := f.Lookup("/dev/null")
	if n, err := null.ReadAt(b, 0); n != 0 || err != io.EOF {
		t.Fatalf("null read = %d, %v", n, err)
	}
	if n, err := null.WriteAt(b, 0); n != 3 || err != nil {
		t.Fatalf("null write = %d, %v", n, err)
	}
	zero, _ := f.Lookup("/dev/zero")
	if n, _ := zero.ReadAt(b, 0); n != 3 || !bytes.Equal(b, []byte{0, 0, 0}) {
		t.Fatalf("zero read %v", b)
	}
	u, _ := f.Lookup("/dev/urandom")
	r := make([]byte, 64)
	if n, _ := u.ReadAt(r, 0); n != 64 || bytes.Equal(r, make([]byte, 64)) {
		t.Fatal("urandom read zeros")
	}
	if s := u.Stat(); s.Mode != fs.ModeCharDevice|0o666 {
		t.Fatalf("urandom mode %v", s.Mode)
	}
}

// TestConcurrentWriters: writers of different files and readers of them
// run at once under -race; each file ends with what its writer wrote.
func TestConcurrentWriters(t *testing.T) {
	f := New(newMemPages(), 1000)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		name := "/w" + string(rune('0'+g))
		v, err := f.Create(name, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				v.WriteAt(bytes.Repeat([]byte{byte(g)}, 1000), int64(i*1000))
			}
		}()
		go func() {
			defer wg.Done()
			b := make([]byte, 1000)
			for i := 0; i < 50; i++ {
				n, _ := v.ReadAt(b, int64(i*1000))
				for _, c := range b[:n] {
					if c != byte(g) {
						t.Errorf("%s: read %d, want %d", name, c, g)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for g := 0; g < 4; g++ {
		got, err := f.ReadFile("/w" + string(rune('0'+g)))
		if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{byte(g)}, 50000)) {
			t.Fatalf("file %d: %d bytes, %v", g, len(got), err)
		}
	}
}

// TestWriteFuncFails: a write whose source fails part way (a process's
// buffer running into an unmapped page) is short; the file covers what
// was written, and what the failed piece copied past the end reads as
// zeros when the file grows over it. An append writes at the end.
func TestWriteFuncFails(t *testing.T) {
	f := New(newMemPages(), 100)
	v, _ := f.Create("/f", 0o644)
	calls := 0
	n, end, err := v.WriteFunc(0, 2*PageSize, false, func(b []byte) error {
		calls++
		for i := range b {
			b[i] = 'x'
		}
		if calls == 2 {
			return syscall.EFAULT
		}
		return nil
	})
	if n != PageSize || end != PageSize || err != syscall.EFAULT {
		t.Fatalf("WriteFunc = %d, %d, %v; want %d, %d, EFAULT", n, end, err, PageSize, PageSize)
	}
	if s := v.Stat(); s.Size != PageSize {
		t.Fatalf("size %d; want %d", s.Size, PageSize)
	}
	if err := v.Truncate(2 * PageSize); err != nil {
		t.Fatal(err)
	}
	got, _ := f.ReadFile("/f")
	if !bytes.Equal(got[:PageSize], bytes.Repeat([]byte{'x'}, PageSize)) || !bytes.Equal(got[PageSize:], make([]byte, PageSize)) {
		t.Fatal("the failed piece's bytes read back after the file grew over them")
	}
	n, end, err = v.WriteFunc(0, 3, true, func(b []byte) error { copy(b, "end"); return nil })
	if n != 3 || end != 2*PageSize+3 || err != nil {
		t.Fatalf("append = %d, %d, %v; want 3 at the end", n, end, err)
	}
	got, _ = f.ReadFile("/f")
	if string(got[2*PageSize:]) != "end" {
		t.Fatalf("appended %q", got[2*PageSize:])
	}
}

// TestRangesStayFew: writes mark their ranges clean once done (the pages
// are the only copy), so a file written a byte at a time still has one
// cache-state range, not one per write.
func TestRangesStayFew(t *testing.T) {
	f := New(newMemPages(), 100)
	v, _ := f.Create("/f", 0o644)
	for off := int64(0); off < 2000; off += 2 {
		v.WriteAt([]byte{1}, off)
	}
	v.Truncate(100)
	if sn := v.Ranges(); len(sn.CSTs) != 1 || len(sn.Held) != 0 {
		t.Fatalf("after 1000 writes and a truncate: %d ranges, %d held; want 1, 0:\n%v", len(sn.CSTs), len(sn.Held), sn)
	}
}

// TestSharedPageCountedOnce: writers of different bytes of one page both
// find it a hole; the page is made once and counted once, however they
// interleave.
func TestSharedPageCountedOnce(t *testing.T) {
	pages := newMemPages()
	f := New(pages, 1000)
	for round := 0; round < 200; round++ {
		v, _ := f.Create("/f", 0o644)
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v.WriteAt([]byte{byte(g)}, int64(g*100))
			}()
		}
		wg.Wait()
		if used, _ := f.Usage(); used != 1 || v.Stat().Blocks != PageSize/512 || pages.held != 1 {
			t.Fatalf("round %d: used %d, blocks %d, pages held %d; want one page", round, used, v.Stat().Blocks, pages.held)
		}
		f.Remove("/f")
	}
}

// TestWriteAfterLastClose: a write that races the last close of a removed
// file finds its pages gone for good (EBADF) and makes none.
func TestWriteAfterLastClose(t *testing.T) {
	pages := newMemPages()
	f := New(pages, 100)
	v, _ := f.Create("/f", 0o644)
	v.Open()
	v.WriteAt([]byte("x"), 0)
	f.Remove("/f")
	if pages.held != 1 {
		t.Fatalf("%d pages held while open after the remove; want 1", pages.held)
	}
	v.Close()
	_, err := v.WriteAt([]byte("y"), 0)
	wantErrno(t, "a write after the last close", err, syscall.EBADF)
	if used, _ := f.Usage(); pages.held != 0 || used != 0 {
		t.Fatalf("pages held %d, used %d after the last close; want 0", pages.held, used)
	}
}

// TestRename: rename moves files and directories, replaces a file of the
// same kind (whose pages go), and refuses by Linux's rules.
func TestRename(t *testing.T) {
	pages := newMemPages()
	f := New(pages, 100)
	f.Mkdir("/a", 0o755)
	f.Mkdir("/a/d", 0o755)
	f.Mkdir("/b", 0o755)
	x, _ := f.Create("/a/x", 0o644)
	x.WriteAt([]byte("x"), 0)
	y, _ := f.Create("/b/y", 0o644)
	y.WriteAt([]byte("y"), 0)
	if err := f.RenameAt(nil, "/a/x", nil, "/b/y", 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.ReadFile("/b/y"); string(got) != "x" || pages.held != 1 {
		t.Fatalf("after replacing /b/y: %q, %d pages; want \"x\", 1 (the replaced file's page gone)", got, pages.held)
	}
	_, err := f.Lookup("/a/x")
	wantErrno(t, "the old name", err, syscall.ENOENT)
	if err := f.RenameAt(nil, "/a/d", nil, "/b/d", 0); err != nil {
		t.Fatal(err)
	}
	a, _ := f.Lookup("/a")
	b, _ := f.Lookup("/b")
	if a.Stat().Nlink != 2 || b.Stat().Nlink != 3 {
		t.Fatalf("links after moving a directory: /a %d, /b %d; want 2, 3", a.Stat().Nlink, b.Stat().Nlink)
	}
	d, _ := f.Lookup("/b/d")
	if p, _ := d.Path(); p != "/b/d" {
		t.Fatalf("moved directory's path %q", p)
	}
	wantErrno(t, "into itself", f.RenameAt(nil, "/b", nil, "/b/d/e", 0), syscall.EINVAL)
	wantErrno(t, "a file over a directory", f.RenameAt(nil, "/b/y", nil, "/b/d", 0), syscall.EISDIR)
	wantErrno(t, "a directory over a file", f.RenameAt(nil, "/b/d", nil, "/b/y", 0), syscall.ENOTDIR)
	f.Create("/b/d/z", 0o644)
	wantErrno(t, "over a full directory", f.RenameAt(nil, "/a", nil, "/b/d", 0), syscall.ENOTEMPTY)
	wantErrno(t, "no replace", f.RenameAt(nil, "/b/d/z", nil, "/b/y", RenameNoReplace), syscall.EEXIST)
	wantErrno(t, "missing", f.RenameAt(nil, "/nothing", nil, "/b/n", 0), syscall.ENOENT)
	if err := f.RenameAt(nil, "/b/y", nil, "/b/y", 0); err != nil {
		t.Fatalf("rename onto itself: %v", err)
	}
}

// A detached file reads what it was made with, is in no directory, and
// gives its pages back with its last close.
func TestDetached(t *testing.T) {
	f := New(newMemPages(), 16)
	used0, _ := f.Usage()
	data := bytes.Repeat([]byte("maps\n"), 2000) // three pages
	v, err := f.Detached(data, 0o444)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data)+10)
	n, err := v.ReadAt(got, 0)
	if n != len(data) || !bytes.Equal(got[:n], data) || err != io.EOF && err != nil {
		t.Errorf("ReadAt = %d, %v; want the %d bytes it was made with", n, err, len(data))
	}
	if st := v.Stat(); st.Size != int64(len(data)) || st.Nlink != 0 || st.Mode.Perm() != 0o444 {
		t.Errorf("Stat = %+v; want size %d, no links, mode 0444", st, len(data))
	}
	if used, _ := f.Usage(); used != used0+3 {
		t.Errorf("used %d pages with it open, want %d", used, used0+3)
	}
	v.Close()
	if used, _ := f.Usage(); used != used0 {
		t.Errorf("used %d pages after its last close, want %d", used, used0)
	}
}

// TestPunchPages: a punched page reads as zeros, the size and the other
// pages stay, the pages go back to the file system; a punch waits for a
// read that holds its range, and a freed file's object is punched
// without one.
func TestPunchPages(t *testing.T) {
	pages := newMemPages()
	f := New(pages, 100)
	v, _ := f.Create("/f", 0o644)
	data := bytes.Repeat([]byte{'x'}, 3*PageSize)
	if _, err := v.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	obj, err := v.Object()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.PunchPages(obj, 1, 1); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3*PageSize)
	if n, err := v.ReadAt(got, 0); n != len(got) || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	want := append(append(bytes.Repeat([]byte{'x'}, PageSize), make([]byte, PageSize)...), bytes.Repeat([]byte{'x'}, PageSize)...)
	if !bytes.Equal(got, want) || v.Stat().Size != 3*PageSize {
		t.Fatalf("after the punch: size %d, the middle page not zeros or the others changed", v.Stat().Size)
	}
	if used, _ := f.Usage(); pages.held != 2 || used != 2 {
		t.Fatalf("%d pages held, %d counted; want 2, 2", pages.held, used)
	}

	l, err := v.rl.LockRead(context.Background(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- v.PunchPages(obj, 0, 1) }()
	select {
	case err := <-done:
		t.Fatalf("the punch ran under a read's range lock (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	l.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if pages.held != 1 {
		t.Fatalf("%d pages held after the second punch; want 1", pages.held)
	}

	if err := v.PunchPages(obj, 0, 0); err != nil || pages.held != 1 {
		t.Fatalf("an empty punch: %v, %d pages held", err, pages.held)
	}
	if err := v.PunchPages(obj, FileMax/PageSize, 5); err != nil || pages.held != 1 {
		t.Fatalf("a punch past the largest file: %v, %d pages held", err, pages.held)
	}
	if err := v.PunchPages(obj+99, 2, 1); err != nil || pages.held != 1 {
		t.Fatalf("a punch of an object not the file's: %v, %d pages held; want nothing done", err, pages.held)
	}
	d, _ := f.Mkdir("/d", 0o755)
	wantErrno(t, "a directory", d.PunchPages(obj, 0, 1), syscall.ENODEV)
}
