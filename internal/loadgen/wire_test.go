package loadgen

import (
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
		{
			name: "https, default port",
			req:  Request{URL: "https://h/", Method: "GET", Payloads: []Payload{{}}},
			addr: "h:443",
			want: []string{"GET / HTTP/1.1\r\nHost: h\r\n\r\n"},
		},
		{name: "other scheme", req: Request{URL: "ftp://h/", Payloads: []Payload{{}}}, wantErr: "scheme must be http or https"},
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

// TestResponseSnippet checks that a response keeps at most snippetLen
// bytes of its body, across responses on one connection.
func TestResponseSnippet(t *testing.T) {
	long := strings.Repeat("x", 3*snippetLen)
	tests := []struct {
		name, in, snippet string
		status            int
	}{
		{"short error body", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom", "boom", 500},
		{"long error body cut", "HTTP/1.1 503 Unavailable\r\nContent-Length: 600\r\n\r\n" + long, long[:snippetLen], 503},
		{"chunked error body", "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbad\r\n4\r\n req\r\n0\r\n\r\n", "bad req", 400},
		{"no body", "HTTP/1.1 204 No Content\r\n\r\n", "", 204},
	}
	var p response // reused, as on a connection
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.reset(false)
			n, err := p.Advance([]byte(tt.in))
			if err != nil || !p.Done() || n != len(tt.in) {
				t.Fatalf("used %d of %d, done %v, err %v", n, len(tt.in), p.Done(), err)
			}
			if p.Status != tt.status || string(p.snippet()) != tt.snippet {
				t.Errorf("status %d snippet %q, want %d %q", p.Status, p.snippet(), tt.status, tt.snippet)
			}
		})
	}
}
