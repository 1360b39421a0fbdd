package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// clientConn is a lean HTTP/1.1 keep-alive client over one connection: it
// writes pre-serialised requests and parses responses with the incremental
// parser into a reusable buffer. One goroutine uses it at a time; only
// interrupt may be called from others.
type clientConn struct {
	t    *target
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu          sync.Mutex // guards nc against interrupt
	nc          net.Conn
	interrupted atomic.Bool // set by interrupt: fail instead of doing I/O

	reused bool // nc has carried a response already
	buf    []byte
	r, w   int
	resp   response
}

func newClientConn(t *target, d *net.Dialer) *clientConn {
	return &clientConn{t: t, dial: d.DialContext, buf: make([]byte, 16<<10)}
}

// errInterrupted is returned once the run has interrupted the connection.
var errInterrupted = errors.New("interrupted by the end of the run")

// roundTrip sends req and reads its response, dialling first if needed. It
// returns the response status, or an error for a failed exchange.
func (c *clientConn) roundTrip(ctx context.Context, req []byte, deadline time.Time) (int, error) {
	for attempt := 0; ; attempt++ {
		if c.nc == nil {
			if err := c.connect(ctx, deadline); err != nil {
				return 0, err
			}
		} else if err := c.nc.SetDeadline(deadline); err != nil {
			c.close()
			return 0, fmt.Errorf("set deadline: %w", err)
		}
		// Checked after setting the deadline: either interrupt's past
		// deadline came later and wins, or this sees its flag.
		if c.interrupted.Load() {
			c.close()
			return 0, errInterrupted
		}
		status, got, err := c.exchange(req)
		if err == nil {
			if c.resp.Close {
				c.close()
			} else {
				c.reused = true
			}
			return status, nil
		}
		reused := c.reused
		c.close()
		// A kept-alive connection that the server had already closed fails
		// before any byte of the response arrives: retry once on a new one,
		// as browsers and net/http do.
		if attempt == 0 && reused && !got && staleConnErr(err) {
			continue
		}
		return 0, err
	}
}

func (c *clientConn) connect(ctx context.Context, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := c.dial(ctx, "tcp", c.t.addr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("dial %s: %w", c.t.addr, os.ErrDeadlineExceeded)
		}
		return fmt.Errorf("dial %s: %w", c.t.addr, err)
	}
	if err := nc.SetDeadline(deadline); err != nil {
		nc.Close()
		return fmt.Errorf("set deadline: %w", err)
	}
	if c.t.tls != nil {
		tc := tls.Client(nc, c.t.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			if errors.Is(err, context.DeadlineExceeded) {
				err = os.ErrDeadlineExceeded
			}
			return fmt.Errorf("tls handshake with %s: %w", c.t.addr, err)
		}
		nc = tc
	}
	c.mu.Lock()
	c.nc = nc
	c.mu.Unlock()
	c.r, c.w = 0, 0
	c.reused = false
	return nil
}

// exchange writes req and parses one response. got reports whether any
// response byte arrived.
func (c *clientConn) exchange(req []byte) (status int, got bool, err error) {
	if _, err := c.nc.Write(req); err != nil {
		return 0, false, fmt.Errorf("write request: %w", err)
	}
	c.resp.reset(c.t.head)
	for {
		if c.r < c.w {
			got = true
			n, err := c.resp.Advance(c.buf[c.r:c.w])
			c.r += n
			if err != nil {
				return 0, got, err
			}
			if c.resp.Done() {
				return c.resp.Status, got, nil
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
				if len(c.buf) >= 2*maxHeaderBytes {
					return 0, got, protocolErr("response line too long")
				}
				nb := make([]byte, 2*len(c.buf))
				c.w = copy(nb, c.buf[c.r:c.w])
				c.buf = nb
			}
		}
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		if err != nil {
			if n > 0 {
				got = true
				continue // parse what came with the error first
			}
			if err == io.EOF {
				if c.r == c.w && c.resp.EOF() {
					return c.resp.Status, true, nil
				}
				return 0, got, fmt.Errorf("read response: %w", io.ErrUnexpectedEOF)
			}
			return 0, got, fmt.Errorf("read response: %w", err)
		}
	}
}

// close closes the connection, if any.
func (c *clientConn) close() {
	c.mu.Lock()
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
	c.mu.Unlock()
	c.r, c.w = 0, 0
	c.reused = false
}

// interrupt makes any I/O in progress fail at once and any later dial
// fail. It may be called from any goroutine.
func (c *clientConn) interrupt() {
	c.interrupted.Store(true)
	c.mu.Lock()
	if c.nc != nil {
		c.nc.SetDeadline(time.Unix(1, 0))
	}
	c.mu.Unlock()
}

func staleConnErr(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// classify maps a request's outcome to cOK or an error class.
func classify(status int, err error) int {
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			return cTimeout
		case errors.Is(err, errProtocol):
			return cProtocol
		default:
			return cConnection
		}
	}
	switch status / 100 {
	case 2:
		return cOK
	case 3:
		return c3xx
	case 4:
		return c4xx
	case 5:
		return c5xx
	}
	return cProtocol
}
