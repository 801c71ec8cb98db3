package kernel

import (
	"gofly/lwkt"
	"gofly/lwkt/ipiq"
)

// IPIStats returns CPU cpu's IPI counters and the depth of its FIFO to each
// CPU.
func IPIStats(cpu int) (ipiq.Stats, []int) {
	depth := make([]int, len(cpus))
	for i := range cpus {
		depth[i] = lwkt.IPIs.Depth(cpu, cpus[i].Index)
	}
	return lwkt.IPIs.Stats(cpu), depth
}
