package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// unixChecks: named AF_UNIX stream sockets through Go's net package: a
// listener at a path (a socket file) and at an abstract name, a
// connection each way, their addresses; Linux's errors for a missing
// name, a name nobody listens at, a name in use, and opening the file.
func unixChecks(check func(string, bool, ...any)) {
	dir, err := os.MkdirTemp("", "nettest")
	if err != nil {
		check("unix: a directory for the socket", false, err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		check("unix: listen at a path", false, err)
		return
	}
	st, serr := os.Stat(path)
	check("unix: listen at a path makes a socket file there", serr == nil && st.Mode()&fs.ModeSocket != 0, serr, st)
	echo := func(ln net.Listener) {
		serve(ln, func(c net.Conn) {
			line, _ := bufio.NewReader(c).ReadString('\n')
			fmt.Fprintf(c, "%s|%s", c.LocalAddr(), line)
		})
	}
	go echo(ln)
	round := func(network, addr string) (string, net.Addr, error) {
		c, err := net.Dial(network, addr)
		if err != nil {
			return "", nil, err
		}
		defer c.Close()
		fmt.Fprintf(c, "hello\n")
		b, err := bufio.NewReader(c).ReadString('\n')
		return b, c.RemoteAddr(), err
	}
	got, remote, err := round("unix", path)
	check("unix: a connection by path, both ways; the server's name is the path, the client's peer too",
		err == nil && got == path+"|hello\n" && remote != nil && remote.String() == path, err, got, remote)
	ln.Close()

	abstract := fmt.Sprintf("@nettest-%d", os.Getpid())
	aln, err := net.Listen("unix", abstract)
	if err != nil {
		check("unix: listen at an abstract name", false, err)
	} else {
		go echo(aln)
		got, _, err := round("unix", abstract)
		check("unix: an abstract name: a connection both ways, no file made", err == nil && got == abstract+"|hello\n", err, got)
		_, inuse := net.Listen("unix", abstract)
		check("unix: listen at an abstract name in use: EADDRINUSE", errors.Is(inuse, syscall.EADDRINUSE), inuse)
		aln.Close()
	}

	_, missing := net.Dial("unix", filepath.Join(dir, "missing"))
	check("unix: dial a path that does not exist: ENOENT", errors.Is(missing, syscall.ENOENT), missing)
	// Go's listener removes its file when closed; a file made by mknod
	// has no listener.
	stale := filepath.Join(dir, "stale")
	merr := unix.Mknod(stale, unix.S_IFSOCK|0o600, 0)
	_, refused := net.Dial("unix", stale)
	check("unix: mknod(S_IFSOCK) makes a socket file; dialing it is ECONNREFUSED", merr == nil && errors.Is(refused, syscall.ECONNREFUSED), merr, refused)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	var berr error
	if err == nil {
		berr = unix.Bind(fd, &unix.SockaddrUnix{Name: stale})
		unix.Close(fd)
	}
	check("unix: bind to a path that exists: EADDRINUSE", errors.Is(berr, syscall.EADDRINUSE), err, berr)
	_, oerr := os.Open(stale)
	check("unix: opening a socket file: ENXIO", errors.Is(oerr, syscall.ENXIO), oerr)
	fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	var lerr, aerr error
	var sa unix.Sockaddr
	if err == nil {
		lerr = unix.Listen(fd, 1)
		aerr = unix.Bind(fd, &unix.SockaddrUnix{}) // the family alone: autobind
		sa, _ = unix.Getsockname(fd)
		unix.Close(fd)
	}
	name := ""
	if u, ok := sa.(*unix.SockaddrUnix); ok {
		name = u.Name
	}
	check("unix: listen unbound is EINVAL; bind with no name picks an abstract one", err == nil && errors.Is(lerr, syscall.EINVAL) &&
		aerr == nil && len(name) == 6 && name[0] == '@', err, lerr, aerr, name)
	fullQueue(check, fmt.Sprintf("@nettest-full-%d", os.Getpid()))
}

// fullQueue: a listener's full queue makes a non-blocking connect EAGAIN
// and a blocking one wait until an accept makes room, then connect.
func fullQueue(check func(string, bool, ...any), name string) {
	const what = "unix: a full queue: a non-blocking connect is EAGAIN, a blocking one waits for an accept"
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		check(what, false, err)
		return
	}
	defer unix.Close(lfd)
	addr := &unix.SockaddrUnix{Name: name}
	if err := unix.Bind(lfd, addr); err != nil {
		check(what, false, err)
		return
	}
	if err := unix.Listen(lfd, 1); err != nil {
		check(what, false, err)
		return
	}
	var queued []int
	defer func() {
		for _, fd := range queued {
			unix.Close(fd)
		}
	}()
	var full error
	for len(queued) < 64 {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			check(what, false, err)
			return
		}
		queued = append(queued, fd)
		if full = unix.Connect(fd, addr); full != nil {
			break
		}
	}
	bfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0) // blocking
	if err != nil {
		check(what, false, err)
		return
	}
	queued = append(queued, bfd)
	done := make(chan error, 1)
	go func() { done <- unix.Connect(bfd, addr) }()
	var early error
	waited := false
	select {
	case early = <-done:
	case <-time.After(300 * time.Millisecond):
		waited = true
	}
	var aerr, cerr error
	if waited {
		var nfd int
		nfd, _, aerr = unix.Accept(lfd)
		if aerr == nil {
			unix.Close(nfd)
		}
		select {
		case cerr = <-done:
		case <-time.After(10 * time.Second):
			cerr = errors.New("still waiting 10 s after an accept")
		}
	}
	check(what, errors.Is(full, syscall.EAGAIN) && len(queued) > 2 && waited && aerr == nil && cerr == nil,
		full, len(queued), early, aerr, cerr)
}
