package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

// Router is the one HTTP handler for every service. It tells services apart
// by X-Amz-Target (JSON 1.0/1.1: "<TargetPrefix>.<Operation>"), by the
// smithy protocol header (rpc-v2-cbor: POST /service/<Name>/operation/<Op>,
// through the RPCv2CBOR hook), or by path (REST-JSON routes). The zero value
// is ready to use; set fields and Add services before serving.
type Router struct {
	// Auth establishes who sent each request; nil means ScopeAuth{}.
	Auth Authenticator
	// Logger receives one record per request; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewRequestID returns request IDs; nil means random UUIDs.
	NewRequestID func() string
	// RPCv2CBOR, when set, serves smithy rpc-v2-cbor requests by transcoding
	// them to the JSON operations. Without it such requests are refused.
	RPCv2CBOR Transcoder
	// Observe, when set, is called once per request after its response was
	// written, e.g. to record metrics. service and operation are "" unless
	// the request named a service and an operation the router serves; code
	// is the AWS error code, "" on success.
	Observe func(service, operation, code string, status int, elapsed time.Duration)

	mu       sync.RWMutex
	byPrefix map[string]*Service
	rest     *http.ServeMux
	nrest    int
}

// Transcoder converts a wire format to and from the JSON the operation
// adapters speak, so that a protocol such as rpc-v2-cbor reuses the whole
// decode → validate → call → encode pipeline.
type Transcoder interface {
	// ContentType is the Content-Type of responses.
	ContentType() string
	// ToJSON converts a request body; input is the operation's input shape
	// (nil for none) so that blobs and timestamps can be converted.
	ToJSON(body []byte, input *model.Shape) ([]byte, error)
	// FromJSON converts a response body; output is nil for error bodies.
	FromJSON(body []byte, output *model.Shape) ([]byte, error)
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
	if len(s.routes) > 0 && rt.rest == nil {
		rt.rest = http.NewServeMux()
	}
	for pattern, route := range s.routes {
		if err := registerRoute(rt.rest, pattern, rt.restHandler(s, route)); err != nil {
			return fmt.Errorf("add service %s: %w", s.Name, err)
		}
		rt.nrest++
	}
	if s.TargetPrefix != "" {
		rt.byPrefix[s.TargetPrefix] = s
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
	return slog.New(slog.DiscardHandler)
}

func (rt *Router) auth() Authenticator {
	if rt.Auth != nil {
		return rt.Auth
	}
	return ScopeAuth{}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// protocol is the wire protocol of one exchange.
type protocol uint8

const (
	protoJSON protocol = iota // awsJson1_0 / awsJson1_1
	protoREST                 // restJson1
	protoCBOR                 // smithy rpc-v2-cbor through a Transcoder
)

// exchange is one request/response, carrying what the log record and the
// error writer need.
type exchange struct {
	rt       *Router
	w        http.ResponseWriter
	r        *http.Request
	proto    protocol
	svc      *Service
	op       string
	id       string
	start    time.Time
	status   int
	code     string
	cause    error
	outShape *model.Shape
}

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{rt: rt, w: w, r: r, start: rt.now()}
	if rt.NewRequestID != nil {
		x.id = rt.NewRequestID()
	} else {
		x.id = newUUID()
	}
	w.Header().Set("x-amzn-RequestId", x.id)
	defer x.log()

	switch {
	case r.Header.Get("Smithy-Protocol") != "":
		x.proto = protoCBOR
		rt.serveCBOR(x)
	case r.Header.Get("X-Amz-Target") != "":
		rt.serveJSON(x)
	default:
		x.proto = protoREST
		rt.serveREST(x)
	}
}

func (x *exchange) log() {
	lvl := slog.LevelDebug
	attrs := []slog.Attr{
		slog.String("request_id", x.id),
		slog.String("method", x.r.Method),
		slog.String("path", x.r.URL.Path),
		slog.Int("status", x.status),
		slog.Duration("duration", x.rt.now().Sub(x.start)),
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
	if x.status >= 500 {
		lvl = slog.LevelError
		if x.cause != nil {
			attrs = append(attrs, slog.String("error", x.cause.Error()))
		}
	}
	x.rt.logger().LogAttrs(x.r.Context(), lvl, "api request", attrs...)
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
		x.rt.Observe(service, operation, x.code, x.status, x.rt.now().Sub(x.start))
	}
}

// fail writes err as the protocol's error response.
func (x *exchange) fail(err error) {
	we := x.svc.resolve(err)
	x.code, x.cause = we.Code, we.cause
	body := map[string]any{}
	for k, v := range we.Fields {
		body[k] = v
	}
	body["__type"] = we.Code
	body["message"] = we.Message
	b, merr := json.Marshal(body)
	if merr != nil {
		b = []byte(`{"__type":"InternalFailure","message":"An internal error occurred."}`)
		we.Status = http.StatusInternalServerError
	}
	x.w.Header().Set("X-Amzn-ErrorType", we.Code)
	x.write(we.Status, b, nil)
}

// write sends a JSON body in the exchange's protocol. output is the shape of
// a successful response (for transcoding), nil for errors.
func (x *exchange) write(status int, body []byte, output *model.Shape) {
	ct := "application/x-amz-json-1.1"
	switch {
	case x.proto == protoREST:
		ct = "application/json"
	case x.svc != nil:
		ct = x.svc.contentType()
	}
	if x.proto == protoCBOR && x.rt.RPCv2CBOR != nil {
		b, err := x.rt.RPCv2CBOR.FromJSON(body, output)
		if err == nil {
			x.w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
			body, ct = b, x.rt.RPCv2CBOR.ContentType()
		} else {
			x.cause = fmt.Errorf("transcode response: %w", err)
			status = http.StatusInternalServerError
		}
	}
	x.status = status
	x.w.Header().Set("Content-Type", ct)
	x.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

// readBody reads the whole body up to limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, protocolError(CodeRequestTooLarge, "Request body of %d bytes exceeds the limit of %d bytes.", r.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, protocolError(CodeSerialization, "Cannot read the request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, protocolError(CodeRequestTooLarge, "Request body exceeds the limit of %d bytes.", limit)
	}
	return b, nil
}

// begin reads the body and authenticates; it writes the error and returns
// false on failure.
func (x *exchange) begin() (body []byte, id Identity, ok bool) {
	body, err := readBody(x.r, x.svc.maxBody())
	if err != nil {
		x.fail(err)
		return nil, id, false
	}
	id, err = x.rt.auth().Authenticate(x.r, body, x.start)
	if err != nil {
		x.fail(authError(err))
		return nil, id, false
	}
	return body, id, true
}

func (x *exchange) request(id Identity) *Request {
	return &Request{
		Service: x.svc, Operation: x.op, RequestID: x.id,
		Region: id.Region, Account: id.Account, AccessKey: id.AccessKey,
		Time: x.start, HTTP: x.r,
	}
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
			if _, _, ok := x.begin(); !ok {
				return
			}
		}
		x.fail(err)
		return
	}
	body, id, ok := x.begin()
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
	x.write(http.StatusOK, resp, op.model.Output)
}

func (rt *Router) serveCBOR(x *exchange) {
	if proto := x.r.Header.Get("Smithy-Protocol"); proto != "rpc-v2-cbor" || rt.RPCv2CBOR == nil {
		x.proto = protoJSON
		x.fail(protocolError(CodeUnsupportedFormat, "Smithy protocol %q is not supported; configure the client for the awsJson protocol.", proto))
		return
	}
	// POST /service/{ServiceName}/operation/{OperationName}
	parts := strings.Split(strings.TrimPrefix(x.r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[len(parts)-4] != "service" || parts[len(parts)-2] != "operation" {
		x.fail(protocolError(CodeUnknownOperation, "rpc-v2-cbor path %s is not /service/<name>/operation/<operation>.", x.r.URL.Path))
		return
	}
	op, err := rt.lookup(x, parts[len(parts)-3], parts[len(parts)-1])
	if err != nil {
		x.fail(err)
		return
	}
	body, id, ok := x.begin()
	if !ok {
		return
	}
	jsonBody, err := rt.RPCv2CBOR.ToJSON(body, op.model.Input)
	if err != nil {
		x.fail(protocolError(CodeSerialization, "Cannot deserialize the request body: %v", err))
		return
	}
	rt.call(x, op, jsonBody, id)
}

func (rt *Router) serveREST(x *exchange) {
	rt.mu.RLock()
	mux := rt.rest
	rt.mu.RUnlock()
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
