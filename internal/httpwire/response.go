package httpwire

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxHeaderBytes bounds a response's status line and header block.
const MaxHeaderBytes = 64 << 10

// ErrProtocol marks a response that is not valid HTTP/1.x.
var ErrProtocol = errors.New("malformed response")

// ErrTooLarge is returned by Advance when a body exceeds Response.BodyLimit.
var ErrTooLarge = errors.New("response body too large")

// ProtocolError returns an error that wraps ErrProtocol.
func ProtocolError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, a...))
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

// Response is an incremental HTTP/1.x response parser. It consumes bytes
// from a buffer as they arrive and never needs a partial line to be kept
// anywhere but in that buffer. Set the policy fields once; call Reset
// before each response on a connection, then Advance with the unconsumed
// bytes until Done, and EOF when the connection closes.
type Response struct {
	// KeepBody is how many body bytes to keep in Body; the rest are
	// dropped.
	KeepBody int
	// BodyLimit, if positive, fails a response whose body is longer, with
	// ErrTooLarge: at once when its Content-Length says so.
	BodyLimit int64
	// OnHeader, if set, is called for each header field of the final
	// response (not of 1xx interim ones) with its name as sent and its
	// value trimmed. Both alias the caller's buffer: copy what is kept.
	OnHeader func(name, value []byte)

	// Status is the status code, once the header is parsed.
	Status int
	// Close reports that the server closes the connection after this
	// response.
	Close bool
	// ContentLength is the declared body length, or -1.
	ContentLength int64
	// Body holds the first KeepBody bytes of the body. Reset truncates it
	// and reuses its array: a caller that keeps it sets Body to nil first.
	Body []byte
	// BodyBytes counts the body bytes received so far.
	BodyBytes int64

	head    bool // the request was HEAD
	state   int
	remain  int64
	scanned int // header bytes already searched for the blank line
}

// Reset prepares p for the next response on a connection; head says the
// request was HEAD (its response has no body).
func (p *Response) Reset(head bool) {
	p.head = head
	p.state = stHeader
	p.Status = 0
	p.Close = false
	p.ContentLength = -1
	p.Body = p.Body[:0]
	p.BodyBytes = 0
	p.remain = 0
	p.scanned = 0
}

// Done reports whether a whole response has been parsed.
func (p *Response) Done() bool { return p.state == stDone }

// Advance consumes what it can of b and returns how many bytes it used.
// It returns when the response is complete, when b holds no complete unit
// (the caller then reads more and calls again with the unconsumed bytes
// first), or on an error: a protocol error wraps ErrProtocol.
func (p *Response) Advance(b []byte) (int, error) {
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
			if err := p.body(b[n : n+int(k)]); err != nil {
				return n, err
			}
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
			if err := p.body(b[n:]); err != nil {
				return n, err
			}
			n = len(b)
		case stChunkCRLF:
			if len(b)-n < 2 {
				return n, nil
			}
			if b[n] != '\r' || b[n+1] != '\n' {
				return n, ProtocolError("missing CRLF after chunk")
			}
			n += 2
			p.state = stChunkSize
		case stChunkSize:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				if len(b)-n > 1024 {
					return n, ProtocolError("chunk size line too long")
				}
				return n, nil
			}
			line := bytes.TrimRight(b[n:n+i], "\r")
			if j := bytes.IndexByte(line, ';'); j >= 0 { // chunk extensions
				line = line[:j]
			}
			size, err := parseHex(bytes.TrimSpace(line))
			if err != nil {
				return n, ProtocolError("bad chunk size %q", line)
			}
			n += i + 1
			if size == 0 {
				p.state = stTrailer
			} else {
				if p.BodyLimit > 0 && size > p.BodyLimit-p.BodyBytes {
					return n, ErrTooLarge
				}
				p.remain = size
				p.state = stChunkData
			}
		case stTrailer:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				if len(b)-n > MaxHeaderBytes {
					return n, ProtocolError("trailer too long")
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

// EOF tells the parser that the connection closed; it returns whether that
// completed the response.
func (p *Response) EOF() bool {
	if p.state == stUntilEOF {
		p.state = stDone
		p.Close = true
		return true
	}
	return p.state == stDone
}

// body takes body bytes: counts them, keeps what KeepBody allows.
func (p *Response) body(b []byte) error {
	p.BodyBytes += int64(len(b))
	if p.BodyLimit > 0 && p.BodyBytes > p.BodyLimit {
		return ErrTooLarge
	}
	if room := p.KeepBody - len(p.Body); room > 0 {
		if len(b) > room {
			b = b[:room]
		}
		p.Body = append(p.Body, b...)
	}
	return nil
}

// parseHeader parses the status line and headers if b holds all of them,
// returning the bytes used (0 when more are needed).
func (p *Response) parseHeader(b []byte) (int, error) {
	from := p.scanned - 3
	if from < 0 {
		from = 0
	}
	// The header block ends at an empty line. Lines end in CRLF, or in a
	// bare LF, which a recipient may take as a line end (RFC 9112,
	// section 2.2): the end is the first LF CRLF or LF LF.
	var end, hdrEnd int // after the empty line; after the last header line
	if i := bytes.Index(b[from:], lfcrlf); i >= 0 {
		end, hdrEnd = from+i+3, from+i+1
	}
	search := b[from:]
	if end > 0 {
		search = b[from : end-2]
	}
	if i := bytes.Index(search, lflf); i >= 0 {
		end, hdrEnd = from+i+2, from+i+1
	}
	if end == 0 {
		if len(b) > MaxHeaderBytes {
			return 0, ProtocolError("header block over %d bytes", MaxHeaderBytes)
		}
		p.scanned = len(b)
		return 0, nil
	}
	hdr := b[:hdrEnd] // each line ends in LF

	// Status line: HTTP/1.x SP 3DIGIT [SP reason]
	eol := bytes.IndexByte(hdr, '\n')
	line := hdr[:eol]
	if len(line) < 13 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return 0, ProtocolError("bad status line %q", truncate(line, 60))
	}
	http10 := line[7] == '0'
	st := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, ProtocolError("bad status line %q", truncate(line, 60))
		}
		st = st*10 + int(c-'0')
	}
	p.Status = st
	p.Close = http10
	interim := st/100 == 1 && st != 101
	onHeader := p.OnHeader
	if interim {
		onHeader = nil
	}

	length := int64(-1)
	chunked := false
	for rest := hdr[eol+1:]; len(rest) > 0; {
		j := bytes.IndexByte(rest, '\n')
		line := rest[:j]
		rest = rest[j+1:]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if bytes.IndexByte(line, '\r') >= 0 {
			// A bare CR: a line end to some, which would split the field.
			return 0, ProtocolError("CR in header line %q", truncate(line, 60))
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			return 0, ProtocolError("bad header line %q", truncate(line, 60))
		}
		name := line[:c]
		if onHeader != nil {
			onHeader(name, bytes.TrimSpace(line[c+1:]))
		}
		// Of the rest, only Content-Length, Connection and
		// Transfer-Encoding matter.
		if f := name[0] | 0x20; f != 'c' && f != 't' {
			continue
		}
		val := bytes.TrimSpace(line[c+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			// Digits only (no sign, no list); a second field must agree,
			// or the body's end is in doubt (RFC 9110, section 8.6).
			v, ok := parseLengthBytes(val)
			if !ok || length >= 0 && v != length {
				return 0, ProtocolError("bad Content-Length %q", val)
			}
			length = v
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = hasToken(val, "chunked")
		case asciiEqualFold(name, "connection"):
			if hasToken(val, "close") {
				p.Close = true
			} else if hasToken(val, "keep-alive") {
				p.Close = false
			}
		}
	}
	if interim {
		// An interim response (100 Continue): the real one follows.
		p.Reset(p.head)
		return end, nil
	}
	switch {
	case p.head || st/100 == 1 || st == 204 || st == 304:
		p.state = stDone
	case chunked:
		p.state = stChunkSize
	case length >= 0:
		if p.BodyLimit > 0 && length > p.BodyLimit {
			return 0, ErrTooLarge
		}
		p.ContentLength = length
		p.remain = length
		p.state = stBody
		if length == 0 {
			p.state = stDone
		} else if want := int(min(length, int64(p.KeepBody))); cap(p.Body) < want {
			p.Body = make([]byte, 0, want) // one allocation for the body
		}
	default:
		p.state = stUntilEOF
		p.Close = true
	}
	return end, nil
}

// parseHex parses a chunk size: hexadecimal digits only, at most 15 of
// them, so that it fits an int64.
func parseHex(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 15 {
		return 0, errBadHex
	}
	var v int64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, errBadHex
		}
		v = v<<4 | int64(c)
	}
	return v, nil
}

var errBadHex = errors.New("bad hexadecimal number")

var (
	lfcrlf = []byte("\n\r\n")
	lflf   = []byte("\n\n")
)

// parseLengthBytes parses a Content-Length value: 1 to 18 decimal digits.
func parseLengthBytes(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// EqualFold reports whether b equals the lower-case ASCII string s,
// ignoring case.
func EqualFold(b []byte, s string) bool { return asciiEqualFold(b, s) }

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
