// Package ccms owns the offset-range locks of a file, after DragonFly BSD's
// CCMS (sys/kern/kern_ccms.c, 2006–2012; design note
// shared/design/ccms-xio.md). A Space, one per vnode (its zero value is
// ready to use; it must not be copied after first use), covers the offsets
// [0, math.MaxUint64]. read() takes a Shared lock on the bytes it reads,
// write() and truncate() a Modifying one (an exclusive lock that also marks
// the range modified, CCMS_TYPE_MODIFYING); io.go turns an I/O request into
// its range (§3 of the note, "Our design"). Plain Go above the runtime:
// callers are goroutines, which may allocate and block here.
//
// Vocabulary. A request (a *Lock) is live from its arrival until it is
// unlocked, or cancelled while it waits; it is held once granted. The
// CSTs (cache state tree elements) partition the offset space into ranges;
// each carries a cache state and counts of the live requests over it.
//
// Conflicts: Shared conflicts with an overlapping Exclusive or Modifying
// request; Exclusive and Modifying conflict with any overlapping request.
// Disjoint ranges never conflict.
//
// Fairness (the rule the model test checks step by step): a request is
// granted iff no earlier live request overlaps it and conflicts with it,
// held or still waiting. So requests that conflict are granted in arrival
// order (a stream of readers cannot starve a writer queued among them, nor
// writers a reader), while disjoint or compatible ones pass each other. A
// waiter counts its earlier conflicts when it arrives (later arrivals never
// add to them); each goes when it is unlocked or cancelled, and the one
// that removes the last grants the waiter in place and closes its channel.
// No timeout and no re-scan: DragonFly slept on one conflicting CST with a
// one-second timeout and, in HAMMER2, cleared its pointer before sleeping,
// so only the timeout woke it; neither is copied.
//
// Cache states (State): Modified is sticky: a Modifying grant sets it, and
// only Clean clears it (never under a held Modifying lock). Otherwise a
// CST's state follows its holders: Exclusive, Shared or Invalid. The
// coherency half (remote grants, downgrade messages) is not implemented, as
// it never was in DragonFly; the states say what a local cache may hold.
//
// Invariants (Check reports the first broken one, with its label; the host
// tests run it after every step of the model, the self-test during and
// after its storm):
//   - no-conflict: every CST has at most one exclusive holder, never both
//     shared and exclusive holders, and modifying ≤ exclusive; its counts
//     equal the held requests over it (note §6.1).
//   - partition: the CSTs tile [0, max] in order, with no gap or overlap,
//     and each skip-list level links exactly its CSTs, in order (note
//     §6.2).
//   - merged: no two neighbours could be one CST (no request has an edge
//     between them and their modified flags agree). So with every lock
//     released and the space clean there is exactly one CST (note §6.2).
//   - edges: every live request begins on a CST's beginning and ends on a
//     CST's end; a CST's reqs are exactly the live requests over it, in
//     arrival order (its xrefs, len(reqs)), and begins/ends count the
//     requests with an edge there (note §6.3).
//   - waiters-hold-nothing: a waiting request is in no CST's counts, its
//     wait count is the number of earlier live conflicting requests over
//     it (≥ 1), and exactly those list it in their blocks; a held request
//     has none (note §6.6, and the fairness rule).
//   - modified: a CST under a held Modifying lock is Modified.
//
// Locking: one sync.Mutex per Space (Space.mu) guards everything in it —
// the CSTs, every live request's mutable fields (state, waits, blocks, the
// live list) and the sequence counters. Nothing is called with it held
// but the package's own code, and nothing blocks under it: a waiter
// sleeps on its own channel with the mutex released. A Lock's range, mode
// and sequence number never change after it is made.
//
// Data structure: the CSTs form a skip list ordered by offset (cst.go),
// whose head is the CST at 0 (never removed, as splits and merges keep the
// left piece). Finding the CST of an offset, inserting a split piece and
// unlinking a merged one are O(log n) expected; a CST's right neighbour is
// next[0]. A request also touches each of the k CSTs it covers (counts,
// reqs), O(k), as DragonFly's xrefs did, and finds its conflicts in those
// CSTs' reqs alone. Why not a sorted slice with binary search: it was
// tried first and is simpler, but each split and merge moves the slice's
// tail, and at 4096 CSTs a lock+unlock cost 1.7 µs, three quarters of it
// memmove, against 0.3 µs now (BenchmarkLockUnlockManyCSTs); a file's
// dirty extents can number that many. Why not DragonFly's red-black tree:
// the same bound with more code (rotations, colours) and a neighbour that
// is a walk away, not one pointer.
//
// Differences from kern_ccms.c: offsets are unsigned and start at 0 (no
// negative metadata space); a waiter stays in its CSTs' reqs and edge
// counts but in no holder count (DragonFly undid its counts and kept its
// edge refs, with the same effect: its split CSTs cannot merge away);
// waiting is a FIFO rule with exact wakeups, not a re-scan; Clean and the
// Modified state are live; there is no enable switch.
//
// Files: ccms.go (Space, Lock, grant and release), cst.go (split, merge,
// Clean), io.go (read, write, append, truncate ranges), check.go (Check,
// Snapshot), selftest.go and bench.go (ktest).
package ccms
