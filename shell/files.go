package shell

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"gofly/kernel"
	"gofly/mm"
	"gofly/vfs"
)

// MountRoot makes the RAM file system at / from the boot modules (a cpio
// archive unpacks, any other module becomes /NAME) with /dev and /tmp, and has
// processes' execve find programs there. Its files may hold half of
// memory, as a Linux tmpfs by default. A module that does not load is
// reported and skipped.
func MountRoot() error {
	root := vfs.New(vfs.ObjectPages{}, int64(mm.Phys.TotalPages()/2))
	if err := root.MakeDev(); err != nil {
		return err
	}
	// /tmp, for every user (sticky: only a file's owner removes it).
	if _, err := root.Mkdir("/tmp", fs.ModePerm|fs.ModeSticky); err != nil {
		return err
	}
	mods, _ := kernel.Modules()
	var errs []error
	for _, m := range mods {
		if _, err := root.Load(m.Name, m.Data); err != nil {
			errs = append(errs, err)
		}
	}
	vfs.Root = root
	return errors.Join(errs...)
}

// fileCommands are the commands on the file tree.
func fileCommands(cmds map[string]*Command) {
	cmds["ls"] = &Command{"[PATH...]", "list directories (mode, links, size, name) or show files", cmdLs}
	cmds["cat"] = &Command{"FILE...", "print files", cmdCat}
	cmds["stat"] = &Command{"PATH...", "a file's inode, type and permissions, links, size, blocks, times", cmdStat}
	cmds["mkdir"] = &Command{"DIR...", "make directories", cmdMkdir}
	cmds["write"] = &Command{"FILE TEXT...", "write the words and a newline to FILE, made if missing, replacing what it held", cmdWrite}
	cmds["rm"] = &Command{"PATH...", "remove files and empty directories", cmdRm}
	cmds["truncate"] = &Command{"FILE SIZE", "set a file's size in bytes: pages past it go, a longer file reads zeros", cmdTruncate}
	cmds["df"] = &Command{"", "the file system's pages: used, limit", noArgs(cmdDf)}
	cmds["ccms"] = &Command{"FILE", "a file's CCMS range locks: held and waiting requests, and its cache-state ranges", cmdCcms}
}

func cmdCcms(sh *Shell, args []string) error {
	f, err := root()
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return errors.New("usage: ccms FILE")
	}
	v, err := f.Lookup(args[0])
	if err != nil {
		return err
	}
	if v.IsDir() {
		return &fs.PathError{Op: "ccms", Path: args[0], Err: errIsDir}
	}
	fmt.Fprint(sh.Out, v.Ranges())
	return nil
}

// root returns the file system at /, or an error before it is mounted.
func root() (*vfs.FS, error) {
	if vfs.Root == nil {
		return nil, errors.New("no file system mounted at /")
	}
	return vfs.Root, nil
}

func cmdLs(sh *Shell, args []string) error {
	f, err := root()
	if err != nil {
		return err
	}
	if len(args) == 0 {
		args = []string{"/"}
	}
	var errs []error
	for _, p := range args {
		v, err := f.Lookup(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !v.IsDir() {
			lsLine(sh.Out, p, v.Stat())
			continue
		}
		if len(args) > 1 {
			fmt.Fprintf(sh.Out, "%s:\n", p)
		}
		es, _ := v.ReadDir()
		for _, e := range es[2:] { // without . and ..
			c, err := f.LookupLinkAt(nil, strings.TrimSuffix(p, "/")+"/"+e.Name)
			if err != nil {
				continue // removed meanwhile
			}
			name := e.Name
			if target, err := c.Readlink(); err == nil {
				name += " -> " + target
			}
			lsLine(sh.Out, name, c.Stat())
		}
	}
	return errors.Join(errs...)
}

func lsLine(w io.Writer, name string, s vfs.Stat) {
	fmt.Fprintf(w, "%s %3d %10d %s %s\n", s.Mode, s.Nlink, s.Size, s.Mtime.UTC().Format("Jan _2 15:04"), name)
}

// eachPath runs fn on every path argument against the tree at /, going
// on past failures, and returns them all; usage when there is none.
func eachPath(args []string, usage string, fn func(f *vfs.FS, p string) error) error {
	f, err := root()
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return errors.New("usage: " + usage)
	}
	var errs []error
	for _, p := range args {
		if err := fn(f, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func cmdCat(sh *Shell, args []string) error {
	return eachPath(args, "cat FILE...", func(f *vfs.FS, p string) error {
		v, err := f.Lookup(p)
		if err != nil {
			return err
		}
		if v.IsDir() {
			return &fs.PathError{Op: "read", Path: p, Err: errIsDir}
		}
		buf := make([]byte, 32<<10)
		limit := int64(-1)
		if v.IsDevice() {
			limit = 4096 // /dev/zero never ends: a page of it
		}
		for off := int64(0); limit < 0 || off < limit; {
			n, err := v.ReadAt(buf, off)
			sh.Out.Write(buf[:n])
			off += int64(n)
			if err == io.EOF || n == 0 {
				break
			}
			if err != nil {
				return &fs.PathError{Op: "read", Path: p, Err: err}
			}
		}
		return nil
	})
}

var errIsDir = errors.New("is a directory")

func cmdStat(sh *Shell, args []string) error {
	return eachPath(args, "stat PATH...", func(f *vfs.FS, p string) error {
		v, err := f.LookupLinkAt(nil, p)
		if err != nil {
			return err
		}
		s := v.Stat()
		kind := "regular file"
		switch {
		case s.Mode.IsDir():
			kind = "directory"
		case s.Mode&fs.ModeCharDevice != 0:
			kind = "character device"
		case s.Mode&fs.ModeSymlink != 0:
			target, _ := v.Readlink()
			kind = "symbolic link to " + target
		}
		fmt.Fprintf(sh.Out, "%s: inode %d, %s, %s (%#o), %d links, %d bytes, %d blocks, modified %s, changed %s\n",
			p, s.Ino, kind, s.Mode, uint32(s.Mode.Perm()), s.Nlink, s.Size, s.Blocks,
			s.Mtime.UTC().Format(time.RFC3339Nano), s.Ctime.UTC().Format(time.RFC3339Nano))
		return nil
	})
}

func cmdMkdir(sh *Shell, args []string) error {
	return eachPath(args, "mkdir DIR...", func(f *vfs.FS, p string) error {
		_, err := f.Mkdir(p, 0o755)
		return err
	})
}

func cmdWrite(sh *Shell, args []string) error {
	f, err := root()
	if err != nil {
		return err
	}
	if len(args) < 1 {
		return errors.New("usage: write FILE TEXT...")
	}
	p := args[0]
	v, err := f.Lookup(p)
	if errors.Is(err, fs.ErrNotExist) {
		v, err = f.Create(p, 0o644)
	}
	if err != nil {
		return err
	}
	if err := v.Truncate(0); err != nil {
		return &fs.PathError{Op: "truncate", Path: p, Err: err}
	}
	text := strings.Join(args[1:], " ") + "\n"
	if _, err := v.WriteAt([]byte(text), 0); err != nil {
		return &fs.PathError{Op: "write", Path: p, Err: err}
	}
	return nil
}

func cmdRm(sh *Shell, args []string) error {
	return eachPath(args, "rm PATH...", func(f *vfs.FS, p string) error { return f.Remove(p) })
}

func cmdTruncate(sh *Shell, args []string) error {
	f, err := root()
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return errors.New("usage: truncate FILE SIZE")
	}
	size, err := strconv.ParseInt(args[1], 0, 64)
	if err != nil || size < 0 {
		return fmt.Errorf("%q is not a size in bytes", args[1])
	}
	v, err := f.Lookup(args[0])
	if err != nil {
		return err
	}
	if err := v.Truncate(size); err != nil {
		return &fs.PathError{Op: "truncate", Path: args[0], Err: err}
	}
	return nil
}

func cmdDf(sh *Shell) error {
	f, err := root()
	if err != nil {
		return err
	}
	used, limit := f.Usage()
	fmt.Fprintf(sh.Out, "/: ramfs, %d of %d pages used (%s of %s), %d free\n",
		used, limit, mib(uint64(used)*vfs.PageSize), mib(uint64(limit)*vfs.PageSize), limit-used)
	return nil
}
