package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// Load adds a boot module to the tree: a newc cpio archive is unpacked
// from / (directories, regular files and symbolic links; device nodes
// are left to MakeDev, anything else refused with a clear error); any other module becomes the file /NAME, NAME the base of its
// first word, executable. It returns how many files it added.
func (f *FS) Load(name string, data []byte) (int, error) {
	if bytes.HasPrefix(data, []byte("070701")) {
		return f.loadCpio(name, data)
	}
	if err := f.writeFile(ModulePath(name), 0o755, data); err != nil {
		return 0, err
	}
	return 1, nil
}

// ModulePath is the file a module named name (its multiboot string: a
// path, then maybe arguments) becomes when it is not an archive: /BASE.
func ModulePath(name string) string {
	first, _, _ := strings.Cut(name, " ")
	return "/" + path.Base(first)
}

// loadCpio unpacks the newc archive data.
func (f *FS) loadCpio(name string, data []byte) (int, error) {
	rr := cpio.Newc.Reader(bytes.NewReader(data))
	n := 0
	for {
		r, err := rr.ReadRecord()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("%s: cpio: %w", name, err)
		}
		p := "/" + strings.TrimLeft(path.Clean("/"+r.Name), "/")
		perm := fs.FileMode(r.Mode & 0o777)
		switch r.Mode & cpio.S_IFMT {
		case cpio.S_IFDIR:
			if p == "/" {
				continue
			}
			if _, err := f.Mkdir(p, perm); err != nil && !errors.Is(err, fs.ErrExist) {
				return n, err
			}
		case cpio.S_IFREG:
			b := make([]byte, r.FileSize)
			if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
				return n, fmt.Errorf("%s: cpio: %s: %w", name, r.Name, err)
			}
			if err := f.writeFile(p, perm, b); err != nil {
				return n, err
			}
		case cpio.S_IFLNK:
			b := make([]byte, r.FileSize)
			if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
				return n, fmt.Errorf("%s: cpio: %s: %w", name, r.Name, err)
			}
			if _, err := f.SymlinkAt(nil, string(b), p); err != nil {
				return n, err
			}
		case cpio.S_IFCHR:
			continue // /dev is made by MakeDev, not by an archive's nodes
		default:
			return n, fmt.Errorf("%s: cpio: %s: mode %#o: only directories, regular files and symbolic links are supported", name, r.Name, r.Mode)
		}
		n++
	}
}

// writeFile makes the regular file p with perm and contents b.
func (f *FS) writeFile(p string, perm fs.FileMode, b []byte) error {
	v, err := f.Create(p, perm)
	if err != nil {
		return err
	}
	if _, err := v.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}
