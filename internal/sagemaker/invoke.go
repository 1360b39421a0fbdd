package sagemaker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/api/model"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/hosting"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/store"
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
	// A payload over the model's maximum (hosting.MaxPayloadBytes) is
	// refused by the router with the ValidationError of its length, as
	// SageMaker words it, whatever its size: a Content-Length over it
	// unread (a client that sent Expect: 100-continue gets no 100
	// Continue), a chunked body once it has passed it.
	svc.Route("InvokeEndpoint", s.invokeEndpoint)
	svc.Refuse("InvokeEndpoint", refuseInvoke, "InferenceComponentName", "TargetContainerHostname", "SessionId", "EnableExplanations")
	return svc
}

// refusedInvoke says why endpoints here cannot take each InvokeEndpoint
// member that NewRuntimeAPI refuses.
var refusedInvoke = map[string]string{
	"InferenceComponentName":  "inference components are not supported by this server",
	"TargetContainerHostname": "multi-container endpoints with direct invocation are not supported by this server",
	"SessionId":               "stateful sessions are not supported by this server",
	"EnableExplanations":      "explainers (ExplainerConfig) are not supported by this server",
}

// refuseInvoke is the error of an invocation that asks for what endpoints
// here do not have.
func refuseInvoke(req *api.Request, member string) error {
	return api.Errorf(api.KindInvalid, "%s: endpoint %s cannot take it: %s.", member, req.PathValue("EndpointName"), refusedInvoke[member])
}

func (s *Service) invokeEndpoint(ctx context.Context, req *api.Request, w http.ResponseWriter, body []byte) error {
	name := req.PathValue("EndpointName")
	m := s.endpoints()
	m.mu.Lock()
	rt := m.rt
	m.mu.Unlock()
	key := kindEndpoint.key(scopeOf(req), name)
	ep, capture := m.serving(key)
	if ep == nil || rt == nil || ep.Name() != name { // the name's case must match here
		return s.notServing(ctx, req, key, name)
	}
	h := req.HTTP.Header
	in := &hosting.InvokeRequest{
		Body:             body,
		ContentType:      api.Header(h, "Content-Type"),
		Accept:           api.Header(h, "Accept"),
		CustomAttributes: api.Header(h, keyCustomAttributes),
		TargetVariant:    api.Header(h, keyTargetVariant),
		TargetModel:      api.Header(h, keyTargetModel),
		RequestID:        req.RequestID,
	}
	err := rt.gateway.Respond(ctx, ep, in, func(resp *hosting.InvokeResponse) error {
		if err := resp.Write(w); err != nil {
			return err
		}
		// Sent now, with its Content-Length: the metrics, the data
		// capture and the request log come after, off the client's path.
		http.NewResponseController(w).Flush()
		captured(capture, req, in, resp)
		return nil
	})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			// The client closed its connection: no one reads the answer,
			// and it is not the service's failure (500 would log it as
			// one). 499 is nginx's "client closed request".
			return &api.Error{Code: "RequestCanceled", Status: statusClientClosed, Message: "The client closed the connection before the model answered.", Err: err}
		}
		var ue *hosting.ServiceUnavailableError
		if errors.As(err, &ue) {
			if st := ep.Describe().Status; st == hosting.StatusCreating || st == hosting.StatusFailed {
				return endpointNotFound(req, name) // not in service: as SageMaker answers
			}
		}
		return hostingError(err)
	}
	return nil
}

// statusClientClosed is the status logged for an invocation whose client
// went away before the answer (nginx's 499).
const statusClientClosed = 499

// endpointNotFound is SageMaker Runtime's answer for an endpoint that does
// not exist or is not in service (Creating, Failed).
func endpointNotFound(req *api.Request, name string) error {
	return api.Errorf(api.KindNotFound, "Endpoint %s of account %s not found.", name, req.Account)
}

// notServing is the error of an invocation of the endpoint at key, called
// name, which does not run: ServiceUnavailable if it is in service (after
// a restart, its instances are launched again), else not found.
func (s *Service) notServing(ctx context.Context, req *api.Request, key store.Key, name string) error {
	r, err := s.Store.Get(ctx, key)
	if err != nil {
		return endpointNotFound(req, name)
	}
	rec, err := decode[endpointRecord](r)
	if err != nil || rec.EndpointName != name ||
		rec.EndpointStatus != string(hosting.StatusInService) && rec.EndpointStatus != string(hosting.StatusUpdating) {
		return endpointNotFound(req, name)
	}
	return api.Errorf(api.KindUnavailable, "Endpoint %s has no instance in service yet.", name)
}

// Canonical forms of the InvokeEndpoint headers, as http.Header keys them:
// looked up directly rather than canonicalised per request.
var (
	keyCustomAttributes = textproto.CanonicalMIMEHeaderKey(hosting.HeaderCustomAttributes)
	keyTargetVariant    = textproto.CanonicalMIMEHeaderKey(hosting.HeaderTargetVariant)
	keyTargetModel      = textproto.CanonicalMIMEHeaderKey(hosting.HeaderTargetModel)
	keyInferenceID      = textproto.CanonicalMIMEHeaderKey("X-Amzn-SageMaker-Inference-Id")
)

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
//     InvocationModelErrors (a container's 4xx or 5xx answer counts as a
//     model error and as a 4XX or 5XX error, as AWS documents them); for multi-model endpoints also ModelCacheHit
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

	// series holds the invocation metrics' series of each endpoint and
	// variant, resolved once; replaced, never changed, under seriesMu.
	series   atomic.Pointer[map[variantKey]*variantSeries]
	seriesMu sync.Mutex
}

// variantKey names the invocation metrics of a variant; Variant is empty
// for requests that reached none. owner is the endpoint's account and
// region (metricsOwner).
type variantKey struct{ owner, endpoint, variant string }

// metricsOwner is the hosting.Options.Owner of an endpoint of account and
// region: it tells the recorder whose metrics an endpoint's are.
func metricsOwner(account, region string) string { return account + "/" + region }

// ownerScope is the account and region of an owner from metricsOwner; ok
// is false for "" (an endpoint not made by Service).
func ownerScope(owner string) (account, region string, ok bool) {
	return strings.Cut(owner, "/")
}

// metricsOf returns the metrics of owner's account and region; those of the
// store's own scope for "" (an endpoint not made by Service).
func (r *invocationMetrics) metricsOf(owner string) *metrics.View {
	account, region, _ := ownerScope(owner)
	return r.store.In(cloudwatch.MetricsScope(account, region))
}

// variantSeries are the invocation metrics of a variant.
type variantSeries struct {
	errors4XX, errors5XX, modelErrors         *metrics.Handle
	invocations, perInstance, modelLatency    *metrics.Handle
	overhead, modelCacheHit, modelLoadingWait *metrics.Handle
}

// maxVariantSeries bounds the variants whose series are kept resolved;
// past it the cache starts over.
const maxVariantSeries = 4096

// seriesOf returns the series of an endpoint and variant.
func (r *invocationMetrics) seriesOf(owner, endpoint, variant string) (*variantSeries, error) {
	k := variantKey{owner, endpoint, variant}
	if m := r.series.Load(); m != nil {
		if vs := (*m)[k]; vs != nil {
			return vs, nil
		}
	}
	dims := []metrics.Dimension{{Name: dimEndpoint, Value: endpoint}}
	if variant != "" {
		dims = append(dims, metrics.Dimension{Name: dimVariant, Value: variant})
	}
	vs := &variantSeries{}
	ms := r.metricsOf(owner)
	for _, h := range []struct {
		p          **metrics.Handle
		name, unit string
	}{
		{&vs.errors4XX, "Invocation4XXErrors", "Count"},
		{&vs.errors5XX, "Invocation5XXErrors", "Count"},
		{&vs.modelErrors, "InvocationModelErrors", "Count"},
		{&vs.invocations, "Invocations", "Count"},
		{&vs.perInstance, "InvocationsPerInstance", "Count"},
		{&vs.modelLatency, "ModelLatency", "Microseconds"},
		{&vs.overhead, "OverheadLatency", "Microseconds"},
		{&vs.modelCacheHit, "ModelCacheHit", "None"},
		{&vs.modelLoadingWait, "ModelLoadingWaitTime", "Microseconds"},
	} {
		var err error
		if *h.p, err = ms.Handle(metricsNamespace, h.name, dims, h.unit); err != nil {
			return nil, err
		}
	}
	r.seriesMu.Lock()
	defer r.seriesMu.Unlock()
	var next map[variantKey]*variantSeries
	if old := r.series.Load(); old != nil && len(*old) < maxVariantSeries {
		if have := (*old)[k]; have != nil {
			return have, nil
		}
		next = make(map[variantKey]*variantSeries, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	} else {
		next = map[variantKey]*variantSeries{}
	}
	next[k] = vs
	r.series.Store(&next)
	return vs, nil
}

func (r *invocationMetrics) RecordInvocation(inv hosting.Invocation) {
	if err := r.recordInvocation(inv); err != nil {
		r.log.Warn("record invocation metrics", "endpoint", inv.Endpoint, "err", err)
	}
}

func (r *invocationMetrics) recordInvocation(inv hosting.Invocation) error {
	vs, err := r.seriesOf(inv.Owner, inv.Endpoint, inv.Variant)
	if err != nil {
		return err
	}
	flag := func(c hosting.StatusClass) float64 {
		if inv.Class == c {
			return 1
		}
		return 0
	}
	now := r.now()
	put := func(h *metrics.Handle, v float64) {
		if err == nil {
			err = h.Put(v, now)
		}
	}
	errors4XX, errors5XX := flag(hosting.Status4XX), flag(hosting.Status5XX)
	if inv.Class == hosting.StatusModelError {
		// The container's own 4xx and 5xx answers count as AWS counts
		// them: "the model returned a 4xx (5xx) HTTP response code".
		switch inv.ModelStatus / 100 {
		case 4:
			errors4XX = 1
		case 5:
			errors5XX = 1
		}
	}
	put(vs.errors4XX, errors4XX)
	put(vs.errors5XX, errors5XX)
	put(vs.modelErrors, flag(hosting.StatusModelError))
	if inv.Instance != "" { // the request reached a model
		n := inv.InstancesInService
		if n <= 0 && r.m != nil {
			n = r.m.instanceCount(inv.Owner, inv.Endpoint, inv.Variant)
		}
		perInstance := 1.0
		if n > 0 {
			perInstance = 1 / float64(n)
		}
		put(vs.invocations, 1)
		put(vs.perInstance, perInstance)
		put(vs.modelLatency, float64(inv.ModelLatencyMicros))
	}
	put(vs.overhead, float64(inv.OverheadLatencyMicros))
	if inv.TargetModel != "" {
		if inv.Instance != "" {
			hit := 0.0
			if inv.ModelCacheHit {
				hit = 1
			}
			put(vs.modelCacheHit, hit)
		}
		if inv.ModelLoadingWaitMicros > 0 {
			put(vs.modelLoadingWait, float64(inv.ModelLoadingWaitMicros))
		}
	}
	return err
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
	if err := r.metricsOf(e.Owner).Put(metricsNamespace, modelEventMetrics[e.Kind], dims, float64(e.Duration.Microseconds()), "Microseconds", r.now()); err != nil {
		r.log.Warn("record model metrics", "endpoint", e.Endpoint, "err", err)
	}
}

func (r *invocationMetrics) RecordInstanceStats(stats []hosting.InstanceStats) {
	for _, st := range stats {
		ms := r.metricsOf(st.Owner)
		dims := []metrics.Dimension{{Name: dimEndpoint, Value: st.Endpoint}, {Name: dimVariant, Value: st.Variant}}
		samples := []metrics.Sample{{Name: "ConcurrentRequestsPerModel", Value: st.ConcurrentRequests, Unit: "None"}}
		if st.MultiModel && st.Start.Equal(st.Start.Truncate(time.Minute)) {
			samples = append(samples, metrics.Sample{Name: "LoadedModelCount", Value: float64(st.LoadedModels), Unit: "None"})
		}
		if err := ms.PutBatch(metricsNamespace, dims, st.Start, samples); err != nil {
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
		if err := ms.PutBatch(instanceNamespace, dims, st.Start, util); err != nil {
			r.log.Warn("record instance metrics", "endpoint", st.Endpoint, "err", err)
		}
	}
}
