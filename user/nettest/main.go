// Command nettest checks sockets from a program's side, through Go's net
// and net/http packages and the raw calls, each check with Linux's
// outcome (its host test runs it under the host's Linux): TCP over the
// loopback (listen on an ephemeral port, dial, both ways, half-close,
// end of file, many connections at once, refused ports, addresses),
// an HTTP round trip as net/http/httptest makes one, and AF_UNIX
// socketpair. It prints a line per check and exits 0 if all held.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() { os.Exit(run(os.Stdout)) }

// serve accepts connections until ln closes, each handled by handle on
// its own goroutine and closed after.
func serve(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

func run(w io.Writer) int {
	bad := 0
	check := func(what string, ok bool, got ...any) {
		if ok {
			fmt.Fprintf(w, "nettest: %s: ok\n", what)
			return
		}
		bad++
		fmt.Fprintf(w, "nettest: %s: FAIL %v\n", what, got)
	}
	tcpChecks(check)
	httpChecks(check)
	pairChecks(check)
	unixChecks(check)
	dgramChecks(check)
	if bad > 0 {
		return 1
	}
	return 0
}

func tcpChecks(check func(string, bool, ...any)) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		check("listen on 127.0.0.1:0", false, err)
		return
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	check("listen on 127.0.0.1:0: an ephemeral port", port >= 1024, ln.Addr())

	// An echo server: each connection's bytes back, upper-cased, then
	// its end once the client has half-closed.
	go serve(ln, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		c.Write(bytes.ToUpper(b))
	})
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		check("dial the listener", false, err)
		return
	}
	local, remote := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	check("dial: the remote address is the listener's, the local one on the loopback",
		remote.Port == port && remote.IP.Equal(net.IPv4(127, 0, 0, 1)) && local.IP.IsLoopback() && local.Port != port, local, remote)
	msg := bytes.Repeat([]byte("loopback "), 100000) // 900 KB: past every buffer
	go func() {
		c.Write(msg)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	check("900 KB both ways, the server's answer after the client's half-close, then end of file",
		err == nil && bytes.Equal(got, bytes.ToUpper(msg)), err, len(got))
	c.Close()

	// Many clients at once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	fails := 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp4", ln.Addr().String())
			if err == nil {
				fmt.Fprintf(c, "client %d", i)
				c.(*net.TCPConn).CloseWrite()
				var b []byte
				b, err = io.ReadAll(c)
				if err == nil && string(b) != fmt.Sprintf("CLIENT %d", i) {
					err = fmt.Errorf("got %q", b)
				}
				c.Close()
			}
			if err != nil {
				mu.Lock()
				fails++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	check("20 clients at once, each its own answer", fails == 0, fails)

	// A port nobody listens on.
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	var refused error
	if err == nil {
		addr := free.Addr().String()
		free.Close()
		_, refused = net.Dial("tcp4", addr)
	}
	check("dial a closed port: ECONNREFUSED", errors.Is(refused, syscall.ECONNREFUSED), err, refused)
	_, inuse := net.Listen("tcp4", ln.Addr().String())
	check("listen on a port in use: EADDRINUSE", errors.Is(inuse, syscall.EADDRINUSE), inuse)

	// A read deadline on a silent connection (the runtime's timers and
	// epoll), and the peer's close seen by a blocked reader.
	srv := make(chan net.Conn, 1)
	ln2, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		check("listen again", false, err)
		return
	}
	defer ln2.Close()
	go func() {
		c, err := ln2.Accept()
		if err == nil {
			srv <- c
		}
	}()
	c2, err := net.Dial("tcp4", ln2.Addr().String())
	if err != nil {
		check("dial again", false, err)
		return
	}
	defer c2.Close()
	s2 := <-srv
	c2.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, derr := c2.Read(make([]byte, 1))
	check("a read past its deadline times out", errors.Is(derr, os.ErrDeadlineExceeded), derr)
	c2.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		s2.Close()
	}()
	n, eof := c2.Read(make([]byte, 1))
	check("a blocked read sees the peer's close as end of file", n == 0 && eof == io.EOF, n, eof)
	// The first write after the peer closed is sent (TLS's closing
	// alert, say); the peer's reset makes a later one fail.
	_, w1 := c2.Write([]byte("late"))
	time.Sleep(50 * time.Millisecond)
	_, w2 := c2.Write([]byte("later"))
	check("the first write after the peer's close succeeds, a later one fails (EPIPE or ECONNRESET)", w1 == nil &&
		(errors.Is(w2, syscall.EPIPE) || errors.Is(w2, syscall.ECONNRESET)), w1, w2)
	_, ipv6 := net.Listen("tcp6", "[::1]:0")
	check("there is no IPv6 to listen on, or it works", ipv6 == nil || errors.Is(ipv6, syscall.EAFNOSUPPORT) || errors.Is(ipv6, syscall.EADDRNOTAVAIL), ipv6)
}

func httpChecks(check func(string, bool, ...any)) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		check("http: listen", false, err)
		return
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(body))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	var answers []string
	var err2 error
	for _, body := range []string{"", "some bytes"} {
		resp, err := http.Post(url+"/path", "text/plain", bytes.NewBufferString(body))
		if err != nil {
			err2 = err
			break
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers = append(answers, string(b))
	}
	check("http: two POSTs over a kept-alive connection", err2 == nil && len(answers) == 2 &&
		answers[0] == "POST /path 0" && answers[1] == "POST /path 10", err2, answers)
}

func pairChecks(check func(string, bool, ...any)) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		check("socketpair", false, err)
		return
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer a.Close()
	defer b.Close()
	a.Write([]byte("ping\n"))
	line, err := bufio.NewReader(b).ReadString('\n')
	b.Write([]byte("pong"))
	got := make([]byte, 4)
	_, rerr := io.ReadFull(a, got)
	check("socketpair: both ways", err == nil && line == "ping\n" && rerr == nil && string(got) == "pong", err, line, rerr, got)
	typ, terr := unix.GetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_TYPE)
	sa, nerr := unix.Getsockname(fds[0])
	_, isUnix := sa.(*unix.SockaddrUnix)
	check("socketpair: SO_TYPE is SOCK_STREAM, the name an unnamed AF_UNIX one", terr == nil && typ == unix.SOCK_STREAM && nerr == nil && isUnix, typ, terr, sa, nerr)
	unix.Shutdown(fds[1], unix.SHUT_WR)
	n, eof := a.Read(got)
	check("socketpair: shutdown(SHUT_WR) is the other end's end of file", n == 0 && eof == io.EOF, n, eof)
	_, serr := unix.Socketpair(unix.AF_INET, unix.SOCK_STREAM, 0)
	check("socketpair of AF_INET: EOPNOTSUPP", errors.Is(serr, syscall.EOPNOTSUPP), serr)
	dgramPair(check)
	_, nerr = unix.Getpeername(int(os.Stdout.Fd()))
	check("getpeername of no socket: ENOTSOCK", errors.Is(nerr, syscall.ENOTSOCK), nerr)
}

// dgramPair: socketpair(SOCK_DGRAM): messages both ways, each whole and
// apart (a short buffer cuts one), from an unnamed sender; once one end
// is closed, the other's send is ECONNREFUSED and its receive waits
// (EAGAIN when non-blocking): a datagram socket sees no end of file.
func dgramPair(check func(string, bool, ...any)) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		check("socketpair(SOCK_DGRAM)", false, err)
		return
	}
	defer unix.Close(fds[0])
	_, e1 := unix.Write(fds[0], []byte("one"))
	_, e2 := unix.Write(fds[0], []byte("second"))
	_, e3 := unix.Write(fds[1], []byte("back"))
	buf := make([]byte, 16)
	n1, from, r1 := unix.Recvfrom(fds[1], buf[:2], 0)
	m1 := string(buf[:n1])
	n2, r2 := unix.Read(fds[1], buf)
	m2 := string(buf[:n2])
	n3, r3 := unix.Read(fds[0], buf)
	m3 := string(buf[:n3])
	typ, terr := unix.GetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_TYPE)
	check("socketpair(SOCK_DGRAM): messages both ways, whole and apart, from an unnamed sender (no address); SO_TYPE SOCK_DGRAM",
		e1 == nil && e2 == nil && e3 == nil && r1 == nil && m1 == "on" && from == nil &&
			r2 == nil && m2 == "second" && r3 == nil && m3 == "back" && terr == nil && typ == unix.SOCK_DGRAM,
		e1, e2, e3, r1, m1, from, r2, m2, r3, m3, typ, terr)
	unix.Close(fds[1])
	_, werr := unix.Write(fds[0], []byte("gone"))
	unix.SetNonblock(fds[0], true)
	_, rerr := unix.Read(fds[0], buf)
	check("socketpair(SOCK_DGRAM): the other end closed: a send is ECONNREFUSED, a receive waits (EAGAIN)",
		errors.Is(werr, syscall.ECONNREFUSED) && errors.Is(rerr, syscall.EAGAIN), werr, rerr)
}
