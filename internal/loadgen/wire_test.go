package loadgen

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestNewTarget(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		addr     string
		want     []string // serialised requests
		wantErr  string
		wantHead bool
	}{
		{
			name: "POST with content type, extra headers sorted",
			req: Request{
				URL:      "http://127.0.0.1:8080/invocations?x=1",
				Payloads: []Payload{{Body: []byte(`{"a":1}`), ContentType: "application/json"}, {Body: []byte("1,2"), ContentType: "text/csv"}},
				Header:   http.Header{"X-Amzn-Sagemaker-Target-Variant": {"v1"}, "Accept": {"application/json"}},
			},
			addr: "127.0.0.1:8080",
			want: []string{
				"POST /invocations?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: 7\r\nAccept: application/json\r\nX-Amzn-Sagemaker-Target-Variant: v1\r\n\r\n{\"a\":1}",
				"POST /invocations?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: text/csv\r\nContent-Length: 3\r\nAccept: application/json\r\nX-Amzn-Sagemaker-Target-Variant: v1\r\n\r\n1,2",
			},
		},
		{
			name: "GET without body, default port and path",
			req:  Request{URL: "http://localhost", Method: "GET", Payloads: []Payload{{}}},
			addr: "localhost:80",
			want: []string{"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		},
		{
			name:     "HEAD",
			req:      Request{URL: "http://[::1]:9/ping", Method: "HEAD", Payloads: []Payload{{}}},
			addr:     "[::1]:9",
			want:     []string{"HEAD /ping HTTP/1.1\r\nHost: [::1]:9\r\n\r\n"},
			wantHead: true,
		},
		{
			name: "empty POST still sends Content-Length",
			req:  Request{URL: "http://h:1/", Payloads: []Payload{{}}},
			addr: "h:1",
			want: []string{"POST / HTTP/1.1\r\nHost: h:1\r\nContent-Length: 0\r\n\r\n"},
		},
		{
			name: "Content-Type header overrides the payloads'",
			req:  Request{URL: "http://h:1/", Payloads: []Payload{{Body: []byte("x"), ContentType: "a/b"}}, Header: http.Header{"Content-Type": {"c/d"}}},
			addr: "h:1",
			want: []string{"POST / HTTP/1.1\r\nHost: h:1\r\nContent-Length: 1\r\nContent-Type: c/d\r\n\r\nx"},
		},
		{name: "https", req: Request{URL: "https://h/", Payloads: []Payload{{}}}, wantErr: "scheme"},
		{name: "no payload", req: Request{URL: "http://h/"}, wantErr: "payload"},
		{name: "no host", req: Request{URL: "http:///x", Payloads: []Payload{{}}}, wantErr: "no host"},
		{name: "bad method", req: Request{URL: "http://h/", Method: "GE T", Payloads: []Payload{{}}}, wantErr: "method"},
		{name: "our header", req: Request{URL: "http://h/", Payloads: []Payload{{}}, Header: http.Header{"Content-Length": {"3"}}}, wantErr: "Content-Length"},
		{name: "header injection", req: Request{URL: "http://h/", Payloads: []Payload{{}}, Header: http.Header{"X": {"a\r\nY: b"}}}, wantErr: "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newTarget(tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.addr != tt.addr || got.head != tt.wantHead {
				t.Errorf("addr %q head %v, want %q %v", got.addr, got.head, tt.addr, tt.wantHead)
			}
			if len(got.requests) != len(tt.want) {
				t.Fatalf("%d requests, want %d", len(got.requests), len(tt.want))
			}
			for i := range tt.want {
				if string(got.requests[i]) != tt.want[i] {
					t.Errorf("request %d:\n got %q\nwant %q", i, got.requests[i], tt.want[i])
				}
			}
		})
	}
}

func TestResponseParser(t *testing.T) {
	tests := []struct {
		name    string
		head    bool
		in      string
		eof     bool // the connection closes after in
		status  int
		close   bool
		rest    string // bytes after the response, left unconsumed
		snippet string
		wantErr bool
	}{
		{name: "content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200},
		{name: "leaves the next response", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1", status: 200, rest: "HTTP/1.1"},
		{name: "header case and spaces", in: "HTTP/1.1 201 Created\r\ncontent-LENGTH:   3 \r\nX: y\r\n\r\nabc", status: 201},
		{name: "no reason phrase", in: "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", status: 200},
		{
			name:   "chunked with extension and trailer",
			in:     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: v\r\n\r\n",
			status: 200,
		},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", status: 200, close: true},
		{name: "HTTP/1.0 closes by default", in: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, close: true},
		{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", status: 200},
		{name: "body until EOF", in: "HTTP/1.1 200 OK\r\n\r\nall of it", eof: true, status: 200, close: true},
		{name: "HEAD has no body", head: true, in: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", status: 200},
		{name: "204 has no body", in: "HTTP/1.1 204 No Content\r\n\r\n", status: 204},
		{name: "100 continue first", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200},
		{
			name:    "error body kept as a snippet",
			in:      "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom",
			status:  500,
			snippet: "boom",
		},
		{
			name:    "chunked error body kept",
			in:      "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbad\r\n4\r\n req\r\n0\r\n\r\n",
			status:  400,
			snippet: "bad req",
		},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", wantErr: true},
		{name: "bad status", in: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: true},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: true},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: true},
		{name: "bad header line", in: "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Feed the bytes in every possible pair of pieces, the way a
			// connection might deliver them, and all at once.
			for split := 0; split <= len(tt.in); split++ {
				var p response
				p.reset(tt.head)
				var buf []byte
				var err error
				pieces := []string{tt.in[:split], tt.in[split:]}
				for i, piece := range pieces {
					buf = append(buf, piece...)
					var n int
					n, err = p.advance(buf)
					buf = buf[n:]
					if err != nil || p.done() {
						for _, later := range pieces[i+1:] {
							buf = append(buf, later...)
						}
						break
					}
				}
				if tt.eof && !p.done() {
					p.eof()
				}
				if tt.wantErr {
					if err == nil || !errors.Is(err, errProtocol) {
						t.Fatalf("split %d: err = %v, want a protocol error", split, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("split %d: %v", split, err)
				}
				if !p.done() {
					t.Fatalf("split %d: response not complete", split)
				}
				if p.status != tt.status || p.close != tt.close || string(buf) != tt.rest || string(p.snippet) != tt.snippet {
					t.Fatalf("split %d: status %d close %v rest %q snippet %q; want %d %v %q %q",
						split, p.status, p.close, buf, p.snippet, tt.status, tt.close, tt.rest, tt.snippet)
				}
			}
		})
	}
}

func TestResponseParserIncomplete(t *testing.T) {
	for _, in := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
	} {
		var p response
		p.reset(false)
		if _, err := p.advance([]byte(in)); err != nil || p.done() {
			t.Errorf("%q: done %v err %v, want incomplete", in, p.done(), err)
		}
		if p.eof() {
			t.Errorf("%q: EOF completed a response with a declared length", in)
		}
	}
}
