package httpwire

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// requestHead is what the lean server takes from a request's head besides
// its header fields.
type requestHead struct {
	method, target string
	contentLength  int64 // -1: no Content-Length
	host           string
	close          bool // Connection: close
}

// parseRequestHead parses head, a request line and header lines ending in
// an empty line, all with CRLF, filling hdr (which must be empty) with the
// header fields in canonical form, except Host, as net/http does. Values
// are substrings of head; the slices holding them share one backing array,
// sc's, reused from one request to the next. ok is false for anything but a plain HTTP/1.1
// request in origin form with no body or a Content-Length body: chunked
// bodies, Expect, Upgrade, obsolete line folding, HTTP/1.0, a missing or
// repeated Host, and everything malformed. Such requests are net/http's
// to serve or to refuse, so that the lean server never answers a request
// net/http would answer otherwise.
func parseRequestHead(head string, hdr http.Header, sc *headScratch) (h requestHead, ok bool) {
	line, rest, _ := strings.Cut(head, "\r\n")
	method, rest1, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest1, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !isToken(method) || !originForm(target) {
		return h, false
	}
	h.method, h.target, h.contentLength = method, target, -1
	haveHost := false
	// One backing array for the fields' values: each field's slice is
	// capped at its own element, so that a repeated field appends to a
	// copy. The keys seen tell a repeated field without a map lookup.
	keys, vals := sc.keys[:0], sc.vals[:0]
	defer func() { sc.keys, sc.vals = keys, vals }()
	for {
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' { // obsolete line folding
			return h, false
		}
		name, value, found := strings.Cut(line, ":")
		if !found || !isToken(name) {
			return h, false
		}
		value = strings.Trim(value, " \t")
		if !httpguts.ValidHeaderFieldValue(value) {
			return h, false
		}
		key := name
		if !isCanonical(name) {
			key = textproto.CanonicalMIMEHeaderKey(name)
		}
		switch key {
		case "Host":
			if haveHost || !httpguts.ValidHostHeader(value) {
				return h, false
			}
			haveHost, h.host = true, value
			continue
		case "Content-Length":
			if h.contentLength >= 0 {
				return h, false
			}
			n, ok := parseLength(value)
			if !ok {
				return h, false
			}
			h.contentLength = n
		case "Transfer-Encoding", "Expect", "Upgrade":
			return h, false
		case "Connection":
			for _, opt := range strings.Split(value, ",") {
				switch opt = strings.Trim(opt, " \t"); {
				case strings.EqualFold(opt, "close"):
					h.close = true
				case strings.EqualFold(opt, "keep-alive"), opt == "":
				default:
					return h, false
				}
			}
		}
		if slices.Contains(keys, key) {
			hdr[key] = append(hdr[key], value)
		} else {
			keys, vals = append(keys, key), append(vals, value)
			hdr[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	// As net/http does (http.ReadRequest, for HTTP/1.0 caches).
	if p := hdr["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := hdr["Cache-Control"]; !ok {
			hdr["Cache-Control"] = []string{"no-cache"}
		}
	}
	return h, haveHost
}

// headScratch is what parseRequestHead reuses from one request to the next
// on a connection.
type headScratch struct{ keys, vals []string }

// parseLength parses a Content-Length value: 1 to 18 decimal digits.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return true
}

// isCanonical reports whether the token s is already in the form
// textproto.CanonicalMIMEHeaderKey gives: upper case at the start and after
// each hyphen, lower case elsewhere.
func isCanonical(s string) bool {
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// originForm reports whether target is an origin-form request target of
// printable ASCII, the only form the lean server takes.
func originForm(target string) bool {
	if target == "" || target[0] != '/' {
		return false
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// requestURL sets *u to the URL net/http makes of an origin-form target,
// without url.ParseRequestURI's allocations when the path needs no
// unescaping; it returns false where url.ParseRequestURI fails.
func requestURL(u *url.URL, target string) bool {
	path, query, hasQuery := strings.Cut(target, "?")
	if plainPath(path) {
		*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
		return true
	}
	p, err := url.ParseRequestURI(target)
	if err != nil {
		return false
	}
	*u = *p
	return true
}

// plainPath reports whether path has only characters that url.URL keeps
// unescaped in a path, so that RawPath is empty: letters, digits and
// -._~$&+,;=:@/ (not the sub-delims !'()*, which it escapes).
func plainPath(path string) bool {
	for i := 0; i < len(path); i++ {
		c := path[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("-._~$&+,;=:@/", rune(c)) {
			return false
		}
	}
	return true
}
