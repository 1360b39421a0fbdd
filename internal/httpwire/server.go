package httpwire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/inferscale/inferscale/internal/clock"
)

// Server serves HTTP/1.1 on a listener with the handler and the timeouts
// of an http.Server, HTTP, and serves most requests itself: the plain
// keep-alive requests API clients send (HTTP/1.1, origin-form target,
// header fields on CRLF lines, no body or a Content-Length body), read and
// answered with a fraction of net/http's allocations, system calls and
// goroutine switches. Any other request — chunked, Expect: 100-continue,
// an upgrade, HTTP/1.0, anything malformed or over the lean server's
// buffer — is handed, with its connection and the bytes already read, to
// HTTP, which serves that connection from then on. So every request is
// answered either as net/http would answer it or by net/http itself.
//
// To the handler the lean server is net/http with these differences:
//   - the *http.Request, its Header and URL are reused for the next request
//     on the connection once ServeHTTP returns, so a handler must not keep
//     them (net/http documents the same of the ResponseWriter and the body);
//   - the request's context is the connection's: it is cancelled when the
//     connection closes, not when ServeHTTP returns; a client going away
//     cancels it too, noticed once the handler has read the body and run
//     for watchAfter to twice that (net/http notices at once);
//   - the response is buffered up to MaxBufferedBody and sent with a
//     Content-Length in one write; a larger one, or one the handler
//     flushes, is sent as it is written: with the Content-Length the
//     handler set, as net/http sends it, else chunked (so a handler that
//     sets Content-Length, writes the body and flushes has its response
//     sent before it returns, and what it does next is off the client's
//     path);
//   - the ResponseWriter implements http.Flusher, and not http.Hijacker.
//
// Only HTTP.Handler (nil: http.DefaultServeMux), HTTP.ReadHeaderTimeout
// and HTTP.IdleTimeout (or HTTP.ReadTimeout when that is zero) are used by
// the lean server itself, which logs handler panics to Logger; HTTP is used
// as it is for the connections handed to it, except that the first Serve
// or Shutdown wraps HTTP.Handler in framingGuard, which closes a
// connection after a chunked request and after an HTTP/1.0 request with a
// body (request smuggling: RFC 9112, section 6.1). A request with both
// Transfer-Encoding and Content-Length, or with Transfer-Encoding in
// HTTP/1.0, that the lean server reads is answered 400 and its connection
// closed.
type Server struct {
	HTTP   *http.Server
	Logger *slog.Logger // nil: slog.Default()

	once         sync.Once
	handler      http.Handler // HTTP.Handler as it was at the first Serve
	handoff      *handoffListener
	fallbackDone chan struct{} // closed when HTTP.Serve has returned fallbackErr
	fallbackErr  error

	mu       sync.Mutex
	conns    map[*conn]struct{}
	lns      map[net.Listener]struct{}
	closing  atomic.Bool
	baseCtx  context.Context
	stopBase context.CancelFunc
}

// sniffLen is how much of a body http.DetectContentType looks at.
const sniffLen = 512

// MaxBufferedBody is the largest response body the lean server sends with
// a Content-Length; larger ones are sent chunked as they are written.
const MaxBufferedBody = 1 << 20

// maxDiscard is how much of a request body a handler left unread is read
// and dropped to keep the connection; past it the connection is closed, as
// net/http does.
const maxDiscard = 256 << 10

// deadlineSlack is how far a connection's read deadline may lag behind the
// one wanted before it is moved: moving it on every request costs more
// than a second's precision is worth.
const deadlineSlack = time.Second

// readBufferSize is the lean server's read buffer per connection: a
// request head that does not fit goes to net/http.
const readBufferSize = 8 << 10

// lingerDelay is how long a connection closed with request bytes unread
// is kept half-closed, its input drained, so that closing it does not
// reset it before the client has read the response (net/http's
// rstAvoidanceDelay).
const lingerDelay = 500 * time.Millisecond

var (
	errHandedOff  = errors.New("connection handed to net/http")
	errBodyUnread = errors.New("request body left unread")
)

func (s *Server) init() {
	s.once.Do(func() {
		s.handoff = &handoffListener{conns: make(chan net.Conn), done: make(chan struct{})}
		// The lean server calls the handler; net/http calls it through
		// framingGuard, which closes the connections whose framing the
		// lean server would have refused and net/http cannot tell.
		s.handler = s.HTTP.Handler
		if s.handler == nil {
			s.handler = http.DefaultServeMux
		}
		s.HTTP.Handler = framingGuard{s.handler}
		s.conns = map[*conn]struct{}{}
		s.lns = map[net.Listener]struct{}{}
		// Handlers find the server in the context, as with net/http.
		s.baseCtx, s.stopBase = context.WithCancel(context.WithValue(context.Background(), http.ServerContextKey, s.HTTP))
		s.fallbackDone = make(chan struct{})
		go func() {
			s.fallbackErr = s.HTTP.Serve(s.handoff)
			close(s.fallbackDone)
		}()
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Serve accepts connections on ln and serves them until Shutdown or Close,
// when it returns http.ErrServerClosed; it closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors, say: wait as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// Shutdown stops accepting, closes idle connections, lets each active one
// finish its request, and waits for them and for HTTP's connections
// (http.Server.Shutdown) until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.closeListeners()
	herr := make(chan error, 1)
	go func() { herr <- s.HTTP.Shutdown(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !s.closeIdle() {
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("wait for connections: %w", ctx.Err()), <-herr)
		case <-tick.C:
		}
	}
	s.stopBase()
	err := <-herr
	<-s.fallbackDone
	if !errors.Is(s.fallbackErr, http.ErrServerClosed) {
		err = errors.Join(err, s.fallbackErr)
	}
	return err
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.init()
	s.closeListeners()
	err := s.HTTP.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.stopBase()
	return err
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Swap(true) {
		return
	}
	for ln := range s.lns {
		ln.Close()
	}
}

// closeIdle closes the connections waiting for a request and reports
// whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

func (s *Server) newConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	ctx, cancel := context.WithCancel(context.WithValue(s.baseCtx, http.LocalAddrContextKey, nc.LocalAddr()))
	c := &conn{srv: s, nc: nc, ctx: ctx, cancel: cancel, remote: nc.RemoteAddr().String()}
	c.idle.Store(true)
	s.conns[c] = struct{}{}
	return c
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// conn is one connection the lean server serves.
type conn struct {
	srv    *Server
	nc     net.Conn
	br     *bufio.Reader
	ctx    context.Context
	cancel context.CancelFunc
	remote string
	idle   atomic.Bool // waiting for a request: Shutdown may close it

	deadline time.Time // the read deadline set on nc
	broken   bool      // a write failed: close after this request
	lastPost bool      // the last request was a POST
	served   bool      // a request was read

	// The watch for a client going away while a handler runs (see
	// startWatch). quiet says the body is read and no request bytes are
	// buffered, so that a read of nc may run beside the handler.
	src       peekReader  // what br reads: nc, after a byte the watch read
	out       io.Writer   // what responses are written to: nc
	watch     *time.Timer // runs checkWatch; armed while requests are served
	watchMu   sync.Mutex
	armed     bool          // watch is due to run
	inHandler bool          // a handler runs
	handlers  uint64        // handlers started on the connection
	checked   uint64        // handlers when checkWatch last ran, or watch was armed
	watchDone chan struct{} // closed when the watch's read returned; nil if none
	quiet     atomic.Bool

	base    *http.Request // carries ctx; each request starts as a copy
	req     http.Request
	url     url.URL
	header  http.Header
	scratch headScratch // parseRequestHead's, for header
	body    body
	resp    response
	date    [len(http.TimeFormat)]byte
	dateEnd time.Time // when the second date holds ends (a clock.Mono time)
}

var bufReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

func (c *conn) serve() {
	c.br = bufReaders.Get().(*bufio.Reader)
	c.src.nc, c.out = c.nc, c.nc
	if sock := NewSocket(c.nc); sock != nil {
		c.src.nc, c.out = sock, sock
	}
	c.br.Reset(&c.src)
	handedOff := false
	defer func() {
		c.srv.forget(c)
		if !handedOff {
			c.nc.Close()
			c.cancel()
		}
		c.br.Reset(nil)
		bufReaders.Put(c.br)
		c.watch.Stop()
	}()
	c.watch = time.AfterFunc(time.Hour, c.checkWatch)
	c.watch.Stop() // armed by startHandler
	c.base = (&http.Request{}).WithContext(c.ctx)
	c.header = http.Header{}
	c.resp.c = c
	c.resp.header = http.Header{}
	for {
		err := c.serveOne()
		if err == errHandedOff {
			handedOff = true
			return
		}
		if err == errBodyUnread {
			c.linger()
			return
		}
		if err != nil || c.broken || c.srv.closing.Load() {
			return
		}
	}
}

// serveOne reads and answers one request, or hands the connection over.
// It returns an error when the connection is to be closed.
func (c *conn) serveOne() error {
	c.idle.Store(true)
	now := clock.Mono()
	idle := c.srv.HTTP.IdleTimeout
	if idle == 0 {
		idle = c.srv.HTTP.ReadTimeout
	}
	c.setReadDeadline(now, idle)
	if c.br.Buffered() == 0 {
		// The client sends its next request only now that it has the
		// response: reading at once would find nothing and wait. Let the
		// other connections run first; under load the request is here
		// when this one runs again, and its read returns it without a
		// wait and a second read.
		runtime.Gosched()
	}
	head, err := c.readHead()
	if err != nil {
		return err
	}
	c.idle.Store(false)
	clear(c.header)
	h, ok := parseRequestHead(head, c.header, &c.scratch)
	if ok {
		ok = requestURL(&c.url, h.target)
	}
	if !ok {
		if faultyFraming(head) {
			c.srv.logger().Debug("http: request with faulty framing refused", "remote", c.remote)
			c.write([]byte(badFraming))
			return errBodyUnread
		}
		return c.handOff()
	}
	c.br.Discard(len(head))
	c.lastPost, c.served = h.method == http.MethodPost, true

	r := &c.req
	*r = *c.base
	r.Method, r.URL, r.Proto, r.ProtoMajor, r.ProtoMinor = h.method, &c.url, "HTTP/1.1", 1, 1
	r.Header, r.Host, r.RequestURI, r.RemoteAddr, r.Close = c.header, h.host, h.target, c.remote, h.close
	if h.contentLength > 0 {
		c.body = body{c: c, remain: h.contentLength, idle: idle}
		r.Body, r.ContentLength = &c.body, h.contentLength
	} else {
		c.body = body{}
		r.Body, r.ContentLength = http.NoBody, 0
	}

	w := &c.resp
	w.reset(r)
	c.startHandler()
	err = c.call(w, r)
	if gone := c.endHandler(); gone {
		return errClientGone
	}
	if err != nil {
		return err
	}
	w.finish()
	if c.broken {
		return nil
	}
	if c.body.remain > 0 {
		if c.body.remain >= maxDiscard { // endHead announced the close
			return errBodyUnread
		}
		if _, err := io.Copy(io.Discard, &c.body); err != nil {
			return fmt.Errorf("discard request body: %w", err)
		}
	}
	if w.close {
		return errors.New("connection: close")
	}
	return nil
}

// call runs the handler, recovering a panic as net/http does: the
// connection is closed without a response.
func (c *conn) call(w *response, r *http.Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v", p)
			if p != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.srv.logger().Error("http: panic serving", "remote", c.remote, "panic", fmt.Sprint(p), "stack", string(buf))
			}
		}
	}()
	c.srv.handler.ServeHTTP(w, r)
	return nil
}

// framingGuard is the handler of the connections handed to net/http. A
// request with both Transfer-Encoding and Content-Length, or an HTTP/1.0
// request with Transfer-Encoding, has faulty framing (RFC 9112, section
// 6.1): another server in the path may have delimited it otherwise, so
// that what follows it may be a smuggled request. net/http frames the
// first by its chunks and the second by its length and keeps the
// connection; it drops the field that would tell them apart, so the guard
// closes the connection after any chunked request and any HTTP/1.0
// request with a body. (The lean server refuses such a request when it is
// the first it hands over; see faultyFraming.)
type framingGuard struct{ h http.Handler }

func (g framingGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.TransferEncoding) > 0 || r.ProtoMajor == 1 && r.ProtoMinor == 0 && r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	g.h.ServeHTTP(w, r)
}

// faultyFraming reports whether head, a whole request head, has a
// Transfer-Encoding field and a Content-Length field, or a
// Transfer-Encoding field in an HTTP/1.0 request: RFC 9112, section 6.1.
// Lines may end in CRLF or a bare LF.
func faultyFraming(head string) bool {
	line, rest, _ := strings.Cut(head, "\n")
	http10 := strings.HasSuffix(strings.TrimSuffix(line, "\r"), " HTTP/1.0")
	te, cl := false, false
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\n")
		name, _, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		switch {
		case strings.EqualFold(name, "Transfer-Encoding"):
			te = true
		case strings.EqualFold(name, "Content-Length"):
			cl = true
		}
	}
	return te && (cl || http10)
}

// badFraming is the lean server's answer to a request with faulty framing;
// the connection closes after it.
const badFraming = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
	"400 Bad Request: Transfer-Encoding with Content-Length or in HTTP/1.0"

// readHead waits for a whole request head in the read buffer and returns
// it, without consuming it. A head that does not end in CRLF CRLF, or
// does not fit the buffer, is handed to net/http.
func (c *conn) readHead() (string, error) {
	timed := false
	skip, dropped := 0, 0
	if c.lastPost {
		// As net/http, drop up to 4 CR or LF bytes some clients send
		// after a POST body (RFC 9112, section 2.2).
		skip = 4
	}
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		if skip > 0 && len(buf) > 0 {
			n := 0
			for n < len(buf) && n < skip && (buf[n] == '\r' || buf[n] == '\n') {
				n++
			}
			if n > 0 {
				c.br.Discard(n)
				skip, dropped = skip-n, dropped+n
				continue
			}
			skip = 0
		}
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			// A line feed without a carriage return in it (a line end to
			// net/http) fails parseRequestHead's checks: the head is
			// handed off then.
			return string(buf[:i+4]), nil
		}
		// (After the first request, net/http closes a connection that
		// ends within the first 4 bytes of a request without a word.)
		if bareLF(buf) && (dropped+len(buf) >= 4 || !c.served) || len(buf) == c.br.Size() {
			return "", c.handOff()
		}
		if len(buf) > 0 && !timed {
			// Part of a head is here: the rest has ReadHeaderTimeout.
			timed = true
			if t := c.srv.HTTP.ReadHeaderTimeout; t > 0 {
				c.deadline = time.Now().Add(t)
				c.nc.SetReadDeadline(c.deadline)
			}
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			if err == io.EOF && len(buf) > 0 && (dropped+len(buf) >= 4 || !c.served) {
				// A head cut short: net/http answers 400, unless fewer
				// than 4 bytes of a request after the first came.
				return "", c.handOff()
			}
			if len(buf) > 0 {
				return "", fmt.Errorf("read request head: %w", err)
			}
			return "", err // closed or timed out while idle
		}
	}
}

// bareLF reports whether b has a line feed without a carriage return
// before it, which net/http takes as a line end and the lean server
// does not.
func bareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// setReadDeadline sets the read deadline to now+d (none if d is 0), unless
// the one set is early by less than deadlineSlack or an eighth of d.
func (c *conn) setReadDeadline(now time.Time, d time.Duration) {
	var want time.Time
	if d > 0 {
		want = now.Add(d)
		if diff := want.Sub(c.deadline); !c.deadline.IsZero() && diff >= 0 && diff < min(deadlineSlack, d/8) {
			return
		}
	} else if c.deadline.IsZero() {
		return
	}
	c.nc.SetReadDeadline(want)
	c.deadline = want
}

// linger half-closes the connection and reads what the client still
// sends, for up to lingerDelay, so that the response is not lost to a
// reset when the connection closes with request bytes unread.
func (c *conn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerDelay))
	io.Copy(io.Discard, c.nc)
}

// handOff gives the connection, and the bytes read from it, to HTTP.
func (c *conn) handOff() error {
	c.nc.SetReadDeadline(time.Time{})
	// The bytes already read go with the connection; the pooled reader
	// goes back to the pool.
	pending, _ := c.br.Peek(c.br.Buffered())
	bc := &bufferedConn{Conn: c.nc, pending: append([]byte(nil), pending...)}
	c.srv.forget(c)
	select {
	case c.srv.handoff.conns <- bc:
		// HTTP cancels nothing of ours: the connection's context ends here.
		c.cancel()
		return errHandedOff
	case <-c.srv.handoff.done:
		return http.ErrServerClosed
	}
}

// watchAfter is how long a handler runs before a read of the connection
// watches for the client going away: most requests end sooner, and need
// no goroutine or system call for it.
const watchAfter = 100 * time.Millisecond

var errClientGone = errors.New("client went away")

// startHandler tells the watch that a handler is about to run. The watch's
// timer is armed here only if it is not already: back-to-back requests
// cost no timer update each, and an idle connection no timer at all.
func (c *conn) startHandler() {
	c.quiet.Store(c.body.remain == 0 && c.br.Buffered() == 0)
	c.watchMu.Lock()
	c.inHandler = true
	c.handlers++
	if !c.armed {
		c.armed, c.checked = true, c.handlers
		c.watch.Reset(watchAfter)
	}
	c.watchMu.Unlock()
}

// checkWatch runs watchAfter after the timer was armed, and every
// watchAfter while handlers keep starting: a handler that was already
// running at the previous check (or when the timer was armed) has run for
// at least watchAfter, and the watch starts; one started since is checked
// again later; with no handler running, the timer is left unarmed.
func (c *conn) checkWatch() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	switch {
	case !c.inHandler:
		c.armed = false
	case c.handlers != c.checked:
		c.checked = c.handlers
		c.watch.Reset(watchAfter)
	default:
		c.armed = false
		c.startWatch()
	}
}

// startWatch runs, with watchMu held, when a handler has run for
// watchAfter: if the body is read and no further request is buffered, a
// goroutine reads the connection, as net/http's background read does. EOF
// or an error means the client is gone: the connection's context is
// cancelled, so that the handler can stop. A byte means the client sent
// its next request; it is kept for br.
func (c *conn) startWatch() {
	if c.watchDone != nil || !c.quiet.Load() {
		return
	}
	done := make(chan struct{})
	c.watchDone = done
	go func() {
		defer close(done)
		n, err := c.nc.Read(c.src.b[:])
		switch {
		case n == 1:
			c.src.n = 1
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			c.cancel()
		}
	}()
}

// endHandler stops the watch once the handler has returned, and reports
// whether it found the client gone.
func (c *conn) endHandler() (gone bool) {
	c.watchMu.Lock()
	c.inHandler = false
	done := c.watchDone
	c.watchDone = nil
	c.watchMu.Unlock()
	if done != nil {
		c.nc.SetReadDeadline(aLongTimeAgo) // ends the watch's read
		<-done
		c.deadline = aLongTimeAgo
	}
	return c.ctx.Err() != nil
}

// aLongTimeAgo is a deadline in the past, which ends a pending read.
var aLongTimeAgo = time.Unix(1, 0)

// peekReader reads the connection, after the byte the watch may have read.
type peekReader struct {
	nc io.Reader
	b  [1]byte
	n  int
}

func (r *peekReader) Read(p []byte) (int, error) {
	if r.n > 0 && len(p) > 0 {
		p[0], r.n = r.b[0], 0
		return 1, nil
	}
	return r.nc.Read(p)
}

// body is a request body of known length, read from the connection's
// buffer.
type body struct {
	c      *conn
	remain int64
	idle   time.Duration
	err    error
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	if b.c.br.Buffered() == 0 {
		b.c.setReadDeadline(time.Now(), b.idle)
	}
	n, err := b.c.br.Read(p)
	b.remain -= int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		b.err = fmt.Errorf("read request body: %w", err)
		// The response may still go out; the connection closes after it.
		b.c.resp.close = true
		return n, b.err
	}
	if b.remain == 0 {
		b.c.quiet.Store(b.c.br.Buffered() == 0)
		return n, io.EOF
	}
	return n, nil
}

func (b *body) Close() error { return nil }

// bufferedConn is a handed-off connection: the bytes the lean server read
// come first.
type bufferedConn struct {
	net.Conn
	pending []byte
}

func (bc *bufferedConn) Read(p []byte) (int, error) {
	if len(bc.pending) > 0 {
		n := copy(p, bc.pending)
		bc.pending = bc.pending[n:]
		return n, nil
	}
	return bc.Conn.Read(p)
}

// handoffListener is the listener HTTP serves: it yields the connections
// the lean server hands over.
type handoffListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return handoffAddr{} }

type handoffAddr struct{}

func (handoffAddr) Network() string { return "tcp" }
func (handoffAddr) String() string  { return "handoff" }

// response is the lean server's http.ResponseWriter.
type response struct {
	c       *conn
	headReq bool // the request is a HEAD request
	header  http.Header

	status    int
	wrote     bool   // the status is set (WriteHeader, or a first Write)
	head      []byte // status line and the handler's header fields, from WriteHeader
	hasType   bool   // the handler set Content-Type (perhaps to nothing) or Content-Encoding
	hasDate   bool
	hasLength bool
	close     bool // close the connection after this response
	body      []byte
	chunked   bool   // the head is sent; body bytes go as chunks
	length    string // the handler's Content-Length field, from WriteHeader
	fixed     int64  // the head is sent with Content-Length fixed; -1 if not
	written   int64
	out       []byte // the bytes of one write
}

func (w *response) reset(r *http.Request) {
	clear(w.header)
	w.status, w.wrote, w.chunked, w.written, w.length, w.fixed = 0, false, false, 0, "", -1
	w.head, w.body = w.head[:0], w.body[:0]
	w.hasType, w.hasDate, w.hasLength = false, false, false
	w.close = r.Close
	w.headReq = r.Method == http.MethodHead
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wrote {
		return // superfluous, as net/http ignores it
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An informational response goes at once; the final one follows.
		w.head = appendHead(w.head[:0], code, w.header, nil)
		w.head = append(w.head, "\r\n"...)
		w.c.write(w.head)
		w.head = w.head[:0]
		return
	}
	w.wrote, w.status = true, code
	w.head = appendHead(w.head[:0], code, w.header, w)
}

// bodyAllowed reports whether the status admits a body.
func (w *response) bodyAllowed() bool {
	return w.status >= 200 && w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.c.broken {
		return 0, errors.New("http: connection broken")
	}
	if w.fixed >= 0 && w.written+int64(len(p)) > w.fixed {
		w.close = true // as net/http does
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.headReq {
		// Nothing is sent, but the Content-Type is sniffed as for GET.
		if !w.hasType && len(w.body) < sniffLen {
			w.body = append(w.body, p[:min(len(p), sniffLen-len(w.body))]...)
		}
		return len(p), nil
	}
	w.body = append(w.body, p...)
	if w.streaming() && len(w.body) >= 32<<10 || !w.streaming() && len(w.body) > MaxBufferedBody {
		w.Flush()
	}
	return len(p), nil
}

// streaming reports whether the head is sent and the body goes out as it
// is written.
func (w *response) streaming() bool { return w.chunked || w.fixed >= 0 }

// Flush sends what is buffered. The first flush sends the head: with the
// handler's Content-Length if it set one that what is written so far does
// not exceed, as net/http does, and the body from then on as it is;
// otherwise with Transfer-Encoding: chunked, and the body from then on as
// chunks.
func (w *response) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.c.broken {
		return
	}
	out := w.out[:0]
	if !w.streaming() {
		if !w.bodyAllowed() || w.headReq {
			return // nothing to stream; finish sends the head
		}
		if n, err := strconv.ParseInt(w.length, 10, 64); err == nil && n >= w.written {
			w.fixed = n
			out = w.endHead(out, n)
		} else {
			w.chunked = true
			out = w.endHead(out, -1)
		}
	}
	out = w.appendBody(out)
	w.c.write(out)
	w.out = out
}

// appendBody appends the buffered body as it goes out while streaming: a
// chunk, or the bytes themselves under a fixed length.
func (w *response) appendBody(out []byte) []byte {
	if len(w.body) == 0 {
		return out
	}
	if w.chunked {
		out = strconv.AppendInt(out, int64(len(w.body)), 16)
		out = append(out, "\r\n"...)
		out = append(out, w.body...)
		out = append(out, "\r\n"...)
	} else {
		out = append(out, w.body...)
	}
	w.body = w.body[:0]
	return out
}

// finish sends the response, or what is left of a chunked one.
func (w *response) finish() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	out := w.out[:0]
	switch {
	case w.chunked:
		out = w.appendBody(out)
		out = append(out, "0\r\n\r\n"...)
	case w.fixed >= 0:
		out = w.appendBody(out)
		if w.written != w.fixed {
			// The client waits for bytes that will not come: only
			// closing the connection ends the response (as net/http).
			w.close = true
		}
	default:
		length := int64(-1) // no Content-Length: 1xx, 204, 304
		if w.bodyAllowed() {
			length = w.written
		}
		out = w.endHead(out, length)
		if !w.headReq {
			out = append(out, w.body...)
		}
	}
	w.c.write(out)
	if cap(out) <= 2*MaxBufferedBody {
		w.out = out
	}
	if cap(w.body) > MaxBufferedBody {
		w.body = nil
	}
}

// endHead appends the head: the status line and the handler's fields,
// then Content-Type (sniffed from the body, as net/http does, where the
// handler set none), Date, the length (Content-Length, or chunked when
// length is -1 for a body), Connection: close, and the blank line.
func (w *response) endHead(out []byte, length int64) []byte {
	out = append(out, w.head...)
	if !w.hasType && w.bodyAllowed() && len(w.body) > 0 {
		out = appendField(out, "Content-Type", http.DetectContentType(w.body))
	}
	if !w.hasDate {
		out = append(out, "Date: "...)
		out = append(out, w.c.httpDate()...)
		out = append(out, "\r\n"...)
	}
	switch {
	case w.chunked:
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	case length >= 0 && (!w.headReq || !w.hasLength && length > 0):
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, length, 10)
		out = append(out, "\r\n"...)
	}
	if w.c.body.remain >= maxDiscard {
		// Too much left unread to read it after the handler: close, as
		// net/http does.
		w.close = true
	}
	if w.close || w.c.srv.closing.Load() {
		w.close = true
		out = append(out, "Connection: close\r\n"...)
	}
	return append(out, "\r\n"...)
}

// appendHead appends the status line and the fields of h, skipping those
// net/http would not send and those endHead writes; with w, it notes
// which of them the handler set.
func appendHead(b []byte, code int, h http.Header, w *response) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, "\r\n"...)
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		switch k {
		case "Content-Type", "Content-Encoding":
			if k == "Content-Type" && code == http.StatusNotModified {
				continue // as net/http (RFC 9110, section 15.4.5)
			}
			if w != nil {
				w.hasType = true
			}
		case "Date":
			if w != nil {
				w.hasDate = true
			}
		case "Content-Length":
			// Ours, from what is written, unless the handler flushes
			// (see Flush); a HEAD response keeps the handler's.
			if w != nil && len(vv) == 1 {
				w.length = strings.TrimSpace(vv[0])
			}
			if w == nil || !w.headReq || !w.bodyAllowed() {
				continue
			}
			w.hasLength = true
		case "Transfer-Encoding", "Trailer":
			continue
		case "Connection":
			if w != nil {
				for _, v := range vv {
					if httpguts.HeaderValuesContainsToken([]string{v}, "close") {
						w.close = true
					}
				}
			}
			continue
		}
		for _, v := range vv {
			b = appendField(b, k, v)
		}
	}
	return b
}

// plainValue reports whether v goes into a header field as it is: no line
// breaks, nothing to trim at its ends.
func plainValue(v string) bool {
	if v == "" {
		return true
	}
	if c := v[0]; c == ' ' || c == '\t' {
		return false
	}
	if c := v[len(v)-1]; c == ' ' || c == '\t' {
		return false
	}
	return strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0
}

// appendField appends "k: v\r\n", with v's line breaks made spaces and its
// ends trimmed, as net/http writes header fields.
func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	if plainValue(v) {
		b = append(b, v...)
		return append(b, "\r\n"...)
	}
	start := len(b)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	trimmed := bytes.Trim(b[start:], " \t")
	b = append(b[:start], trimmed...)
	return append(b, "\r\n"...)
}

// write sends b; a failure marks the connection broken.
func (c *conn) write(b []byte) {
	if c.broken || len(b) == 0 {
		return
	}
	if _, err := c.out.Write(b); err != nil {
		c.broken = true
	}
}

// httpDate is the Date field for now, formatted once a second: the
// system clock is read only once the second it was formatted for is over.
func (c *conn) httpDate() []byte {
	if mono := clock.Mono(); !mono.Before(c.dateEnd) {
		now := time.Now()
		now.UTC().AppendFormat(c.date[:0], http.TimeFormat)
		c.dateEnd = now.Add(time.Second - time.Duration(now.Nanosecond()))
	}
	return c.date[:]
}
