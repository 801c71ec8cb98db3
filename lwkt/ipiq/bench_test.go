package ipiq

import (
	"runtime"
	"sync"
	"testing"
)

// BenchmarkSendProcess: one goroutine plays both CPUs; ns/op is the cost of
// one message: its share of Send or SendPassive plus its share of one
// Process per batch (no cache-line transfers, no IPI).
func BenchmarkSendProcess(b *testing.B) {
	for _, v := range []struct {
		name    string
		batch   int
		passive bool
	}{
		{"active/batch1", 1, false},
		{"active/batch32", 32, false},
		{"passive/batch32", 32, true},
		{"passive/batch63", PassiveLimit - 1, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			s := new(Set)
			m := Msg{hBench, 1, 2}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if v.passive {
					s.SendPassive(1, 0, m)
				} else {
					s.Send(1, 0, m)
				}
				if (i+1)%v.batch == 0 {
					s.Process(0)
				}
			}
			s.Process(0)
		})
	}
}

// BenchmarkCrossCPU: two goroutines (on two host threads when the host has
// the cores) play sender and target; the target polls Pending and
// Processes, the sender follows Send's full protocol. ns/op is throughput
// per message, including cache-line transfers between the cores.
func BenchmarkCrossCPU(b *testing.B) {
	for _, passive := range []bool{false, true} {
		name := "active"
		if passive {
			name = "passive"
		}
		b.Run(name, func(b *testing.B) {
			s := new(Set)
			m := Msg{hBench, 1, 2}
			benchCount = 0
			var wg sync.WaitGroup
			wg.Add(1)
			b.ResetTimer()
			go func() { // CPU 0: the target
				defer wg.Done()
				for benchCount < b.N {
					if s.Pending(0) {
						s.Process(0)
					} else {
						runtime.Gosched()
					}
				}
			}()
			for i := 0; i < b.N; i++ { // CPU 1: the sender
				f := s.Send
				if passive {
					f = s.SendPassive
				}
				for _, full := f(1, 0, m); full; _, full = f(1, 0, m) {
					s.ProcessNested(1)
					runtime.Gosched()
				}
			}
			wg.Wait()
		})
	}
}
