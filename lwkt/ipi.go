package lwkt

import "gofly/lwkt/ipiq"

func init() {
	ipiq.Register(idSchedule, remoteSchedule)
	ipiq.Register(idWakeup, remoteWakeup)
	ipiq.Register(idFlushTLB, flushTLB)
	ipiq.Register(idCheck, checkLocal)
}
