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
	s.rfn, s.wfn = s.read, s.write
	return s
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
