package loadgen

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/inferscale/inferscale/internal/httpwire"
)

// target is a parsed Request: where to connect and the exact bytes of each
// request, serialised once so that the hot path only writes them.
type target struct {
	addr     string      // host:port to dial
	tls      *tls.Config // https; nil for http
	head     bool        // HEAD requests: responses carry no body
	requests [][]byte    // one per payload, in order
}

// newTarget validates r and serialises one HTTP/1.1 request per payload.
func newTarget(r Request) (*target, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("parse url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be http or https", r.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q: no host", r.URL)
	}
	if len(r.Payloads) == 0 {
		return nil, errors.New("request: at least one payload is required")
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	if !validToken(method) {
		return nil, fmt.Errorf("request: invalid method %q", method)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var tc *tls.Config
	if u.Scheme == "https" {
		tc = &tls.Config{}
		if r.TLS != nil {
			tc = r.TLS.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = u.Hostname()
		}
		// The client speaks HTTP/1.1 only.
		tc.NextProtos = []string{"http/1.1"}
		if tc.ClientSessionCache == nil {
			// Reconnections resume their session: a full handshake only
			// once per user.
			tc.ClientSessionCache = tls.NewLRUClientSessionCache(0)
		}
	}
	path := u.RequestURI()

	// Extra headers in a stable order; Host, Content-Length and
	// Transfer-Encoding are ours to write.
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		ck := http.CanonicalHeaderKey(k)
		switch ck {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			return nil, fmt.Errorf("request: header %s is set by the load generator", ck)
		}
		if !validToken(k) {
			return nil, fmt.Errorf("request: invalid header name %q", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var extra bytes.Buffer
	for _, k := range keys {
		for _, v := range r.Header[k] {
			if strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("request: header %s has a line break", k)
			}
			fmt.Fprintf(&extra, "%s: %s\r\n", http.CanonicalHeaderKey(k), v)
		}
	}
	hasContentType := r.Header.Get("Content-Type") != ""

	t := &target{addr: addr, tls: tc, head: method == http.MethodHead}
	for i, p := range r.Payloads {
		if strings.ContainsAny(p.ContentType, "\r\n") {
			return nil, fmt.Errorf("payload %d: content type has a line break", i)
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, u.Host)
		if p.ContentType != "" && !hasContentType {
			fmt.Fprintf(&b, "Content-Type: %s\r\n", p.ContentType)
		}
		if len(p.Body) > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(p.Body))
		}
		b.Write(extra.Bytes())
		b.WriteString("\r\n")
		b.Write(p.Body)
		t.requests = append(t.requests, b.Bytes())
	}
	return t, nil
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// snippetLen bounds the body bytes kept from a failed response.
const snippetLen = 200

// response parses the responses of one connection, keeping the first
// snippetLen bytes of each body for the failure report of a non-2xx one.
type response struct{ httpwire.Response }

// reset prepares p for the next response on its connection.
func (p *response) reset(head bool) {
	p.KeepBody = snippetLen
	p.Reset(head)
}

// snippet returns the body bytes kept.
func (p *response) snippet() []byte { return p.Body }

// maxHeaderBytes bounds a response's status line and header block.
const maxHeaderBytes = httpwire.MaxHeaderBytes

// errProtocol marks a response that is not valid HTTP/1.x.
var errProtocol = httpwire.ErrProtocol

func protocolErr(format string, a ...any) error { return httpwire.ProtocolError(format, a...) }
