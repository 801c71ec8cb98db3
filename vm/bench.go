package vm

import (
	"fmt"

	"gofly/drivers/timer"
	"gofly/ktest"
	"gofly/mm"
)

func init() {
	ktest.RegisterBench(ktest.Bench{Name: "vm: process teardown, PV shortcut against page by page", Run: benchTeardown})
}

// teardownSizes are the resident pages of the address spaces torn down;
// a size that does not fit in free memory (with room to spare) is left
// out: 100k pages need about 450 MiB.
var teardownSizes = []int{1000, 10000, 100000}

// benchTeardown fills a process map with n resident pages and frees it
// two ways, side by side: the shortcut exit takes (RemoveAll, each entry's
// PV list, the tables in bulk) and the page-by-page way (munmap walks the
// page tables, finds each page's PV, clears each leaf, then Destroy). The
// figures are TSC cycles inside the teardown, per page, the best of
// tearRounds alternating rounds: the first run of either way also pays
// for QEMU translating its code.
func benchTeardown() ([]ktest.Result, error) {
	var out []ktest.Result
	var skipped []int
	for _, n := range teardownSizes {
		if mm.Phys.FreePages() < uint64(n)*11/10+4096 {
			skipped = append(skipped, n)
			continue
		}
		var perPage [2]float64
		for range tearRounds {
			for mode, op := range []int{testTearShort, testTearByPage} {
				c, err := tearOnce(n, op)
				if err != nil {
					return nil, err
				}
				if ns := float64(timer.CyclesToNs(c)) / float64(n); perPage[mode] == 0 || ns < perPage[mode] {
					perPage[mode] = ns
				}
			}
		}
		out = append(out,
			ktest.Result{Name: fmt.Sprintf("teardown %dk pages, PV shortcut", n/1000), Value: perPage[0], Unit: "ns/page"},
			ktest.Result{Name: fmt.Sprintf("teardown %dk pages, page by page", n/1000), Value: perPage[1], Unit: "ns/page"},
			ktest.Result{Name: fmt.Sprintf("teardown %dk pages, page by page / shortcut", n/1000), Value: perPage[1] / perPage[0], Unit: "x"})
	}
	if len(skipped) > 0 {
		return out, ktest.Skip("not enough free memory for %v pages (boot with more, e.g. -m 1G)", skipped)
	}
	return out, nil
}

// tearRounds is how many times each size is torn down each way.
const tearRounds = 3

// tearOnce builds a map with n resident pages and tears it down with op;
// it returns the teardown's cycles.
func tearOnce(n, op int) (uint64, error) {
	m := new(Map)
	if err := (&testArgs{m: m, op: testNew}).run(); err != nil {
		return 0, err
	}
	size := uintptr(n) * pageSize
	a := testArgs{m: m, op: testMmap, addr: pvTestBase, n: size, prot: ProtRead | ProtWrite, flags: MapPrivate | MapAnonymous | MapFixed}
	if err := a.run(); err != nil || a.ret != int64(pvTestBase) {
		return 0, fmt.Errorf("vm: teardown bench: mmap of %d pages: %v %d", n, err, a.ret)
	}
	const chunk = 512 * pageSize // pages per trap: interrupts stay off that long
	for off := uintptr(0); off < size; off += chunk {
		if err := (&testArgs{m: m, op: testFill, addr: pvTestBase + off, n: min(chunk, size-off)}).run(); err != nil {
			(&testArgs{m: m, op: testDestroy}).run()
			return 0, fmt.Errorf("vm: teardown bench: filling %d pages: %v", n, err)
		}
	}
	t := testArgs{m: m, op: op, addr: pvTestBase, n: size}
	if err := t.run(); err != nil {
		return 0, err
	}
	return uint64(t.ret), nil
}
