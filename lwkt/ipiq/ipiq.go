package ipiq

// This file runs above the Go runtime: handler registration at init time
// and the counters the shell reads.

// Handler is an IPI handler. In the kernel it runs on the target CPU below
// the Go runtime, from interrupt context, inside Process: it must be
// //go:nosplit-safe (nosplit itself and calling only nosplit code),
// must not allocate, store pointers or block, and must be short. It may
// send IPI messages (following Send's full protocol) and call Process.
// Each such nesting costs about 200 bytes of the trap stack beyond the
// handler's own frame (Process, drain, call); the linker cannot check
// chains through the table, so keep nesting shallow (DragonFly panics past
// 20 levels under INVARIANTS). Stats.MaxNest shows the deepest seen.
type Handler func(arg1, arg2 uintptr)

// MaxHandlers bounds the handler table; Msg.Fn indexes it.
const MaxHandlers = 64

// Handler ids the package registers itself; Register takes ids from
// FirstHandler up.
const (
	// Nop does nothing. Queued behind earlier messages, its completion
	// (Done) says the target has run them: DragonFly's
	// lwkt_synchronize_ipiqs barrier.
	Nop = 0
	// selfTestFn records its arguments for SelfTest.
	selfTestFn = 1

	FirstHandler = 2
)

// handlers is written only while packages initialize, above the runtime
// and before any CPU sends, and read by Process below it. Reading a func
// value needs no write barrier; holding Go funcs here is safe because the
// table is never written below the runtime.
var handlers = [MaxHandlers]Handler{
	Nop:        nop,
	selfTestFn: selfTestRecord,
}

// Register installs fn as handler id. Call it only from package
// initialization (an init function or a package-level var), before
// secondary CPUs start. It panics on an id out of range or already taken,
// or a nil fn: those are programming errors found at boot.
func Register(id int, fn Handler) {
	if id < FirstHandler || id >= MaxHandlers {
		panic("ipiq.Register: id out of range")
	}
	if fn == nil {
		panic("ipiq.Register: nil handler")
	}
	if handlers[id] != nil {
		panic("ipiq.Register: id already registered")
	}
	handlers[id] = fn
}

// Stats is a copy of one CPU's IPI counters, for the shell's ipi command.
// The sending counters count what this CPU sent; Processed, Rearms and
// BadFn count what it received.
type Stats struct {
	SentActive  uint64 // messages queued actively (including escalated passive sends)
	SentPassive uint64 // messages queued passively, no IPI considered
	Escalated   uint64 // passive sends made active because the ring held ≥ PassiveLimit
	Self        uint64 // sends to this CPU itself, run synchronously
	Raised      uint64 // IPIs this CPU was told to raise (npoll swap returned 0)
	Avoided     uint64 // active sends that needed no IPI (npoll swap returned 1)
	Full        uint64 // sends refused by back-pressure
	Processed   uint64 // messages this CPU ran from its incoming rings
	Rearms      uint64 // Process calls that re-armed a signalled npoll
	BadFn       uint64 // messages with no registered handler, skipped
	MaxNest     uint64 // deepest nesting of Process/ProcessNested seen
}

// Stats returns CPU cpu's counters (zero for a CPU out of range). Each
// counter is read atomically; the set is not a snapshot of one instant.
func (s *Set) Stats(cpu int) Stats {
	if uint(cpu) >= MaxCPUs {
		return Stats{}
	}
	c := &s.cpus[cpu]
	raisedSend, avoided := c.stats.raisedSend.Load(), c.stats.avoided.Load()
	return Stats{
		SentActive:  raisedSend + avoided,
		SentPassive: c.stats.sentPassive.Load(),
		Escalated:   c.stats.escalated.Load(),
		Self:        c.stats.self.Load(),
		Raised:      raisedSend + c.stats.raisedFull.Load(),
		Avoided:     avoided,
		Full:        c.stats.full.Load(),
		Processed:   c.stats.processed.Load(),
		Rearms:      c.stats.rearms.Load(),
		BadFn:       c.stats.badFn.Load(),
		MaxNest:     uint64(c.maxNest.Load()),
	}
}

// BadCalls returns how many calls passed a CPU number out of range; those
// calls did nothing (a send among them was lost: a kernel bug).
func (s *Set) BadCalls() uint64 { return s.badCPU.Load() }
