package loadgen

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollEngine runs closed-loop users on Linux the way wrk does: a few
// event loops, one per CPU, each owning many non-blocking connections and
// waiting on its own epoll set. Compared with a goroutine per user on
// net.Conn, it saves a read that would return EAGAIN after every request
// and the scheduler's work of parking and waking a goroutine per
// response; compared with wrk, it registers each connection once
// (edge-triggered) instead of twice per request. A request costs a write,
// a read and a share of an epoll_wait.
//
// Edge-triggered reads need no read to EAGAIN: a read shorter than the
// buffer has emptied the socket, and data that arrives later raises a new
// edge.
type epollEngine struct {
	r     *runner
	ip    net.IP // the server's address
	port  int
	dom   int
	loops []*evloop
	next  int // round-robin loop for the next user
}

// evloop is one event loop; its goroutine owns everything but inbox.
type evloop struct {
	e    *epollEngine
	epfd int
	// The epoll descriptor as a file of the runtime's poller; rc is nil
	// if it could not be registered (epoll_wait then blocks).
	file     *os.File
	rc       syscall.RawConn
	deadline time.Time // file's read deadline
	events   []unix.EpollEvent
	n        int // events found by pollNow
	pollFn   func(uintptr) bool
	evfd     int // eventfd: wakes the loop for new users and for stop
	sa       unix.Sockaddr
	sh       *shard
	byFD     []*euser
	users    []*euser // all users of this loop
	ready    []*euser // users to start a request on at the next turn

	mu    sync.Mutex
	inbox []*euser
}

// euser is one closed-loop user of an event loop.
type euser struct {
	quit     atomic.Bool
	idx      int // in evloop.users
	fd       int // -1: not connected
	state    int
	req      []byte
	off      int // bytes of req written
	next     int // payload index
	start    time.Time
	deadline time.Time
	buf      []byte
	r, w     int
	resp     response
	reused   bool // the connection has carried a response
	got      bool // a byte of the current response arrived
	retried  bool
}

// euser states.
const (
	uIdle = iota
	uConnecting
	uWriting
	uReading
)

// newEpollEngine sets up the event loops, or returns nil (and the caller
// uses goroutines) if it cannot.
func newEpollEngine(r *runner) *epollEngine {
	addr, err := net.ResolveTCPAddr("tcp", r.t.addr)
	if err != nil {
		return nil
	}
	e := &epollEngine{r: r, ip: addr.IP, port: addr.Port, dom: unix.AF_INET6}
	if addr.IP.To4() != nil {
		e.dom = unix.AF_INET
	}
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			e.close()
			return nil
		}
		evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			unix.Close(epfd)
			e.close()
			return nil
		}
		l := &evloop{e: e, epfd: epfd, evfd: evfd, sh: r.rec.shard(i), sa: e.sockaddr(), events: make([]unix.EpollEvent, 256)}
		l.pollFn = l.pollNow
		if unix.SetNonblock(epfd, true) == nil {
			// A non-blocking descriptor: os.NewFile registers it with
			// the poller if it can, which SetReadDeadline tells.
			l.file = os.NewFile(uintptr(epfd), "epoll")
			if l.file.SetReadDeadline(time.Time{}) == nil {
				l.rc, _ = l.file.SyscallConn()
			}
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
			unix.Close(epfd)
			unix.Close(evfd)
			e.close()
			return nil
		}
		e.loops = append(e.loops, l)
	}
	return e
}

// sockaddr returns a new socket address of the server: each loop needs
// its own, as the unix package writes into it on every connect.
func (e *epollEngine) sockaddr() unix.Sockaddr {
	if ip4 := e.ip.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: e.port}
		copy(sa.Addr[:], ip4)
		return sa
	}
	sa := &unix.SockaddrInet6{Port: e.port}
	copy(sa.Addr[:], e.ip.To16())
	return sa
}

// start runs the loops; the runner's WaitGroup counts them.
func (e *epollEngine) start() {
	for _, l := range e.loops {
		e.r.wg.Add(1)
		go l.run()
	}
}

// close releases the loops' descriptors once they have ended.
func (e *epollEngine) close() {
	for _, l := range e.loops {
		if l.file != nil {
			l.file.Close() // and epfd with it
		} else {
			unix.Close(l.epfd)
		}
		unix.Close(l.evfd)
	}
}

// wake interrupts every loop's wait, e.g. to notice the run stopping.
func (e *epollEngine) wake() {
	for _, l := range e.loops {
		l.wake()
	}
}

// addUser hands a new user to a loop and returns its quit flag.
func (e *epollEngine) addUser(id int) *atomic.Bool {
	u := &euser{fd: -1, next: id % len(e.r.t.requests), buf: make([]byte, 4<<10)}
	l := e.loops[e.next]
	e.next = (e.next + 1) % len(e.loops)
	l.mu.Lock()
	l.inbox = append(l.inbox, u)
	l.mu.Unlock()
	l.wake()
	return &u.quit
}

func (l *evloop) wake() {
	one := [8]byte{1}
	unix.Write(l.evfd, one[:])
}

func (l *evloop) run() {
	r := l.e.r
	defer r.wg.Done()
	events := l.events
	nextScan := time.Now().Add(pollEvery)
	for {
		l.takeInbox()
		if r.stopping.Load() {
			l.abort()
			return
		}
		// Users whose request failed at once start their next one here,
		// once per turn, so that a server refusing connections cannot
		// keep the loop from its events.
		ready := l.ready
		l.ready = nil
		for _, u := range ready {
			l.begin(u)
		}
		if len(l.users) == 0 && r.isExhausted() {
			return // MaxRequests reached and this loop's users are done
		}
		n := l.poll(nextScan)
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == l.evfd {
				var b [8]byte
				unix.Read(l.evfd, b[:])
				continue
			}
			if fd < len(l.byFD) && l.byFD[fd] != nil {
				l.handle(l.byFD[fd], events[i].Events)
			}
		}
		if now := time.Now(); !now.Before(nextScan) {
			l.expire(now)
			nextScan = now.Add(pollEvery)
		}
	}
}

// poll returns the number of events in l.events, waiting for some until
// nextScan unless users are ready to start a request.
//
// It never blocks in epoll_wait itself: a goroutine blocked in a system
// call makes the runtime's sysmon hand its P to another thread, over and
// over, at a cost of thousands of context switches a second. Instead the
// epoll descriptor is itself registered with the runtime's poller, which
// parks the goroutine until the descriptor is readable, that is until one
// of its connections has an event.
func (l *evloop) poll(nextScan time.Time) int {
	if len(l.ready) > 0 || l.rc == nil {
		timeout := 0 // ms
		if len(l.ready) == 0 {
			if d := time.Until(nextScan); d > 0 {
				timeout = int((d + time.Millisecond - 1) / time.Millisecond)
			}
		}
		for {
			n, err := unix.EpollWait(l.epfd, l.events, timeout)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				panic(fmt.Sprintf("loadgen: epoll_wait: %v", err)) // EBADF/EFAULT/EINVAL: a bug
			}
			return n
		}
	}
	if !nextScan.Equal(l.deadline) {
		l.file.SetReadDeadline(nextScan)
		l.deadline = nextScan
	}
	l.n = 0
	l.rc.Read(l.pollFn) // an error is the deadline passing: no events
	return l.n
}

// pollNow is called by RawConn.Read: it takes the events there are, and
// returning false has the runtime wait for the descriptor to be readable.
// The runtime forgets readiness when Read starts, so this must look first.
func (l *evloop) pollNow(uintptr) bool {
	for {
		n, err := unix.EpollWait(l.epfd, l.events, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			panic(fmt.Sprintf("loadgen: epoll_wait: %v", err))
		}
		l.n = n
		return n > 0
	}
}

func (l *evloop) takeInbox() {
	l.mu.Lock()
	in := l.inbox
	l.inbox = nil
	l.mu.Unlock()
	for _, u := range in {
		u.idx = len(l.users)
		l.users = append(l.users, u)
		l.ready = append(l.ready, u)
	}
}

// begin starts the user's next request, or retires the user.
func (l *evloop) begin(u *euser) {
	r := l.e.r
	if u.quit.Load() || r.stopping.Load() || !r.claim() {
		l.retire(u)
		return
	}
	u.req = r.t.requests[u.next]
	if u.next++; u.next == len(r.t.requests) {
		u.next = 0
	}
	u.start = time.Now()
	u.deadline = u.start.Add(r.o.Request.Timeout)
	u.retried = false
	l.sh.sent.Add(1)
	l.send(u)
}

// send writes the current request, connecting first if needed.
func (l *evloop) send(u *euser) {
	u.off, u.got = 0, false
	u.resp.reset(l.e.r.t.head)
	if u.fd < 0 {
		if err := l.connect(u); err != nil {
			l.fail(u, err)
			return
		}
		if u.state == uConnecting {
			return
		}
	}
	u.state = uWriting
	l.write(u)
}

func (l *evloop) connect(u *euser) error {
	e := l.e
	fd, err := unix.Socket(e.dom, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("dial %s: socket: %w", e.r.t.addr, err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, l.sa)
	if err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return fmt.Errorf("dial %s: %w", e.r.t.addr, err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return fmt.Errorf("dial %s: epoll_ctl: %w", e.r.t.addr, err)
	}
	for fd >= len(l.byFD) {
		l.byFD = append(l.byFD, make([]*euser, fd+1)...)
	}
	l.byFD[fd] = u
	u.fd, u.r, u.w, u.reused = fd, 0, 0, false
	u.state = uWriting
	if err == unix.EINPROGRESS {
		u.state = uConnecting
	}
	return nil
}

func (l *evloop) handle(u *euser, ev uint32) {
	switch u.state {
	case uConnecting:
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		errno, err := unix.GetsockoptInt(u.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && errno != 0 {
			err = unix.Errno(errno)
		}
		if err != nil {
			l.fail(u, fmt.Errorf("dial %s: %w", l.e.r.t.addr, err))
			return
		}
		u.state = uWriting
		l.write(u)
	case uWriting:
		l.write(u)
	case uReading:
		l.read(u, ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0)
	}
}

func (l *evloop) write(u *euser) {
	for u.off < len(u.req) {
		n, err := rawWrite(u.fd, u.req[u.off:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return // an EPOLLOUT edge will come
		case err != nil:
			l.fail(u, fmt.Errorf("write request: %w", err))
			return
		}
		u.off += n
	}
	u.state = uReading
	// The response cannot be there yet: wait for its edge.
}

// read reads and parses what has arrived. If closing, the peer has closed
// or reset the connection: its end is already queued and will raise no
// new edge, so read until it shows.
func (l *evloop) read(u *euser, closing bool) {
	for {
		// Make room: drop consumed bytes, grow for a long header block.
		if u.r == u.w {
			u.r, u.w = 0, 0
		} else if u.w == len(u.buf) {
			if u.r > 0 {
				u.w = copy(u.buf, u.buf[u.r:u.w])
				u.r = 0
			} else if len(u.buf) >= 2*maxHeaderBytes {
				l.fail(u, protocolErr("response line too long"))
				return
			} else {
				nb := make([]byte, 2*len(u.buf))
				u.w = copy(nb, u.buf[:u.w])
				u.buf = nb
			}
		}
		room := len(u.buf) - u.w
		n, err := rawRead(u.fd, u.buf[u.w:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			l.fail(u, fmt.Errorf("read response: %w", err))
			return
		case n == 0:
			if u.r == u.w && u.resp.EOF() {
				l.complete(u)
			} else {
				l.fail(u, fmt.Errorf("read response: %w", io.ErrUnexpectedEOF))
			}
			return
		}
		u.w += n
		u.got = true
		used, perr := u.resp.Advance(u.buf[u.r:u.w])
		u.r += used
		if perr != nil {
			l.fail(u, perr)
			return
		}
		if u.resp.Done() {
			l.complete(u)
			return
		}
		if n < room && !closing {
			return // the socket is empty; more data raises a new edge
		}
	}
}

// complete records a response and starts the next request.
func (l *evloop) complete(u *euser) {
	latency := time.Since(u.start)
	class := classify(u.resp.Status, nil)
	if class != cOK {
		l.e.r.recordFailure(nil, u.resp.Status, u.resp.snippet())
	}
	l.sh.finish(class, latency)
	if u.resp.Close {
		l.closeConn(u)
	} else {
		u.reused = true
	}
	u.state = uIdle
	l.begin(u)
}

// fail ends the current request with err, closing the connection; a
// request on a kept-alive connection that the server had closed is
// retried once on a new one.
func (l *evloop) fail(u *euser, err error) {
	reused := u.reused
	l.closeConn(u)
	if reused && !u.got && !u.retried && staleConnErr(err) {
		u.retried = true
		l.send(u)
		return
	}
	latency := time.Since(u.start)
	class := classify(0, err)
	l.e.r.recordFailure(err, 0, nil)
	l.sh.finish(class, latency)
	u.state = uIdle
	l.ready = append(l.ready, u)
}

// expire fails the requests whose deadline has passed.
func (l *evloop) expire(now time.Time) {
	for _, u := range l.users {
		if u.state != uIdle && now.After(u.deadline) {
			u.retried = true // no retry after a timeout
			l.fail(u, fmt.Errorf("request: %w", errTimeout))
		}
	}
}

func (l *evloop) closeConn(u *euser) {
	if u.fd >= 0 {
		l.byFD[u.fd] = nil
		unix.Close(u.fd) // also removes it from the epoll set
		u.fd = -1
	}
	u.r, u.w, u.reused = 0, 0, false
}

func (l *evloop) retire(u *euser) {
	l.closeConn(u)
	last := len(l.users) - 1
	l.users[u.idx] = l.users[last]
	l.users[u.idx].idx = u.idx
	l.users = l.users[:last]
	u.state = uIdle
}

// abort ends the run for this loop: requests in flight are unfinished.
func (l *evloop) abort() {
	for _, u := range l.users {
		if u.state != uIdle {
			l.sh.finish(cUnfinished, 0)
		}
		l.closeConn(u)
	}
	l.users, l.ready = nil, nil
}

// errTimeout is a request that did not complete within Request.Timeout.
var errTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "timeout waiting for the response" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var _ net.Error = timeoutError{}

// rawRead and rawWrite are read(2) and write(2) on non-blocking sockets,
// which never block: they skip the runtime's bookkeeping for system calls
// that might (entersyscall and exitsyscall), which also keeps sysmon from
// handing the loop's P to another thread in the middle of one.
func rawRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
