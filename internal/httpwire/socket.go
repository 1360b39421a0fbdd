package httpwire

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// Socket reads and writes a connection's non-blocking socket with raw
// system calls, waiting for readiness through the runtime's poller as
// net.Conn does. A read or write of a non-blocking socket never blocks in
// the kernel, so it need not tell the scheduler it is in a system call:
// that bookkeeping, and the thread hand-offs it causes when the kernel
// runs another process during the call (on a shared CPU, the peer that a
// write wakes), cost a proxy about as much as its own work. Deadlines set
// on the net.Conn apply. A Socket allows one Read and one Write at a time,
// concurrently.
type Socket struct {
	rc syscall.RawConn

	rp, wp   []byte
	rn, wn   int
	rerr     error
	werr     error
	rfn, wfn func(fd uintptr) bool
	afn      func(fd uintptr) bool
	pfn      func(fd uintptr)
	awaiting bool // WriteAwait has yet to write
	gone     bool // PeerGone's finding
}

// NewSocket returns the Socket of c, or nil if c has no file descriptor
// (a net.Pipe, say): use c itself then.
func NewSocket(c net.Conn) *Socket {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &Socket{rc: rc}
	s.rfn, s.wfn, s.afn, s.pfn = s.read, s.write, s.writeAwait, s.peek
	return s
}

// PeerGone reports, without waiting, whether the connection can no
// longer carry a request: the peer has closed or reset it, or has sent
// bytes that nobody asked for. It is for a kept-alive client connection
// about to be reused: one the server closed while it was idle fails
// before the request is written, so that the request may be sent on
// another connection, where a failure after the write could follow the
// server's acting on it. It costs a system call.
func (s *Socket) PeerGone() bool {
	s.gone = false
	if err := s.rc.Control(s.pfn); err != nil {
		return true
	}
	return s.gone
}

func (s *Socket) peek(fd uintptr) {
	var b [1]byte
	for range 3 { // EINTR
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if errno != syscall.EINTR {
			// EAGAIN: nothing to read, the connection is as it was left.
			// Else EOF (no error), an error (a reset), or bytes.
			s.gone = errno != syscall.EAGAIN
			return
		}
	}
}

func (s *Socket) read(fd uintptr) bool {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.rp[0])), uintptr(len(s.rp)))
	switch errno {
	case 0:
		s.rn = int(n)
		if n == 0 {
			s.rerr = io.EOF
		}
	case syscall.EAGAIN:
		return false // wait until readable
	case syscall.EINTR:
		return s.read(fd)
	default:
		s.rerr = errno
	}
	return true
}

// Read reads into p, as net.Conn's Read does.
func (s *Socket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.rp, s.rn, s.rerr = p, 0, nil
	if err := s.rc.Read(s.rfn); err != nil {
		return 0, err
	}
	s.rp = nil
	return s.rn, s.rerr
}

func (s *Socket) write(fd uintptr) bool {
	for s.wn < len(s.wp) {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&s.wp[s.wn])), uintptr(len(s.wp)-s.wn))
		switch errno {
		case 0:
			s.wn += int(n)
		case syscall.EAGAIN:
			return false // wait until writable
		case syscall.EINTR:
		default:
			s.werr = errno
			return true
		}
	}
	return true
}

// WriteAwait writes p, a request, and waits until the socket is readable,
// without reading first: a read between the write and the reply would
// find nothing, and cost a system call before the wait. It returns how
// much of p went out. When the socket takes less than all of p at once,
// WriteAwait returns without waiting: the caller writes the rest and then
// reads as usual. What ends the wait other than the reply (the read
// deadline, an error) is left for the next Read to report. WriteAwait is
// both a Read and a Write of the Socket.
//
// No reply can be missed: the write happens inside the read's readiness
// cycle, after the poller has been reset for the wait, so that whatever
// arrives after the write wakes it. Bytes that arrived before the write
// (which a reply to this request cannot be) may not end the wait; they are
// read with the reply. It is for peers that speak only when spoken to,
// such as an HTTP/1.1 server answering one request at a time.
func (s *Socket) WriteAwait(p []byte) (int, error) {
	s.wp, s.wn, s.werr, s.awaiting = p, 0, nil, true
	err := s.rc.Read(s.afn)
	s.wp = nil
	if s.awaiting { // the read did not start: closed, or past its deadline
		s.awaiting = false
		return 0, err
	}
	return s.wn, s.werr
}

// writeAwait is WriteAwait's read function: the first call writes (and
// asks for the wait if all went out), the next ends the wait.
func (s *Socket) writeAwait(fd uintptr) bool {
	if !s.awaiting {
		return true // readable, or woken by the deadline or an error
	}
	s.awaiting = false
	s.write(fd)
	return s.werr != nil || s.wn < len(s.wp)
}

// Write writes all of p, as net.Conn's Write does.
func (s *Socket) Write(p []byte) (int, error) {
	s.wp, s.wn, s.werr = p, 0, nil
	err := s.rc.Write(s.wfn)
	s.wp = nil
	if err == nil {
		err = s.werr
	}
	return s.wn, err
}
