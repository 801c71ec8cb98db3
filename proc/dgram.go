package proc

import (
	"syscall"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
)

// Datagram sockets: UDP on the loopback and AF_UNIX SOCK_DGRAM. Each
// message is copied whole into its receiver's queue, with its sender's
// address, and read whole (a short buffer cuts it, as recvfrom(2) says;
// MSG_TRUNC returns its real length, MSG_PEEK leaves it). connect sets
// the default destination (AF_UNSPEC clears it) and, as on Linux, a
// connected socket takes messages from its peer only. A UDP message to a
// port nobody holds, or to a full queue, is lost, as on Linux's loopback;
// the first, as Linux's ICMP port-unreachable does, leaves a connected
// sender ECONNREFUSED (socket.err) for its next send, receive or
// SO_ERROR, and EPOLLERR until then: Go's resolver learns at once that
// no name server listens. An AF_UNIX one waits for room (EAGAIN when
// nonblocking), and one to a name nobody holds is ECONNREFUSED, as is
// one to a socketpair's other end once it is closed (socket.pair). An
// unnamed AF_UNIX sender's messages come with no address.
//
// UDP ports are their own table (udpPorts, guarded by ports.mu like
// TCP's); AF_UNIX names are shared with stream sockets (unixNames).

// dgram is a message in a receiver's queue.
type dgram struct {
	data []byte
	from inetAddr
}

// Limits: a UDP payload's largest (65535 less the IPv4 and UDP headers),
// and the bytes a receive queue holds (Linux's default rmem).
const (
	udpMax   = 65507
	dgramCap = 212992
)

// udpPorts is UDP's port table; guarded by ports.mu.
var udpPorts map[uint16]*socket

// dgramSocket reports whether s is a datagram socket.
func (s *socket) dgramSocket() bool { return s.typ == unix.SOCK_DGRAM }

// bindUDPLocked gives s UDP port (0: an ephemeral one) at ip; ports.mu
// and s.mu held.
func (s *socket) bindUDPLocked(ip [4]byte, port uint16) syscall.Errno {
	return s.bindIn(&udpPorts, ip, port)
}

// dgramTarget reads the destination address at va (addrlen bytes) for a
// datagram socket of domain: its socket, nil for a UDP port nobody holds
// (the message is lost), and the address.
func (t *Thread) dgramTarget(s *socket, va, addrlen uint64) (*socket, inetAddr, syscall.Errno) {
	if s.domain == unix.AF_INET {
		a, e := t.p.readInetAddr(va, addrlen)
		if e != 0 {
			return nil, a, e
		}
		if e := a.destination(); e != 0 {
			return nil, a, e
		}
		ports.mu.Lock()
		to := udpPorts[a.port]
		ports.mu.Unlock()
		return to, a, 0
	}
	name, e := t.p.readUnixAddr(va, addrlen)
	if e != 0 {
		return nil, inetAddr{}, e
	}
	if name == "" {
		return nil, inetAddr{}, syscall.EINVAL
	}
	to, e := t.lookupUnix(name, s.typ)
	return to, inetAddr{name: name}, e
}

// connectDgram is connect(2) for a datagram socket: the peer sends go to
// and the only one messages are taken from; AF_UNSPEC dissolves it.
func connectDgram(t *Thread, s *socket, va, addrlen uint64) syscall.Errno {
	if addrlen >= 2 {
		if b, err := t.p.space.CopyIn(va, 2); err == nil && b[0] == unix.AF_UNSPEC && b[1] == 0 {
			s.mu.Lock()
			s.connected, s.peer, s.pair = false, inetAddr{}, nil
			s.mu.Unlock()
			return 0
		}
	}
	to, a, e := t.dgramTarget(s, va, addrlen)
	if e != 0 {
		return e
	}
	if s.domain == unix.AF_INET {
		if e := s.autobindUDP(); e != 0 {
			return e
		}
		s.mu.Lock()
		if s.local.ip == [4]byte{} {
			s.local.ip = [4]byte{127, 0, 0, 1}
		}
		s.mu.Unlock()
	} else if to == s {
		return syscall.EINVAL
	}
	s.mu.Lock()
	s.connected, s.peer, s.pair = true, a, nil
	s.mu.Unlock()
	return 0
}

// pairOf returns s's socketpair peer, nil if s has none.
func (s *socket) pairOf() *socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pair
}

// autobindUDP gives an unbound UDP socket an ephemeral port.
func (s *socket) autobindUDP() syscall.Errno {
	ports.mu.Lock()
	defer ports.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound {
		return 0
	}
	return s.bindUDPLocked([4]byte{}, 0)
}

// sendDgram sends n bytes at buf from s as one message: to the address
// at va (addrlen bytes), or to its peer when va is 0.
func (s *socket) sendDgram(t *Thread, buf, n, va, addrlen uint64, nonblock bool) int64 {
	var to *socket
	var dst inetAddr
	if va != 0 {
		var e syscall.Errno
		if to, dst, e = t.dgramTarget(s, va, addrlen); e != 0 {
			return errno(e)
		}
	} else {
		s.mu.Lock()
		connected, peer := s.connected, s.peer
		s.mu.Unlock()
		if !connected {
			if s.domain == unix.AF_UNIX {
				return errno(syscall.ENOTCONN)
			}
			return errno(syscall.EDESTADDRREQ)
		}
		// Look the peer up again: it may have gone or been replaced. A
		// socketpair's other end has no name: its refs say if it went.
		switch to = s.pairOf(); {
		case to != nil:
		case s.domain == unix.AF_INET:
			ports.mu.Lock()
			to = udpPorts[peer.port]
			ports.mu.Unlock()
		default:
			var e syscall.Errno
			if to, e = t.lookupUnix(peer.name, s.typ); e != 0 {
				return errno(syscall.ECONNREFUSED) // the peer went
			}
		}
		dst = peer
	}
	if s.domain == unix.AF_INET && n > udpMax || n > dgramCap {
		return errno(syscall.EMSGSIZE)
	}
	if s.domain == unix.AF_INET {
		if e := s.autobindUDP(); e != 0 {
			return errno(e)
		}
	}
	data, err := t.p.space.CopyIn(buf, n)
	if err != nil {
		return errno(syscall.EFAULT)
	}
	s.mu.Lock()
	if e := s.takeErr(); e != 0 {
		s.mu.Unlock()
		return errno(e)
	}
	from := s.local
	if s.domain == unix.AF_INET && from.ip == [4]byte{} {
		from.ip = dst.ip // the loopback answers from the address sent to
	}
	s.mu.Unlock()
	if to == nil {
		return s.unreachable(dst, n)
	}
	for {
		wake := changed()
		to.mu.Lock()
		switch {
		case to.refs == 0:
			to.mu.Unlock()
			if s.domain == unix.AF_UNIX {
				return errno(syscall.ECONNREFUSED)
			}
			return s.unreachable(dst, n)
		case to.connected && to.peer != from && to != s:
			to.mu.Unlock()
			if s.domain == unix.AF_UNIX {
				return errno(syscall.EPERM) // it takes its peer's only
			}
			return s.unreachable(dst, n)
		case to.queuedBytes+len(data) > dgramCap:
			to.mu.Unlock()
			if s.domain == unix.AF_INET {
				return int64(n) // dropped, as a full UDP queue drops
			}
			if r := block(t, wake, nonblock); r != 0 {
				return r
			}
			continue
		}
		to.queue = append(to.queue, dgram{data: data, from: from})
		to.queuedBytes += len(data)
		to.changes++
		to.mu.Unlock()
		notify()
		return int64(n)
	}
}

// unreachable ends a UDP send of n bytes to dst that no socket takes:
// sent, and if s is connected to dst, ECONNREFUSED waits for its next
// call, as Linux's ICMP port-unreachable leaves it.
func (s *socket) unreachable(dst inetAddr, n uint64) int64 {
	s.mu.Lock()
	if s.connected && s.peer == dst {
		s.err = syscall.ECONNREFUSED
		s.changes++
	}
	s.mu.Unlock()
	notify()
	return int64(n)
}

// takeErr returns s's pending error and clears it; s.mu held.
func (s *socket) takeErr() syscall.Errno {
	e := s.err
	s.err = 0
	return e
}

// recvDgram takes one message into n bytes at buf: its length (its
// whole length with MSG_TRUNC), and its sender; MSG_PEEK leaves it.
func (s *socket) recvDgram(t *Thread, buf, n uint64, flags int, nonblock bool) (int64, inetAddr) {
	for {
		wake := changed()
		s.mu.Lock()
		if e := s.takeErr(); e != 0 {
			s.mu.Unlock()
			return errno(e), inetAddr{}
		}
		if len(s.queue) == 0 {
			shut := s.shutRd
			s.mu.Unlock()
			if shut {
				return 0, inetAddr{}
			}
			if r := block(t, wake, nonblock); r != 0 {
				return r, inetAddr{}
			}
			continue
		}
		m := s.queue[0]
		if flags&unix.MSG_PEEK == 0 {
			s.queue[0] = dgram{}
			s.queue = s.queue[1:]
			s.queuedBytes -= len(m.data)
			s.changes++
		}
		s.mu.Unlock()
		if flags&unix.MSG_PEEK == 0 {
			notify() // room for a blocked sender
		}
		k := min(n, uint64(len(m.data)))
		if k > 0 && t.p.space.CopyOut(buf, m.data[:k]) != nil {
			return errno(syscall.EFAULT), inetAddr{}
		}
		if flags&unix.MSG_TRUNC != 0 {
			return int64(len(m.data)), m.from
		}
		return int64(k), m.from
	}
}

// dgramIO is sendto(2) or recvfrom(2) on a datagram socket: flags
// MSG_DONTWAIT and MSG_NOSIGNAL (nothing to signal here) for both,
// MSG_PEEK and MSG_TRUNC for a receive.
func dgramIO(t *Thread, r *amd64.Frame, send bool) int64 {
	flags := int(int32(r.R10))
	known := unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL
	if !send {
		known |= unix.MSG_PEEK | unix.MSG_TRUNC
	}
	if flags&^known != 0 {
		return errno(syscall.EOPNOTSUPP)
	}
	e, s, errn := t.p.socketEntry(int(int32(r.RDI)))
	if errn != 0 {
		return errno(errn)
	}
	nonblock := e.nonblock.Load() || flags&unix.MSG_DONTWAIT != 0
	n := min(r.RDX, maxRW)
	if send {
		return s.sendDgram(t, r.RSI, n, r.R8, r.R9, nonblock)
	}
	got, from := s.recvDgram(t, r.RSI, n, flags, nonblock)
	if got < 0 || r.R8 == 0 {
		return got
	}
	addr := s.sockaddr(from)
	if s.domain == unix.AF_UNIX && from.name == "" {
		addr = nil // an unnamed sender: no address, as Linux's length 0
	}
	if e := t.p.putAddr(r.R8, r.R9, addr); e != 0 {
		return errno(e)
	}
	return got
}
