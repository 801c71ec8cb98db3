package proc

import (
	"encoding/binary"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
	"gofly/vfs"
)

// Sockets: stream sockets over pipes. A connected pair of sockets is two
// pipes, one each way, so a socket reads, writes, blocks, polls and ends
// as a pipe does (end of file once the peer has shut its writing side,
// EPIPE once it has gone). Two families:
//   - AF_UNIX, SOCK_STREAM: made connected by socketpair, or named by
//     bind (a socket file in the tree, or an abstract name) and reached
//     by connect (unixsock.go);
//   - AF_INET, SOCK_STREAM (TCP) on the loopback only: a listener binds
//     a port of 127.0.0.1 (or INADDR_ANY, which is the loopback here),
//     and connect to 127.0.0.0/8 pairs the caller with a new socket
//     queued for accept. There is no network device: any other address
//     is EADDRNOTAVAIL to bind and ENETUNREACH to connect to.
// Datagram sockets of both families are dgram.go's. AF_INET6 and
// AF_NETLINK are EAFNOSUPPORT, as a kernel built without them says: Go's
// net package then keeps to IPv4.
//
// A socket's fields are guarded by its mu; the port table by ports.mu
// and the AF_UNIX names by unixNames.mu, taken in that order, both
// before a socket's.

// socket is one socket, as a file: shared by its descriptors (hold,
// release count them).
type socket struct {
	domain, typ int

	mu        sync.Mutex
	refs      int
	local     inetAddr // bound or given by connect; zero: none
	peer      inetAddr
	bound     bool
	file      *vfs.Vnode // an AF_UNIX socket's socket file, once bound to a path
	listening bool
	backlog   []*socket // connections waiting for accept
	maxQueue  int
	// rx and tx are the connection's pipes: rx's reading end, tx's
	// writing end (nil until connected).
	rx, tx *pipeEnd
	shutRd bool
	// reset says a write was made after the peer closed (TCP's reset).
	reset bool
	// A datagram socket's (dgram.go): its peer set by connect, and the
	// messages received and not yet read, with their bytes.
	connected   bool
	pair        *socket // socketpair(SOCK_DGRAM)'s other end: the peer, unnamed
	queue       []dgram
	queuedBytes int
	// err is an error the socket's next call reports (SO_ERROR's).
	err syscall.Errno
	// changes counts connections queued, for edge-triggered epoll.
	changes uint64
	opts    map[sockOpt]int32 // what setsockopt set (and getsockopt reads)
}

// sockOpt names an option: its level and name.
type sockOpt struct{ level, name int }

// inetAddr is an IPv4 address and port, or an AF_UNIX socket's name
// (unixsock.go: a path, or an abstract name after a NUL; "" unnamed).
type inetAddr struct {
	ip   [4]byte
	port uint16
	name string
}

// ports is the loopback's TCP port table: each bound port's socket.
var ports struct {
	mu   sync.Mutex
	m    map[uint16]*socket
	next uint16 // the next ephemeral port to try
}

// Ephemeral ports, Linux's ip_local_port_range.
const (
	ephemeralLo = 32768
	ephemeralHi = 60999
)

// listenMax bounds a listener's queue of unaccepted connections, as
// Linux's somaxconn (4096).
const listenMax = 4096

// socketFlags are the type flags socket, socketpair and accept4 take.
const socketFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC

func newSocket(domain, typ int) *socket {
	return &socket{domain: domain, typ: typ, refs: 1, opts: map[sockOpt]int32{}}
}

// sysSocket is socket(2).
func sysSocket(t *Thread, r *amd64.Frame) int64 {
	domain, typ, proto := int(int32(r.RDI)), int(int32(r.RSI)), int(int32(r.RDX))
	flags := typ & socketFlags
	typ &^= socketFlags
	switch domain {
	case unix.AF_INET:
		switch {
		case typ == unix.SOCK_STREAM && (proto == 0 || proto == unix.IPPROTO_TCP):
		case typ == unix.SOCK_DGRAM && (proto == 0 || proto == unix.IPPROTO_UDP):
		default:
			return errno(syscall.EPROTONOSUPPORT)
		}
	case unix.AF_UNIX:
		if typ != unix.SOCK_STREAM && typ != unix.SOCK_DGRAM || proto != 0 {
			return errno(syscall.EPROTONOSUPPORT)
		}
	default:
		return errno(syscall.EAFNOSUPPORT)
	}
	return t.p.install(newSocket(domain, typ), flags&unix.SOCK_CLOEXEC != 0, flags&unix.SOCK_NONBLOCK != 0)
}

// connectPair joins a and b with a pipe each way.
func connectPair(a, b *socket) {
	ab := &pipe{readers: 1, writers: 1, capacity: pipeCap}
	ba := &pipe{readers: 1, writers: 1, capacity: pipeCap}
	a.tx, b.rx = &pipeEnd{p: ab, writer: true}, &pipeEnd{p: ab}
	b.tx, a.rx = &pipeEnd{p: ba, writer: true}, &pipeEnd{p: ba}
}

// sysSocketpair is socketpair(2): AF_UNIX stream sockets, connected.
func sysSocketpair(t *Thread, r *amd64.Frame) int64 {
	domain, typ, proto, sv := int(int32(r.RDI)), int(int32(r.RSI)), int(int32(r.RDX)), r.R10
	flags := typ & socketFlags
	typ &^= socketFlags
	switch {
	case domain != unix.AF_UNIX:
		return errno(syscall.EOPNOTSUPP) // as Linux for AF_INET
	case typ != unix.SOCK_STREAM && typ != unix.SOCK_DGRAM || proto != 0:
		return errno(syscall.EPROTONOSUPPORT)
	}
	a, b := newSocket(domain, typ), newSocket(domain, typ)
	if typ == unix.SOCK_DGRAM {
		a.connected, a.pair = true, b
		b.connected, b.pair = true, a
	} else {
		connectPair(a, b)
	}
	cloexec, nonblock := flags&unix.SOCK_CLOEXEC != 0, flags&unix.SOCK_NONBLOCK != 0
	fa := t.p.install(a, cloexec, nonblock)
	if fa < 0 {
		a.release()
		b.release()
		return fa
	}
	fb := t.p.install(b, cloexec, nonblock)
	if fb < 0 {
		t.p.closeFD(int(fa))
		b.release()
		return fb
	}
	out := make([]byte, 8)
	binary.LittleEndian.PutUint32(out, uint32(fa))
	binary.LittleEndian.PutUint32(out[4:], uint32(fb))
	if t.p.space.CopyOut(sv, out) != nil {
		t.p.closeFD(int(fa))
		t.p.closeFD(int(fb))
		return errno(syscall.EFAULT)
	}
	return 0
}

// socketAt returns the socket fd is: EBADF if fd is not open, ENOTSOCK
// if it is no socket.
func (p *Process) socketAt(fd int) (*socket, syscall.Errno) {
	_, s, e := p.socketEntry(fd)
	return s, e
}

// socketEntry is socketAt with the descriptor (its O_NONBLOCK).
func (p *Process) socketEntry(fd int) (*fdEntry, *socket, syscall.Errno) {
	e, ok := p.fileAt(fd)
	if !ok {
		return nil, nil, syscall.EBADF
	}
	s, ok := e.f.(*socket)
	if !ok {
		return nil, nil, syscall.ENOTSOCK
	}
	return e, s, 0
}

// readInetAddr reads a struct sockaddr_in of addrlen bytes at va.
func (p *Process) readInetAddr(va, addrlen uint64) (inetAddr, syscall.Errno) {
	if int32(addrlen) < 0 {
		return inetAddr{}, syscall.EINVAL
	}
	if addrlen < unix.SizeofSockaddrInet4 {
		return inetAddr{}, syscall.EINVAL
	}
	b, err := p.space.CopyIn(va, unix.SizeofSockaddrInet4)
	if err != nil {
		return inetAddr{}, syscall.EFAULT
	}
	if binary.LittleEndian.Uint16(b) != unix.AF_INET {
		return inetAddr{}, syscall.EAFNOSUPPORT
	}
	var a inetAddr
	a.port = binary.BigEndian.Uint16(b[2:])
	copy(a.ip[:], b[4:8])
	return a, 0
}

// sockaddr returns a's struct sockaddr_in, or an AF_UNIX socket's
// struct sockaddr_un: the family, then the name (a path with its NUL, an
// abstract name without; nothing for an unnamed socket), as long as
// Linux makes it.
func (s *socket) sockaddr(a inetAddr) []byte {
	if s.domain == unix.AF_UNIX {
		b := binary.LittleEndian.AppendUint16(nil, unix.AF_UNIX)
		if a.name == "" {
			return b
		}
		b = append(b, a.name...)
		if a.name[0] != 0 {
			b = append(b, 0)
		}
		return b
	}
	b := make([]byte, unix.SizeofSockaddrInet4)
	binary.LittleEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], a.port)
	copy(b[4:8], a.ip[:])
	return b
}

// putAddr writes addr to va, cut to the length at lenp, and the whole
// length to lenp, as getsockname and accept do (nothing when va is 0).
func (p *Process) putAddr(va, lenp uint64, addr []byte) syscall.Errno {
	if va == 0 {
		return 0
	}
	b, err := p.space.CopyIn(lenp, 4)
	if err != nil {
		return syscall.EFAULT
	}
	n := int32(binary.LittleEndian.Uint32(b))
	if n < 0 {
		return syscall.EINVAL
	}
	if p.space.CopyOut(va, addr[:min(int(n), len(addr))]) != nil {
		return syscall.EFAULT
	}
	if p.space.CopyOut(lenp, binary.LittleEndian.AppendUint32(nil, uint32(len(addr)))) != nil {
		return syscall.EFAULT
	}
	return 0
}

// loopback reports whether ip is on the loopback network, 127.0.0.0/8.
func loopback(ip [4]byte) bool { return ip[0] == 127 }

// destination checks a, an address to connect or send to: INADDR_ANY
// is this host, as Linux takes it; beyond the loopback is ENETUNREACH.
func (a *inetAddr) destination() syscall.Errno {
	if a.ip == [4]byte{} {
		a.ip = [4]byte{127, 0, 0, 1}
	}
	if !loopback(a.ip) {
		return syscall.ENETUNREACH
	}
	return 0
}

// bindLocked gives s TCP port (0: an ephemeral one) at ip. ports.mu
// held.
func (s *socket) bindLocked(ip [4]byte, port uint16) syscall.Errno {
	return s.bindIn(&ports.m, ip, port)
}

// bindIn gives s port (0: an ephemeral one) at ip in port table m (TCP's
// or UDP's). ports.mu held.
func (s *socket) bindIn(m *map[uint16]*socket, ip [4]byte, port uint16) syscall.Errno {
	if *m == nil {
		*m = map[uint16]*socket{}
	}
	if port == 0 {
		for range ephemeralHi - ephemeralLo + 1 {
			if ports.next < ephemeralLo || ports.next > ephemeralHi {
				ports.next = ephemeralLo
			}
			c := ports.next
			ports.next++
			if (*m)[c] == nil {
				port = c
				break
			}
		}
		if port == 0 {
			return syscall.EADDRINUSE
		}
	} else if (*m)[port] != nil {
		return syscall.EADDRINUSE
	}
	(*m)[port] = s
	s.local, s.bound = inetAddr{ip: ip, port: port}, true
	return 0
}

// inetCall returns the socket and the address bind and connect take
// (fd, sockaddr, its length) for an AF_INET socket.
func inetCall(t *Thread, r *amd64.Frame) (*socket, inetAddr, syscall.Errno) {
	s, e := t.p.socketAt(int(int32(r.RDI)))
	if e != 0 {
		return nil, inetAddr{}, e
	}
	a, e := t.p.readInetAddr(r.RSI, r.RDX)
	return s, a, e
}

// sysBind is bind(2): a port of the loopback (127.0.0.0/8 or INADDR_ANY),
// or an AF_UNIX socket's name (bindUnix).
func sysBind(t *Thread, r *amd64.Frame) int64 {
	if s, e := t.p.socketAt(int(int32(r.RDI))); e == 0 && s.domain == unix.AF_UNIX {
		return errno(bindUnix(t, s, r.RSI, r.RDX))
	}
	s, a, e := inetCall(t, r)
	if e != 0 {
		return errno(e)
	}
	if a.ip != [4]byte{} && !loopback(a.ip) {
		return errno(syscall.EADDRNOTAVAIL)
	}
	ports.mu.Lock()
	defer ports.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound || s.rx != nil {
		return errno(syscall.EINVAL)
	}
	if s.dgramSocket() {
		return errno(s.bindUDPLocked(a.ip, a.port))
	}
	return errno(s.bindLocked(a.ip, a.port))
}

// sysListen is listen(2): backlog is capped at listenMax, as somaxconn.
func sysListen(t *Thread, r *amd64.Frame) int64 {
	s, e := t.p.socketAt(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	if s.dgramSocket() {
		return errno(syscall.EOPNOTSUPP)
	}
	ports.mu.Lock()
	defer ports.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rx != nil || s.domain == unix.AF_UNIX && !s.bound { // an unnamed AF_UNIX socket cannot listen, as Linux's
		return errno(syscall.EINVAL)
	}
	if !s.bound && s.domain == unix.AF_INET {
		if e := s.bindLocked([4]byte{}, 0); e != 0 {
			return errno(e)
		}
	}
	s.listening = true
	s.maxQueue = min(max(int(int32(r.RSI)), 1), listenMax)
	return 0
}

// sysConnect is connect(2): to a listener of the loopback, or an AF_UNIX
// one by name (connectUnix), which queues the new connection for its
// accept; the connection is made at once.
func sysConnect(t *Thread, r *amd64.Frame) int64 {
	if fe, s, e := t.p.socketEntry(int(int32(r.RDI))); e == 0 && s.dgramSocket() {
		return errno(connectDgram(t, s, r.RSI, r.RDX))
	} else if e == 0 && s.domain == unix.AF_UNIX {
		return errno(connectUnix(t, s, r.RSI, r.RDX, fe.nonblock.Load()))
	}
	s, a, e := inetCall(t, r)
	if e != 0 {
		return errno(e)
	}
	if e := a.destination(); e != 0 {
		return errno(e)
	}
	ports.mu.Lock()
	defer ports.mu.Unlock()
	s.mu.Lock()
	switch {
	case s.rx != nil:
		s.mu.Unlock()
		return errno(syscall.EISCONN)
	case s.listening:
		s.mu.Unlock()
		return errno(syscall.EINVAL)
	}
	ln := ports.m[a.port]
	if ln == nil || ln == s {
		s.mu.Unlock()
		return errno(syscall.ECONNREFUSED)
	}
	if !s.bound {
		if e := s.bindLocked([4]byte{127, 0, 0, 1}, 0); e != 0 {
			s.mu.Unlock()
			return errno(e)
		}
	}
	if s.local.ip == [4]byte{} {
		s.local.ip = [4]byte{127, 0, 0, 1} // the loopback's source address, as Linux's route gives
	}
	s.mu.Unlock()
	return errno(s.join(ln, inetAddr{ip: a.ip, port: a.port}, syscall.ECONNREFUSED))
}

// join queues a new connection of s to listener ln for its accept: s
// gets one end, the accepted socket (whose own address is at) the other.
// full is the error when ln's queue is full. The caller holds the name
// table's lock (ports.mu or unixNames.mu), which keeps ln's name.
func (s *socket) join(ln *socket, at inetAddr, full syscall.Errno) syscall.Errno {
	ln.mu.Lock()
	if !ln.listening {
		ln.mu.Unlock()
		return syscall.ECONNREFUSED
	}
	if len(ln.backlog) >= ln.maxQueue {
		ln.mu.Unlock()
		return full
	}
	c := newSocket(ln.domain, ln.typ)
	c.local, c.bound = at, true
	s.mu.Lock()
	c.peer, s.peer = s.local, c.local
	connectPair(s, c)
	s.mu.Unlock()
	ln.backlog = append(ln.backlog, c)
	ln.changes++
	ln.mu.Unlock()
	notify()
	return 0
}

// sysAccept4 is accept4(2) (and accept, with no flags).
func sysAccept4(t *Thread, r *amd64.Frame) int64 {
	fd, addr, lenp := int(int32(r.RDI)), r.RSI, r.RDX
	flags := 0
	if r.RAX == unix.SYS_ACCEPT4 {
		flags = int(int32(r.R10))
		if flags&^socketFlags != 0 {
			return errno(syscall.EINVAL)
		}
	}
	e, s, errn := t.p.socketEntry(fd)
	if errn != 0 {
		return errno(errn)
	}
	if s.dgramSocket() {
		return errno(syscall.EOPNOTSUPP)
	}
	for {
		wake := changed()
		s.mu.Lock()
		if !s.listening {
			s.mu.Unlock()
			return errno(syscall.EINVAL)
		}
		if len(s.backlog) > 0 {
			c := s.backlog[0]
			s.backlog = s.backlog[1:]
			s.changes++
			s.mu.Unlock()
			notify() // room in the queue: a blocked connect goes on
			nfd := t.p.install(c, flags&unix.SOCK_CLOEXEC != 0, flags&unix.SOCK_NONBLOCK != 0)
			if nfd < 0 {
				c.release()
				return nfd
			}
			c.mu.Lock()
			peer := c.sockaddr(c.peer)
			c.mu.Unlock()
			if e := t.p.putAddr(addr, lenp, peer); e != 0 {
				return errno(e) // the connection stays at nfd, as Linux's
			}
			return nfd
		}
		s.mu.Unlock()
		if r := block(t, wake, e.nonblock.Load()); r != 0 {
			return r
		}
	}
}

// sysGetsockname and sysGetpeername are getsockname(2) and
// getpeername(2) (ENOTCONN for an unconnected socket's peer).
func sysGetsockname(t *Thread, r *amd64.Frame) int64 { return sockName(t, r, false) }
func sysGetpeername(t *Thread, r *amd64.Frame) int64 { return sockName(t, r, true) }

func sockName(t *Thread, r *amd64.Frame, peer bool) int64 {
	s, e := t.p.socketAt(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	s.mu.Lock()
	a := s.local
	if peer {
		if s.rx == nil && !s.connected {
			s.mu.Unlock()
			return errno(syscall.ENOTCONN)
		}
		a = s.peer
	}
	b := s.sockaddr(a)
	s.mu.Unlock()
	if r.RSI == 0 {
		return errno(syscall.EFAULT)
	}
	return errno(t.p.putAddr(r.RSI, r.RDX, b))
}

// sysShutdown is shutdown(2): SHUT_WR ends the peer's reading with end
// of file; SHUT_RD makes this side's reads end of file.
func sysShutdown(t *Thread, r *amd64.Frame) int64 {
	s, e := t.p.socketAt(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	how := int(int32(r.RSI))
	if how < unix.SHUT_RD || how > unix.SHUT_RDWR {
		return errno(syscall.EINVAL)
	}
	s.mu.Lock()
	if s.rx == nil {
		s.mu.Unlock()
		return errno(syscall.ENOTCONN)
	}
	var tx *pipeEnd
	if how != unix.SHUT_RD && s.tx != nil {
		tx, s.tx = s.tx, nil
	}
	if how != unix.SHUT_WR {
		s.shutRd = true
	}
	s.mu.Unlock()
	if tx != nil {
		tx.release()
	}
	notify()
	return 0
}

// The options setsockopt keeps: what Go's net package and common
// programs set. On the loopback they change nothing a program can see
// (there is no wire to delay, keep alive or linger on).
var knownOpts = map[sockOpt]bool{
	{unix.SOL_SOCKET, unix.SO_REUSEADDR}:   true,
	{unix.SOL_SOCKET, unix.SO_REUSEPORT}:   true,
	{unix.SOL_SOCKET, unix.SO_KEEPALIVE}:   true,
	{unix.SOL_SOCKET, unix.SO_BROADCAST}:   true,
	{unix.SOL_SOCKET, unix.SO_RCVBUF}:      true,
	{unix.SOL_SOCKET, unix.SO_SNDBUF}:      true,
	{unix.IPPROTO_TCP, unix.TCP_NODELAY}:   true,
	{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE}:  true,
	{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL}: true,
	{unix.IPPROTO_TCP, unix.TCP_KEEPCNT}:   true,
}

// sysSetsockopt is setsockopt(2) for knownOpts (an int each);
// ENOPROTOOPT for the rest.
func sysSetsockopt(t *Thread, r *amd64.Frame) int64 {
	s, e := t.p.socketAt(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	o := sockOpt{int(int32(r.RSI)), int(int32(r.RDX))}
	if !knownOpts[o] || o.level == unix.IPPROTO_TCP && s.domain != unix.AF_INET {
		return errno(syscall.ENOPROTOOPT)
	}
	if uint32(r.R8) < 4 {
		return errno(syscall.EINVAL)
	}
	b, err := t.p.space.CopyIn(r.R10, 4)
	if err != nil {
		return errno(syscall.EFAULT)
	}
	v := int32(binary.LittleEndian.Uint32(b))
	if o.name == unix.SO_RCVBUF || o.name == unix.SO_SNDBUF {
		v = 2 * max(v, 1152) // Linux doubles it, past its floor
	}
	s.mu.Lock()
	s.opts[o] = v
	s.mu.Unlock()
	return 0
}

// Linux's default buffer sizes, which getsockopt reports until set.
const (
	defaultRcvbuf = 131072
	defaultSndbuf = 16384
)

// sysGetsockopt is getsockopt(2): SO_ERROR (the pending error, which it
// clears; a connection is made or refused at once), SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
// SO_ACCEPTCONN, and knownOpts.
func sysGetsockopt(t *Thread, r *amd64.Frame) int64 {
	s, e := t.p.socketAt(int(int32(r.RDI)))
	if e != 0 {
		return errno(e)
	}
	o := sockOpt{int(int32(r.RSI)), int(int32(r.RDX))}
	s.mu.Lock()
	v, set := s.opts[o]
	switch {
	case o == sockOpt{unix.SOL_SOCKET, unix.SO_ERROR}:
		v = int32(s.takeErr())
	case o == sockOpt{unix.SOL_SOCKET, unix.SO_TYPE}:
		v = int32(s.typ)
	case o == sockOpt{unix.SOL_SOCKET, unix.SO_DOMAIN}:
		v = int32(s.domain)
	case o == sockOpt{unix.SOL_SOCKET, unix.SO_PROTOCOL}:
		v = 0
		if s.domain == unix.AF_INET && s.dgramSocket() {
			v = unix.IPPROTO_UDP
		} else if s.domain == unix.AF_INET {
			v = unix.IPPROTO_TCP
		}
	case o == sockOpt{unix.SOL_SOCKET, unix.SO_ACCEPTCONN}:
		v = 0
		if s.listening {
			v = 1
		}
	case set:
	case o == sockOpt{unix.SOL_SOCKET, unix.SO_RCVBUF}:
		v = defaultRcvbuf
	case o == sockOpt{unix.SOL_SOCKET, unix.SO_SNDBUF}:
		v = defaultSndbuf
	case knownOpts[o] && !(o.level == unix.IPPROTO_TCP && s.domain != unix.AF_INET):
		v = 0
	default:
		s.mu.Unlock()
		return errno(syscall.ENOPROTOOPT)
	}
	s.mu.Unlock()
	lb, err := t.p.space.CopyIn(r.R8, 4)
	if err != nil {
		return errno(syscall.EFAULT)
	}
	if int32(binary.LittleEndian.Uint32(lb)) < 0 {
		return errno(syscall.EINVAL)
	}
	return errno(t.p.putAddr(r.R10, r.R8, binary.LittleEndian.AppendUint32(nil, uint32(v))))
}

// sysSendto is sendto(2) on a connected socket: flags MSG_DONTWAIT (this
// call does not block) and MSG_NOSIGNAL (EPIPE without SIGPIPE); a
// destination is EISCONN, as Linux's for a connected stream.
func sysSendto(t *Thread, r *amd64.Frame) int64 {
	if s, e := t.p.socketAt(int(int32(r.RDI))); e == 0 && s.dgramSocket() {
		return dgramIO(t, r, true)
	}
	if r.R8 != 0 {
		return errno(syscall.EISCONN)
	}
	return sockIO(t, int(int32(r.RDI)), r.RSI, r.RDX, int(int32(r.R10)), true)
}

// sysRecvfrom is recvfrom(2): MSG_DONTWAIT; the source, when asked
// for, is the peer.
func sysRecvfrom(t *Thread, r *amd64.Frame) int64 {
	if s, e := t.p.socketAt(int(int32(r.RDI))); e == 0 && s.dgramSocket() {
		return dgramIO(t, r, false)
	}
	n := sockIO(t, int(int32(r.RDI)), r.RSI, r.RDX, int(int32(r.R10)), false)
	if n < 0 || r.R8 == 0 {
		return n
	}
	s, _ := t.p.socketAt(int(int32(r.RDI)))
	s.mu.Lock()
	b := s.sockaddr(s.peer)
	s.mu.Unlock()
	if e := t.p.putAddr(r.R8, r.R9, b); e != 0 {
		return errno(e)
	}
	return n
}

// sockIO moves n bytes at buf through fd's socket with send or recv
// flags.
func sockIO(t *Thread, fd int, buf, n uint64, flags int, send bool) int64 {
	if flags&^(unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL) != 0 {
		return errno(syscall.EOPNOTSUPP)
	}
	e, s, errn := t.p.socketEntry(fd)
	if errn != 0 {
		return errno(errn)
	}
	nonblock := e.nonblock.Load() || flags&unix.MSG_DONTWAIT != 0
	if send {
		return s.send(t, buf, min(n, maxRW), nonblock, flags&unix.MSG_NOSIGNAL == 0)
	}
	return s.read(t, buf, min(n, maxRW), nonblock)
}

func (s *socket) read(t *Thread, buf, n uint64, nonblock bool) int64 {
	if s.dgramSocket() {
		r, _ := s.recvDgram(t, buf, n, 0, nonblock)
		return r
	}
	s.mu.Lock()
	rx, shut := s.rx, s.shutRd
	s.mu.Unlock()
	switch {
	case rx == nil:
		return errno(syscall.ENOTCONN)
	case shut:
		return 0
	}
	return rx.read(t, buf, n, nonblock)
}

func (s *socket) write(t *Thread, buf, n uint64, nonblock bool) int64 {
	return s.send(t, buf, n, nonblock, true)
}

// send writes through the connection; EPIPE (with SIGPIPE if sigpipe)
// once this side has shut its writing or the peer has gone.
func (s *socket) send(t *Thread, buf, n uint64, nonblock, sigpipe bool) int64 {
	if s.dgramSocket() {
		return s.sendDgram(t, buf, n, 0, 0, nonblock)
	}
	s.mu.Lock()
	rx, tx := s.rx, s.tx
	if tx != nil {
		tx.hold() // the call holds its end, as a pipe's write does
	}
	s.mu.Unlock()
	switch {
	case rx == nil:
		return errno(syscall.ENOTCONN)
	case tx == nil:
		if sigpipe {
			t.p.signal(int(syscall.SIGPIPE), t)
		}
		return errno(syscall.EPIPE)
	}
	defer tx.release()
	if s.domain == unix.AF_INET && tx.readerGone() {
		// TCP: the first write after the peer closed is sent, as far as
		// the writer can tell (the peer answers it with a reset); the
		// ones after fail. An AF_UNIX stream knows at once.
		s.mu.Lock()
		first := !s.reset
		s.reset = true
		s.mu.Unlock()
		if first {
			return int64(n)
		}
	}
	return tx.send(t, buf, n, nonblock, sigpipe)
}

func (*socket) mode() uint32   { return unix.S_IFSOCK | 0o777 }
func (*socket) pollable() bool { return true }

func (s *socket) hold() {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
}

// release drops a descriptor; the last one closes the socket: its port
// is free, its connection's ends go (the peer reads end of file, its
// writes EPIPE), connections never accepted are closed.
func (s *socket) release() {
	ports.mu.Lock()
	unixNames.mu.Lock()
	s.mu.Lock()
	s.refs--
	if s.refs > 0 {
		s.mu.Unlock()
		unixNames.mu.Unlock()
		ports.mu.Unlock()
		return
	}
	if s.bound && s.domain == unix.AF_INET && !s.dgramSocket() && ports.m[s.local.port] == s {
		delete(ports.m, s.local.port)
	}
	if s.bound && s.domain == unix.AF_INET && s.dgramSocket() && udpPorts[s.local.port] == s {
		delete(udpPorts, s.local.port)
	}
	s.queue, s.queuedBytes = nil, 0
	if s.bound && s.domain == unix.AF_UNIX {
		unixNames.forgetLocked(s)
	}
	rx, tx, queued := s.rx, s.tx, s.backlog
	s.rx, s.tx, s.backlog, s.listening = nil, nil, nil, false
	s.mu.Unlock()
	unixNames.mu.Unlock()
	ports.mu.Unlock()
	if rx != nil {
		rx.release()
	}
	if tx != nil {
		tx.release()
	}
	for _, c := range queued {
		c.release()
	}
}

// ready reports a listener's queued connections, or a connection's
// pipes: input or its end (EPOLLRDHUP once the peer shut its writing),
// room to write; an unconnected socket is EPOLLOUT|EPOLLHUP, as Linux's.
func (s *socket) ready() (uint32, uint64) {
	s.mu.Lock()
	listening, queued, changes, rx, tx := s.listening, len(s.backlog), s.changes, s.rx, s.tx
	if s.dgramSocket() { // always writable; readable with a message queued
		ev := uint32(unix.EPOLLOUT | unix.EPOLLWRNORM)
		if len(s.queue) > 0 {
			ev |= unix.EPOLLIN | unix.EPOLLRDNORM
		}
		if s.err != 0 {
			ev |= unix.EPOLLERR
		}
		s.mu.Unlock()
		return ev, changes
	}
	s.mu.Unlock()
	if listening {
		if queued > 0 {
			return unix.EPOLLIN | unix.EPOLLRDNORM, changes
		}
		return 0, changes
	}
	if rx == nil {
		return unix.EPOLLOUT | unix.EPOLLHUP, 0
	}
	in, ic := rx.ready()
	var ev uint32
	if in&unix.EPOLLIN != 0 {
		ev |= unix.EPOLLIN | unix.EPOLLRDNORM
	}
	if in&unix.EPOLLHUP != 0 { // the peer shut its writing, or went
		ev |= unix.EPOLLIN | unix.EPOLLRDNORM | unix.EPOLLRDHUP
	}
	var oc uint64
	if tx != nil {
		var out uint32
		out, oc = tx.ready()
		if out&unix.EPOLLOUT != 0 {
			ev |= unix.EPOLLOUT | unix.EPOLLWRNORM
		}
		if out&unix.EPOLLERR != 0 { // the peer went: both ways are done
			ev |= unix.EPOLLHUP
		}
	}
	return ev, ic + oc
}
