package hosting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/inferscale/inferscale/internal/clock"
	"github.com/inferscale/inferscale/internal/httpwire"
)

// upstream is the gateway's HTTP/1.1 client for one instance: a pool of
// kept-alive connections, each carrying one request at a time. A request is
// written and its response read on the calling goroutine, with the
// connection's deadline as its timeout: no goroutine, channel, timer or
// context registration per request, unlike net/http's Transport. The
// caller's ctx is polled instead: the deadline of a connection is at most
// ctxPoll away, and when it passes before the request's own deadline, ctx
// is checked and the deadline moved on.
type upstream struct {
	addr string // host:port to dial
	host string // the Host header
	err  error  // why the instance's URL is unusable, if it is

	mu     sync.Mutex
	idle   []*upConn // most recently used last
	closed bool
}

// idleTimeout is how long a connection may stay idle in the pool: longer
// ones are closed when found (the instance may have closed them, and their
// file descriptors would linger).
const idleTimeout = 90 * time.Second

// newUpstream returns the client of the instance at base, an http URL
// without a path ("http://127.0.0.1:8080").
func newUpstream(base string) *upstream {
	u, err := url.Parse(base)
	switch {
	case err != nil:
	case u.Scheme != "http":
		err = fmt.Errorf("scheme %q: only http is supported", u.Scheme)
	case u.Host == "":
		err = errors.New("no host")
	}
	if err != nil {
		return &upstream{err: fmt.Errorf("instance URL %q: %w", base, err)}
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &upstream{addr: addr, host: u.Host}
}

// dialer dials instances; they are on this host or a cluster network.
var dialer = &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}

// upRequest is one request to an instance.
type upRequest struct {
	path             string // "/invocations"
	body             []byte
	contentType      string
	accept           string
	customAttributes string
	targetModel      string
}

// upResponse is an instance's answer.
type upResponse struct {
	status           int
	body             []byte
	contentType      string
	customAttributes string
	end              time.Time // when it was read (clock.Mono)
}

// do sends req and reads the response, on an idle connection if there is
// one. now is the time of the call; deadline bounds the whole exchange;
// ctx ending interrupts it within ctxPoll.
//
// A request is sent a second time, on a new connection, only when no byte
// of it can have reached the instance: when writing it to a kept-alive
// connection failed before any byte went out (the instance had closed
// it). Once written, a failure may follow the instance's reading it, or
// acting on it, and is returned: replaying an invocation would run the
// model twice. So that a connection the instance closed while it was idle
// (its keep-alive timeout, a restart) does not fail a request that way,
// one idle for peekAfter is checked before it is used (see
// httpwire.Socket.PeerGone), as net/http's Transport, which reads its idle
// connections, knows of a server's closing them (errServerClosedIdle).
func (u *upstream) do(ctx context.Context, req *upRequest, now, deadline time.Time, maxIdle int) (upResponse, error) {
	if u.err != nil {
		return upResponse{}, u.err
	}
	for attempt := 0; ; attempt++ {
		var c *upConn
		if attempt == 0 {
			c = u.getLive(now)
		}
		reused := c != nil
		if c == nil {
			var err error
			if c, err = u.dial(ctx, deadline); err != nil {
				return upResponse{}, err
			}
		}
		resp, sent, err := c.roundTrip(ctx, req, now, deadline, u.host)
		if err == nil {
			resp.end = clock.Mono()
			if c.resp.Close {
				c.close()
			} else {
				// Idle from now on, not since the request began: a request
				// that waited its turn in the instance leaves a connection
				// that was never idle (and no peek is spent on it).
				c.idleSince = resp.end
				u.put(c, maxIdle)
			}
			return resp, nil
		}
		c.close()
		if attempt == 0 && reused && !sent && staleConnErr(err) && ctx.Err() == nil {
			continue
		}
		return upResponse{}, err
	}
}

// peekAfter is how long a connection must have been idle (since its last
// response ended) to be checked for the instance's closing it before it
// is reused. Below it, the check's system call is not spent: an instance
// does not time out connections idle for so short a time, and under load
// connections are reused sooner. (64 users on the gateway benchmark peek
// on about one request in four: 4.0 system calls per request, 3.8
// without peeks.)
const peekAfter = time.Millisecond

// maxPeeked bounds the idle connections getLive checks and finds closed
// before it gives up on the pool (a restarted instance closed them all).
const maxPeeked = 4

// getLive is get, passing over the connections the instance has closed
// while they were idle.
func (u *upstream) getLive(now time.Time) *upConn {
	for range maxPeeked {
		c := u.get(now)
		if c == nil || c.sock == nil || now.Sub(c.idleSince) < peekAfter || !c.sock.PeerGone() {
			return c
		}
		c.close()
	}
	return nil
}

// get takes the most recently used idle connection, or returns nil. If
// that one has been idle for idleTimeout at now, so have all the others:
// they are closed.
func (u *upstream) get(now time.Time) *upConn {
	u.mu.Lock()
	n := len(u.idle)
	if n == 0 {
		u.mu.Unlock()
		return nil
	}
	c := u.idle[n-1]
	if now.Sub(c.idleSince) >= idleTimeout {
		idle := u.idle
		u.idle = nil
		u.mu.Unlock()
		for _, c := range idle {
			c.close()
		}
		return nil
	}
	u.idle[n-1] = nil
	u.idle = u.idle[:n-1]
	u.mu.Unlock()
	return c
}

// put keeps c for the next request, or closes it if the pool is full or
// closed. The least recently used connection goes if it has been idle for
// idleTimeout.
func (u *upstream) put(c *upConn, maxIdle int) {
	u.mu.Lock()
	if u.closed || len(u.idle) >= maxIdle {
		u.mu.Unlock()
		c.close()
		return
	}
	var expired *upConn
	if len(u.idle) > 0 && c.idleSince.Sub(u.idle[0].idleSince) >= idleTimeout {
		expired = u.idle[0]
		u.idle = append(u.idle[:0], u.idle[1:]...)
	}
	u.idle = append(u.idle, c)
	u.mu.Unlock()
	if expired != nil {
		expired.close()
	}
}

// closeIdle closes the connections idle for idleTimeout at now, for when
// no request comes to find them.
func (u *upstream) closeIdle(now time.Time) {
	u.mu.Lock()
	k := 0
	for k < len(u.idle) && now.Sub(u.idle[k].idleSince) >= idleTimeout {
		k++
	}
	expired := append([]*upConn(nil), u.idle[:k]...)
	u.idle = append(u.idle[:0], u.idle[k:]...)
	u.mu.Unlock()
	for _, c := range expired {
		c.close()
	}
}

// close closes the idle connections; those in use are closed when their
// request ends.
func (u *upstream) close() {
	u.mu.Lock()
	idle := u.idle
	u.idle, u.closed = nil, true
	u.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

func (u *upstream) dial(ctx context.Context, deadline time.Time) (*upConn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := dialer.DialContext(dctx, "tcp", u.addr)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = os.ErrDeadlineExceeded // the model's time ran out
		}
		return nil, fmt.Errorf("dial %s: %w", u.addr, err)
	}
	c := &upConn{nc: nc, rw: nc, buf: make([]byte, 16<<10)}
	if sock := httpwire.NewSocket(nc); sock != nil {
		c.rw, c.sock = sock, sock
	}
	c.resp.KeepBody = MaxPayloadBytes
	c.resp.BodyLimit = MaxPayloadBytes
	c.resp.OnHeader = c.header
	return c, nil
}

// upConn is one connection to an instance, used by one request at a time.
type upConn struct {
	nc        net.Conn
	rw        io.ReadWriter    // nc's reads and writes: its httpwire.Socket
	sock      *httpwire.Socket // nil if nc has none
	buf       []byte           // read buffer: buf[r:w] is unparsed
	r, w      int
	wbuf      []byte // the request head, and small bodies
	resp      httpwire.Response
	deadline  time.Time // the connection's deadline
	idleSince time.Time // when its last response ended (monotonic)

	// Headers of the response being read; lastType is the previous
	// response's Content-Type, reused while it does not change.
	contentType, customAttributes string
	gotType, gotAttributes        bool
	lastType                      string
}

// smallBody is the largest body copied after the request head, so that
// the request goes out in one write; larger ones are written from where
// they are, in the same system call.
const smallBody = 16 << 10

// ctxPoll is the longest a request waits on its connection without
// checking its ctx; deadlineSlack is how much earlier than due a
// connection's deadline may be left, saving the timer updates of most
// back-to-back requests (a deadline that comes early is simply moved on).
const (
	ctxPoll       = 250 * time.Millisecond
	deadlineSlack = ctxPoll / 10
)

// roundTrip writes req and reads its response. sent reports whether any
// byte of the request may have gone out.
func (c *upConn) roundTrip(ctx context.Context, req *upRequest, now, deadline time.Time, host string) (resp upResponse, sent bool, err error) {
	next := earliest(deadline, now.Add(ctxPoll))
	if d := next.Sub(c.deadline); d < 0 || d > deadlineSlack {
		if err := c.nc.SetDeadline(next); err != nil {
			return resp, false, fmt.Errorf("set deadline: %w", err)
		}
		c.deadline = next
	}

	// Request head, and the body if small: one write.
	b := append(c.wbuf[:0], "POST "...)
	b = append(b, req.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = appendHeader(b, "Content-Type", req.contentType)
	b = appendHeader(b, "Accept", req.accept)
	b = appendHeader(b, HeaderCustomAttributes, req.customAttributes)
	b = appendHeader(b, HeaderTargetModel, req.targetModel)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(req.body)), 10)
	b = append(b, "\r\n\r\n"...)
	// A request that goes out in one write waits for the response in the
	// same call, without a read that would find nothing yet (an instance
	// answers only when asked; nothing of an earlier response is left).
	awaited := false
	var n int64
	if len(req.body) <= smallBody {
		b = append(b, req.body...)
		if c.sock != nil && c.r == c.w {
			var k int
			k, err = c.sock.WriteAwait(b)
			awaited = err == nil && k == len(b)
			n = int64(k)
			if err == nil && !awaited {
				var m int64
				m, err = c.write(ctx, deadline, b[k:], nil)
				n += m
			}
		} else {
			n, err = c.write(ctx, deadline, b, nil)
		}
	} else {
		n, err = c.write(ctx, deadline, b, req.body)
	}
	if cap(b) <= 2*smallBody+4<<10 {
		c.wbuf = b
	}
	if err != nil {
		return resp, n > 0, fmt.Errorf("write request: %w", err)
	}

	if !awaited {
		// The instance has only now got the request: reading at once
		// would find nothing and wait. Under load, the other requests'
		// goroutines run first and the response is here when this one
		// reads (see the lean server's read of the next request).
		runtime.Gosched()
	}
	c.resp.Reset(false)
	c.gotType, c.gotAttributes = false, false
	c.contentType, c.customAttributes = "", ""
	for {
		if c.r < c.w {
			n, err := c.resp.Advance(c.buf[c.r:c.w])
			c.r += n
			if err != nil {
				return resp, true, fmt.Errorf("read response: %w", err)
			}
			if c.resp.Done() {
				break
			}
		}
		// Make room: drop consumed bytes, grow for a long header block.
		if c.r == c.w {
			c.r, c.w = 0, 0
		} else if c.w == len(c.buf) {
			if c.r > 0 {
				c.w = copy(c.buf, c.buf[c.r:c.w])
				c.r = 0
			} else {
				if len(c.buf) >= 2*httpwire.MaxHeaderBytes {
					return resp, true, fmt.Errorf("read response: %w", httpwire.ProtocolError("response line too long"))
				}
				nb := make([]byte, 2*len(c.buf))
				c.w = copy(nb, c.buf[c.r:c.w])
				c.buf = nb
			}
		}
		n, rerr := c.rw.Read(c.buf[c.w:])
		c.w += n
		if rerr != nil {
			if n > 0 {
				continue // parse what came with the error first
			}
			if errors.Is(rerr, os.ErrDeadlineExceeded) {
				if rerr = c.pollCtx(ctx, deadline); rerr == nil {
					continue
				}
			}
			if rerr == io.EOF {
				if c.r == c.w && c.resp.EOF() {
					break
				}
				return resp, true, fmt.Errorf("read response: %w", io.ErrUnexpectedEOF)
			}
			return resp, true, fmt.Errorf("read response: %w", rerr)
		}
	}
	if c.r != c.w {
		// Bytes after the response: the connection is out of step.
		c.resp.Close = true
	}
	body := c.resp.Body
	if body == nil {
		body = []byte{}
	}
	c.resp.Body = nil // the caller's now
	return upResponse{status: c.resp.Status, body: body, contentType: c.contentType, customAttributes: c.customAttributes}, true, nil
}

// write writes head and body (if any, in the same system call), going on
// past deadlines that only poll ctx. It returns how many bytes went out.
func (c *upConn) write(ctx context.Context, deadline time.Time, head, body []byte) (int64, error) {
	var bufs net.Buffers
	if body != nil {
		bufs = net.Buffers{head, body}
	}
	var total int64
	for range maxWritePolls {
		var err error
		if body == nil {
			var n int
			n, err = c.rw.Write(head)
			head = head[n:]
			total += int64(n)
		} else {
			var n int64
			n, err = bufs.WriteTo(c.nc) // consumes what it wrote
			total += n
		}
		if err == nil {
			return total, nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return total, err
		}
		if err := c.pollCtx(ctx, deadline); err != nil {
			return total, err
		}
	}
	return total, os.ErrDeadlineExceeded
}

// maxWritePolls bounds write's polls of ctx: more than a request's
// deadline allows (ctxPoll apart), for DefaultModelTimeout and far more.
const maxWritePolls = 1 << 20

// pollCtx is called when the connection's deadline has passed: it returns
// ctx's error if ctx has ended, os.ErrDeadlineExceeded if the request's
// deadline has passed, and otherwise sets the connection's next deadline
// and returns nil.
func (c *upConn) pollCtx(ctx context.Context, deadline time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	if !now.Before(deadline) {
		return os.ErrDeadlineExceeded
	}
	next := earliest(deadline, now.Add(ctxPoll))
	if err := c.nc.SetDeadline(next); err != nil {
		return err
	}
	c.deadline = next
	return nil
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// appendHeader appends "\r\nname: value" if value is set.
func appendHeader(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, "\r\n"...)
	b = append(b, name...)
	b = append(b, ": "...)
	return append(b, value...)
}

// header takes the response headers the gateway returns: the first of
// each, as http.Header.Get would.
func (c *upConn) header(name, value []byte) {
	switch {
	case !c.gotType && httpwire.EqualFold(name, "content-type"):
		c.gotType = true
		if string(value) != c.lastType {
			c.lastType = string(value)
		}
		c.contentType = c.lastType
	case !c.gotAttributes && httpwire.EqualFold(name, "x-amzn-sagemaker-custom-attributes"):
		c.gotAttributes = true
		c.customAttributes = string(value)
	}
}

func (c *upConn) close() { c.nc.Close() }

// staleConnErr reports whether err is how a kept-alive connection that the
// other end had closed fails.
func staleConnErr(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// validHeaderValue reports whether v can go in a request header as it is:
// no control characters but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
