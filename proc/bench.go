package proc

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"gofly/ktest"
)

func init() {
	ktest.RegisterBench(
		ktest.Bench{Name: "proc: fork+exit+wait and fork+exec+wait loops (the probe's L and M)", Run: benchFork},
		ktest.Bench{Name: "proc: page faults in one process, then in two at once (the probe's P)", Run: benchFaults},
		ktest.Bench{Name: "proc: memory calls in one process, then in two at once (the probe's U)", Run: benchMemCalls},
		ktest.Bench{Name: "proc: 1 MiB pipe writes, pages lent beside copied (pipetest -bench)", Run: benchPipe},
	)
}

// pipetestLine is one of pipetest -bench's results.
var pipetestLine = regexp.MustCompile(`pipetest: 1 MiB writes, buffer rewritten (true|false): ([\d.]+) MiB/s`)

// benchPipe runs user/pipetest's bench (a reader goroutine, 1 MiB writes
// from a buffer left alone, then rewritten before each write) with large
// writes lending their pages, then with every byte copied, and reports
// each rate and the ratios.
func benchPipe() ([]ktest.Result, error) {
	data, e := Program("/pipetest")
	if e != 0 {
		return nil, ktest.Skip("no /pipetest program (boot with the user programs: make qemu)")
	}
	defer PipeLoans.Store(true)
	rate := map[bool]map[string]float64{}
	for _, lend := range []bool{true, false} {
		PipeLoans.Store(lend)
		var out bytes.Buffer
		p, err := New("/pipetest", data, []string{"/pipetest", "-bench"}, nil, OutputTTY(&out))
		if err != nil {
			return nil, err
		}
		if e := p.Run(); e.Status != 0 || e.Signal != 0 {
			return nil, fmt.Errorf("proc: bench: pipetest: %v: %s", e, out.String())
		}
		rate[lend] = map[string]float64{}
		for _, m := range pipetestLine.FindAllStringSubmatch(out.String(), -1) {
			rate[lend][m[1]], _ = strconv.ParseFloat(m[2], 64)
		}
		if len(rate[lend]) != 2 {
			return nil, fmt.Errorf("proc: bench: pipetest printed no rates: %s", out.String())
		}
	}
	var res []ktest.Result
	for _, c := range []struct{ key, name string }{{"false", "buffer left alone"}, {"true", "buffer rewritten"}} {
		res = append(res,
			ktest.Result{Name: "pipe, 1 MiB writes, " + c.name + ", pages lent", Value: rate[true][c.key], Unit: "MiB/s"},
			ktest.Result{Name: "pipe, 1 MiB writes, " + c.name + ", copied", Value: rate[false][c.key], Unit: "MiB/s"},
			ktest.Result{Name: "pipe, " + c.name + ", lent / copied", Value: rate[true][c.key] / rate[false][c.key], Unit: "x"})
	}
	return res, nil
}

// faultsPerRun is how many pages the probe's P case faults in.
const faultsPerRun = 2048

// memRounds is how many rounds of memory calls the probe's U case runs.
const memRounds = 1000

// runProbes runs n probes with argument arg at once and returns how long
// they took, and the processes (ended: their counters stay as they were).
func runProbes(arg string, n int) (time.Duration, []*Process, error) {
	data, e := Program("/probe")
	if e != 0 {
		return 0, nil, ktest.Skip("no /probe program (boot with the user programs: make qemu)")
	}
	ps := make([]*Process, n)
	for i := range ps {
		p, err := New("/probe", data, []string{"/probe", arg}, nil, OutputTTY(io.Discard))
		if err != nil {
			return 0, nil, err
		}
		ps[i] = p
	}
	errs := make(chan error, n)
	t0 := time.Now()
	for _, p := range ps {
		go func() {
			if e := p.Run(); e.Status != 0 || e.Signal != 0 {
				errs <- fmt.Errorf("proc: bench: probe %s: %v", arg, e)
				return
			}
			errs <- nil
		}()
	}
	var err error
	for range ps {
		if e := <-errs; e != nil {
			err = e
		}
	}
	return time.Since(t0), ps, err
}

// oneThenTwo runs the probe's case arg in one process, then in two at
// once, and returns the rate of each (per units of work a process does
// per run) and the share of what count reports of the processes: the
// part of all their work that ran without the MP lock.
func oneThenTwo(arg string, per int, count func(p *Process) (part, all uint64)) (one, two, pct float64, err error) {
	var part, all uint64
	run := func(n int) (float64, error) {
		d, ps, err := runProbes(arg, n)
		if err != nil {
			return 0, err
		}
		for _, p := range ps {
			a, b := count(p)
			part += a
			all += b
		}
		return float64(n*per) / d.Seconds(), nil
	}
	if one, err = run(1); err != nil {
		return 0, 0, 0, err
	}
	if two, err = run(2); err != nil {
		return 0, 0, 0, err
	}
	return one, two, 100 * float64(part) / float64(max(all, 1)), nil
}

// benchFaults runs the probe's P case (2048 demand-zero faults) in one
// process, then in two at once, and reports faults per second of each and
// the ratio: what the fault path gains from a second CPU; and the share
// of faults served under their map's lock alone (vm.FaultFresh), not the
// MP lock.
func benchFaults() ([]ktest.Result, error) {
	one, two, pct, err := oneThenTwo("P", faultsPerRun, func(p *Process) (uint64, uint64) {
		return p.space.m.FreshFaults, p.space.m.Faults
	})
	if err != nil {
		return nil, err
	}
	return []ktest.Result{
		{Name: "page faults, one process", Value: one, Unit: "/s"},
		{Name: "page faults, two processes at once", Value: two, Unit: "/s"},
		{Name: "page faults, two processes / one", Value: two / one, Unit: "x"},
		{Name: "page faults served without the MP lock", Value: pct, Unit: "%"},
	}, nil
}

// benchMemCalls runs the probe's U case (rounds of mmap, four faults,
// mprotect and munmap) in one process, then in two at once, and reports
// rounds per second of each, the ratio, and the share of the memory
// calls served under their map's lock alone (vm.Map.Alone).
func benchMemCalls() ([]ktest.Result, error) {
	one, two, pct, err := oneThenTwo("U", memRounds, func(p *Process) (uint64, uint64) {
		calls, alone, _, _ := p.space.Calls()
		return alone, calls
	})
	if err != nil {
		return nil, err
	}
	return []ktest.Result{
		{Name: "mmap+4 faults+mprotect+munmap rounds, one process", Value: one, Unit: "/s"},
		{Name: "the same rounds, two processes at once", Value: two, Unit: "/s"},
		{Name: "memory-call rounds, two processes / one", Value: two / one, Unit: "x"},
		{Name: "memory calls served without the MP lock", Value: pct, Unit: "%"},
	}, nil
}

// benchRounds matches the probe's loops.
const benchRounds = 100

// benchFork runs the probe program's fork loops: each round a fork, a
// child that exits (L) or execs the probe again (M), and a wait4. It
// needs the probe among the programs.
func benchFork() ([]ktest.Result, error) {
	data, e := Program("/probe")
	if e != 0 {
		return nil, ktest.Skip("no /probe program (boot with the user programs: make qemu)")
	}
	var out []ktest.Result
	for _, c := range []struct{ arg, name string }{{"L", "fork+exit+wait"}, {"M", "fork+exec+wait"}} {
		p, err := New("/probe", data, []string{"/probe", c.arg}, nil, OutputTTY(io.Discard))
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		e := p.Run()
		d := time.Since(t0)
		if e.Status != 0 || e.Signal != 0 {
			return nil, fmt.Errorf("proc: bench: probe %s: %v", c.arg, e)
		}
		out = append(out,
			ktest.Result{Name: c.name, Value: float64(d.Microseconds()) / benchRounds, Unit: "µs/round"},
			ktest.Result{Name: c.name + " per second", Value: benchRounds / d.Seconds(), Unit: "/s"})
	}
	return out, nil
}
