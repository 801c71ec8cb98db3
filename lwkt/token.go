package lwkt

// This file runs above the Go runtime: naming tokens, printing them, and
// TokenSelfTest. The token logic itself is in token_nosplit.go.
//
// Go code cannot own a token. A token belongs to the LWKT thread that
// holds it, and a goroutine can be moved to another thread (another CPU)
// at any call with a stack-check prologue, runtime.LockOSThread or not
// (a stop-the-world parks the thread; two-worlds.md, "Go code cannot hold
// a CPU"). Tokens are taken and released by below-runtime code: the trap
// path, IPI handlers and TrapCall bodies, within one nosplit call.

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Init names t (lwkt_token_init) and makes it free. Call it before any
// thread can use t, above the runtime (it stores a string). A zero Token
// needs no Init to work; the name only shows in reports.
func (t *Token) Init(desc string) {
	t.word.Store(0)
	t.collisions.Store(0)
	t.desc = desc
}

// Desc returns t's name: the one Init gave it, "pool" for a pool token,
// "token" otherwise.
func (t *Token) Desc() string {
	switch {
	case t.desc != "":
		return t.desc
	case isPoolToken(t):
		return "pool"
	}
	return "token"
}

func isPoolToken(t *Token) bool {
	a := tokenAddr(t)
	return a >= tokenAddr(&pool[0].Token) && a <= tokenAddr(&pool[PoolTokens-1].Token)
}

// String describes t's state for the shell, e.g. "vm: owner 3, 12 collisions".
func (t *Token) String() string {
	w := t.word.Load()
	s := t.Desc() + ": "
	switch {
	case w&tokOwnerMask != 0:
		s += fmt.Sprintf("owner %d", int(w&tokOwnerMask)-1)
	case w>>tokCountShift != 0:
		s += fmt.Sprintf("%d shared", w>>tokCountShift)
	default:
		s += "free"
	}
	if w&tokExclReq != 0 {
		s += ", exclusive requested"
	}
	return s + fmt.Sprintf(", %d collisions", t.collisions.Load())
}

var (
	selfTestToks     [3]Token
	tokSelfTestBusy  atomic.Bool
	errTokSelfTestOn = errors.New("lwkt: TokenSelfTest already running")
)

// TokenSelfTest checks the token invariants (token_nosplit.go) on private
// tokens, playing two threads with the spare token stacks past the thread
// slots, so it disturbs no live thread: token-excl, token-recursion,
// token-order, token-running (RelAllTokens/GetAllTokens round trip, all or
// nothing) and token-shared-excl. It runs on one CPU and above the runtime
// (shell, boot tests).
func TokenSelfTest() error {
	if !tokSelfTestBusy.CompareAndSwap(false, true) {
		return errTokSelfTestOn
	}
	defer tokSelfTestBusy.Store(false)
	const a, b = tokSelfTestSlot, tokSelfTestSlot + 1
	t0, t1, t2 := &selfTestToks[0], &selfTestToks[1], &selfTestToks[2]
	t0.Init("selftest0")
	t1.Init("selftest1")
	t2.Init("selftest2")
	ExitTokens(a)
	ExitTokens(b)
	bugs := TokenBugs()
	err := tokenSelfTest(a, b, t0, t1, t2)
	ExitTokens(a)
	ExitTokens(b)
	if err == nil && TokenBugs() != bugs+5 { // the five bugs provoked on purpose
		err = fmt.Errorf("lwkt: token: %d bug reports, expected 5", TokenBugs()-bugs)
	}
	return err
}

func tokenSelfTest(a, b int32, t0, t1, t2 *Token) error {
	get := func(self int32, t *Token, want bool) error {
		ok, msg := GetToken(self, t)
		if msg != "" || ok != want {
			return fmt.Errorf("lwkt: token: GetToken(%d, %s) = %v %q, want %v", self, t.Desc(), ok, msg, want)
		}
		return nil
	}
	rel := func(self int32, t *Token, want string) error {
		if msg := RelToken(self, t); msg != want {
			return fmt.Errorf("lwkt: token: RelToken(%d, %s) = %q, want %q", self, t.Desc(), msg, want)
		}
		return nil
	}

	// token-excl: a holds t0; b can neither try it nor get it, but a
	// failed GetToken leaves b's tokref pending.
	if err := get(a, t0, true); err != nil {
		return err
	}
	if ok, _ := TryToken(b, t0); ok || TokenCount(b) != 0 {
		return fmt.Errorf("lwkt: token-excl: TryToken took a held token or left %d tokrefs", TokenCount(b))
	}
	if err := get(b, t0, false); err != nil {
		return err
	}
	if t0.Owner() != a || Holding(b, t0) || TokenCount(b) != 1 {
		return fmt.Errorf("lwkt: token-excl: owner %d, b holding %v with %d tokrefs", t0.Owner(), Holding(b, t0), TokenCount(b))
	}

	// token-recursion: a takes t0 twice more; it stays held until the last release.
	for i := 0; i < 2; i++ {
		if err := get(a, t0, true); err != nil {
			return err
		}
	}
	for i := 0; i < 3; i++ {
		if GetAllTokens(b) || t0.Owner() != a {
			return fmt.Errorf("lwkt: token-recursion: b got t0 with %d of a's 3 holds released", i)
		}
		if err := rel(a, t0, ""); err != nil {
			return err
		}
	}
	if !GetAllTokens(b) || !Holding(b, t0) {
		return errors.New("lwkt: token-running: b could not get t0 once a released it")
	}
	if err := rel(b, t0, ""); err != nil {
		return err
	}

	// token-order: a takes t0 then t1; releasing t0 first is refused
	// (bug 1) until TokenSwap.
	if err := get(a, t0, true); err != nil {
		return err
	}
	if err := get(a, t1, true); err != nil {
		return err
	}
	if err := rel(a, t0, ErrTokenOrder); err != nil {
		return err
	}
	if !Holding(a, t0) || !Holding(a, t1) {
		return errors.New("lwkt: token-order: a refused release dropped a token")
	}
	if msg := TokenSwap(a); msg != "" {
		return errors.New(msg)
	}
	if err := rel(a, t0, ""); err != nil {
		return err
	}
	if err := rel(a, t1, ""); err != nil {
		return err
	}
	if err := rel(a, t1, ErrTokenNone); err != nil { // bug 2
		return err
	}

	// token-running: a holds {t0, t1}; RelAllTokens frees both and keeps
	// the tokrefs. While b holds t1, GetAllTokens(a) fails and leaves t0
	// free (all or nothing); once b lets go, it takes both.
	if err := get(a, t0, true); err != nil {
		return err
	}
	if err := get(a, t1, true); err != nil {
		return err
	}
	if msg := RelAllTokens(a); msg != "" {
		return errors.New(msg)
	}
	if Holding(a, t0) || t0.Owner() != -1 || t1.Owner() != -1 || TokenCount(a) != 2 {
		return errors.New("lwkt: token-running: RelAllTokens left a token held or lost a tokref")
	}
	if err := get(b, t1, true); err != nil {
		return err
	}
	if GetAllTokens(a) || t0.Owner() != -1 || t1.Owner() != b {
		return fmt.Errorf("lwkt: token-running: partial GetAllTokens: t0 owner %d, t1 owner %d", t0.Owner(), t1.Owner())
	}
	if err := rel(b, t1, ""); err != nil {
		return err
	}
	if !GetAllTokens(a) || t0.Owner() != a || t1.Owner() != a {
		return errors.New("lwkt: token-running: GetAllTokens failed on free tokens")
	}
	if err := rel(a, t1, ""); err != nil {
		return err
	}
	if err := rel(a, t0, ""); err != nil {
		return err
	}

	// token-shared-excl: a and b both hold t2 shared; a asking for it
	// exclusively is refused (bug 3), and so is b's exclusive try.
	for _, self := range []int32{a, b} {
		if ok, msg := GetTokenShared(self, t2); !ok || msg != "" {
			return fmt.Errorf("lwkt: token: GetTokenShared(%d) = %v %q", self, ok, msg)
		}
	}
	if t2.SharedCount() != 2 {
		return fmt.Errorf("lwkt: token-excl: %d shared holds, want 2", t2.SharedCount())
	}
	if ok, msg := GetToken(a, t2); ok || msg != ErrTokenSharedExcl || TokenCount(a) != 1 {
		return fmt.Errorf("lwkt: token-shared-excl: GetToken after shared = %v %q, %d tokrefs", ok, msg, TokenCount(a))
	}
	if err := rel(b, t2, ""); err != nil {
		return err
	}
	if ok, _ := TryToken(b, t2); ok {
		return errors.New("lwkt: token-excl: exclusive granted while a holds it shared")
	}
	if err := rel(a, t2, ""); err != nil {
		return err
	}

	// Bugs 4 and 5: a slot out of range; a pending tokref blocks GetToken.
	if msg := RelAllTokens(-1); msg != ErrTokenSlot {
		return fmt.Errorf("lwkt: token: RelAllTokens(-1) = %q", msg)
	}
	if err := get(a, t0, true); err != nil {
		return err
	}
	if err := get(b, t0, false); err != nil {
		return err
	}
	if ok, msg := GetToken(b, t1); ok || msg != ErrTokenPending {
		return fmt.Errorf("lwkt: token: GetToken with a pending tokref = %v %q", ok, msg)
	}
	if err := rel(b, t0, ""); err != nil { // withdraws the pending tokref
		return err
	}
	if err := rel(a, t0, ""); err != nil {
		return err
	}
	for _, t := range []*Token{t0, t1, t2} {
		if w := t.word.Load(); w&^tokExclReq != 0 {
			return fmt.Errorf("lwkt: token: %s not free at the end: %s", t.Desc(), t)
		}
	}
	return nil
}
