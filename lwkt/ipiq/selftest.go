package ipiq

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// selfTestLog is what selfTestRecord appends to. Only SelfTest uses it, one
// call at a time (selfTestBusy).
var selfTestLog struct {
	n    uint32
	args [2 * FIFOSize][2]uintptr
}

var selfTestBusy atomic.Bool

// SelfTest plays CPUs 0, 1 and 2 on a private Set, one step at a time, and
// checks the invariants in doc.go on it: send-to-self, per-pair-order,
// one-raise-per-rearm, passive-escalation, back-pressure and no-loss. It
// does not touch the machine's Set, so it runs on one CPU as well as many.
// It allocates the Set, so it runs above the runtime (shell, boot tests).
func SelfTest() error {
	if !selfTestBusy.CompareAndSwap(false, true) {
		return errors.New("ipiq: SelfTest already running")
	}
	defer selfTestBusy.Store(false)
	selfTestLog.n = 0
	s := new(Set)
	msg := func(a1, a2 uintptr) Msg { return Msg{selfTestFn, a1, a2} }

	// send-to-self: the handler has run when Send returns.
	if raise, full := s.Send(0, 0, msg(7, 0)); raise || full || selfTestLog.n != 1 || selfTestLog.args[0][0] != 7 {
		return fmt.Errorf("ipiq: send-to-self: raise=%v full=%v, %d handler runs", raise, full, selfTestLog.n)
	}
	selfTestLog.n = 0

	// one-raise-per-rearm: only the first send to an armed target raises,
	// whichever source sends next.
	for i := uintptr(1); i <= 10; i++ {
		raise, full := s.Send(1, 0, msg(i, 1))
		if full || raise != (i == 1) {
			return fmt.Errorf("ipiq: one-raise-per-rearm: send %d from cpu 1: raise=%v full=%v", i, raise, full)
		}
	}
	if raise, _ := s.Send(2, 0, msg(100, 2)); raise {
		return errors.New("ipiq: one-raise-per-rearm: second source raised before the target re-armed")
	}
	if !s.Pending(0) || s.Depth(1, 0) != 10 {
		return fmt.Errorf("ipiq: no-loss: pending=%v depth=%d after 10 sends", s.Pending(0), s.Depth(1, 0))
	}
	if n := s.Process(0); n != 11 {
		return fmt.Errorf("ipiq: no-loss: Process ran %d of 11 messages", n)
	}
	next := uintptr(1)
	for _, a := range selfTestLog.args[:selfTestLog.n] {
		if a[1] == 1 {
			if a[0] != next {
				return fmt.Errorf("ipiq: per-pair-order: cpu 1 -> 0 message %d ran as number %d", a[0], next)
			}
			next++
		}
	}
	if s.Pending(0) || !s.Done(1, 0, s.Seq(1, 0)) {
		return errors.New("ipiq: no-loss: work pending or not done after Process")
	}
	if raise, _ := s.Send(1, 0, msg(11, 1)); !raise {
		return errors.New("ipiq: one-raise-per-rearm: first send after the re-arm did not raise")
	}
	s.Process(0)

	// passive-escalation: no IPI until the ring holds PassiveLimit entries.
	for i := 0; i < PassiveLimit; i++ {
		if raise, full := s.SendPassive(1, 0, msg(0, 1)); raise || full {
			return fmt.Errorf("ipiq: passive-escalation: passive send %d: raise=%v full=%v", i, raise, full)
		}
	}
	if !s.Pending(0) {
		return errors.New("ipiq: passive-escalation: passive messages not pending")
	}
	if raise, full := s.SendPassive(1, 0, msg(0, 1)); !raise || full {
		return fmt.Errorf("ipiq: passive-escalation: send at depth %d: raise=%v full=%v", PassiveLimit, raise, full)
	}
	if n := s.Process(0); n != PassiveLimit+1 {
		return fmt.Errorf("ipiq: no-loss: Process ran %d of %d passive messages", n, PassiveLimit+1)
	}

	// back-pressure: refused above HighWater until LowWater remain.
	for i := 0; i <= HighWater; i++ {
		if _, full := s.Send(1, 0, msg(0, 1)); full {
			return fmt.Errorf("ipiq: back-pressure: refused at depth %d", i)
		}
	}
	for i := 0; i < 2; i++ {
		if _, full := s.Send(1, 0, msg(0, 1)); !full {
			return fmt.Errorf("ipiq: back-pressure: accepted at depth %d", s.Depth(1, 0))
		}
	}
	if n := s.ProcessNested(0); n != HighWater+1-LowWater || s.Depth(1, 0) != LowWater {
		return fmt.Errorf("ipiq: back-pressure: ProcessNested ran %d, left %d", n, s.Depth(1, 0))
	}
	if _, full := s.Send(1, 0, msg(0, 1)); full {
		return fmt.Errorf("ipiq: back-pressure: still refused at depth %d", s.Depth(1, 0))
	}
	if n := s.Process(0); n != LowWater+1 || s.Pending(0) {
		return fmt.Errorf("ipiq: no-loss: Process ran %d of %d", n, LowWater+1)
	}

	var st Stats
	for c := 0; c < 3; c++ {
		x := s.Stats(c)
		st.SentActive += x.SentActive
		st.SentPassive += x.SentPassive
		st.Processed += x.Processed
		st.BadFn += x.BadFn
	}
	if st.SentActive+st.SentPassive != st.Processed || st.BadFn != 0 || s.BadCalls() != 0 {
		return fmt.Errorf("ipiq: no-loss: sent %d active + %d passive, processed %d, %d bad handlers, %d bad calls",
			st.SentActive, st.SentPassive, st.Processed, st.BadFn, s.BadCalls())
	}
	return nil
}
