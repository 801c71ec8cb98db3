package lwkt

// Serializing tokens (DragonFly sys/kern/lwkt_token.c, sys/sys/thread.h).
//
// Everything in this file runs below the Go runtime: from Schedule on the
// trap stack, and from trap-context code that takes tokens for the current
// thread. So every function is nosplit, allocates nothing, stores no
// pointers (tokrefs hold a token's address as a uintptr) and cannot panic
// (indices are masked or range-checked; bugs come back as the constant
// strings below, for the caller to hand to the kernel's fatal routine).
//
// Vocabulary (DragonFly's words):
//
//	token    a lock that serializes its holder only while the holder runs
//	tokref   one entry of a thread's token stack: which token, and how this
//	         entry holds it (td_toks_array[i])
//	owner    the thread slot holding a token exclusively
//	exclreq  a flag a waiting exclusive requester sets, asking new shared
//	         requesters to back off (TOK_EXCLREQ)
//
// The problem. Kernel code needs locks that work across CPUs yet can never
// deadlock, even when the code that holds them blocks, and that need no
// lock order. DragonFly's answer: a token is held only while its thread
// runs. Switching a thread out releases all of its tokens; a thread runs
// again only once it has re-acquired all of them. No thread ever waits
// while holding a token, so there is no deadlock; the price is that shared
// state must be re-checked after anything that can switch.
//
// Rejected designs.
//   - Blocking mutexes: a holder that blocks keeps the lock; two of them
//     deadlock unless every caller follows one global lock order.
//   - A spinlock inside the token: the holder may be switched out (tokens
//     are taken by code that can block), so a spinner could spin for a whole
//     quantum. The token is one atomic word, acquired by CompareAndSwap and
//     never waited on: a failed acquisition switches away instead.
//   - tokref -> *Token: below the runtime a pointer store needs a write
//     barrier. A tokref stores the token's address as a uintptr. That hides
//     the reference from the GC, which is safe because the GC does not move
//     heap or static objects, and because a thread's tokref never outlives
//     the code that holds the *Token (see Token).
//   - A fixed table of tokens named by index: simpler for the GC, but tokens
//     could no longer be embedded in the structures they protect, as
//     DragonFly embeds them in mounts and VM objects. Pool tokens cover
//     objects that have none (PoolToken).
//   - DragonFly's t_ref (the owner's tokref, written after the cmpset of
//     t_count): two words that a reader must combine. The owner here is a
//     field of the same word as the shared count, so one CAS sets both.
//
// The token word (Token.word):
//
//	bits  0-15  owner: thread slot + 1; 0 = no exclusive holder
//	bit     16  exclreq
//	bits 32-63  shared count (shared holders, plus shared requesters
//	            that have added themselves and are about to back out)
//
// Protocol.
//   - Exclusive acquire: CAS the word from "no owner, no shared count"
//     (exclreq may be set) to "owner = me"; this also clears exclreq. A
//     blocking request that fails sets exclreq.
//   - Shared acquire: fails if there is an owner, or if exclreq is set while
//     other shared holders exist and this thread has no other tokref
//     (exclusive requests win only when that cannot hurt the no-deadlock
//     guarantee: DragonFly's rule). Otherwise add 1 to the count; if the
//     old word had an owner after all, subtract it again and fail.
//   - Release: CAS the owner out (exclusive), or CAS the count one lower
//     (shared). A CAS, not an AND or an ADD, so that a corrupted tokref is
//     detected rather than clearing another thread's hold.
//   - Recursion: a thread that takes a token it already holds pushes a
//     tokref that records only that (refRecurse). Only the deepest tokref
//     for a token touches the word; releasing the recursive ones is free,
//     and the token stays held until the deepest one is released.
//
// Memory ordering. Go's sync/atomic operations are sequentially consistent
// (on amd64 CAS and Add are LOCK-prefixed), so a successful acquisition is
// an acquire and the release CAS a release: everything a holder wrote
// before releasing is visible to the next holder after it acquires, with
// plain loads and stores for the protected data. The race detector treats
// these atomics as synchronization too, which is what the host tests rely
// on. A thread's token stack (tokrefs[slot]) is plain memory: only the CPU
// that runs or switches that thread touches it (owner-cpu), so it needs no
// atomics; Holding and TokenCount must be asked on that CPU as well.
//
// Invariants (labels used by TokenSelfTest, the host tests and the doc
// comments below):
//   - token-excl: at most one thread holds a token exclusively, and while
//     it does no other thread holds it shared.
//   - token-running: a thread holds its tokens only while it runs. The
//     scheduler calls RelAllTokens when it switches a thread out and
//     GetAllTokens, which takes all of them or none, before it resumes one.
//   - token-recursion: a thread may take a token it holds again; every
//     acquisition needs its own release, and the token stays held until
//     the last one.
//   - token-order: tokens are released in reverse order of acquisition
//     (RelToken refuses anything else; TokenSwap exchanges the top two).
//   - token-shared-excl: a thread that holds a token shared may not ask for
//     it exclusively (it would wait for itself forever); GetToken refuses.
//   - token-no-wait: a failed acquisition does not wait; the thread
//     switches away, dropping its other tokens. So tokens never deadlock,
//     and GetAllTokens takes the set in address order after tokSortAfter
//     consecutive failures, so they do not livelock either.

import (
	"sync/atomic"
	"unsafe"

	"gofly/mm"
)

const (
	// MaxTokens bounds a thread's token stack (LWKT_MAXTOKENS).
	MaxTokens = 32

	// PoolTokens is the number of pool tokens (a power of two). DragonFly
	// has 16384; this kernel has far fewer threads and objects.
	PoolTokens = 1024

	// tokSortAfter: after this many consecutive failures GetAllTokens
	// acquires the thread's set in address order
	// (_lwkt_getalltokens_sorted).
	tokSortAfter = 4

	// tokSelfTestSlots extra token stacks, past the thread slots, that
	// TokenSelfTest plays threads with so that it never disturbs a live
	// thread's stack.
	tokSelfTestSlots = 2
	tokSelfTestSlot  = MaxThreads

	tokOwnerMask  = 1<<16 - 1
	tokExclReq    = 1 << 16
	tokCountShift = 32
	tokSharedInc  = 1 << tokCountShift
	tokSharedDec  = ^uint64(tokSharedInc - 1) // adding it subtracts tokSharedInc
)

// Bug reports: every function that can meet a bug returns one of these
// constant strings, or "" when all is well, and counts it in tokenBugs.
// Below the runtime the caller passes the message to the kernel's fatal
// routine; above it, it may panic with it.
const (
	ErrTokenSlot       = "lwkt: token: thread slot out of range"
	ErrTokenOverflow   = "lwkt: GetToken: thread already has MaxTokens tokrefs"
	ErrTokenPending    = "lwkt: token: thread has a tokref it has not acquired yet (switch first)"
	ErrTokenSharedExcl = "lwkt: GetToken: token-shared-excl: held shared by this thread, exclusive would livelock"
	ErrTokenNone       = "lwkt: RelToken: thread holds no token"
	ErrTokenOrder      = "lwkt: RelToken: token-order: not the most recently acquired token"
	ErrTokenCorrupt    = "lwkt: token: token word disagrees with the tokref (not the owner, or no shared count)"
	ErrTokenSwap       = "lwkt: TokenSwap: fewer than two tokrefs"
	ErrTokenLeak       = "lwkt: ExitTokens: thread exits with tokrefs"
)

// Token is a serializing token (struct lwkt_token). The zero value is a
// free token, ready to use; Init only names it.
//
// Where a Token may live: tokrefs refer to it by address, hidden from the
// GC, so it must not move and must not be freed while any thread has a
// tokref to it. Static memory (a package-level variable), the pool
// (PoolToken) and a field of a heap object that stays reachable while its
// token is held are all fine. A local variable is not: GetToken does not
// make its argument escape, so the compiler may put a local Token on a
// goroutine stack, and stacks move when they grow.
type Token struct {
	word       atomic.Uint64 // owner | exclreq | shared count, see the file comment
	collisions atomic.Uint64 // failed acquisitions (t_collisions)
	desc       string        // set by Init above the runtime, read-only after
}

// tokref is one entry of a thread's token stack.
type tokref struct {
	tok  uintptr // the Token's address
	mode refMode
}

// refMode is how a tokref holds its token.
type refMode uint8

const (
	refNone    refMode = iota // unused entry
	refExcl                   // owns the token word's owner field
	refShared                 // counted in the token word's shared count
	refRecurse                // covered by a deeper tokref of the same thread
)

// tokStack is one thread's tokens (td_toks_array, td_toks_stop,
// td_toks_have, td_contended). Touched only by the CPU that runs or
// switches the thread.
type tokStack struct {
	n         uint8 // tokrefs pushed: refs[0:n]
	have      uint8 // refs[0:have] are held; have is 0, n-1 (a pending GetToken) or n
	contended uint8 // consecutive GetAllTokens failures (saturates)
	refs      [MaxTokens]tokref
}

var (
	// tokrefs is every thread's token stack, indexed by thread slot; the
	// last tokSelfTestSlots belong to TokenSelfTest.
	tokrefs [MaxThreads + tokSelfTestSlots]tokStack

	// tokenBugs counts every bug report returned (and those GetAllTokens
	// can only count).
	tokenBugs atomic.Uint64

	// pool is the pool tokens, one per cache line.
	pool [PoolTokens]poolToken
)

type poolToken struct {
	Token
	_ [64 - unsafeSizeofToken]byte
}

// unsafeSizeofToken is unsafe.Sizeof(Token{}); TestTokenLayout checks it.
const unsafeSizeofToken = 32

//go:nosplit
func tokenAt(a uintptr) *Token { return (*Token)(mm.Ptr(uint64(a))) }

//go:nosplit
func tokenAddr(t *Token) uintptr { return uintptr(unsafe.Pointer(t)) }

//go:nosplit
func (ts *tokStack) ref(i uint8) *tokref { return &ts.refs[i%MaxTokens] }

//go:nosplit
func bug(msg string) string {
	tokenBugs.Add(1)
	return msg
}

// stack returns thread self's token stack, or nil for a slot out of range.
//
//go:nosplit
func stack(self int32) *tokStack {
	if uint32(self) >= uint32(len(tokrefs)) {
		tokenBugs.Add(1)
		return nil
	}
	return &tokrefs[self]
}

// tryExcl makes one attempt to take tok exclusively for thread self; it
// retries only when the word changed under its CAS. A blocking request
// (the thread will switch and retry) that fails sets exclreq.
//
//go:nosplit
func tryExcl(tok *Token, self int32, blocking bool) bool {
	me := uint64(self) + 1
	for {
		w := tok.word.Load()
		if w&^tokExclReq == 0 {
			if tok.word.CompareAndSwap(w, me) { // clears exclreq too
				return true
			}
			continue
		}
		if blocking && w&tokExclReq == 0 {
			tok.word.Or(tokExclReq)
		}
		return false
	}
}

// tryShared makes one attempt to take tok shared. others says whether the
// thread has other tokrefs, in which case it ignores exclreq (DragonFly
// gives exclusive requests priority only over threads asking for their
// first token). Unlike DragonFly, exclreq is also ignored when nobody holds
// the token shared: a free token is always granted, so a stale exclreq
// (its requester gave up) cannot starve shared requesters, while a stream
// of overlapping readers still drains for a waiting writer.
//
//go:nosplit
func tryShared(tok *Token, others bool) bool {
	w := tok.word.Load()
	if w&tokOwnerMask != 0 {
		return false
	}
	if w&tokExclReq != 0 && w>>tokCountShift != 0 && !others {
		return false
	}
	if (tok.word.Add(tokSharedInc)-tokSharedInc)&tokOwnerMask == 0 {
		return true
	}
	tok.word.Add(tokSharedDec) // an exclusive holder got in first
	return false
}

// acquire takes r's token for thread self, in r's mode. Recursive tokrefs
// need nothing: their deeper tokref is acquired in the same pass.
//
//go:nosplit
func acquire(self int32, r *tokref, others bool) bool {
	switch r.mode {
	case refExcl:
		return tryExcl(tokenAt(r.tok), self, true)
	case refShared:
		return tryShared(tokenAt(r.tok), others)
	}
	return true
}

// release gives up r's hold on its token. It returns false, changing
// nothing, if the word says r does not hold it (token-excl broken).
//
//go:nosplit
func release(self int32, r *tokref) bool {
	tok := tokenAt(r.tok)
	switch r.mode {
	case refExcl:
		for {
			w := tok.word.Load()
			if w&tokOwnerMask != uint64(self)+1 {
				return false
			}
			if tok.word.CompareAndSwap(w, w&^tokOwnerMask) {
				return true
			}
		}
	case refShared:
		for {
			w := tok.word.Load()
			if w>>tokCountShift == 0 {
				return false
			}
			if tok.word.CompareAndSwap(w, w-tokSharedInc) {
				return true
			}
		}
	}
	return true
}

// GetToken pushes a tokref for tok onto thread self's stack and tries to
// take tok exclusively (lwkt_gettoken). self must be the running thread,
// holding all of its tokens. It returns (true, "") when self holds tok,
// recursively if it held it already. It returns (false, "") when another
// thread holds it: the tokref stays pushed and self must switch away; the
// scheduler's GetAllTokens acquires tok, with the rest of the set, before
// self runs again (token-no-wait). Any other result is a bug report, with
// nothing pushed. Unlike DragonFly, GetToken does not spin before giving
// up: on one CPU the holder cannot run while we spin.
//
//go:nosplit
func GetToken(self int32, tok *Token) (bool, string) {
	return getToken(self, tok, refExcl, true)
}

// GetTokenShared is GetToken for a shared hold (lwkt_gettoken_shared):
// any number of threads may hold tok shared at once, but none while one
// holds it exclusively. Pool tokens should not be taken shared (two
// objects may hash to one token, and shared-then-exclusive is refused).
//
//go:nosplit
func GetTokenShared(self int32, tok *Token) (bool, string) {
	return getToken(self, tok, refShared, true)
}

// TryToken is GetToken that never leaves a tokref behind on failure
// (lwkt_trytoken): on (false, "") self's stack is as before, and it need
// not switch.
//
//go:nosplit
func TryToken(self int32, tok *Token) (bool, string) {
	return getToken(self, tok, refExcl, false)
}

//go:nosplit
func getToken(self int32, tok *Token, mode refMode, blocking bool) (bool, string) {
	ts := stack(self)
	if ts == nil {
		return false, ErrTokenSlot
	}
	n := ts.n
	if ts.have != n {
		return false, bug(ErrTokenPending)
	}
	if n >= MaxTokens {
		return false, bug(ErrTokenOverflow)
	}
	a := tokenAddr(tok)
	for i := uint8(0); i < n; i++ {
		if r := ts.ref(i); r.tok == a {
			// The deepest tokref for a token is never refRecurse.
			if r.mode == refShared && mode == refExcl {
				return false, bug(ErrTokenSharedExcl)
			}
			mode = refRecurse
			break
		}
	}
	r := ts.ref(n)
	r.tok, r.mode = a, mode
	ts.n = n + 1
	if acquire(self, r, n > 0) {
		ts.have = n + 1
		return true, ""
	}
	tok.collisions.Add(1)
	if !blocking {
		r.tok, r.mode = 0, refNone
		ts.n = n
	}
	return false, ""
}

// RelToken releases thread self's most recent tokref, which must be for
// tok (lwkt_reltoken; token-order). It returns "" on success. A tokref
// that a failed GetToken left pending is withdrawn without touching the
// token. Releasing anything but the top tokref changes nothing and
// returns ErrTokenOrder.
//
//go:nosplit
func RelToken(self int32, tok *Token) string {
	ts := stack(self)
	if ts == nil {
		return ErrTokenSlot
	}
	n := ts.n
	if n == 0 || n > MaxTokens {
		return bug(ErrTokenNone)
	}
	r := ts.ref(n - 1)
	if r.tok != tokenAddr(tok) {
		return bug(ErrTokenOrder)
	}
	msg := ""
	if ts.have == n && !release(self, r) {
		msg = bug(ErrTokenCorrupt)
	}
	r.tok, r.mode = 0, refNone
	ts.n = n - 1
	if ts.have > n-1 {
		ts.have = n - 1
	}
	return msg
}

// TokenSwap exchanges thread self's two most recent tokrefs, so that the
// older one can be released first (lwkt_token_swap). Two tokrefs for the
// same token are left as they are: the deeper one must stay the one that
// holds the token.
//
//go:nosplit
func TokenSwap(self int32) string {
	ts := stack(self)
	if ts == nil {
		return ErrTokenSlot
	}
	n := ts.n
	if n < 2 || n > MaxTokens {
		return bug(ErrTokenSwap)
	}
	if ts.have != n {
		return bug(ErrTokenPending)
	}
	r1, r2 := ts.ref(n-1), ts.ref(n-2)
	if r1.tok != r2.tok {
		*r1, *r2 = *r2, *r1
	}
	return ""
}

// RelAllTokens releases every token thread self holds, keeping its
// tokrefs for GetAllTokens (lwkt_relalltokens). The scheduler calls it
// when it switches self out (token-running). It returns "" or
// ErrTokenCorrupt (after releasing the others).
//
//go:nosplit
func RelAllTokens(self int32) string {
	ts := stack(self)
	if ts == nil {
		return ErrTokenSlot
	}
	return relAll(self, ts)
}

//go:nosplit
func relAll(self int32, ts *tokStack) string {
	msg := ""
	for i := ts.have; i > 0; i-- {
		if !release(self, ts.ref(i-1)) {
			msg = bug(ErrTokenCorrupt)
		}
	}
	ts.have = 0
	return msg
}

// GetAllTokens acquires thread self's whole token set (lwkt_getalltokens),
// all or nothing: on failure it releases whatever it took and returns
// false, and self must not run yet; the scheduler tries again later. It
// returns true at once if self already holds its set (or has none).
//
// Order: the stack's own order, until self has failed tokSortAfter times
// in a row; from then on, until it succeeds, address order
// (_lwkt_getalltokens_sorted). Address order is one global order, so two
// threads contending for the same tokens cannot keep taking one each and
// backing off in step (livelock). DragonFly switches on lwkt_switch's
// spin count; here the thread's own failures count.
//
//go:nosplit
func GetAllTokens(self int32) bool {
	ts := stack(self)
	if ts == nil {
		return false
	}
	n := ts.n
	if ts.have == n {
		ts.contended = 0
		return true
	}
	if ts.have != 0 {
		relAll(self, ts) // a failed GetToken left the others held
	}
	var order [MaxTokens]uint8
	tokOrder(ts, &order, ts.contended >= tokSortAfter)
	for k := uint8(0); k < n && k < MaxTokens; k++ {
		r := ts.ref(order[k])
		if acquire(self, r, n > 1) {
			continue
		}
		tokenAt(r.tok).collisions.Add(1)
		for ; k > 0; k-- {
			if !release(self, ts.ref(order[(k-1)%MaxTokens])) {
				tokenBugs.Add(1)
			}
		}
		if ts.contended < 255 {
			ts.contended++
		}
		return false
	}
	ts.have = n
	ts.contended = 0
	return true
}

// tokOrder fills order[0:ts.n] with the indices of ts's tokrefs in the
// order GetAllTokens acquires them: stack order, or by token address when
// sorted. The sort is stable (insertion sort), so a token's deepest
// tokref comes before its recursive ones, although the recursive ones
// would need nothing either way.
//
//go:nosplit
func tokOrder(ts *tokStack, order *[MaxTokens]uint8, sorted bool) {
	for i := range order {
		order[i] = uint8(i)
	}
	if !sorted {
		return
	}
	for i := uint8(1); i < ts.n && i < MaxTokens; i++ {
		x := order[i]
		a := ts.ref(x).tok
		j := i
		for ; j > 0 && ts.ref(order[(j-1)%MaxTokens]).tok > a; j-- {
			order[j%MaxTokens] = order[(j-1)%MaxTokens]
		}
		order[j%MaxTokens] = x
	}
}

// ExitTokens empties thread self's token stack for a thread that exits
// (or a slot about to be reused), releasing anything still held. A thread
// should exit holding nothing: it returns ErrTokenLeak if it had tokrefs.
//
//go:nosplit
func ExitTokens(self int32) string {
	ts := stack(self)
	if ts == nil {
		return ErrTokenSlot
	}
	msg := relAll(self, ts)
	if ts.n != 0 && msg == "" {
		msg = bug(ErrTokenLeak)
	}
	*ts = tokStack{}
	return msg
}

// Holding reports whether thread self holds tok now (by any of its
// tokrefs). Ask it on self's CPU.
//
//go:nosplit
func Holding(self int32, tok *Token) bool {
	ts := stack(self)
	if ts == nil {
		return false
	}
	a := tokenAddr(tok)
	for i := uint8(0); i < ts.have && i < MaxTokens; i++ {
		if ts.ref(i).tok == a {
			return true
		}
	}
	return false
}

// TokenCount returns how many tokrefs thread self has, held or pending,
// recursive ones included. Ask it on self's CPU.
//
//go:nosplit
func TokenCount(self int32) int {
	ts := stack(self)
	if ts == nil {
		return 0
	}
	return int(ts.n)
}

// PoolToken returns the pool token for the object at addr
// (lwkt_token_pool_lookup): objects without a token of their own share
// PoolTokens tokens by address hash. Two objects may get the same token,
// which is harmless for exclusive holds (recursion) but makes shared holds
// risky (token-shared-excl). DragonFly hashes with two prime moduli; this
// is Fibonacci hashing of the address.
//
//go:nosplit
func PoolToken(addr uintptr) *Token {
	h := uint64(addr) * 0x9E3779B97F4A7C15
	return &pool[h>>(64-poolBits)%PoolTokens].Token
}

const poolBits = 10 // log2(PoolTokens)

// Owner returns the slot of the thread holding t exclusively, or -1.
//
//go:nosplit
func (t *Token) Owner() int32 { return int32(t.word.Load()&tokOwnerMask) - 1 }

// SharedCount returns how many shared holds t has (momentarily more while
// a shared request backs out).
//
//go:nosplit
func (t *Token) SharedCount() int { return int(t.word.Load() >> tokCountShift) }

// Collisions returns how many acquisitions of t have failed.
//
//go:nosplit
func (t *Token) Collisions() uint64 { return t.collisions.Load() }

// TokenBugs returns how many bug reports the token functions have made.
//
//go:nosplit
func TokenBugs() uint64 { return tokenBugs.Load() }
