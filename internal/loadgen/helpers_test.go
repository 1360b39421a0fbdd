package loadgen

import (
	"bufio"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func itoa(i int) string { return strconv.Itoa(i) }

// rawServer is a minimal HTTP/1.1 keep-alive server on loopback that
// answers every request with the same bytes: faster than net/http, and
// able to send responses net/http would not (chunked by hand, malformed).
type rawServer struct {
	ln   net.Listener
	resp []byte
	// closeEach closes every connection after one response without saying
	// so, as a server closing idle keep-alive connections does.
	closeEach bool
	conns     atomic.Int64 // connections accepted
	wg        sync.WaitGroup
	mu        sync.Mutex
	cs        map[net.Conn]struct{}
}

// startRawServer serves a small 200 response and returns its URL.
func startRawServer(tb testing.TB) string {
	return startRawServerWith(tb, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"ok\":true}\n").url()
}

func startRawServerWith(tb testing.TB, resp string) *rawServer {
	return startRawServerClosing(tb, resp, false)
}

func startRawServerClosing(tb testing.TB, resp string, closeEach bool) *rawServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &rawServer{ln: ln, resp: []byte(resp), cs: map[net.Conn]struct{}{}, closeEach: closeEach}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.close)
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() + "/invocations" }

func (s *rawServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.mu.Lock()
		s.cs[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *rawServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.cs, c)
		s.mu.Unlock()
		c.Close()
	}()
	tp := textproto.NewReader(bufio.NewReader(c))
	for {
		if _, err := tp.ReadLine(); err != nil {
			return
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			return
		}
		if n, _ := strconv.Atoi(h.Get("Content-Length")); n > 0 {
			if _, err := io.CopyN(io.Discard, tp.R, int64(n)); err != nil {
				return
			}
		}
		if _, err := c.Write(s.resp); err != nil {
			return
		}
		if r := strings.ToLower(string(s.resp)); strings.Contains(r, "connection: close") || strings.HasPrefix(r, "http/1.0") || s.closeEach {
			return
		}
	}
}

func (s *rawServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.cs {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
