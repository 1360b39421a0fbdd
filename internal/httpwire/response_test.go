package httpwire

import (
	"errors"
	"strings"
	"testing"
)

func TestResponse(t *testing.T) {
	tests := []struct {
		name     string
		head     bool
		keep     int
		limit    int64
		in       string
		eof      bool // the connection closes after in
		status   int
		close    bool
		rest     string // bytes after the response, left unconsumed
		body     string // kept
		headers  string // "name=value;" for each header of the final response
		wantErr  error
		bodySize int64
	}{
		{name: "content-length", keep: 100, in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, body: "hello", headers: "Content-Length=5;", bodySize: 5},
		{name: "leaves the next response", keep: 100, in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1", status: 200, rest: "HTTP/1.1", body: "hi", headers: "Content-Length=2;", bodySize: 2},
		{name: "header case and spaces", keep: 100, in: "HTTP/1.1 201 Created\r\ncontent-LENGTH:   3 \r\nX: y\r\n\r\nabc", status: 201, body: "abc", headers: "content-LENGTH=3;X=y;", bodySize: 3},
		{name: "no reason phrase", in: "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", status: 200, headers: "Content-Length=0;"},
		{
			name:     "chunked with extension and trailer",
			keep:     100,
			in:       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: v\r\n\r\n",
			status:   200,
			body:     "hello0123456789",
			headers:  "Transfer-Encoding=chunked;",
			bodySize: 15,
		},
		{name: "body kept in part", keep: 3, in: "HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\nhello", status: 500, body: "hel", headers: "Content-Length=5;", bodySize: 5},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", status: 200, close: true, headers: "Connection=close;Content-Length=1;", bodySize: 1},
		{name: "HTTP/1.0 closes by default", in: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, close: true, headers: "Content-Length=1;", bodySize: 1},
		{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", status: 200, headers: "Connection=keep-alive;Content-Length=1;", bodySize: 1},
		{name: "body until EOF", keep: 100, in: "HTTP/1.1 200 OK\r\n\r\nall of it", eof: true, status: 200, close: true, body: "all of it", bodySize: 9},
		{name: "HEAD has no body", head: true, in: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", status: 200, headers: "Content-Length=99;"},
		{name: "204 has no body", in: "HTTP/1.1 204 No Content\r\n\r\n", status: 204},
		{
			name: "100 continue first: its headers are not reported", keep: 100,
			in:     "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", headers: "Content-Length=2;", bodySize: 2,
		},
		{name: "within the limit", keep: 100, limit: 5, in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, body: "hello", headers: "Content-Length=5;", bodySize: 5},
		{name: "declared length over the limit", limit: 4, in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", wantErr: ErrTooLarge},
		{name: "chunks over the limit", limit: 4, in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", wantErr: ErrTooLarge},
		{name: "body until EOF over the limit", limit: 4, in: "HTTP/1.1 200 OK\r\n\r\nhello", eof: true, wantErr: ErrTooLarge},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", wantErr: ErrProtocol},
		{name: "bad status", in: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: ErrProtocol},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: ErrProtocol},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: ErrProtocol},
		{name: "signed chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", wantErr: ErrProtocol},
		{name: "bad header line", in: "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", wantErr: ErrProtocol},
		// Bare LF line ends (RFC 9112, section 2.2), all or some.
		{name: "bare LF", keep: 100, in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, body: "ok", headers: "Content-Length=2;", bodySize: 2},
		{name: "bare LF then CRLF", keep: 100, in: "HTTP/1.1 200 OK\r\nX: 1\nContent-Length: 2\n\r\nok\r\n\r\n", status: 200, rest: "\r\n\r\n", body: "ok", headers: "X=1;Content-Length=2;", bodySize: 2},
		{name: "bare LF ends the block first", keep: 100, in: "HTTP/1.1 200 OK\r\nContent-Length: 2\n\nokX: y\r\n\r\n", status: 200, rest: "X: y\r\n\r\n", body: "ok", headers: "Content-Length=2;", bodySize: 2},
		// Framing in doubt.
		{name: "conflicting lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nokabc", wantErr: ErrProtocol},
		{name: "conflicting lengths, longer first", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\nokabc", wantErr: ErrProtocol},
		{name: "equal lengths", keep: 100, in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", headers: "Content-Length=2;Content-Length=2;", bodySize: 2},
		{name: "signed length", in: "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", wantErr: ErrProtocol},
		{name: "length list", in: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", wantErr: ErrProtocol},
		{name: "bare CR in a value", in: "HTTP/1.1 200 OK\r\nX-Bad: a\rb\r\nContent-Length: 2\r\n\r\nok", wantErr: ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Feed the bytes in every possible pair of pieces, the way a
			// connection might deliver them, and all at once.
			for split := 0; split <= len(tt.in); split++ {
				var headers strings.Builder
				p := Response{KeepBody: tt.keep, BodyLimit: tt.limit, OnHeader: func(name, value []byte) {
					headers.WriteString(string(name) + "=" + string(value) + ";")
				}}
				p.Reset(tt.head)
				var buf []byte
				var err error
				pieces := []string{tt.in[:split], tt.in[split:]}
				for i, piece := range pieces {
					buf = append(buf, piece...)
					var n int
					n, err = p.Advance(buf)
					buf = buf[n:]
					if err != nil || p.Done() {
						for _, later := range pieces[i+1:] {
							buf = append(buf, later...)
						}
						break
					}
				}
				if tt.eof && err == nil && !p.Done() {
					p.EOF()
				}
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("split %d: err = %v, want %v", split, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("split %d: %v", split, err)
				}
				if !p.Done() {
					t.Fatalf("split %d: response not complete", split)
				}
				if p.Status != tt.status || p.Close != tt.close || string(buf) != tt.rest || string(p.Body) != tt.body || p.BodyBytes != tt.bodySize {
					t.Fatalf("split %d: status %d close %v rest %q body %q (%d bytes); want %d %v %q %q (%d)",
						split, p.Status, p.Close, buf, p.Body, p.BodyBytes, tt.status, tt.close, tt.rest, tt.body, tt.bodySize)
				}
				if headers.String() != tt.headers {
					t.Fatalf("split %d: headers %q, want %q", split, headers.String(), tt.headers)
				}
			}
		})
	}
}

func TestResponseIncomplete(t *testing.T) {
	for _, in := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
	} {
		var p Response
		p.Reset(false)
		if _, err := p.Advance([]byte(in)); err != nil || p.Done() {
			t.Errorf("%q: done %v err %v, want incomplete", in, p.Done(), err)
		}
		if p.EOF() {
			t.Errorf("%q: EOF completed a response with a declared length", in)
		}
	}
}

// TestResponseReuse checks that Reset readies the parser for the next
// response of a connection, reusing the kept body's array, and that a
// caller that took Body gets a fresh one.
func TestResponseReuse(t *testing.T) {
	p := Response{KeepBody: 64}
	in := []byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
	p.Reset(false)
	n, err := p.Advance(in)
	if err != nil || !p.Done() || string(p.Body) != "abc" || p.ContentLength != 3 {
		t.Fatalf("first: used %d err %v done %v body %q length %d", n, err, p.Done(), p.Body, p.ContentLength)
	}
	taken := p.Body
	p.Body = nil
	p.Reset(false)
	if p.ContentLength != -1 || p.Status != 0 {
		t.Fatalf("after Reset: length %d status %d", p.ContentLength, p.Status)
	}
	m, err := p.Advance(in[n:])
	if err != nil || !p.Done() || p.Status != 404 || string(p.Body) != "nope" || n+m != len(in) {
		t.Fatalf("second: used %d err %v done %v status %d body %q", m, err, p.Done(), p.Status, p.Body)
	}
	if string(taken) != "abc" {
		t.Fatalf("the first body changed to %q", taken)
	}
}

// BenchmarkResponse parses a typical small keep-alive response, keeping
// its body and reporting its headers.
func BenchmarkResponse(b *testing.B) {
	resp := []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 17:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 22\r\nConnection: keep-alive\r\n\r\n{\"predictions\":[0.5]}\n")
	var ct []byte
	p := Response{KeepBody: 1 << 20, OnHeader: func(name, value []byte) {
		if EqualFold(name, "content-type") {
			ct = append(ct[:0], value...)
		}
	}}
	b.SetBytes(int64(len(resp)))
	for b.Loop() {
		p.Reset(false)
		if _, err := p.Advance(resp); err != nil || !p.Done() {
			b.Fatal(err)
		}
	}
	if string(ct) != "application/json" {
		b.Fatalf("content type %q", ct)
	}
}
