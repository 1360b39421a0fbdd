package httpwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a lean or a plain net/http server on a loopback listener.
type testServer struct {
	name string // "lean" or "net/http"
	addr string
	lean *Server
	http *http.Server
	done chan struct{} // closed when Serve has returned err
	err  error
}

// startServer serves h on 127.0.0.1 with the lean server (lean) or with
// net/http alone, on an http.Server configure may adjust. It is closed
// when the test ends.
func startServer(t testing.TB, lean bool, h http.Handler, configure func(*http.Server), logger *slog.Logger) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	if configure != nil {
		configure(hs)
	}
	ts := &testServer{name: "net/http", addr: ln.Addr().String(), http: hs, done: make(chan struct{})}
	serve := hs.Serve
	if lean {
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		ts.name, ts.lean = "lean", &Server{HTTP: hs, Logger: logger}
		serve = ts.lean.Serve
	}
	go func() {
		ts.err = serve(ln)
		close(ts.done)
	}()
	t.Cleanup(func() {
		ts.close()
		select {
		case <-ts.done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s: Serve did not return after Close", ts.name)
		}
	})
	return ts
}

// startBoth starts a net/http server and a lean one with the same handler
// and configuration, in that order.
func startBoth(t testing.TB, h http.Handler, configure func(*http.Server)) []*testServer {
	return []*testServer{startServer(t, false, h, configure, nil), startServer(t, true, h, configure, nil)}
}

func (ts *testServer) close() error {
	if ts.lean != nil {
		return ts.lean.Close()
	}
	return ts.http.Close()
}

func (ts *testServer) shutdown(ctx context.Context) error {
	if ts.lean != nil {
		return ts.lean.Shutdown(ctx)
	}
	return ts.http.Shutdown(ctx)
}

// serveResult waits for Serve to return and returns its error.
func (ts *testServer) serveResult(t testing.TB) error {
	t.Helper()
	select {
	case <-ts.done:
		return ts.err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: Serve did not return", ts.name)
		return nil
	}
}

// servedBy names the server behind a ResponseWriter.
func servedBy(w http.ResponseWriter) string {
	if _, ok := w.(*response); ok {
		return "lean"
	}
	return "net/http"
}

// echo is what echoHandler answers: what the handler saw of the request.
type echo struct {
	Method, RequestURI, Proto string
	ProtoMajor, ProtoMinor    int
	Scheme, URLHost           string
	Path, RawPath, RawQuery   string
	ForceQuery                bool
	Host                      string
	Header                    http.Header
	ContentLength             int64
	TransferEncoding          []string
	Close                     bool
	Body                      string
	BodyErr                   string
	HasServer, HasLocalAddr   bool // the context's ServerContextKey and LocalAddrContextKey
}

// echoHandler answers with the request as the handler sees it, as JSON,
// and a few response header fields; its Content-Type is sniffed.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	e := echo{
		Method: r.Method, RequestURI: r.RequestURI, Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		Scheme: r.URL.Scheme, URLHost: r.URL.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery,
		ForceQuery: r.URL.ForceQuery, Host: r.Host, Header: r.Header, ContentLength: r.ContentLength,
		TransferEncoding: r.TransferEncoding, Close: r.Close, Body: string(body),
		HasServer:    r.Context().Value(http.ServerContextKey) != nil,
		HasLocalAddr: r.Context().Value(http.LocalAddrContextKey) != nil,
	}
	if err != nil {
		e.BodyErr = err.Error()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			e.BodyErr = "unexpected EOF" // the lean server says what it was reading
		}
	}
	w.Header().Set("X-Served-By", servedBy(w))
	w.Header().Add("X-Multi", "a")
	w.Header().Add("X-Multi", "b")
	b, _ := json.Marshal(e)
	w.Write(b)
}

// wireResp is a response as a client reads it off the wire.
type wireResp struct {
	Status   string
	Interim  []string // 1xx responses before it
	Header   http.Header
	ServedBy string // X-Served-By, "-" if none
	TE       []string
	CL       int64
	Close    bool
	Body     string
	BodyErr  string
}

// String renders r for comparison: X-Served-By and the value of Date are
// left out.
func (r wireResp) String() string {
	var b strings.Builder
	for _, s := range r.Interim {
		fmt.Fprintf(&b, "interim %s\n", s)
	}
	fmt.Fprintf(&b, "%s\n%sTE=%v CL=%d Close=%v\n%s", r.Status, renderHeader(r.Header), r.TE, r.CL, r.Close, r.Body)
	if r.BodyErr != "" {
		fmt.Fprintf(&b, "\nbody error: %s", r.BodyErr)
	}
	return b.String()
}

// framed is String with the framing of a body of more than 2 KiB that
// fits MaxBufferedBody made that of the lean server: net/http sends
// such a body chunked, the lean server with a Content-Length (a documented
// difference).
func (r wireResp) framed() string {
	if n := len(r.Body); n > 2048 && n <= MaxBufferedBody && slices.Equal(r.TE, []string{"chunked"}) {
		r.TE, r.CL = nil, int64(n)
		r.Header = r.Header.Clone()
		r.Header.Set("Content-Length", fmt.Sprint(n))
	}
	return r.String()
}

func renderHeader(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		switch k {
		case "X-Served-By":
			continue
		case "Date":
			b.WriteString("Date: (set)\n")
			continue
		}
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

// readResponse reads one final response to a request with method, and
// the 1xx ones before it.
func readResponse(c net.Conn, br *bufio.Reader, method string) (wireResp, error) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var interim []string
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return wireResp{}, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			interim = append(interim, resp.Status+"\n"+renderHeader(resp.Header))
			continue
		}
		body, err := io.ReadAll(resp.Body)
		w := wireResp{
			Status: resp.Status, Interim: interim, Header: resp.Header, ServedBy: resp.Header.Get("X-Served-By"),
			TE: resp.TransferEncoding, CL: resp.ContentLength, Close: resp.Close, Body: string(body),
		}
		if w.ServedBy == "" {
			w.ServedBy = "-"
		}
		if err != nil {
			w.BodyErr = err.Error()
		}
		return w, nil
	}
}

// step is what a client sends in one write and the methods of the
// responses it then waits for.
type step struct {
	send   string
	expect []string
}

// result is what a client saw of a connection.
type result struct {
	resps  []wireResp
	err    error // what ended reading before all responses came
	closed bool  // the server closed the connection after them
}

// probeRequest finds out whether a connection is still served.
const probeRequest = "GET /probe HTTP/1.1\r\nHost: probe\r\n\r\n"

// exchange sends the steps on a new connection to addr, reading the
// responses of each before the next, and then finds out whether the
// server closed the connection: by a probe request, or, with closeWrite,
// which half-closes the connection after the last step's bytes, by
// waiting for EOF.
func exchange(t testing.TB, addr string, steps []step, closeWrite bool) result {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var res result
	for i, s := range steps {
		// The server may refuse to read all of it: write while reading.
		written := make(chan struct{})
		go func() {
			defer close(written)
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, s.send)
			if closeWrite && i == len(steps)-1 {
				c.(*net.TCPConn).CloseWrite()
			}
		}()
		for _, m := range s.expect {
			r, err := readResponse(c, br, m)
			if err != nil {
				res.err, res.closed = err, true
				<-written
				return res
			}
			res.resps = append(res.resps, r)
		}
		<-written
	}
	if closeWrite {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := io.Copy(io.Discard, br)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the connection stayed open after the client's EOF")
		}
		if n > 0 {
			t.Errorf("%d unexpected bytes after the responses", n)
		}
		res.closed = true
		return res
	}
	io.WriteString(c, probeRequest)
	if _, err := readResponse(c, br, "GET"); err != nil {
		res.closed = true
	}
	return res
}

func one(send string, methods ...string) []step {
	if len(methods) == 0 {
		methods = []string{"GET"}
	}
	return []step{{send, methods}}
}

// hostField is a request's Host field.
const hostField = "Host: example.com\r\n"

// TestDifferential sends the same bytes to net/http and to the lean server
// and expects the same responses, the lean server answering the plain
// requests itself and handing the others to net/http.
func TestDifferential(t *testing.T) {
	bigValue := strings.Repeat("v", 9000)
	nearFull := strings.Repeat("n", readBufferSize-200)
	tests := []struct {
		name       string
		steps      []step
		closeWrite bool
		served     string // who answered each request on the lean server: lean, net/http, or - (no handler)
		// differs, where the lean server deliberately answers otherwise,
		// turns net/http's response into the lean server's.
		differs func(r *wireResp)
		// leanCloses: the lean server deliberately closes the connection
		// after the last response, which says so (framingGuard).
		leanCloses bool
	}{
		// Plain requests: the lean server's own.
		{name: "GET", steps: one("GET /hello HTTP/1.1\r\n" + hostField + "User-Agent: t\r\n\r\n"), served: "lean"},
		{name: "POST with body", steps: one("POST /items HTTP/1.1\r\n"+hostField+"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"name\":\"a\"}", "POST"), served: "lean"},
		{name: "GET with a body", steps: one("GET / HTTP/1.1\r\n" + hostField + "Content-Length: 3\r\n\r\nabc"), served: "lean"},
		{name: "Content-Length 0", steps: one("POST /x HTTP/1.1\r\n" + hostField + "Content-Length: 0\r\n\r\n"), served: "lean"},
		{name: "Content-Length with leading zeros and spaces", steps: one("POST /x HTTP/1.1\r\n" + hostField + "Content-Length:  003 \r\n\r\nabc"), served: "lean"},
		{name: "HEAD", steps: one("HEAD /h HTTP/1.1\r\n"+hostField+"\r\n", "HEAD"), served: "lean"},
		{name: "unknown method", steps: one("FROB /x HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "lower-case method", steps: one("get /x HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{
			name: "pipelined in one write",
			steps: one("GET /1 HTTP/1.1\r\n"+hostField+"\r\n"+
				"POST /2 HTTP/1.1\r\n"+hostField+"Content-Length: 5\r\n\r\nhello"+
				"HEAD /3 HTTP/1.1\r\n"+hostField+"\r\n"+
				"GET /4?x=1 HTTP/1.1\r\n"+hostField+"\r\n", "GET", "POST", "HEAD", "GET"),
			served: "lean lean lean lean",
		},
		{
			name: "keep-alive sequence",
			steps: []step{
				{"GET /a HTTP/1.1\r\n" + hostField + "\r\n", []string{"GET"}},
				{"POST /b HTTP/1.1\r\n" + hostField + "Content-Length: 2\r\n\r\nhi", []string{"POST"}},
				{"GET /c HTTP/1.1\r\n" + hostField + "Connection: keep-alive\r\n\r\n", []string{"GET"}},
			},
			served: "lean lean lean",
		},
		{
			name: "request split across writes",
			steps: []step{
				{"POST /split HTTP/1.1\r\n" + hostField, nil},
				{"Content-Length: 4\r\n\r\nab", nil},
				{"cd", []string{"POST"}},
			},
			served: "lean",
		},
		{name: "query with escapes", steps: one("GET /search?q=a%20b&x=%2F&y=%zz&z=%E2%82%AC HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "empty query", steps: one("GET /a? HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "two question marks", steps: one("GET /a??b HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "question mark then hash", steps: one("GET /a?#frag HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "hash in path", steps: one("GET /a#frag HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "path with escapes", steps: one("GET /a%2Fb/c%20d/%41 HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "path with brackets and braces", steps: one("GET /[a]/{b}/~c/|d/^e/`f`/\"g\"/<h>/\\i HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "path with sub-delims", steps: one("GET /!a/'b'/(c)/*d/$e&f+g,h;i=j:k@l HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "path with dot segments and double slashes", steps: one("GET //a/../b/./c// HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "bad escape in path", steps: one("GET /a%zz HTTP/1.1\r\n" + hostField + "\r\n"), served: "-"},
		{name: "non-ASCII in path", steps: one("GET /caf\xc3\xa9 HTTP/1.1\r\n" + hostField + "\r\n"), served: "net/http"},
		{name: "control character in path", steps: one("GET /a\x01b HTTP/1.1\r\n" + hostField + "\r\n"), served: "-"},
		{name: "odd-case header names", steps: one("POST /x HTTP/1.1\r\nhost: example.com\r\ncontent-LENGTH: 2\r\nx-FOO-bar: 1\r\nACCEPT: */*\r\nx_under: u\r\n\r\nhi", "POST"), served: "lean"},
		{name: "repeated header fields", steps: one("GET / HTTP/1.1\r\n" + hostField + "Accept: a\r\nAccept: b\r\nX-Y: 1\r\nx-y: 2\r\n\r\n"), served: "lean"},
		{name: "value whitespace, empty value, obs-text", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-A:   spaced \t \r\nX-B:\r\nX-C: \t\r\nX-U: caf\xc3\xa9 \xff\r\n\r\n"), served: "lean"},
		{name: "Pragma no-cache", steps: one("GET / HTTP/1.1\r\n" + hostField + "Pragma: no-cache\r\n\r\n"), served: "lean"},
		{name: "Pragma no-cache with Cache-Control", steps: one("GET / HTTP/1.1\r\n" + hostField + "Pragma: no-cache\r\nCache-Control: max-age=1\r\n\r\n"), served: "lean"},
		{name: "empty Host", steps: one("GET / HTTP/1.1\r\nHost:\r\n\r\n"), served: "lean"},
		{name: "Host with port", steps: one("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), served: "lean"},
		{name: "Connection close", steps: one("GET / HTTP/1.1\r\n" + hostField + "Connection: close\r\n\r\n"), served: "lean"},
		{name: "Connection close in caps, among others", steps: one("GET / HTTP/1.1\r\n" + hostField + "Connection: keep-alive\r\nConnection: , CLOSE\r\n\r\n"), served: "lean"},
		{name: "requests after Connection close", steps: one("GET /1 HTTP/1.1\r\n" + hostField + "Connection: close\r\n\r\nGET /2 HTTP/1.1\r\n" + hostField + "\r\n"), served: "lean"},
		{name: "CRLF after a POST body", steps: one("POST /1 HTTP/1.1\r\n"+hostField+"Content-Length: 2\r\n\r\nhi\r\nGET /2 HTTP/1.1\r\n"+hostField+"\r\n", "POST", "GET"), served: "lean lean"},
		{
			name: "heads across buffer refills",
			steps: one("POST /1 HTTP/1.1\r\n"+hostField+"Content-Length: 7000\r\n\r\n"+strings.Repeat("b", 7000)+
				"GET /2 HTTP/1.1\r\n"+hostField+"X-Mid: "+strings.Repeat("m", 3000)+"\r\n\r\n"+
				"GET /3 HTTP/1.1\r\n"+hostField+"X-Near: "+nearFull+"\r\n\r\n", "POST", "GET", "GET"),
			served: "lean lean lean",
		},
		{name: "fifty pipelined", steps: one(strings.Repeat("GET /p?i=1 HTTP/1.1\r\n"+hostField+"\r\n", 50), slices.Repeat([]string{"GET"}, 50)...), served: strings.TrimSpace(strings.Repeat("lean ", 50))},
		{name: "head just under the buffer", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-Near: " + nearFull + "\r\n\r\n"), served: "lean"},

		// The others: net/http's to serve or refuse.
		// After a chunked request the connection closes (see
		// TestFaultyFraming).
		{name: "chunked", steps: one("POST /c HTTP/1.1\r\n"+hostField+"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "POST"), served: "net/http", leanCloses: true},
		{name: "plain then chunked", steps: one("GET /1 HTTP/1.1\r\n"+hostField+"\r\nPOST /2 HTTP/1.1\r\n"+hostField+"Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", "GET", "POST"), served: "lean net/http", leanCloses: true},
		{name: "HTTP/1.0 then plain", steps: one("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\n"+hostField+"\r\n", "GET", "GET"), served: "net/http net/http"},
		{name: "Expect 100-continue", steps: one("POST /e HTTP/1.1\r\n"+hostField+"Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc", "POST"), served: "net/http"},
		{name: "unknown expectation", steps: one("POST /e HTTP/1.1\r\n"+hostField+"Expect: tea\r\nContent-Length: 3\r\n\r\nabc", "POST"), served: "-"},
		{name: "HTTP/1.0", steps: one("GET / HTTP/1.0\r\n" + hostField + "\r\n"), served: "net/http"},
		{name: "HTTP/1.0 keep-alive", steps: one("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), served: "net/http"},
		{name: "HTTP/1.2", steps: one("GET / HTTP/1.2\r\n" + hostField + "\r\n"), served: "net/http"},
		{name: "HTTP/2.0", steps: one("GET / HTTP/2.0\r\n" + hostField + "\r\n"), served: "-"},
		{name: "absolute form", steps: one("GET http://other.example/x?y HTTP/1.1\r\n" + hostField + "\r\n"), served: "net/http"},
		{name: "asterisk form", steps: one("OPTIONS * HTTP/1.1\r\n" + hostField + "\r\n"), served: "-"},
		{name: "authority form", steps: one("CONNECT example.com:443 HTTP/1.1\r\n" + hostField + "\r\n"), served: "net/http"},
		{name: "Upgrade", steps: one("GET / HTTP/1.1\r\n" + hostField + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), served: "net/http"},
		{name: "other Connection option", steps: one("GET / HTTP/1.1\r\n" + hostField + "Connection: TE\r\nTE: trailers\r\n\r\n"), served: "net/http"},
		{name: "bare LF", steps: one("GET / HTTP/1.1\n" + hostField[:len(hostField)-2] + "\n\n"), served: "net/http"},
		{name: "bare LF in one field", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-A: b\n\r\n"), served: "net/http"},
		{name: "bare LF between fields", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-A: b\nX-B: c\r\n\r\n"), served: "net/http"},
		{name: "bare LF ends the head early", steps: one("GET / HTTP/1.1\r\n" + hostField + "\nGET /second HTTP/1.1\r\n" + hostField + "\r\n"), served: "net/http"},
		{name: "bare LF in the request line", steps: one("GET /\n HTTP/1.1\r\n" + hostField + "\r\n"), served: "-"},
		{name: "obs-fold", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-A: a\r\n b\r\n\r\n"), served: "net/http"},
		{name: "leading empty line", steps: one("\r\nGET / HTTP/1.1\r\n" + hostField + "\r\n"), served: "-"},
		{name: "missing Host", steps: one("GET / HTTP/1.1\r\nX-A: b\r\n\r\n"), served: "-"},
		{name: "two Hosts", steps: one("GET / HTTP/1.1\r\n" + hostField + hostField + "\r\n"), served: "-"},
		{name: "invalid Host", steps: one("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), served: "-"},
		{name: "two equal Content-Lengths", steps: one("POST / HTTP/1.1\r\n"+hostField+"Content-Length: 2\r\nContent-Length: 2\r\n\r\nhi", "POST"), served: "net/http"},
		{name: "two different Content-Lengths", steps: one("POST / HTTP/1.1\r\n"+hostField+"Content-Length: 2\r\nContent-Length: 3\r\n\r\nhi!", "POST"), served: "-"},
		{name: "Content-Length with sign", steps: one("POST / HTTP/1.1\r\n"+hostField+"Content-Length: +2\r\n\r\nhi", "POST"), served: "-"},
		{name: "Content-Length with inner space", steps: one("POST / HTTP/1.1\r\n"+hostField+"Content-Length: 1 2\r\n\r\nhi", "POST"), served: "-"},
		{name: "empty Content-Length", steps: one("POST / HTTP/1.1\r\n"+hostField+"Content-Length:\r\n\r\n", "POST"), served: "-"},
		{name: "huge Content-Length", steps: one("POST / HTTP/1.1\r\n"+hostField+"Content-Length: 99999999999999999999\r\n\r\n", "POST"), served: "-"},
		// Transfer-Encoding with Content-Length: see TestFaultyFraming.
		{name: "identity Transfer-Encoding", steps: one("POST / HTTP/1.1\r\n"+hostField+"Transfer-Encoding: identity\r\n\r\n", "POST"), served: "-"},
		{name: "control character in a value", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-A: a\x01b\r\n\r\n"), served: "-"},
		{name: "DEL in a value", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-A: a\x7fb\r\n\r\n"), served: "-"},
		{name: "space in a name", steps: one("GET / HTTP/1.1\r\n" + hostField + "X A: b\r\n\r\n"), served: "-"},
		{name: "space before the colon", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-A : b\r\n\r\n"), served: "-"},
		{name: "no colon", steps: one("GET / HTTP/1.1\r\n" + hostField + "NoColon\r\n\r\n"), served: "-"},
		{name: "separator in a name", steps: one("GET / HTTP/1.1\r\n" + hostField + "X(A): b\r\n\r\n"), served: "-"},
		{name: "bad method", steps: one("GE(T / HTTP/1.1\r\n" + hostField + "\r\n"), served: "-"},
		{name: "two spaces in the request line", steps: one("GET  / HTTP/1.1\r\n" + hostField + "\r\n"), served: "-"},
		{name: "tab in the request line", steps: one("GET\t/ HTTP/1.1\r\n" + hostField + "\r\n"), served: "-"},
		{name: "head over the buffer", steps: one("GET / HTTP/1.1\r\n" + hostField + "X-Big: " + bigValue + "\r\n\r\n"), served: "net/http"},
		{name: "head cut short", steps: one("GET / HTTP/1.1\r\n" + hostField), closeWrite: true, served: "-"},
		{
			name: "body cut short", steps: one("POST / HTTP/1.1\r\n"+hostField+"Content-Length: 10\r\n\r\nabc", "POST"), closeWrite: true, served: "lean",
			differs: func(r *wireResp) {
				// net/http, having seen the body's EOF, does not announce
				// that it closes the connection; the lean server does.
				r.Close = true
			},
		},
	}
	servers := startBoth(t, http.HandlerFunc(echoHandler), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var results [2]result
			for i, ts := range servers {
				results[i] = exchange(t, ts.addr, tt.steps, tt.closeWrite)
				var served []string
				for _, r := range results[i].resps {
					served = append(served, r.ServedBy)
				}
				want := tt.served
				if ts.lean == nil {
					want = strings.ReplaceAll(want, "lean", "net/http")
				}
				if got := strings.Join(served, " "); got != want {
					t.Errorf("%s: served by %q, want %q", ts.name, got, want)
				}
			}
			want, got := results[0], results[1]
			if len(got.resps) != len(want.resps) {
				t.Fatalf("lean: %d responses (error %v), net/http %d (error %v)", len(got.resps), got.err, len(want.resps), want.err)
			}
			if tt.leanCloses {
				want.closed = true
				want.resps[len(want.resps)-1].Close = true
			}
			for i := range want.resps {
				if tt.differs != nil {
					tt.differs(&want.resps[i])
				}
				if g, w := got.resps[i].framed(), want.resps[i].framed(); g != w {
					t.Errorf("response %d:\nlean:\n%s\nnet/http:\n%s", i, g, w)
				}
			}
			if got.closed != want.closed {
				t.Errorf("lean closed the connection: %v, net/http: %v", got.closed, want.closed)
			}
		})
	}
}

// record notes what a handler saw, for the test to compare.
type record struct {
	mu    sync.Mutex
	notes []string
}

func (r *record) note(format string, a ...any) {
	r.mu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(format, a...))
	r.mu.Unlock()
}

func (r *record) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.notes, "; ")
}

// TestHandlerBehaviour runs handlers under both servers and compares what
// the client and the handler saw.
func TestHandlerBehaviour(t *testing.T) {
	get := "GET / HTTP/1.1\r\n" + hostField + "\r\n"
	head := "HEAD / HTTP/1.1\r\n" + hostField + "\r\n"
	post := func(n int) string {
		return fmt.Sprintf("POST / HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s", hostField, n, strings.Repeat("b", n))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/dir/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "dir %s", r.URL.Path) })
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "item %s", r.PathValue("id")) })
	modTime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	content := strings.Repeat("0123456789", 100)

	tests := []struct {
		name    string
		handler func(rec *record) http.HandlerFunc
		send    string
		method  string // of the request; GET if empty
		noResp  bool   // the connection closes without a response
		differs string // why the lean server's response differs from net/http's: compare only the checks
		check   func(t *testing.T, r result, rec string)
	}{
		{
			name: "default 200, empty",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {}
			},
			check: func(t *testing.T, r result, rec string) {
				expectStatus(t, r, "200 OK")
				if r.resps[0].CL != 0 || r.resps[0].Header.Get("Content-Type") != "" {
					t.Errorf("CL %d, Content-Type %q: want 0 and none", r.resps[0].CL, r.resps[0].Header.Get("Content-Type"))
				}
			},
		},
		{
			name: "201 with body",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Location", "/items/1")
					w.WriteHeader(http.StatusCreated)
					io.WriteString(w, `{"id":1}`)
				}
			},
			check: func(t *testing.T, r result, rec string) { expectStatus(t, r, "201 Created") },
		},
		{
			name: "204 refuses a body",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "5")
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(http.StatusNoContent)
					_, err := io.WriteString(w, "hello")
					rec.note("write: %v", err)
				}
			},
			check: func(t *testing.T, r result, rec string) {
				expectStatus(t, r, "204 No Content")
				if rec != "write: "+http.ErrBodyNotAllowed.Error() {
					t.Errorf("handler saw %q", rec)
				}
				if r.closed {
					t.Error("connection closed")
				}
			},
		},
		{
			name:   "HEAD 204 with a Content-Length",
			send:   head,
			method: "HEAD",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "5")
					w.WriteHeader(http.StatusNoContent)
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if _, ok := r.resps[0].Header["Content-Length"]; ok {
					t.Error("a 204 with Content-Length")
				}
			},
		},
		{
			name: "304 drops Content-Type and Content-Length",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/plain")
					w.Header().Set("Content-Length", "10")
					w.Header().Set("Etag", `"x"`)
					w.WriteHeader(http.StatusNotModified)
					_, err := w.Write([]byte("x"))
					rec.note("write: %v", err)
				}
			},
			check: func(t *testing.T, r result, rec string) {
				expectStatus(t, r, "304 Not Modified")
				hd := r.resps[0].Header
				if hd.Get("Content-Type") != "" || hd.Get("Content-Length") != "" || hd.Get("Etag") != `"x"` {
					t.Errorf("header %v", hd)
				}
			},
		},
		{
			name: "status without text",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(599) }
			},
			check: func(t *testing.T, r result, rec string) { expectStatus(t, r, "599 status code 599") },
		},
		{
			name:   "invalid status panics",
			noResp: true,
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					defer func() { rec.note("%v", recover()); panic(http.ErrAbortHandler) }()
					w.WriteHeader(99)
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if len(r.resps) != 0 || !r.closed {
					t.Errorf("got %d responses, closed %v", len(r.resps), r.closed)
				}
				if rec != "invalid WriteHeader code 99" {
					t.Errorf("handler saw %q", rec)
				}
			},
		},
		{
			name: "103 Early Hints",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Link", "</style.css>; rel=preload; as=style")
					w.Header().Set("Content-Length", "99")
					w.WriteHeader(http.StatusEarlyHints)
					w.Header().Del("Content-Length")
					w.Header().Add("Link", "</app.js>; rel=preload; as=script")
					w.WriteHeader(http.StatusEarlyHints)
					w.Header().Set("Content-Type", "text/html")
					io.WriteString(w, "<html></html>")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				expectStatus(t, r, "200 OK")
				if got := r.resps[0].Interim; len(got) != 2 || !strings.Contains(got[0], "style.css") || strings.Contains(got[0], "app.js") || !strings.Contains(got[1], "app.js") {
					t.Errorf("interim responses %q", got)
				}
			},
		},
		{
			name: "superfluous WriteHeader",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusAccepted)
					w.WriteHeader(http.StatusInternalServerError)
					io.WriteString(w, "x")
					w.WriteHeader(http.StatusInternalServerError)
				}
			},
			check: func(t *testing.T, r result, rec string) { expectStatus(t, r, "202 Accepted") },
		},
		{
			name: "header changes after WriteHeader are ignored",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Early", "1")
					w.WriteHeader(http.StatusOK)
					w.Header().Set("X-Late", "1")
					w.Header().Del("X-Early")
					io.WriteString(w, "x")
					w.Header().Set("X-Later", "1")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				hd := r.resps[0].Header
				if hd.Get("X-Early") != "1" || hd.Get("X-Late") != "" || hd.Get("X-Later") != "" {
					t.Errorf("header %v", hd)
				}
			},
		},
		{
			name: "header changes after Write are ignored",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, "x")
					w.Header().Set("X-Late", "1")
					w.WriteHeader(http.StatusTeapot)
				}
			},
			check: func(t *testing.T, r result, rec string) {
				expectStatus(t, r, "200 OK")
				if r.resps[0].Header.Get("X-Late") != "" {
					t.Error("X-Late sent")
				}
			},
		},
		{
			name: "Content-Type sniffed",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, "<!DOCTYPE html><html><body>hi</body></html>")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if ct := r.resps[0].Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
			},
		},
		{
			name: "Content-Type sniffed from several writes",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, "\x89PN")
					io.WriteString(w, "G\r\n\x1a\n rest of an image")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if ct := r.resps[0].Header.Get("Content-Type"); ct != "image/png" {
					t.Errorf("Content-Type %q", ct)
				}
			},
		},
		{
			name: "no sniffing with Content-Encoding",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Encoding", "gzip")
					io.WriteString(w, "\x1f\x8b\x08\x00 not really gzip")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if ct, ok := r.resps[0].Header["Content-Type"]; ok {
					t.Errorf("Content-Type %q", ct)
				}
			},
		},
		{
			name: "no Content-Type when the handler sets it to nothing",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header()["Content-Type"] = nil
					io.WriteString(w, "<html></html>")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if ct, ok := r.resps[0].Header["Content-Type"]; ok {
					t.Errorf("Content-Type %q", ct)
				}
			},
		},
		{
			name: "handler's Date and Connection close",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
					w.Header().Set("Connection", "close")
					io.WriteString(w, "bye")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if d := r.resps[0].Header.Get("Date"); d != "Mon, 02 Jan 2006 15:04:05 GMT" || !r.resps[0].Close || !r.closed {
					t.Errorf("Date %q, Close %v, closed %v", d, r.resps[0].Close, r.closed)
				}
			},
		},
		{
			name: "header values with line breaks, invalid names",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-A", " a\r\nb\nc ")
					w.Header()["X B"] = []string{"dropped"}
					w.Header()["X-Empty"] = nil
					io.WriteString(w, "x")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if v := r.resps[0].Header.Get("X-A"); v != "a  b c" {
					t.Errorf("X-A %q", v)
				}
			},
		},
		{
			name:   "HEAD with a body written",
			send:   head,
			method: "HEAD",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					n, err := io.WriteString(w, "hello")
					rec.note("wrote %d %v", n, err)
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if r.resps[0].CL != 5 || r.resps[0].Body != "" || rec != "wrote 5 <nil>" {
					t.Errorf("CL %d body %q; handler %q", r.resps[0].CL, r.resps[0].Body, rec)
				}
			},
		},
		{
			name:   "HEAD with the handler's Content-Length",
			send:   head,
			method: "HEAD",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "1234")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if r.resps[0].CL != 1234 || r.closed {
					t.Errorf("CL %d, closed %v", r.resps[0].CL, r.closed)
				}
			},
		},
		{
			name:   "HEAD with nothing written",
			send:   head,
			method: "HEAD",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {}
			},
			check: func(t *testing.T, r result, rec string) {
				if _, ok := r.resps[0].Header["Content-Length"]; ok {
					t.Error("Content-Length sent")
				}
			},
		},
		{
			name: "body of 2 KiB",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 2048)) }
			},
			check: func(t *testing.T, r result, rec string) {
				if r.resps[0].CL != 2048 {
					t.Errorf("CL %d", r.resps[0].CL)
				}
			},
		},
		{
			name: "body of 100 KiB",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					for range 100 {
						io.WriteString(w, strings.Repeat("y", 1024))
					}
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if len(r.resps[0].Body) != 100<<10 {
					t.Errorf("body of %d bytes", len(r.resps[0].Body))
				}
			},
		},
		{
			name: "body over MaxBufferedBody",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					b := bytes.Repeat([]byte("0123456789abcdef"), 4096)
					for range (MaxBufferedBody + 3*len(b)) / len(b) {
						w.Write(b)
					}
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if want := (MaxBufferedBody + 3*65536) / 65536 * 65536; len(r.resps[0].Body) != want || !slices.Equal(r.resps[0].TE, []string{"chunked"}) {
					t.Errorf("body of %d bytes, want %d; TE %v", len(r.resps[0].Body), want, r.resps[0].TE)
				}
			},
		},
		{
			name: "Flush sends chunked",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(w, "data: 1\n\n")
					w.(http.Flusher).Flush()
					io.WriteString(w, "data: 2\n\n")
					w.(http.Flusher).Flush()
					w.(http.Flusher).Flush()
					io.WriteString(w, "data: 3\n\n")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if r.resps[0].Body != "data: 1\n\ndata: 2\n\ndata: 3\n\n" || !slices.Equal(r.resps[0].TE, []string{"chunked"}) {
					t.Errorf("body %q, TE %v", r.resps[0].Body, r.resps[0].TE)
				}
			},
		},
		{
			name: "Flush before writing",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.NewResponseController(w).Flush()
					io.WriteString(w, "<html>")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if _, ok := r.resps[0].Header["Content-Type"]; ok || r.resps[0].Body != "<html>" {
					t.Errorf("Content-Type sniffed after a flush, or body %q", r.resps[0].Body)
				}
			},
		},
		{
			name: "Flush with the handler's Content-Length",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "11")
					io.WriteString(w, "hello ")
					w.(http.Flusher).Flush()
					io.WriteString(w, "world")
					w.(http.Flusher).Flush()
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if r.resps[0].Body != "hello world" || r.resps[0].CL != 11 || len(r.resps[0].TE) != 0 || r.closed {
					t.Errorf("body %q, CL %d, TE %v, closed %v: want the fixed length, kept alive", r.resps[0].Body, r.resps[0].CL, r.resps[0].TE, r.closed)
				}
			},
		},
		{
			name: "Write past a flushed Content-Length",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "5")
					io.WriteString(w, "hello")
					w.(http.Flusher).Flush()
					_, err := io.WriteString(w, "!")
					rec.note("write: %v", err)
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if r.resps[0].Body != "hello" || rec != "write: "+http.ErrContentLength.Error() || !r.closed {
					t.Errorf("body %q, handler saw %q, closed %v", r.resps[0].Body, rec, r.closed)
				}
			},
		},
		{
			name: "Content-Length body over the buffer",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", strconv.Itoa(MaxBufferedBody+100))
					b := make([]byte, 4096)
					for n := 0; n < MaxBufferedBody+100; n += len(b) {
						w.Write(b[:min(len(b), MaxBufferedBody+100-n)])
					}
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if len(r.resps[0].Body) != MaxBufferedBody+100 || len(r.resps[0].TE) != 0 || r.closed {
					t.Errorf("body of %d bytes, TE %v, closed %v: want the handler's length, not chunks", len(r.resps[0].Body), r.resps[0].TE, r.closed)
				}
			},
		},
		{
			name:   "HEAD with a Flush",
			send:   head,
			method: "HEAD",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.(http.Flusher).Flush()
					io.WriteString(w, "hello")
				}
			},
			differs: "net/http sends no Content-Length once a HEAD response is flushed; the lean server sends the head when the handler returns, with the length written",
			check: func(t *testing.T, r result, rec string) {
				if r.closed {
					t.Error("connection closed")
				}
			},
		},
		{
			name: "handler's Content-Length larger than the body",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "10")
					io.WriteString(w, "short")
				}
			},
			differs: "the lean server sends the length written, not the handler's Content-Length, so the connection survives",
			check: func(t *testing.T, r result, rec string) {
				if r.resps[0].Body != "short" {
					t.Errorf("body %q", r.resps[0].Body)
				}
			},
		},
		{
			name:   "small body left unread",
			send:   post(1000),
			method: "POST",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ignored") }
			},
			check: func(t *testing.T, r result, rec string) {
				if r.closed || r.resps[0].Close {
					t.Error("connection closed")
				}
			},
		},
		{
			name:   "body left partly unread",
			send:   post(100 << 10),
			method: "POST",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { io.CopyN(io.Discard, r.Body, 5000) }
			},
			check: func(t *testing.T, r result, rec string) {
				if r.closed || r.resps[0].Close {
					t.Error("connection closed")
				}
			},
		},
		{
			name:   "big body left unread",
			send:   post(maxDiscard + 4096),
			method: "POST",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusRequestEntityTooLarge)
					io.WriteString(w, "too big")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if len(r.resps) != 1 || !r.resps[0].Close || !r.closed {
					t.Fatalf("%d responses (error %v), closed %v", len(r.resps), r.err, r.closed)
				}
				if r.resps[0].Body != "too big" {
					t.Errorf("body %q", r.resps[0].Body)
				}
			},
		},
		{
			name:   "body closed by the handler",
			send:   post(3000),
			method: "POST",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					io.CopyN(io.Discard, r.Body, 10)
					rec.note("close: %v", r.Body.Close())
					io.WriteString(w, "ok")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if r.closed || rec != "close: <nil>" {
					t.Errorf("closed %v, handler %q", r.closed, rec)
				}
			},
		},
		{
			name:   "panic",
			noResp: true,
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, "partial")
					panic("boom")
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if len(r.resps) != 0 || !r.closed {
					t.Errorf("%d responses, closed %v", len(r.resps), r.closed)
				}
			},
		},
		{
			name: "http.Error",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", http.StatusForbidden) }
			},
			check: func(t *testing.T, r result, rec string) { expectStatus(t, r, "403 Forbidden") },
		},
		{
			name:    "ServeMux redirect",
			send:    "GET /dir?x=1 HTTP/1.1\r\n" + hostField + "\r\n",
			handler: func(rec *record) http.HandlerFunc { return mux.ServeHTTP },
			check: func(t *testing.T, r result, rec string) {
				if loc := r.resps[0].Header.Get("Location"); loc != "/dir/?x=1" {
					t.Errorf("Location %q", loc)
				}
			},
		},
		{
			name:    "ServeMux pattern",
			send:    "GET /items/a%2Fb HTTP/1.1\r\n" + hostField + "\r\n",
			handler: func(rec *record) http.HandlerFunc { return mux.ServeHTTP },
			check:   func(t *testing.T, r result, rec string) { expectStatus(t, r, "200 OK") },
		},
		{
			name:    "ServeMux method not allowed",
			send:    "DELETE /items/1 HTTP/1.1\r\n" + hostField + "\r\n",
			handler: func(rec *record) http.HandlerFunc { return mux.ServeHTTP },
			check:   func(t *testing.T, r result, rec string) { expectStatus(t, r, "405 Method Not Allowed") },
		},
		{
			name: "ServeContent range",
			send: "GET / HTTP/1.1\r\n" + hostField + "Range: bytes=10-19\r\n\r\n",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.ServeContent(w, r, "c.txt", modTime, strings.NewReader(content))
				}
			},
			check: func(t *testing.T, r result, rec string) {
				if r.resps[0].Body != content[10:20] || r.resps[0].Header.Get("Content-Range") != "bytes 10-19/1000" {
					t.Errorf("body %q, Content-Range %q", r.resps[0].Body, r.resps[0].Header.Get("Content-Range"))
				}
			},
		},
		{
			name: "ServeContent not modified",
			send: "GET / HTTP/1.1\r\n" + hostField + "If-Modified-Since: " + modTime.Format(http.TimeFormat) + "\r\n\r\n",
			handler: func(rec *record) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.ServeContent(w, r, "c.txt", modTime, strings.NewReader(content))
				}
			},
			check: func(t *testing.T, r result, rec string) { expectStatus(t, r, "304 Not Modified") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send, method := tt.send, tt.method
			if send == "" {
				send = get
			}
			if method == "" {
				method = "GET"
			}
			var results [2]result
			var recs [2]string
			for i, lean := range []bool{false, true} {
				rec := &record{}
				handler := tt.handler(rec)
				ts := startServer(t, lean, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/probe" {
						return
					}
					handler(w, r)
				}), nil, nil)
				expect := []string{method}
				if tt.noResp {
					expect = nil
				}
				results[i] = exchange(t, ts.addr, []step{{send, expect}}, false)
				recs[i] = rec.String()
				if len(expect) > 0 && len(results[i].resps) == 0 {
					t.Fatalf("%s: no response: %v", ts.name, results[i].err)
				}
				t.Run(ts.name, func(t *testing.T) { tt.check(t, results[i], recs[i]) })
			}
			if tt.differs != "" {
				return
			}
			if len(results[0].resps) != len(results[1].resps) {
				t.Fatalf("lean: %d responses, net/http %d", len(results[1].resps), len(results[0].resps))
			}
			for i := range results[0].resps {
				if g, w := results[1].resps[i].framed(), results[0].resps[i].framed(); g != w {
					t.Errorf("response %d:\nlean:\n%s\nnet/http:\n%s", i, g, w)
				}
			}
			if results[0].closed != results[1].closed {
				t.Errorf("lean closed the connection: %v, net/http: %v", results[1].closed, results[0].closed)
			}
			if recs[0] != recs[1] {
				t.Errorf("lean's handler saw %q, net/http's %q", recs[1], recs[0])
			}
		})
	}
}

func expectStatus(t *testing.T, r result, status string) {
	t.Helper()
	if len(r.resps) == 0 {
		t.Fatalf("no response: %v", r.err)
	}
	if r.resps[0].Status != status {
		t.Errorf("status %q, want %q", r.resps[0].Status, status)
	}
}

// getResponse sends a GET to addr on a connection of its own and reads the
// head of the response, whose body then comes from the connection (closed
// when the test ends), within timeout.
func getResponse(t *testing.T, addr string, timeout time.Duration) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "GET / HTTP/1.1\r\n"+hostField+"\r\n")
	c.SetReadDeadline(time.Now().Add(timeout))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestFlushStreams checks that a flushed part of a response reaches the
// client while the handler is still running.
func TestFlushStreams(t *testing.T) {
	for _, lean := range []bool{false, true} {
		release := make(chan struct{})
		ts := startServer(t, lean, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			io.WriteString(w, "second")
		}), nil, nil)
		t.Run(ts.name, func(t *testing.T) {
			resp := getResponse(t, ts.addr, 5*time.Second)
			first := make([]byte, 5)
			if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first" {
				t.Fatalf("read %q, %v before the handler finished", first, err)
			}
			close(release)
			rest, err := io.ReadAll(resp.Body)
			if err != nil || string(rest) != "second" {
				t.Fatalf("then %q, %v", rest, err)
			}
		})
	}
}

// TestFlushSendsWholeResponse checks that a response with the handler's
// Content-Length, once flushed, reaches the client whole while the handler
// is still running: what the handler does next is off the client's path.
func TestFlushSendsWholeResponse(t *testing.T) {
	for _, lean := range []bool{false, true} {
		release := make(chan struct{})
		ts := startServer(t, lean, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "whole")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		}), nil, nil)
		t.Run(ts.name, func(t *testing.T) {
			defer close(release)
			resp := getResponse(t, ts.addr, 2*time.Second)
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != "whole" || resp.ContentLength != 5 || len(resp.TransferEncoding) != 0 {
				t.Fatalf("read %q, %v (length %d, %v) before the handler returned", body, err, resp.ContentLength, resp.TransferEncoding)
			}
		})
	}
}

// TestFlushShortOfContentLength checks that a response flushed with a
// Content-Length its handler then falls short of ends with the connection:
// nothing else can tell the client that no more bytes come.
func TestFlushShortOfContentLength(t *testing.T) {
	for _, lean := range []bool{false, true} {
		ts := startServer(t, lean, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "short")
			w.(http.Flusher).Flush()
		}), nil, nil)
		t.Run(ts.name, func(t *testing.T) {
			resp := getResponse(t, ts.addr, 5*time.Second)
			body, err := io.ReadAll(resp.Body)
			if string(body) != "short" || err != io.ErrUnexpectedEOF {
				t.Fatalf("read %q, %v: want the 5 bytes, then the connection closed", body, err)
			}
		})
	}
}

// TestClientGoneMidBody checks that a handler reading the body of a client
// that went away sees io.ErrUnexpectedEOF, and that the server goes on.
func TestClientGoneMidBody(t *testing.T) {
	for _, lean := range []bool{false, true} {
		errs := make(chan error, 1)
		ts := startServer(t, lean, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/upload" {
				_, err := io.ReadAll(r.Body)
				errs <- err
			}
			io.WriteString(w, "ok")
		}), nil, nil)
		t.Run(ts.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "POST /upload HTTP/1.1\r\n"+hostField+"Content-Length: 1000\r\n\r\nonly ten b")
			time.Sleep(20 * time.Millisecond) // let the handler start reading
			c.Close()
			select {
			case err := <-errs:
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("handler read error %v, want io.ErrUnexpectedEOF", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the handler's read did not end")
			}
			r := exchange(t, ts.addr, one("GET / HTTP/1.1\r\n"+hostField+"\r\n"), false)
			if len(r.resps) != 1 || r.resps[0].Body != "ok" {
				t.Errorf("then %d responses: %v", len(r.resps), r.err)
			}
		})
	}
}

// TestWriteToGoneClient checks that a handler writing to a client that
// went away gets an error.
func TestWriteToGoneClient(t *testing.T) {
	for _, lean := range []bool{false, true} {
		gone := make(chan struct{})
		errs := make(chan error, 1)
		ts := startServer(t, lean, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-gone
			chunk := bytes.Repeat([]byte("z"), 32<<10)
			var err error
			for i := 0; i < 2048 && err == nil; i++ { // up to 64 MiB
				_, err = w.Write(chunk)
			}
			errs <- err
		}), nil, nil)
		t.Run(ts.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "GET / HTTP/1.1\r\n"+hostField+"\r\n")
			time.Sleep(20 * time.Millisecond)
			c.Close()
			close(gone)
			select {
			case err := <-errs:
				if err == nil {
					t.Error("64 MiB written to a closed connection without an error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the handler's writes did not end")
			}
		})
	}
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPanicLogged checks that a handler's panic closes its connection,
// is logged unless it is http.ErrAbortHandler, and leaves the server
// serving.
func TestPanicLogged(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/boom":
			panic("boom at the handler")
		}
		io.WriteString(w, "ok")
	}), nil, slog.New(slog.NewTextHandler(&logs, nil)))

	r := exchange(t, ts.addr, []step{{"GET /abort HTTP/1.1\r\n" + hostField + "\r\nGET / HTTP/1.1\r\n" + hostField + "\r\n", nil}}, false)
	if len(r.resps) != 0 || !r.closed {
		t.Errorf("after ErrAbortHandler: %d responses, closed %v", len(r.resps), r.closed)
	}
	if s := logs.String(); s != "" {
		t.Errorf("ErrAbortHandler logged: %s", s)
	}
	r = exchange(t, ts.addr, []step{{"GET /boom HTTP/1.1\r\n" + hostField + "\r\n", nil}}, false)
	if len(r.resps) != 0 || !r.closed {
		t.Errorf("after a panic: %d responses, closed %v", len(r.resps), r.closed)
	}
	if s := logs.String(); !strings.Contains(s, "boom at the handler") || !strings.Contains(s, "server_test.go") {
		t.Errorf("panic logged as %q, want the value and the stack", s)
	}
	r = exchange(t, ts.addr, one("GET / HTTP/1.1\r\n"+hostField+"\r\n"), false)
	if len(r.resps) != 1 || r.resps[0].Body != "ok" || r.closed {
		t.Errorf("then %d responses (%v), closed %v", len(r.resps), r.err, r.closed)
	}
}

// blocker is a handler whose /block requests wait for release (or their
// context) and whose other requests echo.
type blocker struct {
	started chan string   // the path of each request that blocks
	release chan struct{} // closed to let them finish
	ended   chan string   // "released" or "cancelled"
}

func newBlocker(t *testing.T) *blocker {
	b := &blocker{started: make(chan string, 10), release: make(chan struct{}), ended: make(chan string, 10)}
	t.Cleanup(func() {
		select {
		case <-b.release:
		default:
			close(b.release)
		}
	})
	return b
}

func (b *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/block" {
		echoHandler(w, r)
		return
	}
	io.Copy(io.Discard, r.Body)
	b.started <- r.URL.Path
	select {
	case <-b.release:
		b.ended <- "released"
		io.WriteString(w, "released")
	case <-r.Context().Done():
		b.ended <- "cancelled"
	}
}

func (b *blocker) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-b.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not start")
	}
}

// dialSend opens a connection and sends raw on it.
func dialSend(t *testing.T, addr, raw string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// expectEOF waits for the server to close c, with no more bytes.
func expectEOF(t *testing.T, what string, c net.Conn, br *bufio.Reader) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, br)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("%s: not closed", what)
	} else if n > 0 {
		t.Errorf("%s: %d more bytes before the close", what, n)
	}
}

const (
	blockRequest   = "GET /block HTTP/1.1\r\n" + hostField + "\r\n"
	plainRequest   = "GET / HTTP/1.1\r\n" + hostField + "\r\n"
	http10Request  = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	chunkedBlocked = "POST /block HTTP/1.1\r\n" + hostField + "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
)

// idleConn opens a connection and has one request answered on it, which
// is served by servedBy.
func idleConn(t *testing.T, addr, raw, servedBy string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, br := dialSend(t, addr, raw)
	r, err := readResponse(c, br, "GET")
	if err != nil {
		t.Fatal(err)
	}
	if r.ServedBy != servedBy || r.Close {
		t.Fatalf("served by %s, Close %v", r.ServedBy, r.Close)
	}
	return c, br
}

func TestShutdownClosesIdle(t *testing.T) {
	ts := startServer(t, true, newBlocker(t), nil, nil)
	c1, br1 := idleConn(t, ts.addr, plainRequest, "lean")
	c2, br2 := idleConn(t, ts.addr, http10Request, "net/http")
	c3, br3 := dialSend(t, ts.addr, "GET / HTT") // part of a head
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if err := ts.serveResult(t); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	expectEOF(t, "idle lean connection", c1, br1)
	expectEOF(t, "idle handed-off connection", c2, br2)
	expectEOF(t, "connection with part of a head", c3, br3)
	if c, err := net.Dial("tcp", ts.addr); err == nil {
		c.Close()
		t.Error("still accepting")
	}
}

func TestShutdownWaitsInFlight(t *testing.T) {
	for _, tt := range []struct {
		name, send, servedBy string
	}{
		{"lean", blockRequest, "lean"},
		{"handed off", chunkedBlocked, "net/http"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlocker(t)
			ts := startServer(t, true, b, nil, nil)
			idle, idleBR := idleConn(t, ts.addr, plainRequest, "lean")
			c, br := dialSend(t, ts.addr, tt.send)
			b.waitStarted(t)
			shut := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				shut <- ts.shutdown(ctx)
			}()
			if err := ts.serveResult(t); !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v", err)
			}
			expectEOF(t, "idle connection", idle, idleBR)
			select {
			case err := <-shut:
				t.Fatalf("Shutdown returned %v with a request in flight", err)
			case <-time.After(100 * time.Millisecond):
			}
			close(b.release)
			r, err := readResponse(c, br, "GET")
			if err != nil {
				t.Fatalf("in-flight request: %v", err)
			}
			if r.Body != "released" || !r.Close {
				t.Errorf("in-flight response %q, Close %v", r.Body, r.Close)
			}
			expectEOF(t, "in-flight connection", c, br)
			select {
			case err := <-shut:
				if err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Shutdown did not return")
			}
		})
	}
}

func TestShutdownTimeout(t *testing.T) {
	b := newBlocker(t)
	ts := startServer(t, true, b, nil, nil)
	c, br := dialSend(t, ts.addr, blockRequest)
	b.waitStarted(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown returned %v, want the context's error", err)
	}
	ts.close()
	expectEOF(t, "in-flight connection", c, br)
	select {
	case how := <-b.ended:
		if how != "cancelled" {
			t.Errorf("the handler ended %s, want its context cancelled", how)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was not cancelled by Close")
	}
	// Shutdown may be called again, and returns.
	done := make(chan error, 1)
	go func() { done <- ts.shutdown(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("second Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second Shutdown did not return")
	}
}

func TestShutdownTwice(t *testing.T) {
	ts := startServer(t, true, newBlocker(t), nil, nil)
	idleConn(t, ts.addr, http10Request, "net/http")
	for i := range 2 {
		done := make(chan error, 1)
		go func() { done <- ts.shutdown(context.Background()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Shutdown %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Shutdown %d did not return", i)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.lean.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Shutdown returned %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("Serve after Shutdown left its listener open")
	}
}

func TestCloseClosesAll(t *testing.T) {
	b := newBlocker(t)
	ts := startServer(t, true, b, nil, nil)
	idle, idleBR := idleConn(t, ts.addr, plainRequest, "lean")
	handed, handedBR := idleConn(t, ts.addr, http10Request, "net/http")
	busy, busyBR := dialSend(t, ts.addr, blockRequest)
	b.waitStarted(t)
	busyHanded, busyHandedBR := dialSend(t, ts.addr, chunkedBlocked)
	b.waitStarted(t)
	if err := ts.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := ts.serveResult(t); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	expectEOF(t, "idle lean connection", idle, idleBR)
	expectEOF(t, "idle handed-off connection", handed, handedBR)
	expectEOF(t, "busy lean connection", busy, busyBR)
	expectEOF(t, "busy handed-off connection", busyHanded, busyHandedBR)
	for range 2 {
		select {
		case how := <-b.ended:
			if how != "cancelled" {
				t.Errorf("a handler ended %s, want its context cancelled", how)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a handler's context was not cancelled by Close")
		}
	}
}

var registerDefault sync.Once

// TestNilHandler checks that a nil HTTP.Handler means
// http.DefaultServeMux, as in net/http.
func TestNilHandler(t *testing.T) {
	registerDefault.Do(func() {
		http.HandleFunc("/httpwire-test-default-mux", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, servedBy(w))
		})
	})
	ts := startServer(t, true, nil, nil, nil)
	r := exchange(t, ts.addr, one("GET /httpwire-test-default-mux HTTP/1.1\r\n"+hostField+"\r\n"), false)
	if len(r.resps) != 1 || r.resps[0].Body != "lean" {
		t.Errorf("%d responses (%v), %v", len(r.resps), r.err, r.resps)
	}
}

// TestReadHeaderTimeout checks that a head sent a byte at a time is cut
// off ReadHeaderTimeout after its first byte.
func TestReadHeaderTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, ts := range startBoth(t, http.HandlerFunc(echoHandler), func(s *http.Server) {
		s.ReadHeaderTimeout, s.IdleTimeout = timeout, 5*time.Second
	}) {
		t.Run(ts.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			closed := make(chan time.Duration, 1)
			go func() {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, c)
				closed <- time.Since(start)
			}()
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case d := <-closed:
					if d < timeout-50*time.Millisecond || d > timeout+time.Second {
						t.Errorf("closed after %v, want about %v", d, timeout)
					}
					return
				case <-tick.C:
					c.Write([]byte("a"))
				}
			}
		})
	}
}

// TestIdleTimeout checks that IdleTimeout applies to each wait for a
// request, and closes a connection left idle.
func TestIdleTimeout(t *testing.T) {
	const timeout = 600 * time.Millisecond
	for _, ts := range startBoth(t, http.HandlerFunc(echoHandler), func(s *http.Server) {
		s.ReadHeaderTimeout, s.IdleTimeout = 5*time.Second, timeout
	}) {
		t.Run(ts.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := range 5 { // 1.2 s in all, each gap well within the timeout
				if i > 0 {
					time.Sleep(timeout / 2)
				}
				io.WriteString(c, plainRequest)
				if _, err := readResponse(c, br, "GET"); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			start := time.Now()
			expectEOF(t, "idle connection", c, br)
			if d := time.Since(start); d < timeout*3/4 || d > timeout+time.Second {
				t.Errorf("closed after %v idle, want about %v", d, timeout)
			}
		})
	}
}

// benchmarkServer sends keep-alive POSTs of a 100-byte body on one
// connection and reads the responses with the package's response parser.
func benchmarkServer(b *testing.B, lean bool) {
	resp := []byte(`{"predictions":[[0.1,0.2,0.7]]}`)
	ts := startServer(b, lean, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(resp)
	}), nil, nil)
	body := strings.Repeat(`{"instances":[[1.0,2.0,3.0,4.0]]}`, 4)[:100]
	req := []byte("POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var p Response
	buf := make([]byte, 16<<10)
	start, end := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		p.Reset(false)
		for {
			n, err := p.Advance(buf[start:end])
			if err != nil {
				b.Fatal(err)
			}
			start += n
			if p.Done() {
				break
			}
			end = copy(buf, buf[start:end])
			start = 0
			m, err := c.Read(buf[end:])
			if err != nil {
				b.Fatal(err)
			}
			end += m
		}
		if p.Status != http.StatusOK || p.BodyBytes != int64(len(resp)) {
			b.Fatalf("status %d, %d body bytes", p.Status, p.BodyBytes)
		}
	}
}

func BenchmarkServerLean(b *testing.B)    { benchmarkServer(b, true) }
func BenchmarkServerNetHTTP(b *testing.B) { benchmarkServer(b, false) }

// rawExchange sends in on a new connection to addr, half-closes it, and
// parses the responses to GET requests (the handler of FuzzServer answers
// HEAD with Content-Length: 0) until the server closes the connection.
func rawExchange(t testing.TB, addr string, in string) ([]wireResp, string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	written := make(chan struct{})
	go func() {
		defer close(written)
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, in)
		c.(*net.TCPConn).CloseWrite()
	}()
	defer func() { <-written }()
	br := bufio.NewReader(c)
	var resps []wireResp
	for {
		r, err := readResponse(c, br, "GET")
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("%s: the connection stayed open after the client's EOF", addr)
			}
			rest, _ := io.ReadAll(br)
			return resps, fmt.Sprintf("%q", rest)
		}
		resps = append(resps, r)
	}
}

// FuzzServer sends the same bytes to net/http and to the lean server and
// expects the same responses.
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /a?b=%20 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloHEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi\r\nGET / HTTP/1.1\r\nhost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\nPOST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET / HTTP/1.1\nHost: h\n\n",
		"GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"PUT /p HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nshort",
		"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n",
		"0 / HTTP/1.1\r\nHost:\r\n00000000000000:0\r\n\r\n000",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /",
		"000 / HTTP/1.1\r\nHost:0\r\n\r\n0\n0",
		"POST / HTTP/1.1\r\nHost:\r\nContent-Length:2\r\n\r\n00\r000",
		"POST / HTTP/1.1\r\nHost:\r\nContent-Length:2\r\n\r\n00\r\n\r\n0",
		"POST / HTTP/1.1\r\nHost:\r\nContent-Length:2\r\n\r\n00\r\n0",
	} {
		f.Add(s)
	}
	servers := startBoth(f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			// The echo goes in a header field: the client reads every
			// response as one to a GET.
			rec := httptest.NewRecorder()
			echoHandler(rec, r)
			w.Header().Set("X-Echo", rec.Body.String())
			w.Header().Set("Content-Length", "0")
			return
		}
		echoHandler(w, r)
	}), nil)
	f.Fuzz(func(t *testing.T, in string) {
		want, wantRest := rawExchange(t, servers[0].addr, in)
		got, gotRest := rawExchange(t, servers[1].addr, in)
		if len(got) != len(want) {
			t.Fatalf("%q: lean: %d responses, then %s; net/http: %d, then %s", in, len(got), gotRest, len(want), wantRest)
		}
		for i := range want {
			if i == len(want)-1 {
				// The connection closes after the last response: the
				// lean server may say so where net/http does not.
				got[i].Close, want[i].Close = false, false
			}
			if g, w := got[i].framed(), want[i].framed(); g != w {
				t.Errorf("%q: response %d:\nlean:\n%s\nnet/http:\n%s", in, i, g, w)
			}
		}
		if gotRest != wantRest {
			t.Errorf("%q: after the responses, lean sent %s, net/http %s", in, gotRest, wantRest)
		}
	})
}

// TestUnreadBodySequentialClient checks that a client that sends all of a
// big request before it reads gets the response to it, though the handler
// reads none of the body: the server drains the input before it closes
// rather than reset the connection.
func TestUnreadBodySequentialClient(t *testing.T) {
	for _, lean := range []bool{false, true} {
		ts := startServer(t, lean, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
		}), nil, nil)
		t.Run(ts.name, func(t *testing.T) {
			const size = 16 << 20
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "POST / HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n", hostField, size)
			chunk := make([]byte, 64<<10)
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					// net/http waits a while without reading; the lean
					// server reads all the client sends meanwhile.
					if lean {
						t.Errorf("write after %d bytes: %v", sent, err)
					}
					break
				}
			}
			r, err := readResponse(c, bufio.NewReader(c), "POST")
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			if r.Status != "413 Request Entity Too Large" || !r.Close {
				t.Errorf("status %q, Close %v", r.Status, r.Close)
			}
		})
	}
}

// TestClientGoneCancelsContext checks that a handler still running when
// its client closes the connection sees its context cancelled, on both
// servers, and that a client sending its next request meanwhile (a
// pipelined request) neither cancels the handler nor loses a byte of the
// next request.
func TestClientGoneCancelsContext(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			io.WriteString(w, "next:"+r.URL.Path)
			return
		}
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
			io.WriteString(w, "cancelled")
		case <-time.After(400 * time.Millisecond):
			io.WriteString(w, "done")
		}
	})
	for _, ts := range startBoth(t, h, nil) {
		t.Run(ts.name+"/gone", func(t *testing.T) {
			cancelled := make(chan struct{})
			ts := startServer(t, ts.lean != nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // both watch only once the body is read
				select {
				case <-r.Context().Done():
					close(cancelled)
				case <-time.After(5 * time.Second):
				}
			}), nil, nil)
			c, _ := dialSend(t, ts.addr, "POST /slow HTTP/1.1\r\n"+hostField+"Content-Length: 2\r\n\r\nhi")
			time.Sleep(20 * time.Millisecond)
			start := time.Now()
			c.Close()
			select {
			case <-cancelled:
				t.Logf("cancelled %v after the close", time.Since(start).Round(time.Millisecond))
			case <-time.After(3 * time.Second):
				t.Fatal("the handler's context was not cancelled")
			}
		})
		t.Run(ts.name+"/gone after other requests", func(t *testing.T) {
			// The slow request is not the connection's first: on the lean
			// server, the watch's timer was armed by an earlier one.
			cancelled := make(chan struct{})
			ts := startServer(t, ts.lean != nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if r.URL.Path != "/slow" {
					return
				}
				select {
				case <-r.Context().Done():
					close(cancelled)
				case <-time.After(5 * time.Second):
				}
			}), nil, nil)
			c, br := dialSend(t, ts.addr, "")
			for i := 0; i < 3; i++ {
				io.WriteString(c, "POST /quick HTTP/1.1\r\n"+hostField+"Content-Length: 2\r\n\r\nhi")
				if _, err := readResponse(c, br, "POST"); err != nil {
					t.Fatal(err)
				}
				time.Sleep(30 * time.Millisecond)
			}
			io.WriteString(c, "POST /slow HTTP/1.1\r\n"+hostField+"Content-Length: 2\r\n\r\nhi")
			time.Sleep(20 * time.Millisecond)
			start := time.Now()
			c.Close()
			select {
			case <-cancelled:
				t.Logf("cancelled %v after the close", time.Since(start).Round(time.Millisecond))
			case <-time.After(3 * time.Second):
				t.Fatal("the handler's context was not cancelled")
			}
		})
		t.Run(ts.name+"/pipelined", func(t *testing.T) {
			c, br := dialSend(t, ts.addr, "POST /slow HTTP/1.1\r\n"+hostField+"Content-Length: 2\r\n\r\nhi")
			time.Sleep(250 * time.Millisecond) // past watchAfter: the watch reads
			io.WriteString(c, "GET /second HTTP/1.1\r\n"+hostField+"\r\n")
			for _, want := range []string{"done", "next:/second"} {
				r, err := readResponse(c, br, "GET")
				if err != nil {
					t.Fatal(err)
				}
				if r.Body != want {
					t.Errorf("body %q, want %q", r.Body, want)
				}
			}
		})
	}
}

// TestHTTPDate checks the Date field against the system clock across the
// turn of a second, which is when httpDate formats it anew.
func TestHTTPDate(t *testing.T) {
	c := &conn{}
	for range 3 {
		before := time.Now().UTC().Truncate(time.Second)
		got := string(c.httpDate())
		after := time.Now().UTC()
		d, err := http.ParseTime(got)
		if err != nil {
			t.Fatalf("Date %q: %v", got, err)
		}
		if d.Before(before) || d.After(after) {
			t.Fatalf("Date %s, want between %s and %s", d, before, after)
		}
		// Sleep into the next second.
		time.Sleep(time.Second - time.Duration(after.Nanosecond()) + time.Millisecond)
	}
}

// TestFaultyFraming checks that a request with both Transfer-Encoding and
// Content-Length, or with Transfer-Encoding in HTTP/1.0, cannot smuggle
// the bytes after it in as a request (RFC 9112, section 6.1): the lean
// server refuses it with 400 and closes; on a connection net/http serves
// already, the connection closes after it.
func TestFaultyFraming(t *testing.T) {
	const smuggled = "GET /smuggled HTTP/1.1\r\n" + hostField + "\r\n"
	ts := startServer(t, true, http.HandlerFunc(echoHandler), nil, nil)
	for _, tc := range []struct {
		name, send string
		expect     []string
		status     string
	}{
		{"CL+TE", "POST / HTTP/1.1\r\n" + hostField + "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, []string{"POST"}, "400 Bad Request"},
		{"TE+CL", "POST / HTTP/1.1\r\n" + hostField + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, []string{"POST"}, "400 Bad Request"},
		{"HTTP/1.0 TE", "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, []string{"POST"}, "400 Bad Request"},
		// net/http serves the connection after a request handed to it
		// (HTTP/1.0 here): it frames the next by its chunks, and the
		// guard closes the connection after it.
		{"CL+TE after handoff", http10Request +
			"POST / HTTP/1.1\r\n" + hostField + "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, []string{"GET", "POST"}, "200 OK"},
		{"chunked", "POST / HTTP/1.1\r\n" + hostField + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, []string{"POST"}, "200 OK"},
		// net/http frames it by its Content-Length: closed after it.
		{"HTTP/1.0 TE after handoff", http10Request +
			"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, []string{"GET", "POST"}, "200 OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := exchange(t, ts.addr, []step{{tc.send, tc.expect}}, true)
			if res.err != nil {
				t.Fatalf("%v after %d responses", res.err, len(res.resps))
			}
			if len(res.resps) != len(tc.expect) {
				t.Fatalf("%d responses, want %d", len(res.resps), len(tc.expect))
			}
			last := res.resps[len(res.resps)-1]
			if last.Status != tc.status || !last.Close {
				t.Errorf("last response: %s, Close %v; want %s and Connection: close", last.Status, last.Close, tc.status)
			}
		})
	}
}

// TestExpectContinueRefused: a request with Expect: 100-continue whose
// handler answers without reading the body (a Content-Length over its
// limit, say) gets that answer without a 100 Continue, so that the client
// need not send the body, and the connection closes after it. The lean
// server hands such a request to net/http, also after a plain request on
// the same connection; without the body the connection cannot be reused,
// as the client may yet send it.
func TestExpectContinueRefused(t *testing.T) {
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", servedBy(w))
		if r.ContentLength > 1<<20 {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
			return
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	expect := "POST /big HTTP/1.1\r\n" + hostField + "Expect: 100-continue\r\nContent-Length: 10485760\r\n\r\n"
	tests := []struct {
		name   string
		steps  []step
		served string // on the lean server
	}{
		{name: "first request", steps: one(expect, "POST"), served: "net/http"},
		{name: "after a plain request", steps: []step{{plainRequest, []string{"GET"}}, {expect, []string{"POST"}}}, served: "lean net/http"},
	}
	for _, ts := range startBoth(t, refuse, nil) {
		for _, tt := range tests {
			t.Run(ts.name+"/"+tt.name, func(t *testing.T) {
				r := exchange(t, ts.addr, tt.steps, false)
				if len(r.resps) != len(tt.steps) {
					t.Fatalf("%d responses (error %v)", len(r.resps), r.err)
				}
				var served []string
				for _, resp := range r.resps {
					served = append(served, resp.ServedBy)
				}
				want := tt.served
				if ts.lean == nil {
					want = strings.ReplaceAll(want, "lean", "net/http")
				}
				if got := strings.Join(served, " "); got != want {
					t.Errorf("served by %q, want %q", got, want)
				}
				last := r.resps[len(r.resps)-1]
				if last.Status != "413 Request Entity Too Large" || len(last.Interim) > 0 {
					t.Errorf("response %s after %q", last.Status, last.Interim)
				}
				if !last.Close || !r.closed {
					t.Errorf("Connection: close %v, closed %v", last.Close, r.closed)
				}
			})
		}
	}
}
