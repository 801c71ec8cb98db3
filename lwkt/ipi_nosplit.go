package lwkt

// Inter-processor messages are sent and handled in trap context with
// interrupts off: nosplit, allocation-free.

import (
	"gofly/arch/amd64"
	"gofly/drivers/apic"
	"gofly/lwkt/ipiq"
)

var (
	// IPIs holds every CPU pair's message FIFO (DragonFly's gd_ipiq).
	IPIs ipiq.Set
	// cpusyncSeq[me][dst] is the message Cpusync on CPU me waits for.
	cpusyncSeq [amd64.MaxCPUs][amd64.MaxCPUs]uint64
	// sendSpin and syncSpin time each CPU's waits in Send and Cpusync.
	sendSpin, syncSpin [amd64.MaxCPUs]spinWatch
	// apicIDs maps CPU indices to local APIC ids, for raising IPIs.
	apicIDs [amd64.MaxCPUs]uint32
)

// SetAPICID records CPU cpu's local APIC id.
//
//go:nosplit
func SetAPICID(cpu int, id uint32) { apicIDs[cpu] = id }

// APICID returns CPU cpu's local APIC id.
//
//go:nosplit
func APICID(cpu int) uint32 { return apicIDs[cpu] }

// Send queues m from this CPU to CPU dst, actively (raising amd64.VectorIPI
// when the target has not been signalled since it last drained) or
// passively (no interrupt: the target drains at its next tick). When the
// FIFO is full it drains this CPU's own incoming queues until there is
// room, so CPUs flooding each other all progress; nothing is dropped. The
// caller has interrupts off.
//
//go:nosplit
func Send(dst int, m ipiq.Msg, passive bool) {
	me := amd64.CPU()
	w := &sendSpin[me]
	*w = spinWatch{}
	for {
		var raise, full bool
		if passive {
			raise, full = IPIs.SendPassive(me, dst, m)
		} else {
			raise, full = IPIs.Send(me, dst, m)
		}
		if raise {
			apic.SendIPI(apicIDs[dst], amd64.VectorIPI)
		} else if passive && !full {
			kickTickless(dst)
		}
		if !full {
			return
		}
		IPIs.ProcessNested(me)
		w.check("room in an IPI queue", dst)
		amd64.Pause()
	}
}

// kickTickless raises an IPI for CPU dst, after a passive message was
// queued for it, if dst idles tickless: no tick would drain the message.
// dst marks itself tickless before it checks its queues (idle loop), and
// this load follows the enqueue, so one of the two sees the other.
//
//go:nosplit
func kickTickless(dst int) {
	c := uint(dst) % amd64.MaxCPUs // masked: no bounds-check call in the deep chains that send
	if gds[c].tickless.Load() {
		apic.SendIPI(apicIDs[c], amd64.VectorIPI)
	}
}

// Cpusync runs handler fn with arg1 and arg2 on every online CPU in mask,
// this one included when it is in mask, and returns once all of them have
// finished it (DragonFly's lwkt_cpusync_quick: the targets are not held
// afterwards). While it waits it drains its own incoming queues, so two
// CPUs in Cpusync with each other both finish. Interrupts must be off.
//
//go:nosplit
func Cpusync(mask uint64, fn, arg1, arg2 uintptr) {
	me := amd64.CPU()
	seq := &cpusyncSeq[me] // static, not on the stack: nosplit chains are short
	for dst := 0; dst < amd64.MaxCPUs; dst++ {
		seq[dst] = 0
		if dst == me || mask&(1<<dst) == 0 || !gds[dst].online {
			continue
		}
		Send(dst, ipiq.Msg{Fn: fn, Arg1: arg1, Arg2: arg2}, false)
		seq[dst] = IPIs.Seq(me, dst)
	}
	if mask&(1<<me) != 0 {
		IPIs.Send(me, me, ipiq.Msg{Fn: fn, Arg1: arg1, Arg2: arg2}) // to self: runs now
	}
	w := &syncSpin[me]
	*w = spinWatch{}
	for dst := 0; dst < amd64.MaxCPUs; dst++ {
		for seq[dst] != 0 && !IPIs.Done(me, dst, seq[dst]) {
			IPIs.Process(me)
			w.check("cpusync", dst)
			amd64.Pause()
		}
	}
}
