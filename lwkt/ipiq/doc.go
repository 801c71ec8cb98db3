// Package ipiq owns the inter-processor message queues: for every ordered
// pair of CPUs (source, target), a 256-entry FIFO of {handler, arg1, arg2}
// messages that the source writes and the target drains, plus, per target,
// the mask of sources with queued messages and the npoll word that decides
// when a hardware IPI is worth raising. It is DragonFly BSD's
// sys/kern/lwkt_ipiq.c (lwkt_send_ipiq3, lwkt_send_ipiq3_passive,
// lwkt_process_ipiq, lwkt_process_ipiq_nested, lwkt_wait_ipiq) as pure
// logic: it never touches the APIC. Send tells its caller when to raise
// the IPI, and the caller's IPI handler, splz and tick call Process.
//
// A Set holds the queues of the whole machine; the kernel has one, in
// static memory. Handlers are integers into a table filled by Register at
// init, so a message holds no pointers.
//
// Invariants (each checked by SelfTest and by the host tests):
//   - per-pair-order: messages from one source to one target start in the
//     order they were sent; messages from different sources are unordered.
//     A handler that waits (nested Process) lets later messages start
//     before it finishes.
//   - no-loss: a send either queues its message or returns full and queues
//     nothing; every queued message runs exactly once. Nothing is dropped
//     (a bad CPU number or handler id is counted: BadCalls, Stats.BadFn).
//   - one-raise-per-rearm: a send tells its caller to raise an IPI only if
//     its swap of the target's npoll found 0, i.e. the target has not been
//     signalled since it last re-armed in Process. IPIs raised to a target
//     never exceed its re-arms plus one; a send after a re-arm always
//     raises, so queued active work is never left without an IPI.
//   - passive-escalation: a passive send raises nothing while its ring
//     holds fewer than PassiveLimit (64) entries, and is sent actively
//     from that depth on; passive work shows in Pending until processed.
//   - back-pressure: a ring never holds more than FIFOSize-2 entries. A
//     send is refused above HighWater (128) entries and then until at most
//     LowWater (64) remain; inside a handler the limits are 253 and 251.
//   - send-to-self: a send to the calling CPU runs the handler before Send
//     returns.
//
// Locking: none. Each ring is single-producer/single-consumer: windex, the
// entries and the wait mark are written only by the source, rindex and
// xindex only by the target; ipimask and npoll are shared words changed
// only by atomic read-modify-write. Every index a method takes names the
// CPU it runs on (src for sends, self for Process), and each CPU calls
// Send and Process with its own IPI handling held off (in Gofly: in the
// trap path, interrupts off; DragonFly uses a critical section), so no CPU re-enters its own half of a ring except through a handler, which
// the protocol allows for. Memory ordering is spelled out in
// ipiq_nosplit.go; it relies on sync/atomic being sequentially consistent.
//
// The two worlds: ipiq_nosplit.go (Send, SendPassive, Process,
// ProcessNested, Pending, Depth, Seq, Done, the built-in handlers) runs
// below the Go runtime: nosplit, no allocation, no pointer stores. Handlers
// run there too and must obey the same rules. ipiq.go (Register, Stats)
// and selftest.go run above it: Register only during package
// initialization.
//
// Following DragonFly: the ring layout and free-running masked indices;
// rindex advanced before the handler and xindex = rindex after it; the
// order entry, windex, mask bit, npoll swap; the npoll raise rule; the
// target re-arming before it scans; a mask bit cleared only after its ring
// is empty and set again if it refilled; passive escalation at 64; the
// 128/64 and 253/251 back-pressure limits with ip_drain and the nested
// drain of only waiting senders. Differences:
//   - Send does not wait. It returns full and the caller runs the wait
//     loop (see Send), because how to wait (interrupts on, which drain,
//     watchdog) belongs to the kernel, not to this logic. As a result the
//     back-pressure hysteresis lives in the ring (drain mark plus the
//     nesting level that set it) rather than in a loop's local variables.
//     A send refused as full still swaps npoll and may ask for an IPI, as
//     DragonFly's older wait loop did.
//   - Process always re-arms npoll: in DragonFly the assembly stubs (Xipiq,
//     splz, doreti) swap it before calling lwkt_process_ipiq. A caller that
//     must not re-arm (DragonFly's Xipiq inside a critical section) does not call
//     Process at all, and leaves npoll at 1, as DragonFly does.
//   - Handlers take (arg1, arg2), without the interrupt frame; the
//     cpusync queue (gd_cpusyncq) and lwkt_send_ipiq3_nowait are not here.
//   - Indices are 64-bit, so sequence numbers never wrap.
package ipiq
