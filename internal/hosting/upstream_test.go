package hosting

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/httpwire"
)

// rawServer is a TCP server on loopback whose connections each run serve,
// given the connection's number (from 0) and a reader on it; it records
// the requests it reads with readRequest.
type rawServer struct {
	ln       net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	reqs     []rawRequest
	wg       sync.WaitGroup
}

type rawRequest struct {
	conn int
	head string // request line and headers, as sent
	body string
}

func startRawServer(t *testing.T, serve func(s *rawServer, n int, c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	var conns sync.Map
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.accepted.Add(1)) - 1
			conns.Store(c, true)
			s.wg.Go(func() {
				defer c.Close()
				serve(s, n, c, bufio.NewReader(c))
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

// readRequest reads one request from br, or returns false at EOF.
func (s *rawServer) readRequest(n int, br *bufio.Reader) bool {
	var head strings.Builder
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return false
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			fmt.Sscanf(v, "%d", &length)
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return false
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rawRequest{conn: n, head: head.String(), body: string(body)})
	s.mu.Unlock()
	return true
}

func (s *rawServer) requests() []rawRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rawRequest(nil), s.reqs...)
}

// answer serves every request of a connection with resp.
func answer(resp string) func(*rawServer, int, net.Conn, *bufio.Reader) {
	return func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
		for s.readRequest(n, br) {
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	}
}

func invocation(body string) *upRequest {
	return &upRequest{path: "/invocations", body: []byte(body), contentType: "application/json"}
}

func soon() time.Time { return time.Now().Add(5 * time.Second) }

func TestUpstreamResponses(t *testing.T) {
	tests := []struct {
		name      string
		resp      string
		status    int
		body      string
		ctype     string
		attrs     string
		keepAlive bool // the connection is reused for the next request
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\nX-Amzn-SageMaker-Custom-Attributes: a=1\r\nContent-Length: 2\r\n\r\n{}",
			200, "{}", "application/json", "a=1", true},
		{"chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n1,2\r\n2\r\n,3\r\n0\r\n\r\n",
			200, "1,2,3", "text/csv", "", true},
		{"error status", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom", 500, "boom", "", "", true},
		{"no body", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", "", "", true},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 200, "x", "", "", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRawServer(t, answer(tt.resp))
			up := newUpstream(srv.url())
			defer up.close()
			for i := range 3 {
				resp, err := up.do(context.Background(), invocation(`{"i":1}`), time.Now(), soon(), 8)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if resp.status != tt.status || string(resp.body) != tt.body || resp.contentType != tt.ctype || resp.customAttributes != tt.attrs {
					t.Fatalf("request %d: %+v, want %d %q %q %q", i, resp, tt.status, tt.body, tt.ctype, tt.attrs)
				}
				if resp.body == nil {
					t.Fatalf("request %d: nil body", i)
				}
			}
			wantConns := int32(3)
			if tt.keepAlive {
				wantConns = 1
			}
			if n := srv.accepted.Load(); n != wantConns {
				t.Errorf("%d connections for 3 requests, want %d", n, wantConns)
			}
		})
	}
}

// TestUpstreamBodiesAreTheCallers checks that a response body is not
// overwritten by the next response on the same connection.
func TestUpstreamBodiesAreTheCallers(t *testing.T) {
	srv := startRawServer(t, func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
		for i := 0; s.readRequest(n, br); i++ {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nr%02d", i)
		}
	})
	up := newUpstream(srv.url())
	defer up.close()
	var bodies [][]byte
	for range 3 {
		resp, err := up.do(context.Background(), invocation("x"), time.Now(), soon(), 8)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.body)
	}
	for i, b := range bodies {
		if want := fmt.Sprintf("r%02d", i); string(b) != want {
			t.Errorf("body %d = %q, want %q", i, b, want)
		}
	}
}

func TestUpstreamRequestBytes(t *testing.T) {
	srv := startRawServer(t, answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	up := newUpstream(srv.url())
	defer up.close()
	large := strings.Repeat("L", smallBody+1) // written from the caller's slice
	reqs := []*upRequest{
		{path: "/invocations", body: []byte(`{"a":1}`), contentType: "application/json", accept: "text/csv", customAttributes: "k=v"},
		{path: "/models/abc/invoke", body: []byte(large), targetModel: "m.tar.gz"},
		{path: "/invocations"},
	}
	for _, r := range reqs {
		if _, err := up.do(context.Background(), r, time.Now(), soon(), 8); err != nil {
			t.Fatal(err)
		}
	}
	host := srv.ln.Addr().String()
	want := []rawRequest{
		{head: "POST /invocations HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nAccept: text/csv\r\nX-Amzn-SageMaker-Custom-Attributes: k=v\r\nContent-Length: 7\r\n\r\n", body: `{"a":1}`},
		{head: "POST /models/abc/invoke HTTP/1.1\r\nHost: " + host + "\r\nX-Amzn-SageMaker-Target-Model: m.tar.gz\r\nContent-Length: 16385\r\n\r\n", body: large},
		{head: "POST /invocations HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\n\r\n"},
	}
	got := srv.requests()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].head != want[i].head || got[i].body != want[i].body {
			t.Errorf("request %d:\n got %q (%d body bytes)\nwant %q (%d)", i, got[i].head, len(got[i].body), want[i].head, len(want[i].body))
		}
	}
	// The request is also what net/http's server understands.
	if _, err := http.ReadRequest(bufio.NewReader(strings.NewReader(want[0].head + want[0].body))); err != nil {
		t.Errorf("net/http cannot parse the request: %v", err)
	}
}

// TestUpstreamStaleConnection: the instance closes a kept-alive
// connection; the next request fails on it before any response byte, and
// is sent again on a new connection.
func TestUpstreamStaleConnection(t *testing.T) {
	srv := startRawServer(t, func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
		if s.readRequest(n, br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		// and close: the connection is stale in the client's pool
	})
	up := newUpstream(srv.url())
	defer up.close()
	for i := range 3 {
		resp, err := up.do(context.Background(), invocation(fmt.Sprint(i)), time.Now(), soon(), 8)
		if err != nil || string(resp.body) != "ok" {
			t.Fatalf("request %d: %+v %v", i, resp, err)
		}
		time.Sleep(20 * time.Millisecond) // let the close arrive
	}
	got := srv.requests()
	if len(got) != 3 || srv.accepted.Load() != 3 {
		t.Fatalf("%d requests on %d connections, want 3 on 3", len(got), srv.accepted.Load())
	}
	for i, r := range got {
		if r.body != fmt.Sprint(i) || r.conn != i {
			t.Errorf("request %d: %q on connection %d", i, r.body, r.conn)
		}
	}
}

// TestUpstreamNoRetry: failures that may follow the instance acting on
// the request are not retried.
func TestUpstreamNoRetry(t *testing.T) {
	tests := []struct {
		name  string
		serve func(s *rawServer, n int, c net.Conn, br *bufio.Reader)
		warm  bool // a first request succeeds, so that the failing one is on a reused connection
	}{
		{"closed on a new connection", func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
			s.readRequest(n, br)
		}, false},
		{"part of a response, then closed", func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
			if n == 0 && s.readRequest(n, br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
			if s.readRequest(n, br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Len")
			}
		}, true},
		// The instance read the request on a kept-alive connection and
		// then closed it, or reset it, or crashed: it may have run the
		// model. Sent again, it would run it twice.
		{"read, then closed, on a reused connection", func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
			if n == 0 && s.readRequest(n, br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
			s.readRequest(n, br)
		}, true},
		{"read, then reset, on a reused connection", func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
			if n == 0 && s.readRequest(n, br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
			if s.readRequest(n, br) {
				c.(*net.TCPConn).SetLinger(0)
			}
		}, true},
		{"malformed response", func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
			if s.readRequest(n, br) {
				io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRawServer(t, tt.serve)
			up := newUpstream(srv.url())
			defer up.close()
			if tt.warm {
				if _, err := up.do(context.Background(), invocation("warm"), time.Now(), soon(), 8); err != nil {
					t.Fatal(err)
				}
			}
			_, err := up.do(context.Background(), invocation("x"), time.Now(), soon(), 8)
			if err == nil {
				t.Fatal("no error")
			}
			sent := 0
			for _, r := range srv.requests() {
				if r.body == "x" {
					sent++
				}
			}
			if sent != 1 {
				t.Errorf("the request reached the server %d times, want once (err %v)", sent, err)
			}
		})
	}
}

func TestUpstreamLimits(t *testing.T) {
	over := MaxPayloadBytes + 1
	tests := []struct {
		name string
		resp func(c net.Conn)
	}{
		{"declared length", func(c net.Conn) {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", over)
		}},
		{"chunks", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := bytes.Repeat([]byte("z"), 1<<20)
			for range 7 {
				fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRawServer(t, func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
				if s.readRequest(n, br) {
					tt.resp(c)
				}
			})
			up := newUpstream(srv.url())
			defer up.close()
			if _, err := up.do(context.Background(), invocation("x"), time.Now(), soon(), 8); !errors.Is(err, httpwire.ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		big := bytes.Repeat([]byte("y"), MaxPayloadBytes)
		srv := startRawServer(t, func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
			if s.readRequest(n, br) {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(big))
				c.Write(big)
			}
		})
		up := newUpstream(srv.url())
		defer up.close()
		resp, err := up.do(context.Background(), invocation("x"), time.Now(), soon(), 8)
		if err != nil || !bytes.Equal(resp.body, big) {
			t.Fatalf("%d bytes, err %v", len(resp.body), err)
		}
	})
}

// hang reads requests and never answers until the test ends.
func hang(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
	s.readRequest(n, br)
	io.Copy(io.Discard, br)
}

func TestUpstreamDeadline(t *testing.T) {
	srv := startRawServer(t, hang)
	up := newUpstream(srv.url())
	defer up.close()
	start := time.Now()
	_, err := up.do(context.Background(), invocation("x"), time.Now(), time.Now().Add(100*time.Millisecond), 8)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v, want about 100ms", d)
	}
}

func TestUpstreamCancel(t *testing.T) {
	srv := startRawServer(t, hang)
	up := newUpstream(srv.url())
	defer up.close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := up.do(ctx, invocation("x"), time.Now(), time.Now().Add(10*time.Second), 8)
	if err == nil || ctx.Err() == nil {
		t.Fatalf("err = %v, ctx.Err() = %v", err, ctx.Err())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v", d)
	}
	if n := len(up.idle); n != 0 {
		t.Errorf("%d connections kept after a cancelled request", n)
	}
}

// TestUpstreamPool checks the bound on idle connections and that close
// closes them and those returned later.
func TestUpstreamPool(t *testing.T) {
	release := make(chan struct{})
	var inFlight sync.WaitGroup
	inFlight.Add(3)
	srv := startRawServer(t, func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
		for i := 0; s.readRequest(n, br); i++ {
			if i == 0 {
				inFlight.Done()
				<-release // all three connections are busy at once
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	up := newUpstream(srv.url())
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := up.do(context.Background(), invocation("x"), time.Now(), soon(), 2); err != nil {
				t.Error(err)
			}
		})
	}
	inFlight.Wait()
	close(release)
	wg.Wait()
	if n := len(up.idle); n != 2 {
		t.Fatalf("%d idle connections, want the bound, 2", n)
	}
	idle := append([]*upConn(nil), up.idle...)
	up.close()
	for _, c := range idle {
		if _, err := c.nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("idle connection not closed: %v", err)
		}
	}
	// A connection returned after close is closed, not kept.
	c, err := up.dial(context.Background(), soon())
	if err != nil {
		t.Fatal(err)
	}
	up.put(c, 8)
	if len(up.idle) != 0 {
		t.Errorf("kept a connection after close")
	}
	if _, err := c.nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("connection returned after close not closed: %v", err)
	}
}

func TestUpstreamRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	up := newUpstream("http://" + addr)
	if _, err := up.do(context.Background(), invocation("x"), time.Now(), soon(), 8); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}
}

func TestNewUpstream(t *testing.T) {
	for _, tt := range []struct {
		url, addr, host, err string
	}{
		{url: "http://127.0.0.1:8080", addr: "127.0.0.1:8080", host: "127.0.0.1:8080"},
		{url: "http://localhost", addr: "localhost:80", host: "localhost"},
		{url: "http://[::1]:9", addr: "[::1]:9", host: "[::1]:9"},
		{url: "https://h:1", err: "scheme"},
		{url: "http://", err: "no host"},
		{url: "://x", err: "missing protocol scheme"},
	} {
		up := newUpstream(tt.url)
		if tt.err != "" {
			if up.err == nil || !strings.Contains(up.err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want one mentioning %q", tt.url, up.err, tt.err)
			}
			if _, err := up.do(context.Background(), invocation("x"), time.Now(), soon(), 8); err == nil {
				t.Errorf("%q: do works", tt.url)
			}
			continue
		}
		if up.err != nil || up.addr != tt.addr || up.host != tt.host {
			t.Errorf("%q: addr %q host %q err %v, want %q %q", tt.url, up.addr, up.host, up.err, tt.addr, tt.host)
		}
	}
}

func TestValidHeaderValue(t *testing.T) {
	for v, want := range map[string]bool{"": true, "application/json; charset=utf-8": true, "a\tb": true, "é": true,
		"a\r\nX-Injected: 1": false, "a\nb": false, "a\x00b": false, "a\x7fb": false} {
		if got := validHeaderValue(v); got != want {
			t.Errorf("validHeaderValue(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestInvokeCallerEnds checks what Invoke returns when the caller's ctx
// ends while the model works: its deadline is the model's time running
// out (ModelError), its cancellation is returned as it is. A header value
// that would break the request is refused before any is sent.
func TestInvokeCallerEnds(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg), InstanceCount: 1, Weight: 1}})
	waitInService(t, ep, ep.Variant("main"), tg, 1)
	rec := &recorder{}
	g := NewGateway(GatewayConfig{Recorder: rec})
	defer g.Close()
	slow := &InvokeRequest{Body: []byte("x"), CustomAttributes: "delay=2s"}

	dctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := g.Invoke(dctx, ep, slow)
	var me *ModelError
	if !errors.As(err, &me) || !strings.Contains(me.OriginalMessage, "timed out") || dctx.Err() == nil {
		t.Errorf("caller's deadline: err = %v, ctx %v", err, dctx.Err())
	}

	cctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = g.Invoke(cctx, ep, slow)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("caller cancelled: err = %v after %v", err, time.Since(start))
	}
	// The client went away: not the service's failure (Invocation5XXErrors).
	if c := rec.last().Class; c != StatusCanceled {
		t.Errorf("caller cancelled: recorded as %s, want %s", c, StatusCanceled)
	}

	_, err = g.Invoke(context.Background(), ep, &InvokeRequest{Body: []byte("x"), Accept: "a\r\nX-Injected: 1"})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("bad header: err = %v, want a ValidationError", err)
	}
	// The instance still serves.
	if _, err := g.Invoke(context.Background(), ep, &InvokeRequest{Body: []byte("x")}); err != nil {
		t.Errorf("afterwards: %v", err)
	}
}

// TestUpstreamIdleExpiry checks that connections idle for idleTimeout are
// closed: by closeIdle, by put (the least recently used one), and by get
// (all of them, when even the most recent one is that old).
func TestUpstreamIdleExpiry(t *testing.T) {
	srv := startRawServer(t, answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	up := newUpstream(srv.url())
	defer up.close()
	t0 := time.Now()
	conns := make([]*upConn, 4)
	for i := range conns {
		c, err := up.dial(context.Background(), soon())
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	closed := func(c *upConn) bool {
		_, err := c.nc.Write([]byte("x"))
		return errors.Is(err, net.ErrClosed)
	}
	// Idle since t0, t0+1m, t0+2m.
	for i, c := range conns[:3] {
		c.idleSince = t0.Add(time.Duration(i) * time.Minute)
		up.put(c, 8)
	}
	up.closeIdle(t0.Add(idleTimeout + 30*time.Second)) // the first only
	if len(up.idle) != 2 || !closed(conns[0]) || closed(conns[1]) {
		t.Fatalf("after closeIdle: %d idle, first closed %v, second %v", len(up.idle), closed(conns[0]), closed(conns[1]))
	}
	conns[3].idleSince = t0.Add(idleTimeout + 90*time.Second) // makes conns[1] (t0+1m) expire
	up.put(conns[3], 8)
	if len(up.idle) != 2 || !closed(conns[1]) || up.idle[0] != conns[2] || up.idle[1] != conns[3] {
		t.Fatalf("after put: %d idle, second closed %v", len(up.idle), closed(conns[1]))
	}
	if c := up.get(conns[3].idleSince.Add(idleTimeout)); c != nil || len(up.idle) != 0 || !closed(conns[2]) || !closed(conns[3]) {
		t.Fatalf("get of an expired pool: %v, %d idle", c, len(up.idle))
	}
	// The next request dials.
	if _, err := up.do(context.Background(), invocation("x"), time.Now(), soon(), 8); err != nil {
		t.Fatal(err)
	}
}

// TestUpstreamSlowButInTime: a model slower than the ctx poll interval,
// reading its request slowly and answering late, is waited for.
func TestUpstreamSlowButInTime(t *testing.T) {
	srv := startRawServer(t, func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
		time.Sleep(2 * ctxPoll) // the request waits in the socket buffers
		if s.readRequest(n, br) {
			time.Sleep(3 * ctxPoll)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
		}
	})
	up := newUpstream(srv.url())
	defer up.close()
	body := strings.Repeat("b", 4<<20) // more than the socket buffers hold
	now := time.Now()
	resp, err := up.do(context.Background(), invocation(body), now, now.Add(10*time.Second), 8)
	if err != nil || string(resp.body) != "late" {
		t.Fatalf("%+v %v", resp, err)
	}
	if got := srv.requests(); len(got) != 1 || len(got[0].body) != len(body) {
		t.Fatalf("server read %d requests", len(got))
	}
}
