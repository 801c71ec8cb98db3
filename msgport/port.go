package msgport

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"gofly/objcache"
)

// Message flags (sys/msgport.h).
const (
	MsgDone   = 1 << iota // complete (an unsent message is done too)
	MsgReply              // replied, or being replied
	MsgQueued             // on a port's queue
	MsgSync               // the sender waits in DoMsg
)

// Msg is a message: its routing and state, and a Body the two sides agree
// on (DragonFly embeds the header in the message and casts; Go carries the
// payload instead).
type Msg struct {
	ReplyPort *Port
	Error     error
	Body      any
	flags     atomic.Uint32 // also the futex word a DoMsg waiter sleeps on
}

// Done reports whether m has been replied to.
func (m *Msg) Done() bool { return m.flags.Load()&MsgDone != 0 }

// Port is a thread port: any thread may send to it, only its owner waits
// on it.
type Port struct {
	mu    sync.Mutex
	queue []*Msg
	gen   atomic.Uint32 // bumped on every put; the owner sleeps on it
	owner atomic.Int32  // the owner's thread ID (gettid); 0 before InitPort

	// The port's SYSREF record (record.go) while it is initialised: set
	// by InitPort, cleared by ReleasePort, both by the owner.
	rec   uintptr
	sysid uint64
}

// InitPort makes p the calling goroutine's thread port, and a SYSREF
// resource of class port (findable by its sysid, Sysid). The goroutine
// stays locked to its thread (LWKT ports belong to threads) until
// ReleasePort, so the thread ID that names the owner stays its own. It
// fails, leaving p as it was, when no record can be had (out of memory).
func (p *Port) InitPort() error {
	if p.owner.Load() != 0 {
		return ErrPortInUse
	}
	runtime.LockOSThread()
	tid := int32(syscall.Gettid())
	if err := p.attach(tid); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	p.owner.Store(tid)
	return nil
}

// ErrPortInUse is InitPort's error on a port that is already initialised.
var ErrPortInUse = errors.New("msgport: port already initialised")

// ReleasePort gives up ownership, drops the port's SYSREF reference and
// unlocks the goroutine.
func (p *Port) ReleasePort() {
	p.owner.Store(0)
	p.detach()
	runtime.UnlockOSThread()
}

// Sysid returns the port's sysid while it is initialised (0 otherwise).
func (p *Port) Sysid() uint64 { return p.sysid }

// ErrMsgBusy is returned when a message that is still in flight is sent.
var ErrMsgBusy = errors.New("msgport: message still in flight")

func (p *Port) put(m *Msg) {
	p.mu.Lock()
	m.flags.Or(MsgQueued)
	p.queue = append(p.queue, m)
	p.mu.Unlock()
	p.gen.Add(1)
	futexWake(&p.gen)
}

// SendMsg queues m on p and returns at once; the reply goes to
// m.ReplyPort (lwkt_sendmsg).
func SendMsg(p *Port, m *Msg) error {
	if f := m.flags.Load(); f != 0 && f&MsgDone == 0 {
		return ErrMsgBusy
	}
	m.flags.Store(0)
	p.put(m)
	return nil
}

// DoMsg sends m to p and waits for the reply (lwkt_domsg), returning the
// error the replier gave.
func DoMsg(p *Port, m *Msg) error {
	if f := m.flags.Load(); f != 0 && f&MsgDone == 0 {
		return ErrMsgBusy
	}
	m.flags.Store(MsgSync)
	p.put(m)
	for {
		f := m.flags.Load()
		if f&MsgDone != 0 {
			return m.Error
		}
		futexWait(&m.flags, f)
	}
}

// ErrNotOwner is returned by WaitMsg on a port the thread does not own.
var ErrNotOwner = errors.New("msgport: WaitMsg on a port this thread does not own")

// WaitMsg returns the next message on p, sleeping while there is none
// (lwkt_waitport). Only the owner may wait on a thread port.
func (p *Port) WaitMsg() (*Msg, error) {
	// Only the owner, locked to its thread since InitPort, can find its
	// own thread ID here; any other goroutine runs on another thread.
	if p.owner.Load() != int32(syscall.Gettid()) {
		return nil, ErrNotOwner
	}
	for {
		gen := p.gen.Load()
		p.mu.Lock()
		var m *Msg
		if len(p.queue) > 0 {
			m = p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
			m.flags.And(^uint32(MsgQueued))
		}
		p.mu.Unlock()
		if m != nil {
			return m, nil
		}
		futexWait(&p.gen, gen)
	}
}

// ReplyMsg completes m with err (lwkt_replymsg): a DoMsg waiter is woken
// directly; otherwise m is queued on its reply port, if it has one.
func ReplyMsg(m *Msg, err error) {
	m.Error = err
	f := m.flags.Load()
	if f&MsgSync != 0 {
		m.flags.Store(f | MsgDone | MsgReply)
		futexWake(&m.flags)
		return
	}
	m.flags.Store(f | MsgDone | MsgReply)
	if m.ReplyPort != nil {
		m.ReplyPort.put(m)
	}
}

const (
	futexWaitPrivate = 0x80
	futexWakePrivate = 0x81
)

func futexWait(w *atomic.Uint32, old uint32) {
	syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWaitPrivate, uintptr(old), 0, 0, 0)
}

func futexWake(w *atomic.Uint32) {
	syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWakePrivate, 1<<30, 0, 0, 0)
}

// msgCache holds messages, constructed (objcache.Cache[T]).
var msgCache = func() *objcache.Cache[Msg] {
	c, err := objcache.NewCache(objcache.GoConfig[Msg]{Name: "msg", New: func() *Msg { return new(Msg) }})
	if err != nil {
		panic(err)
	}
	objcache.RegisterGo(c)
	return c
}()

// NewMsg returns a message from the cache: no reply port, body or error,
// not in flight.
func NewMsg() *Msg { return msgCache.Get() }

// FreeMsg gives back a message from NewMsg once it is done (replied, or
// never sent); it must not be used after.
func FreeMsg(m *Msg) {
	if f := m.flags.Load(); f != 0 && f&MsgDone == 0 {
		panic("msgport: FreeMsg of a message in flight")
	}
	m.ReplyPort, m.Error, m.Body = nil, nil, nil
	m.flags.Store(0)
	msgCache.Put(m)
}
