package sysref

import "fmt"

// Walk calls fn on each record of t in sysid order until fn returns
// false. It runs above the runtime and must be given a tree nobody
// changes meanwhile: on the host, under the test's lock; in the kernel,
// only on a snapshot or in batches resumed with Ceil (`sysref ls` takes
// one batch per critical section on the owning CPU), since fn may call
// splittable code.
func (t *Tree) Walk(fn func(a uintptr) bool) {
	for a := t.Min(); a != 0; a = t.Next(a) {
		if !fn(a) {
			return
		}
	}
}

// Check verifies every invariant listed on Tree and returns the first
// one broken, labelled; nil when the tree is sound. It walks the whole
// tree iteratively: for tests and SelfTest, not for the fast path.
func (t *Tree) Check() error {
	if t.root == 0 {
		if t.n != 0 {
			return fmt.Errorf("sysref: rb-count: empty tree counts %d", t.n)
		}
		return nil
	}
	root := rec(t.root)
	if root.parent != 0 {
		return fmt.Errorf("sysref: rb-links: root %#x has parent %#x", root.sysid, root.parent)
	}
	if root.color != black {
		return fmt.Errorf("sysref: rb-root: root %#x is red", root.sysid)
	}
	n, blackHeight := 0, -1
	var prev uint64
	for a := t.Min(); a != 0; a = t.Next(a) {
		r := rec(a)
		n++
		if n > t.n {
			return fmt.Errorf("sysref: rb-count: walk passes more than the %d records counted", t.n)
		}
		if n > 1 && r.sysid <= prev {
			return fmt.Errorf("sysref: rb-order: %#x after %#x", r.sysid, prev)
		}
		prev = r.sysid
		for _, c := range [2]uintptr{r.left, r.right} {
			if c == 0 {
				continue
			}
			if rec(c).parent != a {
				return fmt.Errorf("sysref: rb-links: child %#x of %#x names parent %#x", rec(c).sysid, r.sysid, rec(c).parent)
			}
			if r.color == red && rec(c).color == red {
				return fmt.Errorf("sysref: rb-red: red %#x has red child %#x", r.sysid, rec(c).sysid)
			}
		}
		if r.left != 0 && r.right != 0 {
			continue
		}
		// a has a missing child: count the blacks from a up to the root.
		h := 0
		for x := a; x != 0; x = rec(x).parent {
			if rec(x).color == black {
				h++
			}
		}
		if blackHeight < 0 {
			blackHeight = h
		} else if h != blackHeight {
			return fmt.Errorf("sysref: rb-black-height: path through %#x has %d blacks, others %d", r.sysid, h, blackHeight)
		}
	}
	if n != t.n {
		return fmt.Errorf("sysref: rb-count: walk found %d records, tree counts %d", n, t.n)
	}
	return nil
}
