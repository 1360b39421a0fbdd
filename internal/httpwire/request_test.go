package httpwire

import (
	"bufio"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

func TestParseRequestHead(t *testing.T) {
	const host = "Host: h\r\n"
	tests := []struct {
		name   string
		head   string
		ok     bool
		want   requestHead
		header string // "Name=value;" for each field, in order within a name, names sorted
	}{
		{name: "minimal", head: "GET / HTTP/1.1\r\n" + host + "\r\n", ok: true,
			want: requestHead{method: "GET", target: "/", contentLength: -1, host: "h"}},
		{name: "fields canonical, trimmed, repeated", head: "POST /x?y HTTP/1.1\r\nhost: h\r\ncontent-length: 12\r\nX-a:  1 \r\nx-A:\t2\r\nEMPTY:\r\n\r\n", ok: true,
			want:   requestHead{method: "POST", target: "/x?y", contentLength: 12, host: "h"},
			header: "Content-Length=12;Empty=;X-A=1;X-A=2;"},
		{name: "connection close", head: "GET / HTTP/1.1\r\n" + host + "Connection: keep-alive, Close\r\n\r\n", ok: true,
			want: requestHead{method: "GET", target: "/", contentLength: -1, host: "h", close: true}, header: "Connection=keep-alive, Close;"},
		{name: "pragma", head: "GET / HTTP/1.1\r\n" + host + "Pragma: no-cache\r\n\r\n", ok: true,
			want: requestHead{method: "GET", target: "/", contentLength: -1, host: "h"}, header: "Cache-Control=no-cache;Pragma=no-cache;"},
		{name: "zero length", head: "PUT / HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", ok: true,
			want: requestHead{method: "PUT", target: "/", contentLength: 0, host: "h"}, header: "Content-Length=0;"},
		{name: "HTTP/1.0", head: "GET / HTTP/1.0\r\n" + host + "\r\n"},
		{name: "no host", head: "GET / HTTP/1.1\r\n\r\n"},
		{name: "two hosts", head: "GET / HTTP/1.1\r\n" + host + host + "\r\n"},
		{name: "bad host", head: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"},
		{name: "absolute form", head: "GET http://h/ HTTP/1.1\r\n" + host + "\r\n"},
		{name: "asterisk", head: "OPTIONS * HTTP/1.1\r\n" + host + "\r\n"},
		{name: "chunked", head: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n"},
		{name: "expect", head: "POST / HTTP/1.1\r\n" + host + "Expect: 100-continue\r\n\r\n"},
		{name: "upgrade", head: "GET / HTTP/1.1\r\n" + host + "Upgrade: h2c\r\n\r\n"},
		{name: "other connection option", head: "GET / HTTP/1.1\r\n" + host + "Connection: upgrade\r\n\r\n"},
		{name: "two lengths", head: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 1\r\n\r\n"},
		{name: "signed length", head: "POST / HTTP/1.1\r\n" + host + "Content-Length: +1\r\n\r\n"},
		{name: "long length", head: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1234567890123456789\r\n\r\n"},
		{name: "folded", head: "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n"},
		{name: "no colon", head: "GET / HTTP/1.1\r\n" + host + "X\r\n\r\n"},
		{name: "control in value", head: "GET / HTTP/1.1\r\n" + host + "X: a\x00b\r\n\r\n"},
		{name: "space in target", head: "GET /a b HTTP/1.1\r\n" + host + "\r\n"},
		{name: "bad method", head: "G@T / HTTP/1.1\r\n" + host + "\r\n"},
		{name: "empty request line", head: "\r\n" + host + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			got, ok := parseRequestHead(tt.head, hdr, &headScratch{})
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			var b strings.Builder
			for _, k := range sortedKeys(hdr) {
				for _, v := range hdr[k] {
					b.WriteString(k + "=" + v + ";")
				}
			}
			if b.String() != tt.header {
				t.Errorf("header %q, want %q", b.String(), tt.header)
			}
			checkAgainstNetHTTP(t, tt.head)
		})
	}
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range maps.Keys(h) {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// TestPlainPath checks every printable character: plainPath takes only
// those url.ParseRequestURI leaves as they are, with no RawPath.
func TestPlainPath(t *testing.T) {
	for c := byte('!'); c < 0x7f; c++ {
		path := "/a" + string(c) + "b"
		u, err := url.ParseRequestURI(path)
		kept := err == nil && u.Path == path && u.RawPath == ""
		if plainPath(path) && !kept {
			t.Errorf("plainPath(%q) but url.ParseRequestURI gives %+v, %v", path, u, err)
		}
		if c != '?' && c != '%' && !plainPath(path) && kept {
			t.Logf("%q could be taken as plain", path)
		}
	}
}

func TestRequestURL(t *testing.T) {
	for _, target := range []string{
		"/", "/a/b?c=d", "/a?", "/a??", "/a?b?c", "/a%2fb", "/a%zz", "/caf%C3%A9?q=%20", "//x/y", "/a!b", "/[x]",
		"/a;b=c,d:e@f$g&h+i~j", "/a#b", "/a?#b", "/a'b(c)*",
	} {
		var u url.URL
		ok := requestURL(&u, target)
		want, err := url.ParseRequestURI(target)
		if ok != (err == nil) {
			t.Errorf("%q: ok %v, url.ParseRequestURI error %v", target, ok, err)
			continue
		}
		if ok && !reflect.DeepEqual(u, *want) {
			t.Errorf("%q: got %#v, want %#v", target, u, *want)
		}
	}
	// The URL is reset for each request.
	var u url.URL
	requestURL(&u, "/a%2Fb?x")
	requestURL(&u, "/c")
	if u != (url.URL{Path: "/c"}) {
		t.Errorf("reused URL %#v", u)
	}
}

func TestBareLF(t *testing.T) {
	for in, want := range map[string]bool{
		"":                     false,
		"GET / HTTP/1.1\r\n":   false,
		"a\r\nb\r\n\r\n":       false,
		"\n":                   true,
		"a\nb":                 true,
		"a\r\nb\n":             true,
		"a\r\n\n":              true,
		"a\r\r\n":              false,
		"GET / HTTP/1.1\r\nX:": false,
	} {
		if got := bareLF([]byte(in)); got != want {
			t.Errorf("bareLF(%q) = %v", in, got)
		}
	}
}

// netHTTPServes reports whether net/http's server, having read req with
// http.ReadRequest from head, goes on to serve it rather than refuse it
// (the checks of its conn.readRequest, which sees the Host fields that
// http.ReadRequest drops).
func netHTTPServes(head string, req *http.Request) bool {
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(head)))
	if _, err := tp.ReadLine(); err != nil {
		return false
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		return false
	}
	hosts, haveHost := mh["Host"]
	if req.ProtoAtLeast(1, 1) && (!haveHost || len(hosts) == 0) && req.Method != "CONNECT" {
		return false
	}
	if len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return false
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// checkAgainstNetHTTP checks, for a head the lean server would parse (it
// ends in its first CRLF CRLF, with no bare LF), that it either declines it
// or takes from it what net/http does.
func checkAgainstNetHTTP(t *testing.T, head string) {
	t.Helper()
	hdr := http.Header{}
	h, ok := parseRequestHead(head, hdr, &headScratch{})
	var u url.URL
	if ok {
		ok = requestURL(&u, h.target)
	}
	if !ok {
		return // net/http's to serve or refuse
	}
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
	if err != nil {
		t.Fatalf("lean server takes %q, http.ReadRequest fails: %v", head, err)
	}
	if !netHTTPServes(head, req) {
		t.Fatalf("lean server takes %q, net/http refuses it", head)
	}
	if len(req.TransferEncoding) > 0 || req.Header.Get("Expect") != "" {
		t.Fatalf("lean server takes %q, net/http reads it differently (TE %q)", head, req.TransferEncoding)
	}
	wantLength := max(h.contentLength, 0)
	for _, d := range []struct {
		what      string
		got, want any
	}{
		{"method", h.method, req.Method},
		{"target", h.target, req.RequestURI},
		{"URL", u, *req.URL},
		{"host", h.host, req.Host},
		{"header", hdr, req.Header},
		{"content length", wantLength, req.ContentLength},
		{"close", h.close, req.Close},
		{"proto", "HTTP/1.1", req.Proto},
	} {
		if !reflect.DeepEqual(d.got, d.want) {
			t.Errorf("%q: %s %#v, net/http %#v", head, d.what, d.got, d.want)
		}
	}
}

// FuzzRequestHead checks, for any bytes, that the lean server's parse of
// the request head they start with declines it or agrees with net/http's.
func FuzzRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /invocations?x=1&y=%20 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":1}",
		"GET /a%2Fb/[c]/{d}/~e/!f/'g'/(h)/*i HTTP/1.1\r\nhost: x\r\nx-lower: 1\r\nX-Lower: 2\r\nConnection: keep-alive\r\n\r\n",
		"HEAD /a? HTTP/1.1\r\nHost:\r\nPragma: no-cache\r\nConnection: close\r\n\r\n",
		"PUT //x/../y?#z HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 007\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-Obs: caf\xc3\xa9\xff\r\n\r\n",
		"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"CONNECT /x HTTP/1.1\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		i := strings.Index(in, "\r\n\r\n")
		if i < 0 {
			return
		}
		head := in[:i+4]
		if bareLF([]byte(head)) {
			return // handed to net/http unparsed
		}
		checkAgainstNetHTTP(t, head)
	})
}
