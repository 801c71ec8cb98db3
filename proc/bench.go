package proc

import (
	"fmt"
	"io"
	"time"

	"gofly/ktest"
)

func init() {
	ktest.RegisterBench(ktest.Bench{Name: "proc: fork+exit+wait and fork+exec+wait loops (the probe's L and M)", Run: benchFork})
}

// benchRounds matches the probe's loops.
const benchRounds = 100

// benchFork runs the probe program's fork loops: each round a fork, a
// child that exits (L) or execs the probe again (M), and a wait4. It
// needs the probe among the programs.
func benchFork() ([]ktest.Result, error) {
	data, ok := []byte(nil), false
	if Programs != nil {
		data, ok = Programs("/probe")
	}
	if !ok {
		return nil, ktest.Skip("no /probe program (boot with the user programs: make qemu)")
	}
	var out []ktest.Result
	for _, c := range []struct{ arg, name string }{{"L", "fork+exit+wait"}, {"M", "fork+exec+wait"}} {
		p, err := New("/probe", data, []string{"/probe", c.arg}, nil, io.Discard)
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
