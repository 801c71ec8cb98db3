// Command gcstress is a threaded, allocation-heavy user program: worker
// goroutines on every CPU build and drop trees while the garbage
// collector runs, timers tick, and channels carry the results; it checks
// its own arithmetic and prints a summary. Exit status 0 means every
// check held.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

type node struct {
	left, right *node
	val         int
}

func build(depth, val int) *node {
	if depth == 0 {
		return &node{val: val}
	}
	return &node{left: build(depth-1, 2*val), right: build(depth-1, 2*val+1), val: val}
}

func (n *node) sum() int {
	if n == nil {
		return 0
	}
	return n.val + n.left.sum() + n.right.sum()
}

func main() {
	rounds := 100
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil && n > 0 {
			rounds = n
		}
	}
	workers := runtime.GOMAXPROCS(0) * 2
	start := time.Now()
	results := make(chan int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total := 0
			for r := range rounds {
				t := build(10, 1)
				total += t.sum()
				if r%10 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			results <- total
			_ = w
		}()
	}
	wg.Wait()
	close(results)
	// A tree of depth d built from 1 holds the values 1..2^(d+1)-1.
	const want = (1<<11 - 1) * (1 << 11) / 2
	bad := 0
	for total := range results {
		if total != want*rounds {
			bad++
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("gcstress: %d workers x %d rounds, %d GC cycles, %d bad sums, %v\n",
		workers, rounds, ms.NumGC, bad, time.Since(start).Round(time.Millisecond))
	if bad != 0 || ms.NumGC == 0 {
		os.Exit(1)
	}
}
