// Command faultbench measures demand-zero page faults the same way under
// Gofly and under Linux in the same QEMU: it runs the probe's P case (an
// 8 MiB mmap written a page at a time, 2048 faults) in one process, then
// in two at once, each a number of rounds, and prints faults per second
// of both and their ratio: how far faults in different address spaces
// run in parallel. As Linux's /init (make bench) it first turns
// transparent huge pages off, so that Linux too takes a fault per 4 KiB
// page, and its exit ends the machine.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// faultsPerRun is how many pages the probe's P case touches.
const faultsPerRun = 2048

func main() {
	probe := flag.String("probe", "/probe", "the probe program")
	rounds := flag.Int("rounds", 4, "rounds of each measurement")
	flag.Parse()
	if os.Getpid() == 1 {
		if err := noHugePages(); err != nil {
			fmt.Println("faultbench:", err)
			os.Exit(1)
		}
	}
	run := func(n int) (float64, error) {
		t0 := time.Now()
		for range *rounds {
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Go(func() {
					if out, err := exec.Command(*probe, "P").CombinedOutput(); err != nil {
						errs <- fmt.Errorf("%s P: %v %s", *probe, err, out)
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				return 0, err
			}
		}
		return float64(*rounds*n*faultsPerRun) / time.Since(t0).Seconds(), nil
	}
	one, err := run(1)
	if err == nil {
		var two float64
		two, err = run(2)
		if err == nil {
			fmt.Printf("faultbench: one process %.0f faults/s, two at once %.0f faults/s, two / one %.2f x\n", one, two, two/one)
			return
		}
	}
	fmt.Println("faultbench:", err)
	os.Exit(1)
}

// noHugePages mounts sysfs and sets transparent huge pages to never.
func noHugePages() error {
	if err := os.MkdirAll("/sys", 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		return fmt.Errorf("mount /sys: %v", err)
	}
	return os.WriteFile("/sys/kernel/mm/transparent_hugepage/enabled", []byte("never"), 0)
}
