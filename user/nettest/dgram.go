package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// dgramChecks: UDP on the loopback and AF_UNIX datagram sockets through
// Go's net package: messages both ways with their senders' addresses,
// boundaries kept and a short read cutting a message, a read deadline,
// and Linux's answers for a missing name, a name of another type and a
// receiver connected to someone else.
func dgramChecks(check func(string, bool, ...any)) {
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		check("udp: listen on 127.0.0.1:0", false, err)
		return
	}
	defer srv.Close()
	c, err := net.Dial("udp", srv.LocalAddr().String())
	if err != nil {
		check("udp: dial the listener", false, err)
		return
	}
	defer c.Close()
	_, werr := c.Write([]byte("ping"))
	buf := make([]byte, 100)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, rerr := srv.ReadFrom(buf)
	_, rwerr := srv.WriteTo([]byte("pong"), from)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	m, cerr := c.Read(buf[50:])
	check("udp: a message each way, the sender's address the client's own", werr == nil && rerr == nil && string(buf[:n]) == "ping" &&
		from.String() == c.LocalAddr().String() && rwerr == nil && cerr == nil && string(buf[50:50+m]) == "pong", werr, rerr, from, c.LocalAddr(), rwerr, cerr)
	c.Write([]byte("first"))
	c.Write([]byte("second message"))
	n1, _, e1 := srv.ReadFrom(buf[:3])
	n2, _, e2 := srv.ReadFrom(buf[10:])
	check("udp: messages keep their boundaries; a short read cuts one and the rest of it is gone", e1 == nil && e2 == nil &&
		string(buf[:n1]) == "fir" && string(buf[10:10+n2]) == "second message", e1, e2, n1, n2)
	srv.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, _, terr := srv.ReadFrom(buf)
	check("udp: a read with nothing sent times out", errors.Is(terr, os.ErrDeadlineExceeded), terr)
	closedPort(check)

	dir, err := os.MkdirTemp("", "nettest")
	if err != nil {
		check("unixgram: a directory", false, err)
		return
	}
	defer os.RemoveAll(dir)
	spath, cpath := filepath.Join(dir, "srv"), filepath.Join(dir, "cli")
	us, err := net.ListenPacket("unixgram", spath)
	if err != nil {
		check("unixgram: listen at a path", false, err)
		return
	}
	defer us.Close()
	uc, err := net.ListenPacket("unixgram", cpath)
	if err != nil {
		check("unixgram: a second socket at a path", false, err)
		return
	}
	defer uc.Close()
	_, werr = uc.WriteTo([]byte("hello"), &net.UnixAddr{Name: spath, Net: "unixgram"})
	us.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, rerr = us.ReadFrom(buf)
	check("unixgram: a message to a path, its sender's path with it", werr == nil && rerr == nil && string(buf[:n]) == "hello" &&
		from != nil && from.String() == cpath, werr, rerr, from)
	d, err := net.Dial("unixgram", spath) // unnamed: no address comes with its messages
	if err == nil {
		_, werr = d.Write([]byte("anon"))
		n, _, rerr = us.ReadFrom(buf)
		d.Close()
	}
	check("unixgram: a connected unnamed socket's write", err == nil && werr == nil && rerr == nil && string(buf[:n]) == "anon", err, werr, rerr)
	_, missing := uc.WriteTo([]byte("x"), &net.UnixAddr{Name: filepath.Join(dir, "missing"), Net: "unixgram"})
	check("unixgram: to a path that does not exist: ENOENT", errors.Is(missing, syscall.ENOENT), missing)
	stream := filepath.Join(dir, "stream")
	if ln, err := net.Listen("unix", stream); err == nil {
		_, wrong := uc.WriteTo([]byte("x"), &net.UnixAddr{Name: stream, Net: "unixgram"})
		check("unixgram: to a stream socket's path: EPROTOTYPE", errors.Is(wrong, syscall.EPROTOTYPE), wrong)
		ln.Close()
	}
	// A socket connected to one peer takes messages from it alone.
	other := filepath.Join(dir, "other")
	if o, err := net.ListenPacket("unixgram", other); err == nil {
		peer, derr := net.DialUnix("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "peer"), Net: "unixgram"}, &net.UnixAddr{Name: other, Net: "unixgram"})
		if derr == nil {
			// peer is connected to other; other is not connected, so
			// connect other to cpath, then peer may no longer send.
			fd, _ := o.(*net.UnixConn).SyscallConn()
			var cerr error
			fd.Control(func(f uintptr) {
				cerr = syscall.Connect(int(f), &syscall.SockaddrUnix{Name: cpath})
			})
			_, perm := peer.Write([]byte("x"))
			check("unixgram: a socket connected elsewhere refuses others: EPERM", cerr == nil && errors.Is(perm, syscall.EPERM), cerr, perm)
			peer.Close()
		} else {
			check("unixgram: dial from a named socket", false, derr)
		}
		o.Close()
	}
}

// closedPort: a connected UDP socket's message to a port nobody holds
// leaves ECONNREFUSED for its next read (Linux's ICMP port-unreachable),
// and then the read waits again; an unconnected socket hears nothing.
func closedPort(check func(string, bool, ...any)) {
	gone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		check("udp: a port to close", false, err)
		return
	}
	addr := gone.LocalAddr()
	gone.Close()
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		check("udp: dial a closed port", false, err)
		return
	}
	defer c.Close()
	_, werr := c.Write([]byte("anyone?"))
	buf := make([]byte, 16)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, rerr := c.Read(buf)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, again := c.Read(buf)
	check("udp: a connected socket's message to a closed port is ECONNREFUSED on its next read, once", werr == nil &&
		errors.Is(rerr, syscall.ECONNREFUSED) && errors.Is(again, os.ErrDeadlineExceeded), werr, rerr, again)
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		check("udp: an unconnected socket", false, err)
		return
	}
	defer u.Close()
	_, werr = u.WriteTo([]byte("anyone?"), addr)
	u.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, _, rerr = u.ReadFrom(buf)
	check("udp: an unconnected socket's message to a closed port: no error, the read times out", werr == nil &&
		errors.Is(rerr, os.ErrDeadlineExceeded), werr, rerr)
}
