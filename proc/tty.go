package proc

import (
	"encoding/binary"
	"io"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gofly/arch/amd64"
)

// TTY is a terminal: Linux's line discipline (n_tty) over a byte source
// and an output writer. Its termios says how typed bytes become input:
// canonical mode gathers a line with erase and kill and hands it over at
// a line end, raw mode hands over bytes at once, as VMIN and VTIME ask;
// ISIG turns the interrupt, quit and suspend characters into signals to
// the foreground process group; ECHO echoes. A TTY is the controlling
// terminal of at most one session (the process that got it when it made
// the session, and its descendants) and has a foreground process group
// in it; a read by another group of that session is EIO, as Linux's for
// a group that cannot be stopped. The console's TTY is fed by the shell
// (Input) while it runs a program in the foreground.
//
// Output goes to the writer as written: the console adds the carriage
// return before a newline itself (ONLCR), whatever OPOST says.
type TTY struct {
	out io.Writer

	// mu guards everything below. Lock order: procs, then mu, then
	// pollMu.
	mu  sync.Mutex
	tio termios
	ws  unix.Winsize
	// edit is the line being typed (canonical mode). queue is the input
	// readers take: whole lines in canonical mode (ends marks where each
	// ends, eof where one ended with VEOF, which is not in queue), bytes
	// in raw mode.
	edit  []byte
	queue []byte
	ends  []lineEnd
	// lnext says the last byte was VLNEXT: the next is taken literally.
	lnext bool
	// noInput says no input ever comes: reads return end of file.
	noInput bool
	// gen counts hang-ups: an open file from before the last is dead
	// (ttyFile).
	gen     uint64
	changes uint64
	// sid is the session the TTY controls (0: none), fg its foreground
	// process group.
	sid, fg int
}

// lineEnd is where a canonical line ends in the queue.
type lineEnd struct {
	at  int  // offset past the line's last byte
	eof bool // ended by VEOF (no delimiter byte)
}

// The generic ioctl requests Linux's asm-generic/ioctls.h numbers and
// x/sys/unix does not name.
const (
	fionread = 0x541b // the bytes a read may take
	fionbio  = 0x5421 // set or clear O_NONBLOCK
	fionclex = 0x5450 // clear close-on-exec
	fioclex  = 0x5451 // set close-on-exec
)

// ttyBuf bounds a line being typed and the input queued, as Linux's
// N_TTY_BUF_SIZE: past it typed bytes are dropped (a line end still
// ends the line), since the console reader cannot be made to wait.
const ttyBuf = 4096

// termios is the kernel's struct termios (TCGETS, 36 bytes); termios2
// adds the input and output speeds.
type termios struct {
	iflag, oflag, cflag, lflag uint32
	line                       uint8
	cc                         [19]uint8
}

const (
	termiosSize  = 36
	termios2Size = 44
	baud         = 38400 // the console's speed, as B38400 says
)

// defaultTermios is Linux's for a console: canonical mode, echo,
// signals, CR read as NL.
func defaultTermios() termios {
	t := termios{
		iflag: unix.ICRNL | unix.IXON,
		oflag: unix.OPOST | unix.ONLCR,
		cflag: unix.B38400 | unix.CS8 | unix.CREAD | unix.HUPCL,
		lflag: unix.ISIG | unix.ICANON | unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHOCTL | unix.ECHOKE | unix.IEXTEN,
	}
	for i, c := range map[int]uint8{unix.VINTR: 0x03, unix.VQUIT: 0x1c, unix.VERASE: 0x7f, unix.VKILL: 0x15,
		unix.VEOF: 0x04, unix.VMIN: 1, unix.VSTART: 0x11, unix.VSTOP: 0x13, unix.VSUSP: 0x1a,
		unix.VREPRINT: 0x12, unix.VDISCARD: 0x0f, unix.VWERASE: 0x17, unix.VLNEXT: 0x16} {
		t.cc[i] = c
	}
	return t
}

func (t *termios) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], t.iflag)
	le.PutUint32(b[4:], t.oflag)
	le.PutUint32(b[8:], t.cflag)
	le.PutUint32(b[12:], t.lflag)
	b[16] = t.line
	copy(b[17:36], t.cc[:])
	if len(b) == termios2Size {
		le.PutUint32(b[36:], baud)
		le.PutUint32(b[40:], baud)
	}
}

func (t *termios) decode(b []byte) {
	le := binary.LittleEndian
	t.iflag, t.oflag, t.cflag, t.lflag = le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])
	t.line = b[16]
	copy(t.cc[:], b[17:36])
}

// NewTTY returns a terminal writing to out, in Linux's default modes,
// 80×24, controlling no session.
func NewTTY(out io.Writer) *TTY {
	return &TTY{out: out, tio: defaultTermios(), ws: unix.Winsize{Row: 24, Col: 80}}
}

// OutputTTY returns a terminal writing to out whose input has ended: its
// readers see end of file (a program run with no console input).
func OutputTTY(out io.Writer) *TTY {
	t := NewTTY(out)
	t.noInput = true
	return t
}

// Reset puts the modes back to the defaults and drops queued input, as a
// shell resets its terminal before it runs a program.
func (t *TTY) Reset() {
	t.mu.Lock()
	t.tio = defaultTermios()
	t.edit, t.queue, t.ends, t.lnext = nil, nil, nil, false
	t.changes++
	t.mu.Unlock()
	notify()
}

// Unread returns and drops the input no program read: the queue, then
// the line being typed.
func (t *TTY) Unread() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := append(append([]byte(nil), t.queue...), t.edit...)
	t.edit, t.queue, t.ends = nil, nil, nil
	return b
}

// Input takes one byte typed on the terminal.
func (t *TTY) Input(b byte) {
	var sig syscall.Signal
	t.mu.Lock()
	sig = t.inputLocked(b)
	fg := t.fg
	t.changes++
	t.mu.Unlock()
	notify()
	if sig != 0 && fg != 0 {
		signalGroup(fg, int(sig), kernelInfo)
	}
}

// inputLocked applies the line discipline to b and returns the signal it
// raises, if any.
func (t *TTY) inputLocked(b byte) syscall.Signal {
	tio := &t.tio
	if tio.iflag&unix.ISTRIP != 0 {
		b &= 0x7f
	}
	if t.lnext {
		t.lnext = false
		t.addLocked(b)
		return 0
	}
	if tio.iflag&unix.IXON != 0 && b != 0 && (b == tio.cc[unix.VSTART] || b == tio.cc[unix.VSTOP]) {
		return 0 // flow control, with no output held back to stop or start
	}
	switch {
	case b == '\r' && tio.iflag&unix.IGNCR != 0:
		return 0
	case b == '\r' && tio.iflag&unix.ICRNL != 0:
		b = '\n'
	case b == '\n' && tio.iflag&unix.INLCR != 0:
		b = '\r'
	}
	if tio.lflag&unix.ISIG != 0 {
		for _, s := range []struct {
			cc  int
			sig syscall.Signal
		}{{unix.VINTR, syscall.SIGINT}, {unix.VQUIT, syscall.SIGQUIT}, {unix.VSUSP, syscall.SIGTSTP}} {
			if c := tio.cc[s.cc]; c != 0 && b == c {
				if tio.lflag&unix.NOFLSH == 0 {
					t.edit, t.queue, t.ends = nil, nil, nil
				}
				t.echoLocked(b)
				return s.sig
			}
		}
	}
	if tio.lflag&unix.ICANON == 0 {
		if len(t.queue) < ttyBuf {
			t.queue = append(t.queue, b)
		}
		t.echoLocked(b)
		return 0
	}
	cc := &tio.cc
	ext := tio.lflag&unix.IEXTEN != 0
	switch {
	case b == cc[unix.VERASE] && b != 0:
		if n := len(t.edit); n > 0 {
			t.rubLocked(t.edit[n-1])
			t.edit = t.edit[:n-1]
		}
	case b == cc[unix.VWERASE] && b != 0 && ext:
		for len(t.edit) > 0 && t.edit[len(t.edit)-1] == ' ' {
			t.rubLocked(' ')
			t.edit = t.edit[:len(t.edit)-1]
		}
		for len(t.edit) > 0 && t.edit[len(t.edit)-1] != ' ' {
			t.rubLocked(t.edit[len(t.edit)-1])
			t.edit = t.edit[:len(t.edit)-1]
		}
	case b == cc[unix.VKILL] && b != 0:
		if tio.lflag&unix.ECHOKE != 0 && tio.lflag&unix.ECHOE != 0 {
			for i := len(t.edit) - 1; i >= 0; i-- {
				t.rubLocked(t.edit[i])
			}
		} else if tio.lflag&unix.ECHO != 0 {
			t.echoLocked(b)
			if tio.lflag&unix.ECHOK != 0 {
				t.out.Write([]byte("\n"))
			}
		}
		t.edit = t.edit[:0]
	case b == cc[unix.VLNEXT] && b != 0 && ext:
		t.lnext = true
	case b == cc[unix.VREPRINT] && b != 0 && ext:
		if tio.lflag&unix.ECHO != 0 {
			t.echoLocked(b)
			t.out.Write([]byte("\n"))
			for _, c := range t.edit {
				t.echoLocked(c)
			}
		}
	case b == cc[unix.VEOF] && b != 0:
		t.endLineLocked(true)
	case b == '\n' || b == cc[unix.VEOL] && b != 0 || b == cc[unix.VEOL2] && b != 0 && ext:
		if tio.lflag&(unix.ECHO|unix.ECHONL) != 0 {
			t.out.Write([]byte{b})
		}
		t.edit = append(t.edit, b)
		t.endLineLocked(false)
	default:
		t.addLocked(b)
	}
	return 0
}

// addLocked adds b to the line being typed (canonical) or the queue.
func (t *TTY) addLocked(b byte) {
	if t.tio.lflag&unix.ICANON == 0 {
		if len(t.queue) < ttyBuf {
			t.queue = append(t.queue, b)
			t.echoLocked(b)
		}
		return
	}
	if len(t.edit) < ttyBuf-1 { // room for the line end, as Linux keeps
		t.edit = append(t.edit, b)
		t.echoLocked(b)
	}
}

// endLineLocked hands the line typed over to readers.
func (t *TTY) endLineLocked(eof bool) {
	// A VEOF line end takes a byte of the buffer, as Linux's does.
	used := len(t.queue) + len(t.edit)
	for _, e := range t.ends {
		if e.eof {
			used++
		}
	}
	if eof {
		used++
	}
	if used > ttyBuf {
		t.edit = t.edit[:0] // no room: the line is lost, as past Linux's buffer
		return
	}
	t.queue = append(t.queue, t.edit...)
	t.ends = append(t.ends, lineEnd{at: len(t.queue), eof: eof})
	t.edit = t.edit[:0]
}

// echoLocked echoes b if ECHO is on: a control character as ^X under
// ECHOCTL (tab and newline as themselves).
func (t *TTY) echoLocked(b byte) {
	if t.tio.lflag&unix.ECHO == 0 {
		return
	}
	if t.tio.lflag&unix.ECHOCTL != 0 && (b < 0x20 && b != '\t' && b != '\n' || b == 0x7f) {
		t.out.Write([]byte{'^', b ^ 0x40})
		return
	}
	t.out.Write([]byte{b})
}

// rubLocked erases b's echo (ECHOE): two columns for a control character
// echoed as ^X.
func (t *TTY) rubLocked(b byte) {
	if t.tio.lflag&unix.ECHO == 0 || t.tio.lflag&unix.ECHOE == 0 {
		return
	}
	n := 1
	if t.tio.lflag&unix.ECHOCTL != 0 && (b < 0x20 && b != '\t' || b == 0x7f) {
		n = 2
	}
	for range n {
		t.out.Write([]byte("\b \b"))
	}
}

// availableLocked returns how many bytes a read may take now, and
// whether it is an end of file.
func (t *TTY) availableLocked() (n int, eof bool) {
	if t.tio.lflag&unix.ICANON == 0 {
		return len(t.queue), t.noInput && len(t.queue) == 0
	}
	if len(t.ends) == 0 {
		return 0, t.noInput
	}
	return t.ends[0].at, t.ends[0].at == 0 && t.ends[0].eof
}

// takeLocked drops the first n bytes of the queue, which a read took:
// in canonical mode from the first line only, which goes when it is
// all read (an empty VEOF line when the read reported its end of file).
func (t *TTY) takeLocked(n int) {
	t.queue = t.queue[n:]
	if len(t.ends) == 0 {
		return
	}
	for i := range t.ends {
		t.ends[i].at -= n
	}
	if t.ends[0].at == 0 {
		t.ends = t.ends[1:]
	}
}

// controls reports whether t is p's controlling terminal.
func (t *TTY) controls(p *Process) bool {
	procs.Lock()
	defer procs.Unlock()
	return p.ctty == t
}

// foreground reports whether p may read t: not a background group of
// the session t controls (job control applies to a process's own
// controlling terminal only).
func (t *TTY) foreground(p *Process) bool {
	procs.Lock()
	defer procs.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return p.ctty != t || p.pgid == t.fg
}

// ttyFile is an open file of a terminal, shared by its duplicates (dup,
// fork). One opened before the terminal's last hang-up is dead, as
// Linux's hung_up_tty_fops: a read sees end of file, a write or an ioctl
// is EIO, poll reports every event.
type ttyFile struct {
	t   *TTY
	gen uint64 // t.gen when it was opened
}

// open returns a new open file of t.
func (t *TTY) open() *ttyFile {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &ttyFile{t: t, gen: t.gen}
}

// dead reports whether the terminal hung up since f was opened.
func (f *ttyFile) dead() bool {
	f.t.mu.Lock()
	defer f.t.mu.Unlock()
	return f.gen != f.t.gen
}

func (*ttyFile) mode() uint32   { return unix.S_IFCHR | 0o620 }
func (*ttyFile) pollable() bool { return true }
func (*ttyFile) hold()          {}
func (*ttyFile) release()       {}

// ready reports, as Linux's n_tty_poll, input to read (in raw mode with
// VTIME 0, VMIN bytes of it) and room to write, which there always is.
func (f *ttyFile) ready() (uint32, uint64) {
	t := f.t
	t.mu.Lock()
	defer t.mu.Unlock()
	const in, out = unix.EPOLLIN | unix.EPOLLRDNORM, unix.EPOLLOUT | unix.EPOLLWRNORM
	if f.gen != t.gen {
		return in | out | unix.EPOLLERR | unix.EPOLLHUP, t.changes
	}
	n, eof := t.availableLocked()
	want := 1
	if vmin := int(t.tio.cc[unix.VMIN]); t.tio.lflag&unix.ICANON == 0 && t.tio.cc[unix.VTIME] == 0 && vmin > 0 {
		want = vmin
	}
	if n >= want || eof {
		return in | out, t.changes
	}
	return out, t.changes
}

// read takes input by the modes: in canonical mode one line (at most n
// bytes of it), in raw mode as VMIN and VTIME say. The bytes taken are
// copied to the process after the lock is let go, so the console's
// Input never waits for a copy.
func (f *ttyFile) read(th *Thread, buf, n uint64, nonblock bool) int64 {
	t := f.t
	if n == 0 {
		return 0
	}
	if !t.foreground(th.p) {
		return errno(syscall.EIO)
	}
	var deadline <-chan time.Time
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	timedOut, seen := false, 0
	for {
		wake := changed()
		t.mu.Lock()
		if f.gen != t.gen {
			t.mu.Unlock()
			return 0
		}
		avail, eof := t.availableLocked()
		canon := t.tio.lflag&unix.ICANON != 0
		vmin, vtime := int(t.tio.cc[unix.VMIN]), time.Duration(t.tio.cc[unix.VTIME])*100*time.Millisecond
		if avail == 0 && eof {
			t.takeLocked(0) // an empty VEOF line, if that is the end
			t.mu.Unlock()
			return 0
		}
		// Raw mode: VMIN bytes (or n, if fewer), what came before VTIME
		// ran out, or what there is for a non-blocking read.
		if avail > 0 && (canon || uint64(avail) >= min(uint64(vmin), n) || timedOut || nonblock) {
			k := min(uint64(avail), n)
			data := append([]byte(nil), t.queue[:k]...)
			t.takeLocked(int(k))
			t.mu.Unlock()
			notify()
			if th.p.space.CopyOut(buf, data) != nil {
				return errno(syscall.EFAULT)
			}
			return int64(k)
		}
		t.mu.Unlock()
		if !canon && vmin == 0 && (vtime == 0 || timedOut) {
			return 0
		}
		if nonblock {
			return errno(syscall.EAGAIN)
		}
		// VTIME: with VMIN 0 a timeout for the read, else a timer
		// between bytes, started by the first and restarted by each.
		if !canon && vtime > 0 && !timedOut && (vmin == 0 && timer == nil || vmin > 0 && avail > seen) {
			if timer != nil {
				timer.Stop()
			}
			timer = time.NewTimer(vtime)
			deadline = timer.C
		}
		seen = avail
		select {
		case <-wake:
		case <-deadline:
			deadline, timedOut = nil, true
		case <-th.cancelled():
			return errno(syscall.EINTR)
		}
	}
}

// write copies page by page: a page that cannot be read ends the write
// there, with what was written before it (EFAULT if nothing was).
func (f *ttyFile) write(th *Thread, buf, n uint64, _ bool) int64 {
	if f.dead() {
		return errno(syscall.EIO)
	}
	var done uint64
	for done < n {
		k := min(n-done, pageSize-(buf+done)%pageSize)
		b, err := th.p.space.CopyIn(buf+done, k)
		if err != nil {
			break
		}
		if _, err := f.t.out.Write(b); err != nil {
			return errno(syscall.EIO)
		}
		done += k
	}
	if done == 0 && n > 0 {
		return errno(syscall.EFAULT)
	}
	return int64(done)
}

// ioctl serves the terminal requests: termios (TCGETS and TCSETS*, and
// their termios2 forms), the window size, the foreground process group,
// the controlling terminal, the input count and flushes.
func (t *TTY) ioctl(th *Thread, req, arg uint64) int64 {
	p := th.p
	switch req {
	case unix.TCGETS, unix.TCGETS2:
		b := make([]byte, termiosSize)
		if req == unix.TCGETS2 {
			b = make([]byte, termios2Size)
		}
		t.mu.Lock()
		t.tio.encode(b)
		t.mu.Unlock()
		return copyOutErr(p, arg, b)
	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF, unix.TCSETS2, unix.TCSETSW2, unix.TCSETSF2:
		size := uint64(termiosSize)
		if req == unix.TCSETS2 || req == unix.TCSETSW2 || req == unix.TCSETSF2 {
			size = termios2Size
		}
		b, err := p.space.CopyIn(arg, size)
		if err != nil {
			return errno(syscall.EFAULT)
		}
		t.mu.Lock()
		wasCanon := t.tio.lflag&unix.ICANON != 0
		t.tio.decode(b)
		if req == unix.TCSETSF || req == unix.TCSETSF2 {
			t.edit, t.queue, t.ends = nil, nil, nil
		}
		if wasCanon && t.tio.lflag&unix.ICANON == 0 {
			t.queue = append(t.queue, t.edit...) // the line typed so far is input now
			t.edit, t.ends = nil, nil
		} else if !wasCanon && t.tio.lflag&unix.ICANON != 0 && len(t.queue) > 0 {
			t.ends = []lineEnd{{at: len(t.queue)}} // raw input read as one line
		}
		t.changes++
		t.mu.Unlock()
		notify()
		return 0
	case unix.TIOCGWINSZ:
		b := make([]byte, 8)
		t.mu.Lock()
		le := binary.LittleEndian
		le.PutUint16(b[0:], t.ws.Row)
		le.PutUint16(b[2:], t.ws.Col)
		le.PutUint16(b[4:], t.ws.Xpixel)
		le.PutUint16(b[6:], t.ws.Ypixel)
		t.mu.Unlock()
		return copyOutErr(p, arg, b)
	case unix.TIOCSWINSZ:
		b, err := p.space.CopyIn(arg, 8)
		if err != nil {
			return errno(syscall.EFAULT)
		}
		le := binary.LittleEndian
		ws := unix.Winsize{Row: le.Uint16(b[0:]), Col: le.Uint16(b[2:]), Xpixel: le.Uint16(b[4:]), Ypixel: le.Uint16(b[6:])}
		t.mu.Lock()
		changedSize, fg := ws != t.ws, t.fg
		t.ws = ws
		t.mu.Unlock()
		if changedSize && fg != 0 {
			signalGroup(fg, int(syscall.SIGWINCH), kernelInfo)
		}
		return 0
	case unix.TIOCGPGRP, unix.TIOCGSID:
		if !t.controls(p) {
			return errno(syscall.ENOTTY)
		}
		t.mu.Lock()
		v := t.fg
		if req == unix.TIOCGSID {
			v = t.sid
		}
		t.mu.Unlock()
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, uint32(v))
		return copyOutErr(p, arg, b)
	case unix.TIOCSPGRP:
		b, err := p.space.CopyIn(arg, 4)
		if err != nil {
			return errno(syscall.EFAULT)
		}
		return errno(t.setForeground(p, int(int32(binary.LittleEndian.Uint32(b)))))
	case unix.TIOCSCTTY:
		return errno(t.acquire(p, arg == 1))
	case unix.TIOCNOTTY:
		return errno(t.disown(p))
	case fionread:
		t.mu.Lock()
		n, _ := t.availableLocked()
		if t.tio.lflag&unix.ICANON != 0 && len(t.ends) > 0 {
			n = t.ends[len(t.ends)-1].at // every whole line, as Linux counts
		}
		t.mu.Unlock()
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, uint32(n))
		return copyOutErr(p, arg, b)
	case unix.TCFLSH:
		switch arg {
		case unix.TCIFLUSH, unix.TCIOFLUSH:
			t.mu.Lock()
			t.edit, t.queue, t.ends = nil, nil, nil
			t.changes++
			t.mu.Unlock()
		case unix.TCOFLUSH:
		default:
			return errno(syscall.EINVAL)
		}
		return 0
	case unix.TCSBRK, unix.TCSBRKP, unix.TCXONC:
		return 0 // output is never held back: a drain, a break or flow control has nothing to do
	}
	return errno(syscall.ENOTTY)
}

// copyOutErr copies b to the process's address a: 0, or EFAULT.
func copyOutErr(p *Process, a uint64, b []byte) int64 {
	if p.space.CopyOut(a, b) != nil {
		return errno(syscall.EFAULT)
	}
	return 0
}

// setForeground is TIOCSPGRP: pgid, a group of the caller's session,
// becomes the foreground one of t, the caller's controlling terminal.
func (t *TTY) setForeground(p *Process, pgid int) syscall.Errno {
	if pgid < 0 {
		return syscall.EINVAL
	}
	procs.Lock()
	defer procs.Unlock()
	if p.ctty != t {
		return syscall.ENOTTY
	}
	found := false
	for _, q := range procs.m {
		if q.pgid == pgid {
			if q.sid != p.sid {
				return syscall.EPERM
			}
			found = true
		}
	}
	if !found {
		return syscall.ESRCH
	}
	t.mu.Lock()
	t.fg = pgid
	t.mu.Unlock()
	return 0
}

// acquire is TIOCSCTTY: a session leader without a controlling terminal
// takes t, if no session has it or, with steal (root's argument 1, and
// every process here is root), from the session that has it.
func (t *TTY) acquire(p *Process, steal bool) syscall.Errno {
	procs.Lock()
	defer procs.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.sid == p.PID && t.sid == p.sid {
		return 0 // already the leader's
	}
	if p.sid != p.PID || p.ctty != nil {
		return syscall.EPERM
	}
	if t.sid != 0 {
		if !steal {
			return syscall.EPERM
		}
		for _, q := range procs.m {
			if q.sid == t.sid && q.ctty == t {
				q.ctty = nil
			}
		}
	}
	t.sid, t.fg = p.sid, p.pgid
	p.ctty = t
	return 0
}

// disown is TIOCNOTTY: the caller gives up t, its controlling terminal;
// a session leader's giving it up detaches the whole session (its
// foreground group gets SIGHUP and SIGCONT, as Linux's).
func (t *TTY) disown(p *Process) syscall.Errno {
	procs.Lock()
	if p.ctty != t {
		procs.Unlock()
		return syscall.ENOTTY
	}
	if p.sid != p.PID {
		p.ctty = nil
		procs.Unlock()
		return 0
	}
	procs.Unlock()
	t.detach(p.sid, false)
	return 0
}

// detach takes t from session sid, if it controls it: no process of sid
// keeps it, and its foreground group gets SIGHUP and SIGCONT. With
// hangUp (the session leader's end, or another session's taking the
// terminal) every open file of t dies too, as Linux's tty_vhangup.
func (t *TTY) detach(sid int, hangUp bool) {
	procs.Lock()
	t.mu.Lock()
	if t.sid != sid || sid == 0 {
		t.mu.Unlock()
		procs.Unlock()
		return
	}
	fg := t.fg
	t.sid, t.fg = 0, 0
	if hangUp {
		t.gen++
		t.changes++
	}
	t.mu.Unlock()
	for _, q := range procs.m {
		if q.sid == sid && q.ctty == t {
			q.ctty = nil
		}
	}
	procs.Unlock()
	notify()
	if fg != 0 {
		signalGroup(fg, int(syscall.SIGHUP), kernelInfo)
		signalGroup(fg, int(syscall.SIGCONT), kernelInfo)
	}
}

// takeFor makes t the controlling terminal of p, a new session's leader,
// and returns an open file of it: a session that had it is hung up
// first, as the console's getty would.
func (t *TTY) takeFor(p *Process) *ttyFile {
	t.mu.Lock()
	held := t.sid
	t.mu.Unlock()
	if held != 0 {
		t.detach(held, true)
	}
	f := t.open()
	procs.Lock()
	t.mu.Lock()
	t.sid, t.fg = p.PID, p.PID
	p.ctty = t
	t.mu.Unlock()
	procs.Unlock()
	return f
}

// sysIoctl is ioctl(2): the terminal requests on a TTY, FIONREAD on a
// pipe, FIONBIO, FIOCLEX and FIONCLEX on any descriptor; ENOTTY for the
// rest.
func sysIoctl(t *Thread, r *amd64.Frame) int64 {
	fd, req, arg := int(int32(r.RDI)), uint64(uint32(r.RSI)), r.RDX
	p := t.p
	e, ok := p.fileAt(fd)
	if !ok {
		return errno(syscall.EBADF)
	}
	switch req {
	case fioclex, fionclex, fionbio:
		var on bool
		if req == fionbio {
			b, err := p.space.CopyIn(arg, 4)
			if err != nil {
				return errno(syscall.EFAULT)
			}
			on = binary.LittleEndian.Uint32(b) != 0
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		cur, ok := p.fds[fd]
		if !ok {
			return errno(syscall.EBADF)
		}
		switch req {
		case fioclex, fionclex:
			cur.cloexec = req == fioclex
		default:
			cur.nonblock.Store(on)
		}
		return 0
	}
	switch f := e.f.(type) {
	case *ttyFile:
		if f.dead() {
			if req == unix.TIOCSPGRP {
				return errno(syscall.ENOTTY)
			}
			return errno(syscall.EIO)
		}
		return f.t.ioctl(t, req, arg)
	case *pipeEnd:
		if req == fionread {
			f.p.mu.Lock()
			n := f.p.queued
			f.p.mu.Unlock()
			b := make([]byte, 4)
			binary.LittleEndian.PutUint32(b, uint32(n))
			return copyOutErr(p, arg, b)
		}
	}
	return errno(syscall.ENOTTY)
}
