package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// target is a parsed Request: where to connect and the exact bytes of each
// request, serialised once so that the hot path only writes them.
type target struct {
	addr     string   // host:port to dial
	head     bool     // HEAD requests: responses carry no body
	requests [][]byte // one per payload, in order
}

// maxHeaderBytes bounds a response's status line and header block.
const maxHeaderBytes = 64 << 10

// newTarget validates r and serialises one HTTP/1.1 request per payload.
func newTarget(r Request) (*target, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("parse url: %w", err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("url %q: scheme must be http", r.URL)
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
	addr := u.Host
	if u.Port() == "" {
		addr = u.Hostname() + ":80"
		if strings.Contains(u.Hostname(), ":") { // IPv6 literal
			addr = "[" + u.Hostname() + "]:80"
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

	t := &target{addr: addr, head: method == http.MethodHead}
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

// errProtocol marks a response that is not valid HTTP/1.x.
var errProtocol = errors.New("malformed response")

func protocolErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errProtocol, fmt.Sprintf(format, a...))
}

// Parser states.
const (
	stHeader    = iota // status line and headers
	stBody             // remain bytes of a Content-Length body
	stUntilEOF         // body delimited by the connection closing
	stChunkSize        // a chunk-size line
	stChunkData        // remain bytes of chunk data
	stChunkCRLF        // the CRLF after chunk data
	stTrailer          // trailer lines up to the empty line
	stDone
)

// snippetLen bounds the body bytes kept from a failed response.
const snippetLen = 200

// response is an incremental HTTP/1.x response parser. It consumes bytes
// from a buffer as they arrive and never needs a partial line to be kept
// anywhere but in that buffer, so it suits both blocking and non-blocking
// connections. Body bytes are discarded, except the first snippetLen bytes
// of a non-2xx response.
type response struct {
	head    bool // the request was HEAD
	state   int
	status  int
	remain  int64
	close   bool // the server will close the connection after this response
	scanned int  // header bytes already searched for the blank line
	snippet []byte
}

// reset prepares p for the next response on a connection.
func (p *response) reset(head bool) {
	p.head = head
	p.state = stHeader
	p.status = 0
	p.remain = 0
	p.close = false
	p.scanned = 0
	p.snippet = p.snippet[:0]
}

// done reports whether a whole response has been parsed.
func (p *response) done() bool { return p.state == stDone }

// advance consumes what it can of b and returns how many bytes it used.
// It returns when the response is complete, when b holds no complete unit
// (the caller then reads more and calls again with the unconsumed bytes
// first), or on a protocol error.
func (p *response) advance(b []byte) (int, error) {
	n := 0
	for n < len(b) || p.state == stDone {
		switch p.state {
		case stDone:
			return n, nil
		case stHeader:
			used, err := p.parseHeader(b[n:])
			if err != nil || used == 0 {
				return n, err
			}
			n += used
		case stBody, stChunkData:
			k := int64(len(b) - n)
			if k > p.remain {
				k = p.remain
			}
			p.keep(b[n : n+int(k)])
			n += int(k)
			p.remain -= k
			if p.remain == 0 {
				if p.state == stBody {
					p.state = stDone
				} else {
					p.state = stChunkCRLF
				}
			}
		case stUntilEOF:
			p.keep(b[n:])
			n = len(b)
		case stChunkCRLF:
			if len(b)-n < 2 {
				return n, nil
			}
			if b[n] != '\r' || b[n+1] != '\n' {
				return n, protocolErr("missing CRLF after chunk")
			}
			n += 2
			p.state = stChunkSize
		case stChunkSize:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				if len(b)-n > 1024 {
					return n, protocolErr("chunk size line too long")
				}
				return n, nil
			}
			line := bytes.TrimRight(b[n:n+i], "\r")
			if j := bytes.IndexByte(line, ';'); j >= 0 { // chunk extensions
				line = line[:j]
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			if err != nil || size < 0 {
				return n, protocolErr("bad chunk size %q", line)
			}
			n += i + 1
			if size == 0 {
				p.state = stTrailer
			} else {
				p.remain = size
				p.state = stChunkData
			}
		case stTrailer:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				if len(b)-n > maxHeaderBytes {
					return n, protocolErr("trailer too long")
				}
				return n, nil
			}
			empty := i == 0 || (i == 1 && b[n] == '\r')
			n += i + 1
			if empty {
				p.state = stDone
			}
		}
	}
	return n, nil
}

// eof tells the parser that the connection closed; it returns whether that
// completed the response.
func (p *response) eof() bool {
	if p.state == stUntilEOF {
		p.state = stDone
		p.close = true
		return true
	}
	return p.state == stDone
}

func (p *response) keep(b []byte) {
	if p.status >= 200 && p.status < 300 {
		return
	}
	if room := snippetLen - len(p.snippet); room > 0 {
		if len(b) > room {
			b = b[:room]
		}
		p.snippet = append(p.snippet, b...)
	}
}

// parseHeader parses the status line and headers if b holds all of them,
// returning the bytes used (0 when more are needed).
func (p *response) parseHeader(b []byte) (int, error) {
	from := p.scanned - 3
	if from < 0 {
		from = 0
	}
	i := bytes.Index(b[from:], crlfcrlf)
	if i < 0 {
		if len(b) > maxHeaderBytes {
			return 0, protocolErr("header block over %d bytes", maxHeaderBytes)
		}
		p.scanned = len(b)
		return 0, nil
	}
	end := from + i + 4
	hdr := b[:end-2] // each line ends in CRLF

	// Status line: HTTP/1.x SP 3DIGIT [SP reason]
	eol := bytes.IndexByte(hdr, '\n')
	line := hdr[:eol]
	if len(line) < 13 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return 0, protocolErr("bad status line %q", truncate(line, 60))
	}
	http10 := line[7] == '0'
	st := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, protocolErr("bad status line %q", truncate(line, 60))
		}
		st = st*10 + int(c-'0')
	}
	p.status = st
	p.close = http10

	length := int64(-1)
	chunked := false
	for rest := hdr[eol+1:]; len(rest) > 0; {
		j := bytes.IndexByte(rest, '\n')
		line := rest[:j]
		rest = rest[j+1:]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			return 0, protocolErr("bad header line %q", truncate(line, 60))
		}
		// Only Content-Length, Connection and Transfer-Encoding matter.
		if f := line[0] | 0x20; f != 'c' && f != 't' {
			continue
		}
		name, val := line[:c], bytes.TrimSpace(line[c+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			v, err := strconv.ParseInt(string(val), 10, 64)
			if err != nil || v < 0 {
				return 0, protocolErr("bad Content-Length %q", val)
			}
			length = v
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = hasToken(val, "chunked")
		case asciiEqualFold(name, "connection"):
			if hasToken(val, "close") {
				p.close = true
			} else if hasToken(val, "keep-alive") {
				p.close = false
			}
		}
	}
	switch {
	case p.head || st/100 == 1 || st == 204 || st == 304:
		p.state = stDone
	case chunked:
		p.state = stChunkSize
	case length >= 0:
		p.remain = length
		p.state = stBody
		if length == 0 {
			p.state = stDone
		}
	default:
		p.state = stUntilEOF
		p.close = true
	}
	if st/100 == 1 && st != 101 {
		// An interim response (100 Continue): the real one follows.
		p.reset(p.head)
	}
	return end, nil
}

var crlfcrlf = []byte("\r\n\r\n")

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// asciiEqualFold reports whether b equals the lower-case ASCII string s,
// ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v contains token t
// (lower case), ignoring case.
func hasToken(v []byte, t string) bool {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		var item []byte
		if i < 0 {
			item, v = v, nil
		} else {
			item, v = v[:i], v[i+1:]
		}
		if asciiEqualFold(bytes.TrimSpace(item), t) {
			return true
		}
	}
	return false
}
