// Package vfs owns the file tree: vnodes, path lookup and the RAM file
// system at / whose regular files keep their bytes in VM objects
// (vm.FileObject): a file's pages are its object's pages, the only copy,
// as the CCMS mail has every vnode carry a mandatory VM object. It is
// ordinary Go above the runtime, reached by the shell and (next) by the
// processes' file calls; the objects' pages are taken and freed through
// vm's TrapCalls.
//
// The tree is filled at boot from the multiboot modules (Load): a newc
// cpio archive (u-root's pkg/cpio reads it) is unpacked from /, any
// other module becomes /NAME. /dev holds null, zero and urandom.
//
// Invariants:
//   - tree: every vnode but the root has exactly one parent directory
//     entry naming it (no hard links yet: Nlink is 1 for files, 2 plus
//     subdirectories for directories); names are 1..NameMax bytes with
//     no '/' and not "." or "..".
//   - size: a regular file's bytes past Size are zero wherever its object
//     holds a page for them, so a file grown by Truncate reads zeros
//     there: Truncate frees the pages past the new end and zeroes the
//     last one's tail before it shrinks Size, and a write that fails past
//     the end zeroes what it copied (the page may stay, zeroed, until a
//     Truncate or Remove frees it); pages inside may be holes (zero).
//   - space: FS.used counts the pages every file's object holds, and
//     stays at or below FS.limit: a write that would pass it, or that mm
//     cannot serve, is ENOSPC with nothing written past what fit.
//
// Locking: FS.mu guards the tree (every directory's entries, names,
// parents, Nlink) and the inode counter. A regular file's data is guarded
// by CCMS range locks (the vnode's rl, package ccms): ReadAt holds its
// bytes' range shared while it copies straight from the object's pages,
// WriteAt holds its range Modifying, Truncate [min(old, new size), max]
// and Remove the whole file; so writers of disjoint ranges run at once
// and no read sees a torn write or a page truncated under it. A vnode's
// mu guards its size, times, object and page count, held for a few
// instructions, never across a copy. Lock order: FS.mu, then a range
// lock, then a vnode's mu; no vnode's mu is held while another is
// taken. The directory entries are the name cache of this file system,
// which has nothing behind it to look up.
package vfs
