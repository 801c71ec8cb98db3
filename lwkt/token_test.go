package lwkt

import (
	"math/rand"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// Tokens the tests use. They are package-level variables because a
// Token must not live on a goroutine stack (see Token).
var (
	testToks   [4]Token
	testCounts [4]int // testCounts[i] is protected by testToks[i]
	testSeen   [4]int // slot+1 of the thread inside testToks[i]'s section
	manyToks   [MaxTokens + 1]Token
)

// resetTokens empties every thread's token stack and frees the test
// tokens, before and after each test.
func resetTokens(t *testing.T) {
	clean := func() {
		for i := range tokrefs {
			tokrefs[i] = tokStack{}
		}
		for i := range testToks {
			testToks[i].Init("test")
			testCounts[i], testSeen[i] = 0, 0
		}
		for i := range manyToks {
			manyToks[i].Init("many")
		}
	}
	clean()
	t.Cleanup(clean)
}

func mustGet(t *testing.T, self int32, tok *Token, want bool) {
	t.Helper()
	if ok, msg := GetToken(self, tok); ok != want || msg != "" {
		t.Fatalf("GetToken(%d) = %v %q, want %v", self, ok, msg, want)
	}
}

func mustRel(t *testing.T, self int32, tok *Token) {
	t.Helper()
	if msg := RelToken(self, tok); msg != "" {
		t.Fatalf("RelToken(%d) = %q", self, msg)
	}
}

func TestTokenSelfTest(t *testing.T) {
	resetTokens(t)
	if err := TokenSelfTest(); err != nil {
		t.Fatal(err)
	}
}

func TestTokenLayout(t *testing.T) {
	if unsafe.Sizeof(Token{}) != unsafeSizeofToken {
		t.Errorf("unsafeSizeofToken %d, sizeof(Token) %d", unsafeSizeofToken, unsafe.Sizeof(Token{}))
	}
	if unsafe.Sizeof(poolToken{}) != 64 {
		t.Errorf("sizeof(poolToken) %d, want a cache line", unsafe.Sizeof(poolToken{}))
	}
	if 1<<poolBits != PoolTokens {
		t.Errorf("poolBits %d, PoolTokens %d", poolBits, PoolTokens)
	}
	if MaxThreads+tokSelfTestSlots > tokOwnerMask {
		t.Errorf("thread slots do not fit the owner field")
	}
}

// TestTokenExclusive: token-excl between two threads, and a failed
// GetToken leaving its tokref pending while TryToken leaves nothing.
func TestTokenExclusive(t *testing.T) {
	resetTokens(t)
	tok := &testToks[0]
	mustGet(t, 1, tok, true)
	if tok.Owner() != 1 || !Holding(1, tok) {
		t.Fatalf("owner %d, holding %v", tok.Owner(), Holding(1, tok))
	}
	if ok, msg := TryToken(2, tok); ok || msg != "" || TokenCount(2) != 0 {
		t.Fatalf("TryToken on a held token = %v %q, %d tokrefs left", ok, msg, TokenCount(2))
	}
	mustGet(t, 2, tok, false)
	if TokenCount(2) != 1 || Holding(2, tok) {
		t.Fatalf("after a failed GetToken: %d tokrefs, holding %v; want 1, false", TokenCount(2), Holding(2, tok))
	}
	if tok.Collisions() != 2 {
		t.Errorf("collisions %d, want 2", tok.Collisions())
	}
	if GetAllTokens(2) {
		t.Fatal("GetAllTokens took a token another thread holds")
	}
	mustRel(t, 1, tok)
	if !GetAllTokens(2) || tok.Owner() != 2 || !Holding(2, tok) {
		t.Fatalf("GetAllTokens after the release: owner %d", tok.Owner())
	}
	mustRel(t, 2, tok)
	if tok.Owner() != -1 || TokenCount(2) != 0 {
		t.Fatalf("owner %d, %d tokrefs after the last release", tok.Owner(), TokenCount(2))
	}
}

// TestTokenRecursion: token-recursion: each hold needs a release; the
// token stays held until the deepest one goes.
func TestTokenRecursion(t *testing.T) {
	resetTokens(t)
	t0, t1 := &testToks[0], &testToks[1]
	mustGet(t, 1, t0, true)
	mustGet(t, 1, t1, true)
	mustGet(t, 1, t0, true)
	if ok, msg := GetTokenShared(1, t0); !ok || msg != "" {
		t.Fatalf("shared after exclusive by the same thread = %v %q", ok, msg)
	}
	if TokenCount(1) != 4 || t0.SharedCount() != 0 {
		t.Fatalf("%d tokrefs, shared count %d", TokenCount(1), t0.SharedCount())
	}
	mustRel(t, 1, t0)
	mustRel(t, 1, t0)
	if t0.Owner() != 1 {
		t.Fatal("recursive releases freed the token")
	}
	if ok, _ := TryToken(2, t0); ok {
		t.Fatal("another thread took a recursively held token")
	}
	// The recursive tokrefs survive a block: RelAll, GetAll.
	mustGet(t, 1, t0, true)
	RelAllTokens(1)
	if t0.Owner() != -1 || t1.Owner() != -1 {
		t.Fatal("RelAllTokens left a recursively held token held")
	}
	if !GetAllTokens(1) || t0.Owner() != 1 || t1.Owner() != 1 {
		t.Fatal("GetAllTokens did not restore the recursive set")
	}
	mustRel(t, 1, t0)
	mustRel(t, 1, t1)
	if t0.Owner() != 1 {
		t.Fatal("token freed before its deepest tokref was released")
	}
	mustRel(t, 1, t0)
	if t0.Owner() != -1 || TokenCount(1) != 0 {
		t.Fatal("token still held after its last release")
	}
}

// TestTokenReleaseOrder: token-order.
func TestTokenReleaseOrder(t *testing.T) {
	resetTokens(t)
	t0, t1 := &testToks[0], &testToks[1]
	if msg := RelToken(1, t0); msg != ErrTokenNone {
		t.Fatalf("release with no tokens = %q", msg)
	}
	mustGet(t, 1, t0, true)
	mustGet(t, 1, t1, true)
	bugs := TokenBugs()
	if msg := RelToken(1, t0); msg != ErrTokenOrder {
		t.Fatalf("out-of-order release = %q, want %q", msg, ErrTokenOrder)
	}
	if TokenBugs() != bugs+1 || TokenCount(1) != 2 || t0.Owner() != 1 || t1.Owner() != 1 {
		t.Fatal("a refused release changed something")
	}
	if msg := TokenSwap(1); msg != "" {
		t.Fatal(msg)
	}
	mustRel(t, 1, t0)
	mustRel(t, 1, t1)

	// Swapping two tokrefs for one token leaves them: the deeper one holds it.
	mustGet(t, 1, t0, true)
	mustGet(t, 1, t0, true)
	if msg := TokenSwap(1); msg != "" {
		t.Fatal(msg)
	}
	mustRel(t, 1, t0)
	if t0.Owner() != 1 {
		t.Fatal("swap of a recursive pair made the top tokref the holder")
	}
	mustRel(t, 1, t0)
	if msg := TokenSwap(1); msg != ErrTokenSwap {
		t.Fatalf("swap with no tokrefs = %q", msg)
	}
}

// TestTokenAllOrNothing: token-running: GetAllTokens takes the whole set
// or leaves every token of it free, in stack and in address order.
func TestTokenAllOrNothing(t *testing.T) {
	for _, sorted := range []bool{false, true} {
		resetTokens(t)
		for i := range testToks {
			mustGet(t, 1, &testToks[i], true)
		}
		RelAllTokens(1)
		if TokenCount(1) != 4 {
			t.Fatalf("RelAllTokens dropped tokrefs: %d left", TokenCount(1))
		}
		mustGet(t, 2, &testToks[2], true)
		if sorted {
			tokrefs[1].contended = tokSortAfter
		}
		for try := 0; try < 2*tokSortAfter; try++ {
			if GetAllTokens(1) {
				t.Fatal("GetAllTokens succeeded with a token held elsewhere")
			}
			for i := range testToks {
				if i != 2 && testToks[i].Owner() != -1 {
					t.Fatalf("sorted=%v: failed GetAllTokens left token %d held by %d", sorted, i, testToks[i].Owner())
				}
			}
		}
		mustRel(t, 2, &testToks[2])
		if !GetAllTokens(1) || tokrefs[1].contended != 0 {
			t.Fatal("GetAllTokens failed on free tokens, or kept its failure count")
		}
		for i := range testToks {
			if !Holding(1, &testToks[i]) {
				t.Fatalf("token %d not held after GetAllTokens", i)
			}
		}
		if GetAllTokens(1) != true {
			t.Fatal("GetAllTokens on a thread that holds its set")
		}
		for i := len(testToks) - 1; i >= 0; i-- {
			mustRel(t, 1, &testToks[i])
		}
	}
}

// TestTokenPendingGetAll: after a failed GetToken the thread's other tokens
// are still held; GetAllTokens (without RelAllTokens first) gets them all.
func TestTokenPendingGetAll(t *testing.T) {
	resetTokens(t)
	t0, t1 := &testToks[0], &testToks[1]
	mustGet(t, 2, t1, true)
	mustGet(t, 1, t0, true)
	mustGet(t, 1, t1, false)
	if !Holding(1, t0) || Holding(1, t1) {
		t.Fatal("pending state wrong")
	}
	if ok, msg := GetToken(1, &testToks[2]); ok || msg != ErrTokenPending {
		t.Fatalf("GetToken with a pending tokref = %v %q", ok, msg)
	}
	if msg := TokenSwap(1); msg != ErrTokenPending {
		t.Fatalf("TokenSwap with a pending tokref = %q", msg)
	}
	if GetAllTokens(1) || t0.Owner() != -1 {
		t.Fatal("failed GetAllTokens kept t0")
	}
	mustRel(t, 2, t1)
	if !GetAllTokens(1) || !Holding(1, t0) || !Holding(1, t1) {
		t.Fatal("GetAllTokens did not take the set")
	}
	mustRel(t, 1, t1)
	mustRel(t, 1, t0)

	// RelToken withdraws a pending tokref without touching its token.
	mustGet(t, 2, t1, true)
	mustGet(t, 1, t1, false)
	mustRel(t, 1, t1)
	if TokenCount(1) != 0 || t1.Owner() != 2 {
		t.Fatal("withdrawing a pending tokref touched the token")
	}
	mustRel(t, 2, t1)
}

// TestTokenShared: shared holders coexist and exclude exclusive ones;
// token-shared-excl; exclreq makes new lone readers wait for a writer.
func TestTokenShared(t *testing.T) {
	resetTokens(t)
	tok, other := &testToks[0], &testToks[1]
	for self := int32(1); self <= 2; self++ {
		if ok, msg := GetTokenShared(self, tok); !ok || msg != "" {
			t.Fatalf("GetTokenShared(%d) = %v %q", self, ok, msg)
		}
	}
	if tok.SharedCount() != 2 || tok.Owner() != -1 {
		t.Fatalf("shared count %d, owner %d", tok.SharedCount(), tok.Owner())
	}
	// token-shared-excl: refused, nothing pushed.
	if ok, msg := GetToken(1, tok); ok || msg != ErrTokenSharedExcl || TokenCount(1) != 1 {
		t.Fatalf("exclusive after shared = %v %q, %d tokrefs", ok, msg, TokenCount(1))
	}
	// Shared again by the same thread is fine.
	if ok, msg := GetTokenShared(1, tok); !ok || msg != "" || tok.SharedCount() != 2 {
		t.Fatalf("shared twice = %v %q, count %d", ok, msg, tok.SharedCount())
	}
	mustRel(t, 1, tok)
	// A writer fails and sets exclreq.
	mustGet(t, 3, tok, false)
	if tok.word.Load()&tokExclReq == 0 {
		t.Fatal("a failed blocking exclusive request did not set exclreq")
	}
	// A new reader with no other token yields to it; one holding another
	// token does not.
	if ok, _ := GetTokenShared(4, tok); ok {
		t.Fatal("a lone reader overtook a waiting writer")
	}
	RelToken(4, tok) // withdraw
	mustGet(t, 5, other, true)
	if ok, _ := GetTokenShared(5, tok); !ok {
		t.Fatal("a reader holding another token waited for exclreq")
	}
	mustRel(t, 5, tok)
	mustRel(t, 5, other)
	mustRel(t, 1, tok)
	mustRel(t, 2, tok)
	// The token is free: the writer gets it and clears exclreq.
	if !GetAllTokens(3) || tok.Owner() != 3 || tok.word.Load()&tokExclReq != 0 {
		t.Fatalf("writer after the readers left: %s", tok)
	}
	if ok, _ := GetTokenShared(4, tok); ok {
		t.Fatal("a reader got a token held exclusively")
	}
	RelToken(4, tok)
	mustRel(t, 3, tok)
	// A stale exclreq does not keep readers from a free token.
	tok.word.Or(tokExclReq)
	if ok, _ := GetTokenShared(4, tok); !ok {
		t.Fatal("a stale exclreq starved a reader of a free token")
	}
	mustRel(t, 4, tok)
}

func TestTokenOverflowAndSlots(t *testing.T) {
	resetTokens(t)
	for i := 0; i < MaxTokens; i++ {
		mustGet(t, 1, &manyToks[i], true)
	}
	if ok, msg := GetToken(1, &manyToks[MaxTokens]); ok || msg != ErrTokenOverflow || TokenCount(1) != MaxTokens {
		t.Fatalf("GetToken past MaxTokens = %v %q", ok, msg)
	}
	RelAllTokens(1)
	if !GetAllTokens(1) {
		t.Fatal("GetAllTokens of a full stack")
	}
	for i := MaxTokens - 1; i >= 0; i-- {
		mustRel(t, 1, &manyToks[i])
	}
	for _, self := range []int32{-1, MaxThreads + tokSelfTestSlots} {
		if ok, msg := GetToken(self, &testToks[0]); ok || msg != ErrTokenSlot {
			t.Errorf("GetToken(%d) = %v %q", self, ok, msg)
		}
		if RelToken(self, &testToks[0]) != ErrTokenSlot || RelAllTokens(self) != ErrTokenSlot ||
			GetAllTokens(self) || Holding(self, &testToks[0]) || TokenCount(self) != 0 {
			t.Errorf("slot %d accepted", self)
		}
	}
	// ExitTokens releases and reports leftovers.
	mustGet(t, 1, &testToks[0], true)
	if msg := ExitTokens(1); msg != ErrTokenLeak || testToks[0].Owner() != -1 || TokenCount(1) != 0 {
		t.Fatalf("ExitTokens = %q, owner %d", msg, testToks[0].Owner())
	}
	if msg := ExitTokens(1); msg != "" {
		t.Fatalf("ExitTokens of an empty stack = %q", msg)
	}
}

func TestTokenSortedOrder(t *testing.T) {
	resetTokens(t)
	// Push in the order 3, 1, 3 (recursive), 0, 2.
	for _, i := range []int{3, 1, 3, 0, 2} {
		mustGet(t, 1, &testToks[i], true)
	}
	var order [MaxTokens]uint8
	tokOrder(&tokrefs[1], &order, false)
	if got := order[:5]; got[0] != 0 || got[4] != 4 {
		t.Fatalf("stack order %v", got)
	}
	tokOrder(&tokrefs[1], &order, true)
	ts := &tokrefs[1]
	for k := 1; k < 5; k++ {
		a, b := ts.refs[order[k-1]], ts.refs[order[k]]
		if a.tok > b.tok || (a.tok == b.tok && order[k-1] > order[k]) {
			t.Fatalf("sorted order %v not by address, stable", order[:5])
		}
	}
	if ts.refs[order[0]].tok != tokenAddr(&testToks[0]) {
		t.Fatalf("sorted order starts with %v", order[:5])
	}
	RelAllTokens(1)
	ts.contended = tokSortAfter
	if !GetAllTokens(1) {
		t.Fatal("sorted GetAllTokens failed on free tokens")
	}
	for _, i := range []int{2, 0, 3, 1, 3} {
		mustRel(t, 1, &testToks[i])
	}
}

func TestTokenPool(t *testing.T) {
	var x [2]uint64
	if PoolToken(uintptr(unsafe.Pointer(&x))) != PoolToken(uintptr(unsafe.Pointer(&x))) {
		t.Fatal("PoolToken not a function of the address")
	}
	used := map[*Token]bool{}
	for a := uintptr(0x100000); a < 0x100000+64*4096; a += 64 {
		used[PoolToken(a)] = true
	}
	if len(used) < PoolTokens*3/4 {
		t.Errorf("4096 consecutive 64-byte objects hash to only %d of %d pool tokens", len(used), PoolTokens)
	}
	if d := PoolToken(0x1234).Desc(); d != "pool" {
		t.Errorf("pool token desc %q", d)
	}
}

func TestTokenAllocs(t *testing.T) {
	resetTokens(t)
	t0, t1 := &testToks[0], &testToks[1]
	n := testing.AllocsPerRun(100, func() {
		GetToken(1, t0)
		GetTokenShared(1, t1)
		GetToken(1, t0)
		TryToken(2, t0)
		Holding(1, t1)
		TokenSwap(1)
		RelAllTokens(1)
		GetAllTokens(1)
		tokrefs[1].contended = tokSortAfter
		RelAllTokens(1)
		GetAllTokens(1)
		RelToken(1, t1)
		RelToken(1, t0)
		RelToken(1, t0)
		PoolToken(0x1000)
		ExitTokens(1)
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// TestTokenStress: goroutines play threads on different CPUs. Each round a
// thread takes 1-3 random tokens of testToks in random order (sometimes
// one twice), switching away and re-acquiring its whole set whenever an
// acquisition fails, bumps the plain counters they protect, sometimes
// blocks (RelAllTokens, run others, GetAllTokens) and bumps them again,
// then releases in reverse order. The race detector checks token-excl on
// the counters; the totals must be exact; a deadline catches deadlock and
// livelock.
func TestTokenStress(t *testing.T) {
	resetTokens(t)
	const threads = 8
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	deadline := time.Now().Add(60 * time.Second)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		want     [len(testToks)]int
		switches [threads]int
	)
	errs := make(chan string, threads)
	for th := 0; th < threads; th++ {
		wg.Add(1)
		go func(self int32) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(self)))
			var mine [len(testToks)]int
			// resume is the scheduler's side: retry GetAllTokens, letting
			// other threads run, until the set is ours.
			resume := func() bool {
				RelAllTokens(self)
				for tries := 0; !GetAllTokens(self); tries++ {
					switches[self]++
					runtime.Gosched()
					if tries%256 == 255 && time.Now().After(deadline) {
						errs <- "livelock: GetAllTokens never succeeded"
						return false
					}
				}
				return true
			}
			// section is the protected work: claim and bump each token's state.
			section := func(set []int) bool {
				for _, i := range set {
					testSeen[i] = int(self) + 1
					testCounts[i]++
					mine[i]++
				}
				if rng.Intn(4) == 0 {
					runtime.Gosched() // a long section: others run meanwhile
				}
				for _, i := range set {
					if testSeen[i] != int(self)+1 {
						errs <- "token-excl: another thread inside a held token's section"
						return false
					}
				}
				return true
			}
			for r := 0; r < rounds; r++ {
				k := 1 + rng.Intn(3)
				set := rng.Perm(len(testToks))[:k]
				pushed := append([]int(nil), set...)
				if rng.Intn(3) == 0 {
					pushed = append(pushed, set[rng.Intn(k)]) // recursive
				}
				for _, i := range pushed {
					ok, msg := GetToken(self, &testToks[i])
					if msg != "" {
						errs <- msg
						return
					}
					if !ok && !resume() {
						return
					}
				}
				if !section(set) {
					return
				}
				if rng.Intn(3) == 0 { // block and resume
					if !resume() || !section(set) {
						return
					}
				}
				for j := len(pushed) - 1; j >= 0; j-- {
					if msg := RelToken(self, &testToks[pushed[j]]); msg != "" {
						errs <- msg
						return
					}
				}
				if TokenCount(self) != 0 {
					errs <- "tokrefs left after releasing all"
					return
				}
			}
			mu.Lock()
			for i := range want {
				want[i] += mine[i]
			}
			mu.Unlock()
		}(int32(th))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	total := 0
	for i := range testToks {
		if testCounts[i] != want[i] {
			t.Errorf("token %d: counter %d, want %d (token-excl broken)", i, testCounts[i], want[i])
		}
		if testToks[i].word.Load()&^tokExclReq != 0 {
			t.Errorf("token %d not free at the end: %s", i, &testToks[i])
		}
		total += want[i]
	}
	sw := 0
	for _, s := range switches {
		sw += s
	}
	t.Logf("%d protected increments, %d failed GetAllTokens, collisions %d %d %d %d",
		total, sw, testToks[0].Collisions(), testToks[1].Collisions(), testToks[2].Collisions(), testToks[3].Collisions())
}

// TestTokenSharedStress: readers hold tokens shared and read the counters
// while writers hold them exclusively and bump them; the race detector
// checks that no reader overlaps a writer, and every writer must finish
// (exclreq keeps lone readers from starving it).
func TestTokenSharedStress(t *testing.T) {
	resetTokens(t)
	const readers, writers = 4, 3
	rounds := 2000
	if testing.Short() {
		rounds = 200
	}
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan string, readers+writers)
	resume := func(self int32) bool {
		RelAllTokens(self)
		for tries := 0; !GetAllTokens(self); tries++ {
			runtime.Gosched()
			if tries%256 == 255 && time.Now().After(deadline) {
				errs <- "livelock: GetAllTokens never succeeded"
				return false
			}
		}
		return true
	}
	var writes [writers][len(testToks)]int
	for th := 0; th < readers+writers; th++ {
		wg.Add(1)
		go func(self int32) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(self) + 100))
			writer := int(self) < writers
			for r := 0; r < rounds; r++ {
				set := rng.Perm(len(testToks))[:1+rng.Intn(2)]
				for _, i := range set {
					var ok bool
					var msg string
					if writer {
						ok, msg = GetToken(self, &testToks[i])
					} else {
						ok, msg = GetTokenShared(self, &testToks[i])
					}
					if msg != "" {
						errs <- msg
						return
					}
					if !ok && !resume(self) {
						return
					}
				}
				sum := 0
				for _, i := range set {
					if writer {
						testCounts[i]++
						writes[self][i]++
					} else {
						sum += testCounts[i]
					}
				}
				_ = sum
				if rng.Intn(8) == 0 && !resume(self) {
					return
				}
				for j := len(set) - 1; j >= 0; j-- {
					if msg := RelToken(self, &testToks[set[j]]); msg != "" {
						errs <- msg
						return
					}
				}
			}
		}(int32(th))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	for i := range testToks {
		want := 0
		for w := range writes {
			want += writes[w][i]
		}
		if testCounts[i] != want {
			t.Errorf("token %d: counter %d, want %d", i, testCounts[i], want)
		}
		if w := testToks[i].word.Load(); w&^tokExclReq != 0 {
			t.Errorf("token %d not free at the end: %s", i, &testToks[i])
		}
	}
}

func BenchmarkToken(b *testing.B) {
	tok := &testToks[0]
	tok.Init("bench")
	b.Run("get-rel", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			GetToken(1, tok)
			RelToken(1, tok)
		}
	})
	b.Run("relall-getall-3", func(b *testing.B) {
		for i := 0; i < 3; i++ {
			GetToken(1, &testToks[i])
		}
		for i := 0; i < b.N; i++ {
			RelAllTokens(1)
			GetAllTokens(1)
		}
		ExitTokens(1)
	})
}
