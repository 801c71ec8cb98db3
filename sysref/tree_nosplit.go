package sysref

// The per-CPU index: an intrusive red-black tree keyed by sysid.
//
// The node is the Record itself (its left, right, parent and color
// fields), so inserting allocates nothing. Each CPU owns one Tree and
// touches it only inside its own critical section: there is no lock, and
// no other CPU ever reads or writes it (a remote release reaches the owner
// by passive IPI; a remote lookup asks the owner the same way).
//
// The algorithms are those of Cormen, Leiserson, Rivest and Stein,
// "Introduction to Algorithms", 3rd ed., chapter 13: LEFT-ROTATE (13.2),
// RB-INSERT and RB-INSERT-FIXUP (13.3), RB-TRANSPLANT, RB-DELETE and
// RB-DELETE-FIXUP (13.4). CLRS uses a black sentinel T.nil; here a missing
// child is address 0, so RB-DELETE-FIXUP carries x's parent alongside x
// (x may be 0), the way BSD sys/tree.h's RB_REMOVE_COLOR does. Every
// loop is iterative: no recursion, so the nosplit stack stays within the
// linker's 792-byte chain limit.

import "gofly/fatal"

type color uint8

const (
	black color = iota // the zero value: a detached record is black
	red
)

// Tree is one CPU's index of the records whose sysids that CPU made.
// Protected by: the owning CPU's critical section (host tests: a mutex).
//
// Invariants (checked after every operation by the host property test,
// tree_test.go, via Check):
//   - rb-root: the root is black.
//   - rb-red: a red record has no red child.
//   - rb-black-height: every path from a record down to a missing child
//     passes the same number of black records.
//   - rb-order: an in-order walk gives strictly increasing sysids.
//   - rb-links: each child's parent link names its parent; the root's is 0.
type Tree struct {
	root uintptr // address of the root Record, 0 when empty
	n    int     // records in the tree
}

// Len returns the number of records in the tree.
//
//go:nosplit
func (t *Tree) Len() int { return t.n }

// Insert indexes the record at a under its sysid. A sysid already in the
// tree is a broken invariant (ids are never reused): it throws.
//
//go:nosplit
func (t *Tree) Insert(a uintptr) {
	z := rec(a)
	key := z.sysid
	var p uintptr
	for x := t.root; x != 0; {
		p = x
		xr := rec(x)
		switch {
		case key < xr.sysid:
			x = xr.left
		case key > xr.sysid:
			x = xr.right
		default:
			fatal.Throw("sysref: Tree.Insert: sysid already indexed")
		}
	}
	z.parent, z.left, z.right, z.color = p, 0, 0, red
	switch {
	case p == 0:
		t.root = a
	case key < rec(p).sysid:
		rec(p).left = a
	default:
		rec(p).right = a
	}
	t.n++
	t.insertFixup(a)
}

// insertFixup is RB-INSERT-FIXUP: z is red; climb while its parent is
// red too, recolouring when the uncle is red, otherwise rotating once or
// twice and stopping.
//
//go:nosplit
func (t *Tree) insertFixup(z uintptr) {
	for {
		p := rec(z).parent
		if p == 0 || rec(p).color == black {
			break
		}
		g := rec(p).parent // p is red, so not the root: g exists
		if p == rec(g).left {
			y := rec(g).right                  // the uncle
			if y != 0 && rec(y).color == red { // case 1
				rec(p).color, rec(y).color, rec(g).color = black, black, red
				z = g
				continue
			}
			if z == rec(p).right { // case 2 becomes case 3
				z = p
				t.rotateLeft(z)
				p = rec(z).parent
			}
			rec(p).color, rec(g).color = black, red // case 3
			t.rotateRight(g)
		} else { // the mirror image
			y := rec(g).left
			if y != 0 && rec(y).color == red {
				rec(p).color, rec(y).color, rec(g).color = black, black, red
				z = g
				continue
			}
			if z == rec(p).left {
				z = p
				t.rotateRight(z)
				p = rec(z).parent
			}
			rec(p).color, rec(g).color = black, red
			t.rotateLeft(g)
		}
	}
	rec(t.root).color = black
}

// Delete removes the record at a, which must be in this tree. Its links
// are cleared, so it may be re-keyed and inserted again.
//
//go:nosplit
func (t *Tree) Delete(a uintptr) {
	z := rec(a)
	if z.parent == 0 && t.root != a {
		fatal.Throw("sysref: Tree.Delete: record not in this tree")
	}
	var x, xp uintptr // the record that moves into the hole, and its parent
	removed := z.color
	switch {
	case z.left == 0:
		x, xp = z.right, z.parent
		t.transplant(a, z.right)
	case z.right == 0:
		x, xp = z.left, z.parent
		t.transplant(a, z.left)
	default:
		y := t.minimum(z.right) // z's successor takes z's place
		yr := rec(y)
		removed = yr.color
		x = yr.right
		if yr.parent == a {
			xp = y
		} else {
			xp = yr.parent
			t.transplant(y, yr.right)
			yr.right = z.right
			rec(yr.right).parent = y
		}
		t.transplant(a, y)
		yr.left = z.left
		rec(yr.left).parent = y
		yr.color = z.color
	}
	if removed == black {
		t.deleteFixup(x, xp)
	}
	z.left, z.right, z.parent, z.color = 0, 0, 0, black
	t.n--
}

// isBlack treats a missing child (0) as black, as CLRS's sentinel is.
//
//go:nosplit
func isBlack(a uintptr) bool { return a == 0 || rec(a).color == black }

// deleteFixup is RB-DELETE-FIXUP: x (possibly 0, child of xp) carries an
// extra black; push it up, or remove it with at most three rotations.
//
//go:nosplit
func (t *Tree) deleteFixup(x, xp uintptr) {
	for x != t.root && isBlack(x) {
		// x == 0 is still unambiguous: xp's other child is the
		// sibling w, which exists because x's side lost a black.
		if x == rec(xp).left {
			w := rec(xp).right
			if rec(w).color == red { // case 1
				rec(w).color, rec(xp).color = black, red
				t.rotateLeft(xp)
				w = rec(xp).right
			}
			if isBlack(rec(w).left) && isBlack(rec(w).right) { // case 2
				rec(w).color = red
				x, xp = xp, rec(xp).parent
				continue
			}
			if isBlack(rec(w).right) { // case 3 becomes case 4
				rec(rec(w).left).color, rec(w).color = black, red
				t.rotateRight(w)
				w = rec(xp).right
			}
			rec(w).color, rec(xp).color = rec(xp).color, black // case 4
			rec(rec(w).right).color = black
			t.rotateLeft(xp)
			x = t.root
		} else { // the mirror image
			w := rec(xp).left
			if rec(w).color == red {
				rec(w).color, rec(xp).color = black, red
				t.rotateRight(xp)
				w = rec(xp).left
			}
			if isBlack(rec(w).left) && isBlack(rec(w).right) {
				rec(w).color = red
				x, xp = xp, rec(xp).parent
				continue
			}
			if isBlack(rec(w).left) {
				rec(rec(w).right).color, rec(w).color = black, red
				t.rotateLeft(w)
				w = rec(xp).left
			}
			rec(w).color, rec(xp).color = rec(xp).color, black
			rec(rec(w).left).color = black
			t.rotateRight(xp)
			x = t.root
		}
	}
	if x != 0 {
		rec(x).color = black
	}
}

// transplant is RB-TRANSPLANT: v (possibly 0) takes u's place under u's
// parent.
//
//go:nosplit
func (t *Tree) transplant(u, v uintptr) {
	p := rec(u).parent
	t.replaceChild(p, u, v)
	if v != 0 {
		rec(v).parent = p
	}
}

// replaceChild points p's link to old at v instead (the root when p is 0).
//
//go:nosplit
func (t *Tree) replaceChild(p, old, v uintptr) {
	switch {
	case p == 0:
		t.root = v
	case rec(p).left == old:
		rec(p).left = v
	default:
		rec(p).right = v
	}
}

// rotateLeft is LEFT-ROTATE: x's right child y takes x's place, x becomes
// y's left child, and y's old left subtree becomes x's right.
//
//go:nosplit
func (t *Tree) rotateLeft(x uintptr) {
	xr := rec(x)
	y := xr.right
	yr := rec(y)
	xr.right = yr.left
	if yr.left != 0 {
		rec(yr.left).parent = x
	}
	yr.parent = xr.parent
	t.replaceChild(xr.parent, x, y)
	yr.left = x
	xr.parent = y
}

// rotateRight is the mirror image of rotateLeft.
//
//go:nosplit
func (t *Tree) rotateRight(x uintptr) {
	xr := rec(x)
	y := xr.left
	yr := rec(y)
	xr.left = yr.right
	if yr.right != 0 {
		rec(yr.right).parent = x
	}
	yr.parent = xr.parent
	t.replaceChild(xr.parent, x, y)
	yr.right = x
	xr.parent = y
}

// minimum returns the leftmost record under x (x != 0).
//
//go:nosplit
func (t *Tree) minimum(x uintptr) uintptr {
	for rec(x).left != 0 {
		x = rec(x).left
	}
	return x
}

// Lookup returns the address of the record with this sysid, or 0. It
// takes no reference: see LookupRef.
//
//go:nosplit
func (t *Tree) Lookup(id uint64) uintptr {
	x := t.root
	for x != 0 {
		xr := rec(x)
		switch {
		case id < xr.sysid:
			x = xr.left
		case id > xr.sysid:
			x = xr.right
		default:
			return x
		}
	}
	return 0
}

// LookupRef is the lookup the API offers: the record with this sysid,
// with a new reference, if it is active; otherwise 0. A record being
// built, terminated or freed is never returned (Ref.TryGet).
//
//go:nosplit
func (t *Tree) LookupRef(id uint64) uintptr {
	a := t.Lookup(id)
	if a == 0 || !rec(a).ref.TryGet() {
		return 0
	}
	return a
}

// Min returns the record with the smallest sysid, or 0 when empty.
//
//go:nosplit
func (t *Tree) Min() uintptr {
	if t.root == 0 {
		return 0
	}
	return t.minimum(t.root)
}

// Next returns the record after a in sysid order, or 0 after the last.
//
//go:nosplit
func (t *Tree) Next(a uintptr) uintptr {
	if r := rec(a).right; r != 0 {
		return t.minimum(r)
	}
	for p := rec(a).parent; p != 0; a, p = p, rec(p).parent {
		if rec(p).left == a {
			return p
		}
	}
	return 0
}

// Ceil returns the record with the smallest sysid >= id, or 0. A walk
// split over several critical sections resumes with Ceil(last+1).
//
//go:nosplit
func (t *Tree) Ceil(id uint64) uintptr {
	var best uintptr
	x := t.root
	for x != 0 {
		xr := rec(x)
		switch {
		case id < xr.sysid:
			best, x = x, xr.left
		case id > xr.sysid:
			x = xr.right
		default:
			return x
		}
	}
	return best
}
