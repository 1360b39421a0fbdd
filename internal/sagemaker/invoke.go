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
		TargetModel:      h.Get(hosting.HeaderTargetModel),
		RequestID:        req.RequestID,
	})
	if err != nil {
		return hostingError(err)
	}
	return resp.Write(w)
}

// Namespaces and dimensions of the endpoint metrics, as CloudWatch names
// them: invocation metrics in AWS/SageMaker, instance utilization in
// /aws/sagemaker/Endpoints.
const (
	metricsNamespace  = "AWS/SageMaker"
	instanceNamespace = "/aws/sagemaker/Endpoints"
	dimEndpoint       = "EndpointName"
	dimVariant        = "VariantName"
)

// invocationMetrics records the endpoints' metrics into a metrics.Store,
// as SageMaker publishes them to CloudWatch, by EndpointName and
// VariantName:
//
//   - per invocation (AWS/SageMaker): Invocations, InvocationsPerInstance
//     (1/instances in service), ModelLatency and OverheadLatency
//     (microseconds), Invocation4XXErrors, Invocation5XXErrors and
//     InvocationModelErrors; for multi-model endpoints also ModelCacheHit
//     (1 or 0) and ModelLoadingWaitTime (microseconds, for requests that
//     waited);
//   - per model download, load and unload of a multi-model endpoint
//     (AWS/SageMaker): ModelDownloadingTime, ModelLoadingTime and
//     ModelUnloadingTime (microseconds). SageMaker has no per-model
//     metrics: there is no ModelName dimension;
//   - per instance in service, every 10 seconds: ConcurrentRequestsPerModel
//     (AWS/SageMaker, the mean of the requests in flight, sampled), and
//     CPUUtilization (summed over vCPUs: 0 to 100 × vCPUs),
//     MemoryUtilization and DiskUtilization (percent) in
//     /aws/sagemaker/Endpoints; one value per instance, so that Average is
//     across instances as CloudWatch's is. LoadedModelCount (AWS/SageMaker)
//     is put once a minute per instance, so that over a minute its Average
//     is the models per instance and its Sum those of the variant.
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
	if inv.TargetModel != "" {
		if inv.Instance != "" {
			hit := 0.0
			if inv.ModelCacheHit {
				hit = 1
			}
			samples = append(samples, metrics.Sample{Name: "ModelCacheHit", Value: hit, Unit: "None"})
		}
		if inv.ModelLoadingWaitMicros > 0 {
			samples = append(samples, metrics.Sample{Name: "ModelLoadingWaitTime", Value: float64(inv.ModelLoadingWaitMicros), Unit: "Microseconds"})
		}
	}
	if err := r.store.PutBatch(metricsNamespace, dims, r.now(), samples); err != nil {
		r.log.Warn("record invocation metrics", "endpoint", inv.Endpoint, "err", err)
	}
}

// modelEventMetrics names the metric of each model event.
var modelEventMetrics = [...]string{
	hosting.ModelDownloaded: "ModelDownloadingTime",
	hosting.ModelLoaded:     "ModelLoadingTime",
	hosting.ModelUnloaded:   "ModelUnloadingTime",
}

func (r *invocationMetrics) RecordModelEvent(e hosting.ModelEvent) {
	if int(e.Kind) >= len(modelEventMetrics) {
		return
	}
	dims := []metrics.Dimension{{Name: dimEndpoint, Value: e.Endpoint}, {Name: dimVariant, Value: e.Variant}}
	if err := r.store.Put(metricsNamespace, modelEventMetrics[e.Kind], dims, float64(e.Duration.Microseconds()), "Microseconds", r.now()); err != nil {
		r.log.Warn("record model metrics", "endpoint", e.Endpoint, "err", err)
	}
}

func (r *invocationMetrics) RecordInstanceStats(stats []hosting.InstanceStats) {
	for _, st := range stats {
		dims := []metrics.Dimension{{Name: dimEndpoint, Value: st.Endpoint}, {Name: dimVariant, Value: st.Variant}}
		samples := []metrics.Sample{{Name: "ConcurrentRequestsPerModel", Value: st.ConcurrentRequests, Unit: "None"}}
		if st.MultiModel && st.Start.Equal(st.Start.Truncate(time.Minute)) {
			samples = append(samples, metrics.Sample{Name: "LoadedModelCount", Value: float64(st.LoadedModels), Unit: "None"})
		}
		if err := r.store.PutBatch(metricsNamespace, dims, st.Start, samples); err != nil {
			r.log.Warn("record instance metrics", "endpoint", st.Endpoint, "err", err)
		}
		var util []metrics.Sample
		for _, u := range []struct {
			name string
			v    *float64
		}{{"CPUUtilization", st.CPUUtilization}, {"MemoryUtilization", st.MemoryUtilization}, {"DiskUtilization", st.DiskUtilization}} {
			if u.v != nil {
				util = append(util, metrics.Sample{Name: u.name, Value: *u.v, Unit: "Percent"})
			}
		}
		if err := r.store.PutBatch(instanceNamespace, dims, st.Start, util); err != nil {
			r.log.Warn("record instance metrics", "endpoint", st.Endpoint, "err", err)
		}
	}
}
