// Package sigv4 reads and verifies AWS Signature Version 4 request
// signatures (the Authorization header form that the AWS SDKs and CLI send).
//
// ParseAuthorization reads the header, including the credential scope
// (access key, date, region, service) that the API layer takes region and
// account from. Verify recomputes the signature from the request and a secret
// key, following the canonical request rules of the AWS SDKs' signer: the
// path escaped once more (for non-S3 services), the query sorted after
// encoding, the signed headers trimmed and space-collapsed, the payload hash
// from X-Amz-Content-Sha256 or computed from the body.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Algorithm is the only signing algorithm supported.
const Algorithm = "AWS4-HMAC-SHA256"

// TimeFormat is the X-Amz-Date format.
const TimeFormat = "20060102T150405Z"

// DefaultMaxSkew is how far a request's signing time may be from the server's
// clock, as AWS allows.
const DefaultMaxSkew = 5 * time.Minute

// Error codes, as AWS returns them.
const (
	CodeIncomplete       = "IncompleteSignatureException"
	CodeInvalidSignature = "InvalidSignatureException"
	CodeUnrecognized     = "UnrecognizedClientException"
	CodeMissing          = "MissingAuthenticationTokenException"
)

// Error is an authentication failure with its AWS code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Authorization is a parsed SigV4 Authorization header.
type Authorization struct {
	AccessKey     string
	Date          string // yyyymmdd from the credential scope
	Region        string
	Service       string
	SignedHeaders []string // lower-case, as listed
	Signature     string   // hex
}

// Scope returns the credential scope "date/region/service/aws4_request".
func (a Authorization) Scope() string {
	return a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request"
}

// ParseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/20260101/
// us-west-2/sagemaker/aws4_request, SignedHeaders=host;x-amz-date,
// Signature=hex".
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != Algorithm {
		return a, errorf(CodeIncomplete, "Authorization header requires the %s algorithm.", Algorithm)
	}
	var haveCred, haveSigned, haveSig bool
	for rest != "" { // Cut rather than Split: every signed request comes here
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Credential":
			if err := a.parseCredential(v); err != nil {
				if err == errCredentialForm {
					return a, errorf(CodeIncomplete, "Authorization header requires 'Credential' parameter of the form AKID/yyyymmdd/region/service/aws4_request. Authorization=%s", h)
				}
				return a, err
			}
			haveCred = true
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
			haveSigned = v != ""
		case "Signature":
			a.Signature = v
			haveSig = v != ""
		}
	}
	var missing []string
	if !haveCred {
		missing = append(missing, "'Credential'")
	}
	if !haveSigned {
		missing = append(missing, "'SignedHeaders'")
	}
	if !haveSig {
		missing = append(missing, "'Signature'")
	}
	if len(missing) > 0 {
		return a, errorf(CodeIncomplete, "Authorization header requires %s parameter(s). Authorization=%s", strings.Join(missing, ", "), h)
	}
	return a, nil
}

// ParseCredential reads a credential (AKID/yyyymmdd/region/service/aws4_request,
// as in a presigned URL's X-Amz-Credential) into an Authorization's scope.
func ParseCredential(v string) (Authorization, error) {
	var a Authorization
	if err := a.parseCredential(v); err != nil {
		if err == errCredentialForm {
			return a, errorf(CodeIncomplete, "Credential %q is not of the form AKID/yyyymmdd/region/service/aws4_request.", v)
		}
		return a, err
	}
	return a, nil
}

// errCredentialForm is parseCredential's error for a credential of the
// wrong form, which its callers word.
var errCredentialForm = errors.New("credential form")

// parseCredential sets a's access key and scope from a credential.
func (a *Authorization) parseCredential(v string) error {
	var fields [5]string
	n := 0
	for s := v; ; n++ {
		f, more, ok := strings.Cut(s, "/")
		if n < len(fields) {
			fields[n] = f
		}
		if !ok {
			n++
			break
		}
		s = more
	}
	if n != 5 || fields[4] != "aws4_request" || fields[0] == "" {
		return errCredentialForm
	}
	a.AccessKey, a.Date, a.Region, a.Service = fields[0], fields[1], fields[2], fields[3]
	if !validRegion(a.Region) {
		// The region becomes part of the caller's scope and of ARNs.
		return errorf(CodeInvalidSignature, "Credential should be scoped to a valid region. ")
	}
	return nil
}

// validRegion reports whether a credential scope's region has the form of
// a region name: lower-case words of letters and digits joined by hyphens
// (us-east-1, eusc-de-east-1, or a local name such as "local"), at most 32
// characters, so nothing else (colons, spaces, capitals) reaches ARNs.
func validRegion(r string) bool {
	if r == "" || len(r) > 32 || r[0] == '-' || r[len(r)-1] == '-' {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && r[i-1] != '-') {
			return false
		}
	}
	return true
}

// RequestTime returns the signing time from X-Amz-Date (or Date).
func RequestTime(r *http.Request) (time.Time, error) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(TimeFormat, v)
		if err != nil {
			return time.Time{}, errorf(CodeIncomplete, "X-Amz-Date %q is not in the form %s.", v, TimeFormat)
		}
		return t, nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, errorf(CodeIncomplete, "Date header %q is not an HTTP date.", v)
		}
		return t.UTC(), nil
	}
	return time.Time{}, errorf(CodeIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

// Verify checks the request's signature against secret. body is the full
// request body (used when X-Amz-Content-Sha256 is absent); now is the server's
// time; maxSkew bounds how old or how far in the future the signing time may
// be (DefaultMaxSkew when zero).
func Verify(r *http.Request, body []byte, a Authorization, secret string, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	signed, err := RequestTime(r)
	if err != nil {
		return err
	}
	if signed.Format("20060102") != a.Date {
		return errorf(CodeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.Date, signed.Format("20060102"), signed.Format(TimeFormat))
	}
	now = now.UTC()
	switch {
	case signed.Before(now.Add(-maxSkew)):
		return errorf(CodeInvalidSignature, "Signature expired: %s is now earlier than %s (%s - %s.)",
			signed.Format(TimeFormat), now.Add(-maxSkew).Format(TimeFormat), now.Format(TimeFormat), skewText(maxSkew))
	case signed.After(now.Add(maxSkew)):
		return errorf(CodeInvalidSignature, "Signature not yet current: %s is still later than %s (%s + %s.)",
			signed.Format(TimeFormat), now.Add(maxSkew).Format(TimeFormat), now.Format(TimeFormat), skewText(maxSkew))
	}
	hasHost := false
	for _, h := range a.SignedHeaders {
		if h == "host" {
			hasHost = true
		}
	}
	if !hasHost {
		return errorf(CodeInvalidSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	payload, err := hashedPayload(r, body, a.SignedHeaders)
	if err != nil {
		return err
	}
	canonical := CanonicalRequest(r, payload, a.SignedHeaders)
	want := Sign(secret, a, signed, canonical)
	if !hmac.Equal([]byte(want), []byte(a.Signature)) { // lower-case hex, as AWS compares it
		return errorf(CodeInvalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return d.String()
}

// Sign returns the hex signature of a canonical request for the scope in a,
// signed at t with secret.
func Sign(secret string, a Authorization, t time.Time, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	stringToSign := Algorithm + "\n" + t.UTC().Format(TimeFormat) + "\n" + a.Scope() + "\n" + hex.EncodeToString(sum[:])
	return hex.EncodeToString(hmacSHA256(signingKey(secret, a), stringToSign))
}

// signingKey derives the key of a secret for the scope of a: four HMACs,
// the same for every request of a day, so they are remembered.
func signingKey(secret string, a Authorization) []byte {
	k := keyScope{secret, a.Date, a.Region, a.Service}
	keys.mu.Lock()
	key, ok := keys.m[k]
	keys.mu.Unlock()
	if ok {
		return key
	}
	key = hmacSHA256([]byte("AWS4"+secret), a.Date)
	key = hmacSHA256(key, a.Region)
	key = hmacSHA256(key, a.Service)
	key = hmacSHA256(key, "aws4_request")
	keys.mu.Lock()
	if len(keys.m) >= maxKeys {
		// Scopes come from requests: a client with a valid key may make
		// up regions and services. Start over rather than grow.
		clear(keys.m)
	}
	keys.m[k] = key
	keys.mu.Unlock()
	return key
}

// keyScope is what a signing key is derived from.
type keyScope struct{ secret, date, region, service string }

// maxKeys bounds the signing keys remembered.
const maxKeys = 1024

var keys = struct {
	mu sync.Mutex
	m  map[keyScope][]byte
}{m: map[keyScope][]byte{}}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// hashedPayload is the last line of the canonical request: the hex SHA-256
// of the body, unless a signed X-Amz-Content-Sha256 says otherwise:
// UNSIGNED-PAYLOAD (the client chose to leave the body unprotected), or the
// body's hash, which must then be right. An unsigned X-Amz-Content-Sha256
// is ignored, as anyone could have added it to vouch for another body.
func hashedPayload(r *http.Request, body []byte, signedHeaders []string) (string, error) {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if !slices.Contains(signedHeaders, "x-amz-content-sha256") {
		return hash, nil
	}
	switch claimed := r.Header.Get("X-Amz-Content-Sha256"); {
	case claimed == UnsignedPayload:
		return claimed, nil
	case !strings.EqualFold(claimed, hash):
		return "", errorf(CodeInvalidSignature, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	default:
		return claimed, nil
	}
}

// UnsignedPayload is the X-Amz-Content-Sha256 of a request whose body the
// signature does not cover.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// CanonicalRequest builds the SigV4 canonical request of r for the given
// signed headers; payload is its last line, the hashed payload.
func CanonicalRequest(r *http.Request, payload string, signedHeaders []string) string {
	var b strings.Builder
	b.Grow(512) // what SDK requests need: one allocation
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(escapePath(path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, h := range signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}

// headerValue returns the canonical value of header h: values joined with
// commas, each trimmed with inner runs of spaces collapsed. Go's server moves
// Host and, sometimes, Content-Length out of the header map.
func headerValue(r *http.Request, h string) string {
	switch h {
	case "host":
		return collapseSpaces(r.Host)
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) == 0 && r.ContentLength >= 0 {
			return strconv.FormatInt(r.ContentLength, 10)
		}
	}
	vals := r.Header.Values(h)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = collapseSpaces(v)
	}
	return strings.Join(out, ",")
}

func collapseSpaces(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(s[i])
	}
	return b.String()
}

// escapePath escapes every byte except unreserved characters and '/', as
// the SDK signer does to the already-escaped path of non-S3 requests.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if unreserved(c) || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// canonicalQuery decodes the raw query and re-encodes it in SigV4 form,
// sorted by encoded key then value; X-Amz-Signature is excluded.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var params []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		uk, err := url.QueryUnescape(k)
		if err != nil {
			uk = k
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			uv = v
		}
		if uk == "X-Amz-Signature" {
			continue
		}
		params = append(params, kv{encodeComponent(uk), encodeComponent(uv)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

func encodeComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if unreserved(s[i]) {
			b.WriteByte(s[i])
		} else {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
	}
	return b.String()
}
