package kernel

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gofly/lwkt"
)

// testToken is the token the self-test contends for; tokens must live in
// static memory or reachable heap objects, never on a goroutine stack.
var testToken lwkt.Token

// checkTokens runs the token logic's own checks, then contends for one
// token from goroutines on every CPU (tokens must exclude across CPUs),
// then checks that a holder that blocks lets another thread take the token
// and has it back when it runs again.
func checkTokens() error {
	if err := lwkt.TokenSelfTest(); err != nil {
		return err
	}
	const rounds = 200
	workers := 2 * len(cpus)
	var inside, overlaps atomic.Int32
	total := 0 // protected by testToken
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				testToken.Lock()
				// Interrupts off: the holder is not switched out (which
				// would release the token) inside the section.
				Critical(func() {
					if inside.Add(1) != 1 {
						overlaps.Add(1)
					}
					total++
					for i := 0; i < 200; i++ {
						_ = inside.Load()
					}
					inside.Add(-1)
				})
				testToken.Unlock()
			}
		}()
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		return fmt.Errorf("lwkt: token-exclusive: %d sections overlapped on %d CPUs", n, len(cpus))
	}
	if total != workers*rounds {
		return fmt.Errorf("lwkt: token-exclusive: %d increments counted, want %d", total, workers*rounds)
	}

	held, taken := make(chan struct{}), make(chan time.Time, 1)
	var woke time.Time
	var reheld bool
	wg.Add(2)
	go func() {
		defer wg.Done()
		testToken.Lock()
		close(held)
		time.Sleep(50 * time.Millisecond) // blocks: the token is released
		woke = time.Now()
		reheld = testToken.HeldBy()
		testToken.Unlock()
	}()
	go func() {
		defer wg.Done()
		<-held
		testToken.Lock()
		taken <- time.Now()
		testToken.Unlock()
	}()
	wg.Wait()
	if t := <-taken; !t.Before(woke) {
		return errors.New("lwkt: token-release-on-block: another thread got the token only after the holder woke")
	}
	if !reheld {
		return errors.New("lwkt: token-release-on-block: the holder did not have its token back when it ran again")
	}
	return nil
}
