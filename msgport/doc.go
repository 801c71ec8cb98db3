// Package msgport owns message ports, after DragonFly BSD's
// lwkt_msgport.c: Go code running as LWKT threads sends a Msg to a Port;
// the port's owner thread takes it (WaitMsg), handles it and replies
// (ReplyMsg); SendMsg is asynchronous (the reply lands on the message's
// reply port), DoMsg waits for its reply.
//
// What it owns:
//   - port.go: Port, Msg and the calls. Messages come from a Cache[Msg]
//     (NewMsg, FreeMsg), kept constructed across uses.
//   - record.go, record_nosplit.go: every initialised port is a SYSREF
//     resource of class port (sysref ls port, sysref show SYSID), from
//     InitPort to ReleasePort; byID leads from a sysid back to its Port.
//
// Invariants:
//   - owner-waits: only the thread that called InitPort waits on a port
//     (ErrNotOwner otherwise); it stays locked to its thread until
//     ReleasePort.
//   - record-while-initialised: a port has an active record exactly from
//     InitPort to ReleasePort; byID holds it for that time.
//   - one-flight: a message in flight (sent, not replied) is neither sent
//     again (ErrMsgBusy) nor freed (FreeMsg panics).
//
// Locks: Port.mu (a sync.Mutex, not a token: appending to the queue may
// allocate, allocation may block, and a token is given up whenever its
// holder blocks) guards the queue; byIDMu guards byID; neither is held
// while the other is taken. Waits are futex sleeps on a word of the port
// or the message, so ports and messages stay reachable (static, the heap
// or the cache) while in use.
package msgport
