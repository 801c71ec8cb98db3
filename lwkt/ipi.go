package lwkt

import "gofly/lwkt/ipiq"

func init() {
	ipiq.Register(idRun, remoteRun)
	ipiq.Register(idFlushTLB, flushTLB)
	ipiq.Register(idCheck, checkLocal)
	ipiq.Register(idPull, remotePull)
}
