package sagemaker

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/api/model"
	"github.com/inferscale/inferscale/internal/hosting"
	"github.com/inferscale/inferscale/internal/metrics"
)

// SageMaker Runtime: InvokeEndpoint, a REST-JSON operation
// (POST /endpoints/{EndpointName}/invocations) served on the same listener
// as the SageMaker API, routed by hosting.Gateway to the instances of an
// endpoint that RunEndpoints runs.

// RuntimeCodes are SageMaker Runtime's error codes for the error kinds.
var RuntimeCodes = api.Codes{
	api.KindInvalid:     {Name: "ValidationError", Status: http.StatusBadRequest},
	api.KindNotFound:    {Name: "ValidationError", Status: http.StatusBadRequest},
	api.KindUnavailable: {Name: "ServiceUnavailable", Status: http.StatusServiceUnavailable},
	api.KindInternal:    {Name: "InternalFailure", Status: http.StatusInternalServerError},
}

// NewRuntimeAPI returns the SageMaker Runtime api.Service with
// InvokeEndpoint registered.
func (s *Service) NewRuntimeAPI() *api.Service {
	svc := api.NewService(model.MustLoad("sagemaker-runtime"))
	svc.Codes = RuntimeCodes
	// Bodies up to the router's limit are read so that hosting.ReadPayload
	// answers larger payloads with SageMaker's ValidationError.
	svc.MaxBodyBytes = api.DefaultMaxBodyBytes
	svc.Route("InvokeEndpoint", s.invokeEndpoint)
	return svc
}

func (s *Service) invokeEndpoint(ctx context.Context, req *api.Request, w http.ResponseWriter, body []byte) error {
	name := req.HTTP.PathValue("EndpointName")
	m := s.endpoints()
	m.mu.Lock()
	rt := m.rt
	m.mu.Unlock()
	ep := m.endpoint(kindEndpoint.key(scopeOf(req), name))
	if ep == nil || rt == nil {
		return api.Errorf(api.KindNotFound, "Endpoint %s of account %s not found.", name, req.Account)
	}
	payload, err := hosting.ReadPayload(bytes.NewReader(body))
	if err != nil {
		return hostingError(err)
	}
	h := req.HTTP.Header
	resp, err := rt.gateway.Invoke(ctx, ep, &hosting.InvokeRequest{
		Body:             payload,
		ContentType:      h.Get("Content-Type"),
		Accept:           h.Get("Accept"),
		CustomAttributes: h.Get(hosting.HeaderCustomAttributes),
		TargetVariant:    h.Get(hosting.HeaderTargetVariant),
	})
	if err != nil {
		return hostingError(err)
	}
	return resp.Write(w)
}

// Namespace and dimensions of the invocation metrics, as CloudWatch names
// them.
const (
	metricsNamespace = "AWS/SageMaker"
	dimEndpoint      = "EndpointName"
	dimVariant       = "VariantName"
)

// invocationMetrics records each invocation into a metrics.Store, as
// SageMaker publishes them to CloudWatch: Invocations,
// InvocationsPerInstance (1/instances in service), ModelLatency and
// OverheadLatency (microseconds), Invocation4XXErrors, Invocation5XXErrors
// and InvocationModelErrors, by EndpointName and VariantName.
type invocationMetrics struct {
	store *metrics.Store
	now   func() time.Time
	log   *slog.Logger
	m     *endpointManager
}

func (r *invocationMetrics) RecordInvocation(inv hosting.Invocation) {
	dims := []metrics.Dimension{{Name: dimEndpoint, Value: inv.Endpoint}}
	if inv.Variant != "" {
		dims = append(dims, metrics.Dimension{Name: dimVariant, Value: inv.Variant})
	}
	flag := func(c hosting.StatusClass) float64 {
		if inv.Class == c {
			return 1
		}
		return 0
	}
	samples := []metrics.Sample{
		{Name: "Invocation4XXErrors", Value: flag(hosting.Status4XX), Unit: "Count"},
		{Name: "Invocation5XXErrors", Value: flag(hosting.Status5XX), Unit: "Count"},
		{Name: "InvocationModelErrors", Value: flag(hosting.StatusModelError), Unit: "Count"},
	}
	if inv.Instance != "" { // the request reached a model
		perInstance := 1.0
		if n := r.m.instanceCount(inv.Endpoint, inv.Variant); n > 0 {
			perInstance = 1 / float64(n)
		}
		samples = append(samples,
			metrics.Sample{Name: "Invocations", Value: 1, Unit: "Count"},
			metrics.Sample{Name: "InvocationsPerInstance", Value: perInstance, Unit: "Count"},
			metrics.Sample{Name: "ModelLatency", Value: float64(inv.ModelLatencyMicros), Unit: "Microseconds"},
		)
	}
	samples = append(samples, metrics.Sample{Name: "OverheadLatency", Value: float64(inv.OverheadLatencyMicros), Unit: "Microseconds"})
	if err := r.store.PutBatch(metricsNamespace, dims, r.now(), samples); err != nil {
		r.log.Warn("record invocation metrics", "endpoint", inv.Endpoint, "err", err)
	}
}
