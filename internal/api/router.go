package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

// Router is the one HTTP handler for every service. It tells protocols and
// services apart by
//
//   - the Smithy-Protocol header: rpc-v2-cbor, POST
//     /service/<Name>/operation/<Op>, Name being the target prefix;
//   - X-Amz-Target: JSON 1.0/1.1, "<TargetPrefix>.<Operation>";
//   - a form-encoded POST to "/" (or an Action in the URL): awsQuery,
//     routed by Version (the model's apiVersion) among the services with
//     AWSQuery set, then by Action;
//   - otherwise the path: REST-JSON routes.
//
// The zero value is ready to use; set fields and Add services before
// serving.
type Router struct {
	// Auth establishes who sent each request; nil means ScopeAuth{}.
	Auth Authenticator
	// Logger receives one record per request; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewRequestID returns request IDs; nil means random UUIDs.
	NewRequestID func() string
	// Observe, when set, is called once per request after its response was
	// written, e.g. to record metrics. service and operation are "" unless
	// the request named a service and an operation the router serves; code
	// is the AWS error code as sent, "" on success.
	Observe func(service, operation, code string, status int, elapsed time.Duration)

	mu        sync.RWMutex
	byPrefix  map[string]*Service
	byVersion map[string]*Service // awsQuery services by API version
	queryMax  int64               // the largest MaxBodyBytes among them
	rest      *http.ServeMux
	nrest     int
	// direct are the REST routes restPath can match; allDirect says that
	// they are all the routes, so that a path only one of them matches
	// is served without ServeMux. Add replaces direct rather than
	// changing it.
	direct    []restTarget
	allDirect bool
}

// restTarget is a REST route and its service.
type restTarget struct {
	svc   *Service
	route *restRoute
}

// Add registers a service. Its target prefix and REST routes must not clash
// with those of services already added.
func (rt *Router) Add(s *Service) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if s.TargetPrefix != "" {
		if rt.byPrefix == nil {
			rt.byPrefix = map[string]*Service{}
		}
		if other, ok := rt.byPrefix[s.TargetPrefix]; ok {
			return fmt.Errorf("add service %s: target prefix %s is taken by %s", s.Name, s.TargetPrefix, other.Name)
		}
	}
	version := s.Model.Metadata.APIVersion
	if s.AWSQuery {
		if version == "" {
			return fmt.Errorf("add service %s: awsQuery needs the model's apiVersion", s.Name)
		}
		if other, ok := rt.byVersion[version]; ok {
			return fmt.Errorf("add service %s: awsQuery version %s is taken by %s", s.Name, version, other.Name)
		}
	}
	if len(s.routes) > 0 && rt.rest == nil {
		rt.rest = http.NewServeMux()
	}
	direct := slices.Clone(rt.direct)
	for pattern, route := range s.routes {
		if err := registerRoute(rt.rest, pattern, rt.restHandler(s, route)); err != nil {
			return fmt.Errorf("add service %s: %w", s.Name, err)
		}
		rt.nrest++
		if route.path != nil {
			direct = append(direct, restTarget{svc: s, route: route})
		}
	}
	rt.direct, rt.allDirect = direct, len(direct) == rt.nrest
	if s.TargetPrefix != "" {
		rt.byPrefix[s.TargetPrefix] = s
	}
	if s.AWSQuery {
		if rt.byVersion == nil {
			rt.byVersion = map[string]*Service{}
		}
		rt.byVersion[version] = s
		rt.queryMax = max(rt.queryMax, s.maxBody())
	}
	return nil
}

// registerRoute adds a pattern, turning ServeMux's panic on conflicts into an
// error.
func registerRoute(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %s: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

func (rt *Router) now() time.Time {
	if rt.Now != nil {
		return rt.Now()
	}
	return time.Now()
}

func (rt *Router) logger() *slog.Logger {
	if rt.Logger != nil {
		return rt.Logger
	}
	return discardLogger
}

var discardLogger = slog.New(slog.DiscardHandler)

func (rt *Router) auth() Authenticator {
	if rt.Auth != nil {
		return rt.Auth
	}
	return ScopeAuth{}
}

// newUUID returns a random (version 4) UUID. Request IDs need to be
// unique, not secret: the runtime's per-thread generator (ChaCha8, seeded
// by the OS) serves them without a system call.
func newUUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// Header returns the first value of a header field by its canonical key
// ("Content-Type"), as http.Header.Get does without canonicalising the key
// first: for the fields every request is asked for.
func Header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// headerRequestID is the canonical form of x-amzn-RequestId, the key
// Header.Set would use.
const headerRequestID = "X-Amzn-Requestid"

// protocol is the wire protocol of one exchange.
type protocol uint8

const (
	protoJSON  protocol = iota // awsJson1_0 / awsJson1_1
	protoREST                  // restJson1
	protoCBOR                  // smithy rpc-v2-cbor, transcoded to JSON
	protoQuery                 // awsQuery, translated to JSON
)

// exchange is one request/response, carrying what the log record and the
// error writer need.
type exchange struct {
	rt     *Router
	w      http.ResponseWriter
	r      *http.Request
	proto  protocol
	svc    *Service
	op     string
	id     string
	start  time.Time
	status int
	code   string
	cause  error
	labels labels // the path labels of a REST route served directly

	// Parts of one request's handling kept here, so that they need no
	// allocations of their own.
	req Request
	sw  statusWriter
}

// exchanges are reused: an exchange is as large as the rest of a request's
// allocations together, and holds pointers the collector would scan.
// Nothing refers to one once ServeHTTP returns (handlers must not keep
// their Request).
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := exchanges.Get().(*exchange)
	*x = exchange{rt: rt, w: w, r: r, start: rt.now()}
	if rt.NewRequestID != nil {
		x.id = rt.NewRequestID()
	} else {
		x.id = newUUID()
	}
	// The header keeps its value past ServeHTTP (net/http writes the
	// head after the handler returns): not part of the exchange.
	w.Header()[headerRequestID] = []string{x.id}
	defer func() {
		x.log()
		*x = exchange{}
		exchanges.Put(x)
	}()

	switch {
	case Header(r.Header, "Smithy-Protocol") != "":
		x.proto = protoCBOR
		rt.serveCBOR(x)
	case Header(r.Header, "X-Amz-Target") != "":
		rt.serveJSON(x)
	case isQueryRequest(r):
		x.proto = protoQuery
		rt.serveQuery(x)
	default:
		x.proto = protoREST
		rt.serveREST(x)
	}
}

func (x *exchange) log() {
	elapsed := x.rt.now().Sub(x.start)
	lvl := slog.LevelDebug
	if x.status >= 500 {
		lvl = slog.LevelError
	}
	if log := x.rt.logger(); log.Enabled(x.r.Context(), lvl) {
		x.logAt(log, lvl, elapsed)
	}
	if x.rt.Observe != nil {
		// Only names the router knows, so that clients cannot make up
		// label values.
		service, operation := "", ""
		if x.svc != nil {
			service = x.svc.Name
			if x.svc.ops[x.op] != nil || (x.proto == protoREST && x.op != "") {
				operation = x.op
			}
		}
		x.rt.Observe(service, operation, x.code, x.status, elapsed)
	}
}

// logAt writes the request's log record.
func (x *exchange) logAt(log *slog.Logger, lvl slog.Level, elapsed time.Duration) {
	attrs := []slog.Attr{
		slog.String("request_id", x.id),
		slog.String("method", x.r.Method),
		slog.String("path", x.r.URL.Path),
		slog.Int("status", x.status),
		slog.Duration("duration", elapsed),
	}
	if x.svc != nil {
		attrs = append(attrs, slog.String("service", x.svc.Name))
	}
	if x.op != "" {
		attrs = append(attrs, slog.String("operation", x.op))
	}
	if x.code != "" {
		attrs = append(attrs, slog.String("code", x.code))
	}
	if x.status >= 500 && x.cause != nil {
		attrs = append(attrs, slog.String("error", x.cause.Error()))
	}
	log.LogAttrs(x.r.Context(), lvl, "api request", attrs...)
}

// fail writes err as the protocol's error response.
func (x *exchange) fail(err error) {
	we := x.svc.resolve(err)
	var mop *model.Operation
	if x.svc != nil {
		mop = x.svc.Model.Operations[x.op]
	}
	codes := x.svc.codesFor(we, mop)
	x.cause = we.cause
	if x.proto == protoQuery {
		x.code = codes.Query
		ns := ""
		if x.svc != nil {
			ns = x.svc.XMLNamespace
		}
		x.send(we.Status, "text/xml", queryError(ns, x.id, codes, we.Message))
		return
	}
	// The code clients report: for query-compatible services the awsQuery
	// one on every protocol, so that metrics do not depend on the protocol.
	x.code = codes.JSON
	if x.svc != nil && x.svc.AWSQuery {
		x.code = codes.Query
	}
	body := map[string]any{}
	for k, v := range we.Fields {
		body[k] = v
	}
	body["__type"] = codes.JSON
	body["message"] = we.Message
	b, merr := json.Marshal(body)
	if merr != nil {
		b = []byte(`{"__type":"InternalFailure","message":"An internal error occurred."}`)
		we.Status = http.StatusInternalServerError
	}
	h := x.w.Header()
	h.Set("X-Amzn-ErrorType", codes.JSON)
	if x.svc != nil && x.svc.AWSQuery {
		// awsQueryCompatible: botocore and the Go SDK take the code clients
		// see from here.
		h.Set("X-Amzn-Query-Error", codes.Query+";"+codes.Fault)
	}
	switch x.proto {
	case protoCBOR:
		if c, err := jsonToCBOR(b, nil); err == nil {
			b = c
		} else {
			x.cause = fmt.Errorf("transcode error response: %w", err)
			b, we.Status = cborInternalFailure, http.StatusInternalServerError
		}
		h.Set("Smithy-Protocol", "rpc-v2-cbor")
		x.send(we.Status, "application/cbor", b)
	case protoREST:
		x.send(we.Status, "application/json", b)
	default:
		x.send(we.Status, x.jsonContentType(), b)
	}
}

func (x *exchange) jsonContentType() string {
	if x.svc != nil {
		return x.svc.contentType()
	}
	return "application/x-amz-json-1.1"
}

// respond sends a successful JSON operation response in the exchange's
// protocol; output is the operation's output shape.
func (x *exchange) respond(body []byte, output *model.Shape) {
	switch x.proto {
	case protoCBOR:
		b, err := jsonToCBOR(body, output)
		if err != nil {
			x.fail(fmt.Errorf("transcode %s response to CBOR: %w", x.op, err))
			return
		}
		x.w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		x.send(http.StatusOK, "application/cbor", b)
	case protoQuery:
		b, err := queryResponse(x.op, x.svc.XMLNamespace, x.id, body, output)
		if err != nil {
			x.fail(fmt.Errorf("render %s response as XML: %w", x.op, err))
			return
		}
		x.send(http.StatusOK, "text/xml", b)
	default:
		x.send(http.StatusOK, x.jsonContentType(), body)
	}
}

// send writes the response.
func (x *exchange) send(status int, contentType string, body []byte) {
	x.status = status
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

// bodyTooLarge is readBody's error for a body over its limit: one whose
// declared length is over it is not read at all (so that a client that
// sent Expect: 100-continue is refused before it sends the body), one of
// unknown length (chunked) is read up to just past the limit. Either way
// the rest of the body is left unread.
type bodyTooLarge struct {
	limit    int64
	declared int64 // the Content-Length; -1 if none
}

func (e *bodyTooLarge) Error() string {
	if e.declared >= 0 {
		return fmt.Sprintf("Request body of %d bytes exceeds the limit of %d bytes.", e.declared, e.limit)
	}
	return fmt.Sprintf("Request body exceeds the limit of %d bytes.", e.limit)
}

// readBody reads the whole body up to limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &bodyTooLarge{limit: limit, declared: r.ContentLength}
	}
	if n := r.ContentLength; n >= 0 && r.Body != nil {
		// The length is known: one allocation, no copy. The server
		// stops the body there.
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, protocolError(CodeSerialization, "Cannot read the request body: %v", err)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, protocolError(CodeSerialization, "Cannot read the request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, &bodyTooLarge{limit: limit, declared: -1}
	}
	return b, nil
}

// failBody answers a request whose body readBody did not take. A body
// over the limit is answered with 413 RequestEntityTooLargeException, or,
// over the limit of route's payload (nil: none), with the
// ValidationException its length constraint gives; as the rest of the
// body is unread, the connection closes after the answer rather than read
// what the client still sends as a next request.
func (x *exchange) failBody(route *restRoute, err error) {
	var tl *bodyTooLarge
	if errors.As(err, &tl) {
		x.w.Header().Set("Connection", "close")
		if route != nil && tl.limit == route.maxPayload {
			n := tl.declared
			if n < 0 {
				n = tl.limit + 1 // as far as it was read
			}
			err = &Error{Kind: KindInvalid, Message: model.FormatViolations(model.BlobLengthViolations(route.op.Input.Payload(), n))}
		} else {
			err = protocolError(CodeRequestTooLarge, "%s", tl.Error())
		}
	}
	x.fail(err)
}

// decodeBody undoes a request's Content-Encoding: clients gzip large
// PutMetricData calls (the model's requestCompression trait; botocore and
// the Go SDK from 10 KiB on). The signature covers the encoded bytes. The
// decoded body is held to limit too.
func decodeBody(r *http.Request, body []byte, limit int64) ([]byte, error) {
	enc := Header(r.Header, "Content-Encoding")
	if enc == "" {
		return body, nil
	}
	switch enc = strings.TrimSpace(strings.ToLower(enc)); enc {
	case "", "identity":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, protocolError(CodeSerialization, "Cannot decompress the gzip request body: %v", err)
		}
		b, err := io.ReadAll(io.LimitReader(zr, limit+1))
		if err != nil {
			return nil, protocolError(CodeSerialization, "Cannot decompress the gzip request body: %v", err)
		}
		if int64(len(b)) > limit {
			return nil, protocolError(CodeRequestTooLarge, "Decompressed request body exceeds the limit of %d bytes.", limit)
		}
		return b, nil
	}
	return nil, protocolError(CodeSerialization, "Content-Encoding %q is not supported.", enc)
}

// begin reads the body and authenticates, and for the RPC protocols undoes
// the Content-Encoding; it writes the error and returns false on failure.
// The body is limited to the service's MaxBodyBytes and, for a REST
// route (nil for the RPC protocols), to its payload's maximum length.
func (x *exchange) begin(route *restRoute) (body []byte, id Identity, ok bool) {
	limit := x.svc.maxBody()
	if route != nil && route.maxPayload > 0 && route.maxPayload < limit {
		limit = route.maxPayload
	}
	body, err := readBody(x.r, limit)
	if err != nil {
		x.failBody(route, err)
		return nil, id, false
	}
	if id, ok = x.authenticate(body); !ok {
		return nil, id, false
	}
	if x.proto != protoREST {
		if body, err = decodeBody(x.r, body, x.svc.maxBody()); err != nil {
			x.fail(err)
			return nil, id, false
		}
	}
	return body, id, true
}

// authenticate runs the router's Authenticator; it writes the error and
// returns false on failure.
func (x *exchange) authenticate(body []byte) (Identity, bool) {
	id, err := x.rt.auth().Authenticate(x.r, body, x.start)
	if err != nil {
		x.fail(authError(err))
		return id, false
	}
	if want := x.svc.SigningName(); id.Verified && want != "" && id.Service != want {
		x.fail(protocolError(CodeInvalidSignature, "Credential should be scoped to correct service: '%s'. ", want))
		return id, false
	}
	return id, true
}

func (x *exchange) request(id Identity) *Request {
	x.req = Request{
		Service: x.svc, Operation: x.op, RequestID: x.id,
		Region: id.Region, Account: id.Account, AccessKey: id.AccessKey,
		Time: x.start, HTTP: x.r, labels: x.labels,
	}
	return &x.req
}

// lookup finds the service and operation for a JSON RPC call.
func (rt *Router) lookup(x *exchange, prefix, opName string) (*Operation, error) {
	rt.mu.RLock()
	x.svc = rt.byPrefix[prefix]
	rt.mu.RUnlock()
	x.op = opName
	if x.svc == nil {
		return nil, protocolError(CodeUnknownOperation, "Unknown service %q in target %s.%s.", prefix, prefix, opName)
	}
	op := x.svc.ops[opName]
	if op == nil {
		if x.svc.Model.Operations[opName] != nil {
			return nil, protocolError(CodeUnknownOperation, "%s operation %s is not implemented by inferscale.", x.svc.Name, opName)
		}
		return nil, protocolError(CodeUnknownOperation, "Unknown operation %s for service %s.", opName, x.svc.Name)
	}
	return op, nil
}

func (rt *Router) serveJSON(x *exchange) {
	target := x.r.Header.Get("X-Amz-Target")
	prefix, opName := target, ""
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		prefix, opName = target[:i], target[i+1:]
	}
	op, err := rt.lookup(x, prefix, opName)
	if err == nil && x.r.Method != http.MethodPost {
		err = protocolError(CodeUnknownOperation, "%s requires POST, not %s.", target, x.r.Method)
	}
	if err != nil {
		if x.svc != nil {
			// Still authenticate first, as AWS does, so that bad credentials
			// are reported before unknown operations.
			if _, _, ok := x.begin(nil); !ok {
				return
			}
		}
		x.fail(err)
		return
	}
	body, id, ok := x.begin(nil)
	if !ok {
		return
	}
	rt.call(x, op, body, id)
}

// call runs a JSON operation and writes its response.
func (rt *Router) call(x *exchange, op *Operation, body []byte, id Identity) {
	resp, err := x.svc.invoke(x.r.Context(), x.request(id), op, body)
	if err != nil {
		x.fail(err)
		return
	}
	x.respond(resp, op.model.Output)
}

// serveCBOR serves smithy rpc-v2-cbor: POST
// /service/{ServiceName}/operation/{OperationName}. Both botocore (its
// metadata's targetPrefix) and aws-sdk-go-v2 (the smithy service shape's
// name) put the name the services are registered under, TargetPrefix, in
// the path: "GraniteServiceVersion20100801" for CloudWatch. Anything before
// /service/ is ignored, as the protocol allows a path prefix.
func (rt *Router) serveCBOR(x *exchange) {
	if proto := x.r.Header.Get("Smithy-Protocol"); proto != "rpc-v2-cbor" {
		x.proto = protoJSON
		x.fail(protocolError(CodeUnsupportedFormat, "Smithy protocol %q is not supported; use rpc-v2-cbor or the awsJson protocol.", proto))
		return
	}
	parts := strings.Split(strings.TrimPrefix(x.r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[len(parts)-4] != "service" || parts[len(parts)-2] != "operation" {
		x.fail(protocolError(CodeUnknownOperation, "rpc-v2-cbor path %s is not /service/<name>/operation/<operation>.", x.r.URL.Path))
		return
	}
	op, err := rt.lookup(x, parts[len(parts)-3], parts[len(parts)-1])
	if err == nil && x.r.Method != http.MethodPost {
		err = protocolError(CodeUnknownOperation, "rpc-v2-cbor requires POST, not %s.", x.r.Method)
	}
	if err != nil {
		x.fail(err)
		return
	}
	body, id, ok := x.begin(nil)
	if !ok {
		return
	}
	jsonBody, err := cborToJSON(body, op.model.Input)
	if err != nil {
		x.fail(protocolError(CodeSerialization, "Cannot deserialize the request body: %v", err))
		return
	}
	rt.call(x, op, jsonBody, id)
}

// serveQuery serves awsQuery: the form names the service by Version and the
// operation by Action.
func (rt *Router) serveQuery(x *exchange) {
	rt.mu.RLock()
	limit := rt.queryMax
	rt.mu.RUnlock()
	if limit == 0 {
		limit = DefaultMaxBodyBytes
	}
	raw, err := readBody(x.r, limit)
	if err != nil {
		x.failBody(nil, err)
		return
	}
	// The form names the service, so it is decoded before authentication.
	body, err := decodeBody(x.r, raw, limit)
	if err != nil {
		x.fail(err)
		return
	}
	params, err := queryParams(x.r, body)
	if err != nil {
		x.fail(protocolError(CodeMalformedQuery, "Cannot parse the query string: %v", err))
		return
	}
	action, version := params.Get("Action"), params.Get("Version")
	switch {
	case action == "":
		x.fail(protocolError(CodeMissingAction, "The request must contain the parameter Action."))
		return
	case version == "":
		x.fail(protocolError(CodeMissingParameter, "The request must contain the parameter Version."))
		return
	}
	rt.mu.RLock()
	x.svc = rt.byVersion[version]
	rt.mu.RUnlock()
	x.op = action
	if x.svc == nil {
		x.fail(protocolError(CodeUnknownOperation, "No service here speaks awsQuery version %s.", version))
		return
	}
	if limit := x.svc.maxBody(); int64(len(raw)) > limit || int64(len(body)) > limit {
		x.fail(protocolError(CodeRequestTooLarge, "Request body exceeds the limit of %d bytes.", limit))
		return
	}
	id, ok := x.authenticate(raw)
	if !ok {
		return
	}
	op := x.svc.ops[action]
	if op == nil {
		if x.svc.Model.Operations[action] != nil {
			x.fail(protocolError(CodeUnknownOperation, "%s operation %s is not implemented by inferscale.", x.svc.Name, action))
		} else {
			x.fail(protocolError(CodeUnknownOperation, "Unknown operation %s for service %s.", action, x.svc.Name))
		}
		return
	}
	jsonBody, err := queryToJSON(params, op.model.Input)
	if err != nil {
		x.fail(protocolError(CodeSerialization, "Cannot deserialize the request parameters: %v", err))
		return
	}
	rt.call(x, op, jsonBody, id)
}

func (rt *Router) serveREST(x *exchange) {
	rt.mu.RLock()
	mux, direct, allDirect := rt.rest, rt.direct, rt.allDirect
	rt.mu.RUnlock()
	if allDirect {
		// The common case: the path has plain labels, and only one route
		// matches it, so ServeMux would pick that route too. It is served
		// at once, the labels kept in the exchange.
		var hit *restTarget
		var l labels
		path := x.r.URL.EscapedPath()
		for i := range direct {
			if direct[i].route.path.bind(x.r.Method, path, &l) {
				if hit != nil {
					hit = nil
					break
				}
				hit, x.labels = &direct[i], l
			}
		}
		if hit != nil {
			rt.serveRoute(x, hit.svc, hit.route)
			return
		}
		x.labels = labels{}
	}
	if mux != nil {
		if _, pattern := mux.Handler(x.r); pattern != "" {
			// The route's handler (restHandler) finds the exchange in the
			// context; the mux sets the path values on this request.
			x.r = x.r.WithContext(context.WithValue(x.r.Context(), exchangeKey{}, x))
			mux.ServeHTTP(x.w, x.r)
			return
		}
	}
	x.fail(&Error{Code: CodeUnknownOperation, Status: http.StatusNotFound,
		Message: fmt.Sprintf("No operation matches %s %s; JSON protocol requests need an X-Amz-Target header.", x.r.Method, x.r.URL.Path)})
}

type exchangeKey struct{}
