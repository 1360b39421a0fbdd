package hosting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/inferscale/inferscale/internal/clock"
	"github.com/inferscale/inferscale/internal/httpwire"
)

// Limits of SageMaker's InvokeEndpoint.
const (
	// MaxPayloadBytes is the largest request (and response) body.
	MaxPayloadBytes = 6 << 20
	// DefaultModelTimeout is how long a container may take to answer.
	DefaultModelTimeout = 60 * time.Second
)

// HTTP headers of InvokeEndpoint, as SageMaker Runtime names them. The
// container receives CustomAttributes under the same header.
const (
	HeaderCustomAttributes = "X-Amzn-SageMaker-Custom-Attributes"
	HeaderTargetVariant    = "X-Amzn-SageMaker-Target-Variant"
	HeaderInvokedVariant   = "X-Amzn-Invoked-Production-Variant"
)

// maxAttempts bounds the instances tried for one request; only a connection
// refused (the request never reached a container) moves on to the next.
const maxAttempts = 3

// ModelError: the container answered with a status other than 2xx, timed out
// or failed while answering. The API maps it to SageMaker's ModelError (424).
type ModelError struct {
	Variant  string
	Instance string
	// OriginalStatusCode is the container's status; 0 if it gave none.
	OriginalStatusCode int
	// OriginalMessage is the container's response body, or why there is
	// none.
	OriginalMessage string
}

func (e *ModelError) Error() string {
	if e.OriginalStatusCode == 0 {
		return fmt.Sprintf("Received server error (0) from %s with message %q", e.Variant, e.OriginalMessage)
	}
	kind := "server"
	if e.OriginalStatusCode < 500 {
		kind = "client"
	}
	return fmt.Sprintf("Received %s error (%d) from %s with message %q", kind, e.OriginalStatusCode, e.Variant, e.OriginalMessage)
}

// ValidationError: the request or configuration is invalid (unknown
// TargetVariant, payload too large, negative count, ...). The API maps it to
// ValidationError (400).
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

// ServiceUnavailableError: no instance can take the request now. The API maps
// it to ServiceUnavailable (503).
type ServiceUnavailableError struct {
	Message string // for the client
	Cause   error  // for the log: it may name instances' addresses
}

func (e *ServiceUnavailableError) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *ServiceUnavailableError) Unwrap() error { return e.Cause }

// InvokeRequest is one InvokeEndpoint call.
type InvokeRequest struct {
	Body             []byte
	ContentType      string
	Accept           string
	CustomAttributes string
	// TargetVariant, if set, bypasses the weights.
	TargetVariant string
	// TargetModel names the model of a multi-model invocation: its
	// artifact's path relative to the variant's model prefix. It must be
	// set for a multi-model variant and empty otherwise.
	TargetModel string
	// RequestID names the request in errors.
	RequestID string
}

// InvokeResponse is the model's answer.
type InvokeResponse struct {
	Body             []byte
	ContentType      string
	CustomAttributes string
	// InvokedProductionVariant is the variant that answered.
	InvokedProductionVariant string

	fields [4]string // Write's header values, kept here to need no allocation
}

// Write writes the response as SageMaker Runtime does: status 200, the
// body and the Content-Type, x-Amzn-Invoked-Production-Variant and
// CustomAttributes headers.
func (r *InvokeResponse) Write(w http.ResponseWriter) error {
	h := w.Header()
	r.fields = [...]string{r.ContentType, r.InvokedProductionVariant, r.CustomAttributes, strconv.Itoa(len(r.Body))}
	vs := r.fields[:]
	if r.ContentType != "" {
		h["Content-Type"] = vs[0:1:1]
	}
	h[HeaderInvokedVariant] = vs[1:2:2]
	if r.CustomAttributes != "" {
		h[HeaderCustomAttributes] = vs[2:3:3]
	}
	h["Content-Length"] = vs[3:4:4]
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(r.Body)
	return err
}

func payloadTooLarge() error {
	return &ValidationError{Message: fmt.Sprintf("Request payload exceeds the maximum of %d bytes", MaxPayloadBytes)}
}

// GatewayConfig tunes a Gateway. The zero value works.
type GatewayConfig struct {
	// ModelTimeout bounds one container call (DefaultModelTimeout when
	// zero).
	ModelTimeout time.Duration
	// MaxIdleConnsPerInstance is the keep-alive pool size per instance
	// (1024 when zero): at least the expected concurrency per instance, so
	// that busy instances never pay for new connections.
	MaxIdleConnsPerInstance int
	// Recorder, if set, receives every invocation, and the model events of
	// multi-model variants if it implements ModelRecorder.
	Recorder Recorder
	// ModelLoadTimeout bounds the download and load of one model of a
	// multi-model variant (DefaultModelLoadTimeout when zero).
	ModelLoadTimeout time.Duration
}

// Gateway routes invocations to endpoints' instances. Each instance has its
// own pool of keep-alive connections, used by a lean HTTP/1.1 client that
// does each exchange on the calling goroutine (see upstream). It is safe
// for concurrent use.
type Gateway struct {
	// client and transport carry the model management requests of
	// multi-model variants; invocations go over each instance's own pool
	// (upstream).
	client      *http.Client
	transport   *http.Transport
	maxIdle     int
	timeout     time.Duration
	loadTimeout time.Duration
	rec         Recorder
	models      ModelRecorder // rec, if it implements it
}

// NewGateway returns a gateway. Close it to drop its idle connections.
func NewGateway(c GatewayConfig) *Gateway {
	if c.ModelTimeout <= 0 {
		c.ModelTimeout = DefaultModelTimeout
	}
	if c.MaxIdleConnsPerInstance <= 0 {
		c.MaxIdleConnsPerInstance = 1024
	}
	if c.ModelLoadTimeout <= 0 {
		c.ModelLoadTimeout = DefaultModelLoadTimeout
	}
	t := &http.Transport{
		// Instances are on this host or a cluster network: no proxy.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0, // no global limit
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	g := &Gateway{client: &http.Client{Transport: t}, transport: t, maxIdle: c.MaxIdleConnsPerInstance, timeout: c.ModelTimeout, loadTimeout: c.ModelLoadTimeout, rec: c.Recorder}
	g.models, _ = c.Recorder.(ModelRecorder)
	return g
}

// Close drops the idle connections of model management requests. Those
// of invocations belong to each instance and are closed when it stops.
func (g *Gateway) Close() { g.transport.CloseIdleConnections() }

// Invoke sends req to an instance of ep: of TargetVariant if set, else of a
// variant picked by weight among those with an instance in service; then to
// the instance with the fewest requests in flight (or a random one, as the
// variant's routing says). A multi-model invocation goes to an instance
// that has its TargetModel loaded, loading it on demand (see
// MultiModelConfig). It returns *ValidationError, *ModelError,
// *ServiceUnavailableError, or a wrapped ctx error. The invocation's
// metrics are recorded before it returns.
func (g *Gateway) Invoke(ctx context.Context, ep *Endpoint, req *InvokeRequest) (*InvokeResponse, error) {
	var resp *InvokeResponse
	err := g.Respond(ctx, ep, req, func(r *InvokeResponse) error {
		resp = r
		return nil
	})
	return resp, err
}

// Respond is Invoke for a server: it hands the instance's response to
// respond, which sends it to the client, and records the invocation's
// metrics after that, so that the client does not wait for them; its
// OverheadLatency covers the sending, as SageMaker's runs until the
// response is returned. It returns Invoke's errors, or respond's.
func (g *Gateway) Respond(ctx context.Context, ep *Endpoint, req *InvokeRequest, respond func(*InvokeResponse) error) error {
	start := clock.Mono()
	inv := Invocation{Endpoint: ep.name, Owner: ep.opts.Owner, TargetModel: req.TargetModel}
	resp, err := g.invoke(ctx, ep, req, &inv)
	var sendErr error
	if err == nil {
		sendErr = respond(resp)
	}
	if g.rec != nil {
		total := clock.Mono().Sub(start).Microseconds()
		// Waiting for a model to load is ModelLoadingWaitTime, not overhead.
		inv.OverheadLatencyMicros = max(total-inv.ModelLatencyMicros-inv.ModelLoadingWaitMicros, 0)
		inv.Class, inv.ModelStatus = classOf(err)
		g.rec.RecordInvocation(inv)
	}
	if err != nil {
		return err
	}
	return sendErr
}

// classOf classifies an outcome; for a ModelError, it also returns the
// container's status (0 if it gave none).
func classOf(err error) (StatusClass, int) {
	if err == nil {
		return Status2XX, 0
	}
	var me *ModelError
	var ve *ValidationError
	switch {
	case errors.As(err, &me):
		return StatusModelError, me.OriginalStatusCode
	case errors.As(err, &ve):
		return Status4XX, 0
	case errors.Is(err, context.Canceled):
		return StatusCanceled, 0
	default:
		return Status5XX, 0
	}
}

func (g *Gateway) invoke(ctx context.Context, ep *Endpoint, req *InvokeRequest, inv *Invocation) (*InvokeResponse, error) {
	if len(req.Body) > MaxPayloadBytes {
		return nil, payloadTooLarge()
	}
	t := ep.table.Load()
	var v *Variant
	if req.TargetVariant != "" {
		for _, c := range t.variants {
			if c.name == req.TargetVariant {
				v = c
				break
			}
		}
		if v == nil {
			return nil, &ValidationError{Message: fmt.Sprintf("Endpoint %s does not have target variant %s", ep.name, req.TargetVariant)}
		}
	} else {
		v = pickVariant(t)
		if v == nil {
			return nil, &ServiceUnavailableError{Message: fmt.Sprintf("Endpoint %s has no instance in service with a non-zero weight", ep.name)}
		}
	}
	inv.Variant = v.name
	switch {
	case v.multi != nil && req.TargetModel == "":
		id := req.RequestID
		if id == "" {
			id = "to endpoint " + ep.name
		}
		return nil, &ValidationError{Message: fmt.Sprintf("Request %s is missing a target model header. Endpoint %s is a multi-model endpoint: name the model to invoke with TargetModel.", id, ep.name)}
	case v.multi == nil && req.TargetModel != "":
		return nil, &ValidationError{Message: fmt.Sprintf("Endpoint %s is not a multi-model endpoint and does not support target model header.", ep.name)}
	}

	var tried [maxAttempts]*replica
	var lastErr error
	for attempt := range maxAttempts {
		var r *replica
		var resp *InvokeResponse
		var err error
		if v.multi != nil {
			var m *cachedModel
			var hit, leader bool
			if r, m, hit, leader = v.acquireFor(req.TargetModel, tried[:attempt]); r == nil {
				break
			}
			tried[attempt] = r
			inv.InstancesInService = len(*v.ready.Load())
			resp, err = g.invokeModel(ctx, v, r, m, hit, leader, req, inv)
		} else {
			if r = v.pick(tried[:attempt]); r == nil {
				break
			}
			tried[attempt] = r
			inv.Instance = r.id
			inv.InstancesInService = len(*v.ready.Load())
			resp, err = g.call(ctx, v, r, req, inv)
		}
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
			return resp, err
		}
		inv.Instance, inv.InstancesInService = "", 0
		lastErr = err // never reached the container: safe to try another
	}
	if lastErr != nil {
		return nil, &ServiceUnavailableError{Message: fmt.Sprintf("Variant %s of endpoint %s: no instance reachable", v.name, ep.name), Cause: lastErr}
	}
	return nil, &ServiceUnavailableError{Message: fmt.Sprintf("Variant %s of endpoint %s has no instance in service", v.name, ep.name)}
}

// pickVariant picks a variant by weight among those with an instance in
// service, or returns nil.
func pickVariant(t *routes) *Variant {
	var total float64
	for i, v := range t.variants {
		if t.weights[i] > 0 && len(*v.ready.Load()) > 0 {
			total += t.weights[i]
		}
	}
	if total <= 0 {
		return nil
	}
	x := rand.Float64() * total
	var last *Variant
	for i, v := range t.variants {
		if t.weights[i] > 0 && len(*v.ready.Load()) > 0 {
			last = v
			if x < t.weights[i] {
				return v
			}
			x -= t.weights[i]
		}
	}
	return last // rounding
}

// pick chooses an instance in service that is not in skip and has not ended,
// by the variant's routing strategy.
func (v *Variant) pick(skip []*replica) *replica {
	ready := *v.ready.Load()
	n := len(ready)
	if n == 0 {
		return nil
	}
	off := randIntN(n)
	var best *replica
	bestOut := int64(0)
	for k := range n {
		r := ready[(off+k)%n]
		if contains(skip, r) || ended(r) {
			continue
		}
		if v.routing == RandomRouting {
			best = r
			break
		}
		// Least outstanding; the random start breaks ties evenly.
		if o := r.outstanding.Load(); best == nil || o < bestOut {
			best, bestOut = r, o
		}
	}
	return best
}

func contains(s []*replica, r *replica) bool {
	for _, x := range s {
		if x == r {
			return true
		}
	}
	return false
}

func ended(r *replica) bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func randIntN(n int) int { return rand.IntN(n) }

// call sends one POST /invocations to r.
func (g *Gateway) call(ctx context.Context, v *Variant, r *replica, req *InvokeRequest, inv *Invocation) (*InvokeResponse, error) {
	r.outstanding.Add(1)
	defer r.outstanding.Add(-1)
	return g.send(ctx, v, r, "/invocations", req, inv)
}

// send posts an invocation to path on r and reads the model's answer.
func (g *Gateway) send(ctx context.Context, v *Variant, r *replica, path string, req *InvokeRequest, inv *Invocation) (*InvokeResponse, error) {
	for _, h := range [...]string{req.ContentType, req.Accept, req.CustomAttributes, req.TargetModel} {
		if !validHeaderValue(h) {
			return nil, &ValidationError{Message: fmt.Sprintf("Request header value %q has a control character.", h)}
		}
	}
	sent := clock.Mono()
	deadline := sent.Add(g.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	resp, err := r.up.do(ctx, &upRequest{
		path: path, body: req.Body, contentType: req.ContentType, accept: req.Accept,
		customAttributes: req.CustomAttributes, targetModel: req.TargetModel,
	}, sent, deadline, g.maxIdle)
	end := resp.end
	if err != nil {
		end = clock.Mono()
	}
	inv.ModelLatencyMicros = end.Sub(sent).Microseconds()
	if err != nil {
		if d, ok := ctx.Deadline(); ok && !d.After(deadline) && errors.Is(err, os.ErrDeadlineExceeded) {
			// The caller's deadline passed: the connection's timer may
			// fire before ctx's, which is due now. Callers check ctx.
			<-ctx.Done()
		}
		return nil, g.failure(ctx, v, r, err)
	}
	if resp.status < 200 || resp.status > 299 {
		return nil, &ModelError{Variant: v.name, Instance: r.id, OriginalStatusCode: resp.status, OriginalMessage: string(resp.body)}
	}
	return &InvokeResponse{
		Body:                     resp.body,
		ContentType:              resp.contentType,
		CustomAttributes:         resp.customAttributes,
		InvokedProductionVariant: v.name,
	}, nil
}

// failure turns a transport error into what Invoke returns: a connection
// refused stays as it is (the caller tries another instance), the caller's
// ctx ending is returned wrapped, anything else is the model's failure.
func (g *Gateway) failure(ctx context.Context, v *Variant, r *replica, err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("invoke %s: %w", r.id, err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded),
		ctx.Err() == nil && errors.Is(err, os.ErrDeadlineExceeded):
		// Our timeout, or the caller's deadline: both mean the model was
		// too slow.
		return &ModelError{Variant: v.name, Instance: r.id, OriginalMessage: fmt.Sprintf("Your invocation timed out while waiting for a response from container %s.", r.id)}
	case ctx.Err() != nil:
		return fmt.Errorf("invoke %s: %w", r.id, ctx.Err())
	case errors.Is(err, httpwire.ErrTooLarge):
		err = errTooLarge
	}
	return &ModelError{Variant: v.name, Instance: r.id, OriginalMessage: err.Error()}
}

var errTooLarge = errors.New("response exceeds the maximum payload size")

// readBody reads a response body of at most MaxPayloadBytes.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	n := resp.ContentLength
	if n > MaxPayloadBytes {
		return nil, errTooLarge
	}
	if n >= 0 {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxPayloadBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPayloadBytes {
		return nil, errTooLarge
	}
	return b, nil
}
