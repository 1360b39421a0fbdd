package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/backend"
	"github.com/inferscale/inferscale/internal/backend/local"
	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/hosting"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/modelserver"
	"github.com/inferscale/inferscale/internal/store"
)

// Endpoints. CreateEndpoint resolves the configuration and its models into
// a plan (what each variant runs, on which instance type, how many
// instances, which weight), stores the endpoint Creating and hands it to
// RunEndpoints, which builds a hosting.Endpoint from the plan and runs it:
// instances are model-server processes on the backend. A watcher stores
// the endpoint's status as it changes (Creating → InService, Updating,
// Failed). DescribeEndpoint reads the live status; the stored one is what a
// restarted server resumes from: RunEndpoints relaunches every endpoint
// that is not Failed. DeleteEndpoint stops the instances, then removes the
// endpoint.

// HostingOptions configures how a Service runs endpoints (RunEndpoints).
// The zero value works; the catalog and the sample model server's command
// are those of JobOptions.
type HostingOptions struct {
	// Backend runs the instances. Nil means a local backend (local.New),
	// created by RunEndpoints and closed when it returns.
	Backend backend.Launcher
	// Endpoint tunes health checks, launch back-off and the like.
	Endpoint hosting.Options
	// Gateway tunes InvokeEndpoint; its Recorder is set from Metrics.
	Gateway hosting.GatewayConfig
	// Metrics, if set, receives the AWS/SageMaker invocation metrics of
	// every InvokeEndpoint, the multi-model metrics, and every instance's
	// ConcurrentRequestsPerModel (AWS/SageMaker) and CPU, memory and disk
	// utilization (/aws/sagemaker/Endpoints), sampled as Endpoint
	// (hosting.Options) says.
	Metrics *metrics.Store
	// WorkDir holds each running endpoint's model data. Empty means a
	// directory under os.TempDir().
	WorkDir string
	// Now is the clock of status timestamps and metrics; nil means
	// time.Now.
	Now func() time.Time
	// InstanceQuota is how many instances of each instance type the
	// endpoints of an account and region may have, as SageMaker's quotas
	// "TYPE for endpoint usage" (see quota.go); 0 means
	// DefaultInstanceQuota.
	InstanceQuota int
}

// statusPoll is how often a running endpoint's status is compared with the
// stored one.
const statusPoll = 200 * time.Millisecond

// ProductionVariantSummary is a variant of a described endpoint.
type ProductionVariantSummary struct {
	VariantName          string          `json:"VariantName"`
	DeployedImages       []DeployedImage `json:"DeployedImages,omitempty"`
	CurrentWeight        *float64        `json:"CurrentWeight,omitempty"`
	DesiredWeight        *float64        `json:"DesiredWeight,omitempty"`
	CurrentInstanceCount *int32          `json:"CurrentInstanceCount,omitempty"`
	DesiredInstanceCount *int32          `json:"DesiredInstanceCount,omitempty"`
}

// DeployedImage is the image a variant runs.
type DeployedImage struct {
	SpecifiedImage string `json:"SpecifiedImage,omitempty"`
	ResolvedImage  string `json:"ResolvedImage,omitempty"`
}

// Endpoint is the DescribeEndpoint output.
type Endpoint struct {
	EndpointName       string                     `json:"EndpointName"`
	EndpointArn        string                     `json:"EndpointArn"`
	EndpointConfigName string                     `json:"EndpointConfigName,omitempty"`
	ProductionVariants []ProductionVariantSummary `json:"ProductionVariants,omitempty"`
	EndpointStatus     string                     `json:"EndpointStatus"`
	FailureReason      string                     `json:"FailureReason,omitempty"`
	CreationTime       awstime.Timestamp          `json:"CreationTime"`
	LastModifiedTime   awstime.Timestamp          `json:"LastModifiedTime"`
	// PendingDeploymentSummary is set while an update is in progress.
	PendingDeploymentSummary *pendingDeploymentSummary `json:"PendingDeploymentSummary,omitempty"`
	DataCaptureConfig        *dataCaptureSummary       `json:"DataCaptureConfig,omitempty"`
}

// variantPlan is what a variant runs, resolved when the endpoint is
// created so that later changes to its configuration or models do not
// change what a restart relaunches.
type variantPlan struct {
	VariantName   string        `json:"VariantName"`
	Container     containerSpec `json:"Container"`
	InstanceType  string        `json:"InstanceType"`
	InstanceCount int           `json:"DesiredInstanceCount"`
	Weight        float64       `json:"DesiredWeight"`
	Routing       string        `json:"RoutingStrategy,omitempty"`
}

// endpointRecord is the stored document of an endpoint: its description as
// last seen, and its plan.
type endpointRecord struct {
	Endpoint
	Plan    []variantPlan      `json:"Plan"`
	Capture *DataCaptureConfig `json:"Capture,omitempty"` // of the config in Plan
	Pending *pendingUpdate     `json:"Pending,omitempty"` // an UpdateEndpoint in progress
}

type createEndpointInput struct {
	EndpointName       string `json:"EndpointName"`
	EndpointConfigName string `json:"EndpointConfigName"`
	DeploymentConfig   Opaque `json:"DeploymentConfig,omitempty"`
	Tags               []Tag  `json:"Tags,omitempty"`
}

type endpointArnOutput struct {
	EndpointArn string `json:"EndpointArn"`
}

type endpointRef struct {
	EndpointName string `json:"EndpointName"`
}

type listEndpointsInput struct {
	listParams
	LastModifiedTimeAfter  *awstime.Timestamp `json:"LastModifiedTimeAfter,omitempty"`
	LastModifiedTimeBefore *awstime.Timestamp `json:"LastModifiedTimeBefore,omitempty"`
	StatusEquals           string             `json:"StatusEquals,omitempty"`
}

type endpointSummary struct {
	EndpointName     string            `json:"EndpointName"`
	EndpointArn      string            `json:"EndpointArn"`
	CreationTime     awstime.Timestamp `json:"CreationTime"`
	LastModifiedTime awstime.Timestamp `json:"LastModifiedTime"`
	EndpointStatus   string            `json:"EndpointStatus"`
}

type listEndpointsOutput struct {
	Endpoints []endpointSummary `json:"Endpoints"`
	NextToken string            `json:"NextToken,omitempty"`
}

type desiredWeightAndCapacity struct {
	VariantName            string   `json:"VariantName"`
	DesiredWeight          *float64 `json:"DesiredWeight,omitempty"`
	DesiredInstanceCount   *int32   `json:"DesiredInstanceCount,omitempty"`
	ServerlessUpdateConfig Opaque   `json:"ServerlessUpdateConfig,omitempty"`
}

type updateWeightsInput struct {
	EndpointName                string                     `json:"EndpointName"`
	DesiredWeightsAndCapacities []desiredWeightAndCapacity `json:"DesiredWeightsAndCapacities"`
}

func (s *Service) createEndpoint(ctx context.Context, req *api.Request, in *createEndpointInput) (*endpointArnOutput, error) {
	sc := scopeOf(req)
	if len(in.DeploymentConfig) > 0 {
		return nil, errDeploymentConfig
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	cfg, plan, err := s.planConfig(ctx, sc, in.EndpointConfigName)
	if err != nil {
		return nil, err
	}
	m := s.endpoints()
	m.quotaMu.Lock()
	defer m.quotaMu.Unlock()
	arn := kindEndpoint.arn(sc, in.EndpointName)
	if _, err := s.Store.Get(ctx, kindEndpoint.key(sc, in.EndpointName)); err == nil {
		return nil, kindEndpoint.exists(arn)
	}
	delta := map[string]int{}
	addUsage(delta, plan, 1)
	if err := s.checkQuota(ctx, sc, delta); err != nil {
		return nil, err
	}
	at := now(req)
	rec := endpointRecord{
		Endpoint: Endpoint{
			EndpointName:       in.EndpointName,
			EndpointArn:        arn,
			EndpointConfigName: cfg.EndpointConfigName,
			EndpointStatus:     string(hosting.StatusCreating),
			CreationTime:       awstime.Timestamp{Time: at},
			LastModifiedTime:   awstime.Timestamp{Time: at},
		},
		Plan:    plan,
		Capture: cfg.DataCaptureConfig,
	}
	rec.ProductionVariants = planSummaries(plan, nil)
	r, err := newResource(kindEndpoint, sc, rec.EndpointName, rec.EndpointArn, at, &rec)
	if err != nil {
		return nil, err
	}
	r.Status = rec.EndpointStatus
	if err := kindEndpoint.mapErr(s.Store.Create(ctx, r, toStoreTags(in.Tags)...), rec.EndpointArn); err != nil {
		return nil, err
	}
	m.start(r.Key)
	return &endpointArnOutput{EndpointArn: rec.EndpointArn}, nil
}

// planConfig reads the endpoint configuration called name and plans it.
func (s *Service) planConfig(ctx context.Context, sc scope, name string) (*EndpointConfig, []variantPlan, error) {
	cfg, _, err := get[EndpointConfig](ctx, s.Store, kindEndpointConfig, sc, name)
	if err != nil {
		return nil, nil, err
	}
	plan, err := s.planEndpoint(ctx, sc, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, plan, nil
}

// planEndpoint resolves each variant of cfg into what it runs, checking
// that its model's image can run on this host and, for a multi-model one,
// that its ModelDataUrl is a prefix this host can read.
func (s *Service) planEndpoint(ctx context.Context, sc scope, cfg *EndpointConfig) ([]variantPlan, error) {
	var plan []variantPlan
	for _, v := range cfg.ProductionVariants {
		m, err := s.LookupModel(ctx, sc.account, sc.region, v.ModelName)
		if err != nil {
			return nil, err
		}
		c, err := s.modelContainer(ctx, sc, m)
		if err != nil {
			return nil, err
		}
		if _, _, err := parseImage(fmt.Sprintf("Image of model %s", m.ModelArn), c.Image); err != nil {
			return nil, err
		}
		if c.multiModel() {
			if err := checkModelPrefix(c.ModelDataURL); err != nil {
				return nil, err
			}
		}
		p := variantPlan{VariantName: v.VariantName, Container: c, InstanceType: v.InstanceType, Weight: 1}
		if v.InitialInstanceCount != nil {
			p.InstanceCount = int(*v.InitialInstanceCount)
		}
		if v.InitialVariantWeight != nil {
			p.Weight = *v.InitialVariantWeight
		}
		if v.RoutingConfig != nil {
			p.Routing = v.RoutingConfig.RoutingStrategy
		}
		plan = append(plan, p)
	}
	return plan, nil
}

// modelContainer is the container a model runs: its only container, or
// the one of the model package it names (with the model's environment
// added), as for recommendation jobs.
func (s *Service) modelContainer(ctx context.Context, sc scope, m *Model) (containerSpec, error) {
	if err := m.checkSingleContainer(); err != nil {
		return containerSpec{}, err
	}
	cs := m.containers()
	if len(cs) == 0 {
		return containerSpec{}, api.Errorf(api.KindInvalid, "Model %s has no container.", m.ModelArn)
	}
	mc := cs[0]
	if mc.ModelPackageName == "" {
		return containerSpec{Image: mc.Image, Mode: mc.Mode, ModelDataURL: mc.ModelDataURL, Environment: mc.Environment}, nil
	}
	p, err := s.LookupModelPackage(ctx, sc.account, sc.region, mc.ModelPackageName)
	if err != nil {
		return containerSpec{}, err
	}
	spec := p.InferenceSpecification
	if spec == nil || len(spec.Containers) == 0 {
		return containerSpec{}, api.Errorf(api.KindInvalid, "Model package %s has no InferenceSpecification.Containers.", p.ModelPackageArn)
	}
	pc := spec.Containers[0]
	c := containerSpec{Image: pc.Image, Mode: mc.Mode, ModelDataURL: pc.ModelDataURL, Environment: map[string]string{}}
	if mc.Mode == modeMultiModel && mc.ModelDataURL != "" {
		c.ModelDataURL = mc.ModelDataURL // the model's prefix, not the package's artifact
	}
	for k, v := range pc.Environment {
		c.Environment[k] = v
	}
	for k, v := range mc.Environment {
		c.Environment[k] = v
	}
	return c, nil
}

// planSummaries describes the variants of a plan; live, when not nil, gives
// their current state.
func planSummaries(plan []variantPlan, live *hosting.EndpointDescription) []ProductionVariantSummary {
	out := make([]ProductionVariantSummary, 0, len(plan))
	for _, p := range plan {
		v := ProductionVariantSummary{
			VariantName:          p.VariantName,
			DeployedImages:       []DeployedImage{{SpecifiedImage: p.Container.Image, ResolvedImage: p.Container.Image}},
			DesiredWeight:        ptr(p.Weight),
			DesiredInstanceCount: ptr(int32(p.InstanceCount)),
		}
		if live != nil {
			for _, d := range live.Variants {
				if d.Name == p.VariantName {
					v.CurrentWeight = ptr(d.Weight)
					v.CurrentInstanceCount = ptr(int32(d.CurrentInstanceCount))
					v.DesiredWeight = ptr(d.Weight)
					v.DesiredInstanceCount = ptr(int32(d.DesiredInstanceCount))
				}
			}
		}
		out = append(out, v)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// checkSingleContainer fails for a model that endpoints and jobs cannot
// run here: an inference pipeline (several Containers), whose containers
// SageMaker chains or invokes directly.
func (m *Model) checkSingleContainer() error {
	if n := len(m.containers()); n > 1 {
		return api.Errorf(api.KindInvalid, "Model %s has %d Containers: inference pipelines (models with more than one container) are not supported by this server; "+
			"use a model with one container (PrimaryContainer).", m.ModelName, n)
	}
	return nil
}

func (s *Service) describeEndpoint(ctx context.Context, req *api.Request, in *endpointRef) (*Endpoint, error) {
	sc := scopeOf(req)
	rec, r, err := get[endpointRecord](ctx, s.Store, kindEndpoint, sc, in.EndpointName)
	if err != nil {
		return nil, err
	}
	out := rec.Endpoint
	out.PendingDeploymentSummary = nil
	d, running := s.endpoints().describe(r.Key)
	out.DataCaptureConfig = rec.Capture.summary(running)
	if running {
		out.EndpointStatus = string(d.Status)
		if d.FailureReason != "" || d.Status != hosting.StatusInService {
			out.FailureReason = d.FailureReason
		}
		out.ProductionVariants = planSummaries(rec.Plan, &d)
	} else if out.EndpointStatus != string(hosting.StatusFailed) {
		// Not running (yet): after a restart, its instances are being
		// launched again, and it keeps its status as SageMaker's do
		// while instances are replaced.
		out.ProductionVariants = planSummaries(rec.Plan, &hosting.EndpointDescription{})
	}
	if p := rec.Pending; p != nil && slices.Contains([]string{string(hosting.StatusInService), string(hosting.StatusCreating), string(hosting.StatusUpdating)}, out.EndpointStatus) {
		// The previous configuration serves (or, after a restart, is
		// launched again) while the new one launches.
		out.EndpointStatus = string(hosting.StatusUpdating)
		out.PendingDeploymentSummary = &pendingDeploymentSummary{
			EndpointConfigName: p.EndpointConfigName,
			ProductionVariants: planSummaries(p.Plan, nil),
			StartTime:          p.StartTime,
		}
	}
	return &out, nil
}

func (s *Service) listEndpoints(ctx context.Context, req *api.Request, in *listEndpointsInput) (*listEndpointsOutput, error) {
	sc := scopeOf(req)
	q, err := in.query(kindEndpoint, sc, listOrder{sortBy: "CreationTime", descending: true})
	if err != nil {
		return nil, err
	}
	modifiedBetween(&q, in.LastModifiedTimeAfter, in.LastModifiedTimeBefore)
	q.Status = in.StatusEquals
	m := s.endpoints()
	es, next, err := list(ctx, s.Store, q, func(e *endpointSummary) endpointSummary {
		if d, ok := m.describe(kindEndpoint.key(sc, e.EndpointName)); ok {
			e.EndpointStatus = string(d.Status)
		}
		return *e
	})
	if err != nil {
		return nil, err
	}
	return &listEndpointsOutput{Endpoints: es, NextToken: next}, nil
}

func (s *Service) deleteEndpoint(ctx context.Context, req *api.Request, in *endpointRef) (*struct{}, error) {
	sc := scopeOf(req)
	key := kindEndpoint.key(sc, in.EndpointName)
	if _, err := s.Store.Get(ctx, key); err != nil {
		return nil, kindEndpoint.mapErr(err, kindEndpoint.arn(sc, in.EndpointName))
	}
	// Deleting from now on, in the store too: a server that stops before
	// the endpoint is gone finishes deleting it when it starts again
	// (RunEndpoints) instead of launching it again.
	if err := markDeleting(ctx, s.Store, key, req.Time); err != nil {
		return nil, kindEndpoint.mapErr(err, kindEndpoint.arn(sc, in.EndpointName))
	}
	// Stop the instances first: once the endpoint is gone from the store,
	// nothing would stop them.
	if err := s.endpoints().stop(ctx, key); err != nil {
		return nil, err
	}
	return nil, remove(ctx, s.Store, kindEndpoint, sc, in.EndpointName)
}

func (s *Service) updateWeightsAndCapacities(ctx context.Context, req *api.Request, in *updateWeightsInput) (*endpointArnOutput, error) {
	sc := scopeOf(req)
	arn := kindEndpoint.arn(sc, in.EndpointName)
	key := kindEndpoint.key(sc, in.EndpointName)
	m := s.endpoints()
	m.quotaMu.Lock()
	defer m.quotaMu.Unlock()
	current, _, err := get[endpointRecord](ctx, s.Store, kindEndpoint, sc, in.EndpointName)
	if err != nil {
		return nil, err
	}
	if err := m.checkUpdatable(key, current, arn); err != nil {
		return nil, err
	}
	ep := m.endpoint(key)
	if ep == nil { // deleted meanwhile
		return nil, kindEndpoint.notFound(arn)
	}
	updates := make([]hosting.VariantUpdate, 0, len(in.DesiredWeightsAndCapacities))
	delta := map[string]int{}
	for _, d := range in.DesiredWeightsAndCapacities {
		if len(d.ServerlessUpdateConfig) > 0 {
			return nil, api.Errorf(api.KindInvalid, "Variant %s: serverless variants are not supported by this server.", d.VariantName)
		}
		if d.DesiredWeight == nil && d.DesiredInstanceCount == nil {
			return nil, api.Errorf(api.KindInvalid, "Variant %s: give DesiredWeight or DesiredInstanceCount.", d.VariantName)
		}
		u := hosting.VariantUpdate{VariantName: d.VariantName, DesiredWeight: d.DesiredWeight}
		if d.DesiredInstanceCount != nil {
			u.DesiredInstanceCount = ptr(int(*d.DesiredInstanceCount))
			for _, p := range current.Plan {
				if p.VariantName == d.VariantName {
					delta[p.InstanceType] += *u.DesiredInstanceCount - p.InstanceCount
				}
			}
		}
		updates = append(updates, u)
	}
	if err := s.checkQuota(ctx, sc, delta); err != nil {
		return nil, err
	}
	if err := ep.SetWeightsAndCapacities(updates); err != nil {
		return nil, hostingError(err)
	}
	// Store the new desired state, which a restart relaunches.
	_, err = mutate(ctx, s.Store, kindEndpoint, sc, in.EndpointName, now(req), func(rec *endpointRecord) error {
		for _, u := range updates {
			for i := range rec.Plan {
				p := &rec.Plan[i]
				if p.VariantName != u.VariantName {
					continue
				}
				if u.DesiredWeight != nil {
					p.Weight = *u.DesiredWeight
				}
				if u.DesiredInstanceCount != nil {
					p.InstanceCount = *u.DesiredInstanceCount
				}
			}
		}
		d := ep.Describe()
		rec.LastModifiedTime = awstime.Timestamp{Time: now(req)}
		rec.ProductionVariants = planSummaries(rec.Plan, &d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &endpointArnOutput{EndpointArn: arn}, nil
}

// hostingError maps the hosting package's errors to API errors.
func hostingError(err error) error {
	var (
		ve *hosting.ValidationError
		me *hosting.ModelError
		ue *hosting.ServiceUnavailableError
	)
	switch {
	case errors.As(err, &ve):
		return &api.Error{Kind: api.KindInvalid, Message: ve.Message, Err: err}
	case errors.As(err, &me):
		return &api.Error{Code: "ModelError", Status: 424, Message: me.Error(), Err: err, Fields: map[string]any{
			"OriginalStatusCode": me.OriginalStatusCode,
			"OriginalMessage":    me.OriginalMessage,
		}}
	case errors.As(err, &ue):
		return &api.Error{Kind: api.KindUnavailable, Message: ue.Message, Err: err}
	}
	return err
}

// endpointManager is the state the endpoint operations share with
// RunEndpoints: the endpoints that run, by store key.
type endpointManager struct {
	initOnce sync.Once

	// quotaMu serialises the operations that add instances, from their
	// quota check (checkQuota) to their write.
	quotaMu sync.Mutex

	mu      sync.Mutex
	running bool
	ctx     context.Context // RunEndpoints' while it runs
	wg      sync.WaitGroup  // one per live endpoint
	rt      *hostingRuntime
	live    map[store.Key]*liveEndpoint
	svc     *Service
}

// liveEndpoint is an endpoint that RunEndpoints runs.
type liveEndpoint struct {
	cancel context.CancelFunc
	done   chan struct{}
	update chan struct{} // an UpdateEndpoint waits (capacity 1)

	mu      sync.Mutex
	ep      *hosting.Endpoint // nil until built
	capture *captureWriter    // of ep; nil: no data capture
}

func (l *liveEndpoint) endpoint() *hosting.Endpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ep
}

// hostingRuntime is what running endpoints share.
type hostingRuntime struct {
	backend backend.Launcher
	catalog *catalog.Catalog
	sample  []string
	workDir string
	opts    hosting.Options
	gateway *hosting.Gateway
	now     func() time.Time
	log     *slog.Logger
}

func (s *Service) endpoints() *endpointManager {
	m := &s.hosting
	m.initOnce.Do(func() {
		m.live = map[store.Key]*liveEndpoint{}
		m.svc = s
	})
	return m
}

// RunEndpoints runs the endpoints until ctx ends: those in the store when
// it starts (after a restart, their instances are launched again) and those
// created while it runs. Then it stops every instance and returns. Only one
// RunEndpoints may run at a time.
func (s *Service) RunEndpoints(ctx context.Context) error {
	m := s.endpoints()
	rt, closeRuntime, err := s.newHostingRuntime()
	if err != nil {
		return err
	}
	defer closeRuntime()
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("run endpoints: already running")
	}
	m.running, m.ctx, m.rt = true, ctx, rt
	m.mu.Unlock()

	rs, err := s.Store.ListByStatus(ctx, kindEndpoint.name,
		string(hosting.StatusCreating), string(hosting.StatusInService), string(hosting.StatusUpdating))
	if err != nil {
		rt.log.Error("resume endpoints", "err", err)
	}
	for _, r := range rs {
		m.start(r.Key)
	}
	// Endpoints whose deletion a stop interrupted: their instances went
	// with the server that ran them.
	rs, err = s.Store.ListByStatus(ctx, kindEndpoint.name, string(hosting.StatusDeleting))
	if err != nil {
		rt.log.Error("finish deleting endpoints", "err", err)
	}
	for _, r := range rs {
		os.RemoveAll(endpointDir(rt, r.Key))
		if err := s.Store.Delete(ctx, r.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
			rt.log.Error("finish deleting endpoint", "endpoint", r.Key.Name, "err", err)
			continue
		}
		rt.log.Info("finished deleting endpoint", "endpoint", r.Key.Name)
	}
	<-ctx.Done()

	m.mu.Lock()
	m.running = false
	m.mu.Unlock()
	m.wg.Wait() // every endpoint stops its instances on ctx's end
	return nil
}

func (s *Service) newHostingRuntime() (*hostingRuntime, func(), error) {
	o := s.Hosting
	rt := &hostingRuntime{sample: s.Jobs.SampleModelCommand, workDir: o.WorkDir, opts: o.Endpoint, now: o.Now, log: s.Logger}
	if rt.log == nil {
		rt.log = slog.New(slog.DiscardHandler)
	}
	if rt.opts.Logger == nil {
		rt.opts.Logger = rt.log
	}
	if rt.now == nil {
		rt.now = time.Now
	}
	if rt.workDir == "" {
		rt.workDir = filepath.Join(os.TempDir(), "inferscale-endpoints")
	}
	if rt.sample == nil {
		self, err := os.Executable()
		if err != nil {
			return nil, nil, fmt.Errorf("run endpoints: find the sample model server: %w", err)
		}
		rt.sample = []string{self, "model-server"}
	}
	var err error
	if rt.catalog, err = s.Jobs.catalog(); err != nil {
		return nil, nil, fmt.Errorf("run endpoints: %w", err)
	}
	gc := o.Gateway
	if o.Metrics != nil {
		im := &invocationMetrics{store: o.Metrics, now: rt.now, log: rt.log, m: s.endpoints()}
		gc.Recorder = im
		if rt.opts.Stats == nil {
			rt.opts.Stats = im
		}
	}
	rt.gateway = hosting.NewGateway(gc)
	rt.backend = o.Backend
	closeBackend := func() {}
	if rt.backend == nil {
		lb, err := local.New(rt.log)
		if err != nil {
			return nil, nil, fmt.Errorf("run endpoints: %w", err)
		}
		rt.backend = lb
		closeBackend = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := lb.Close(ctx); err != nil {
				rt.log.Error("close local backend", "err", err)
			}
		}
	}
	return rt, func() { rt.gateway.Close(); closeBackend() }, nil
}

// start runs the endpoint stored at key, unless it runs already or
// RunEndpoints does not run (it starts it when it does).
func (m *endpointManager) start(key store.Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running || m.live[key] != nil {
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	l := &liveEndpoint{cancel: cancel, done: make(chan struct{}), update: make(chan struct{}, 1)}
	m.live[key] = l
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(l.done)
		defer cancel()
		m.run(ctx, key, l, m.rt)
		m.mu.Lock()
		if m.live[key] == l {
			delete(m.live, key)
		}
		m.mu.Unlock()
	}()
}

// stop stops the endpoint at key, if it runs, and waits until its instances
// have stopped (or ctx ends).
func (m *endpointManager) stop(ctx context.Context, key store.Key) error {
	m.mu.Lock()
	l := m.live[key]
	m.mu.Unlock()
	if l == nil {
		return nil
	}
	if ep := l.endpoint(); ep != nil {
		if err := ep.Delete(ctx); err != nil {
			return err
		}
	}
	l.cancel()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("delete endpoint %s: %w", key.Name, ctx.Err())
	}
}

// endpoint returns the running endpoint at key, or nil.
func (m *endpointManager) endpoint(key store.Key) *hosting.Endpoint {
	ep, _ := m.serving(key)
	return ep
}

// serving returns the running endpoint at key and its data capture, or
// nil.
func (m *endpointManager) serving(key store.Key) (*hosting.Endpoint, *captureWriter) {
	m.mu.Lock()
	l := m.live[key]
	m.mu.Unlock()
	if l == nil {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ep, l.capture
}

// describe returns the live description of the endpoint at key, if it
// runs.
func (m *endpointManager) describe(key store.Key) (hosting.EndpointDescription, bool) {
	ep := m.endpoint(key)
	if ep == nil {
		return hosting.EndpointDescription{}, false
	}
	return ep.Describe(), true
}

// instanceCount returns the instances in service of a variant of a
// running endpoint called name, of owner's account and region (see
// ownerScope; any, for ""), or 0 if there is none.
func (m *endpointManager) instanceCount(owner, name, variant string) int {
	account, region, scoped := ownerScope(owner)
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, l := range m.live {
		if k.Name != strings.ToLower(name) || scoped && (k.Account != account || k.Region != region) {
			continue
		}
		if ep := l.endpoint(); ep != nil && ep.Name() == name {
			if v := ep.Variant(variant); v != nil {
				return v.Describe().CurrentInstanceCount
			}
		}
	}
	return 0
}

// run builds the endpoint at key from its plan and runs it until ctx ends,
// storing its status as it changes and carrying out its updates (see
// UpdateEndpoint).
func (m *endpointManager) run(ctx context.Context, key store.Key, l *liveEndpoint, rt *hostingRuntime) {
	log := rt.log.With("endpoint", key.Name, "account", key.Account, "region", key.Region)
	s := m.svc
	r, err := s.Store.Get(ctx, key)
	if err != nil {
		log.Error("run endpoint", "err", err)
		return
	}
	rec, err := decode[endpointRecord](r)
	if err != nil {
		log.Error("run endpoint", "err", err)
		return
	}
	defer os.RemoveAll(endpointDir(rt, key))
	gen := 0
	// An endpoint that was in service before a restart stays so while its
	// instances launch again.
	resumed := rec.EndpointStatus == string(hosting.StatusInService) || rec.EndpointStatus == string(hosting.StatusUpdating)
	cur, err := rt.launch(ctx, generationDir(rt, key, gen), metricsOwner(key.Account, key.Region), rec, rec.Plan, rec.Capture, resumed)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("endpoint failed", "err", err)
			m.record(key, string(hosting.StatusFailed), err.Error(), nil)
		}
		return
	}
	defer func() { cur.stop() }()
	l.mu.Lock()
	l.ep, l.capture = cur.ep, cur.capture
	l.mu.Unlock()
	if rec.Pending != nil {
		m.update(key) // interrupted by a restart: again
	}

	last := rec.EndpointStatus
	updating := false // an update waits for the fleet to be in service
	tick := time.NewTicker(statusPoll)
	defer tick.Stop()
	for {
		select {
		case err := <-cur.done:
			cur.done <- err // for stop
			if err != nil {
				log.Warn("endpoint stopped", "err", err)
			}
			return
		case <-l.update:
			updating = true
		case <-tick.C:
		}
		d := cur.ep.Describe()
		if updating && d.Status == hosting.StatusInService && ctx.Err() == nil {
			updating = false
			gen++
			if cur, err = m.applyUpdate(ctx, key, l, rt, cur, gen); err != nil && ctx.Err() == nil {
				log.Error("endpoint update", "err", err)
			}
			// applyUpdate stored the status (and why an update failed).
			last = string(cur.ep.Describe().Status)
			continue
		}
		if string(d.Status) == last || d.Status == hosting.StatusDeleting || ctx.Err() != nil {
			continue
		}
		last = string(d.Status)
		log.Info("endpoint status", "status", last)
		m.record(key, last, d.FailureReason, &d)
	}
}

// markDeleting stores the endpoint at key as Deleting, at time at.
func markDeleting(ctx context.Context, st *store.Store, key store.Key, at time.Time) error {
	at = at.Truncate(time.Millisecond).UTC()
	_, err := st.Mutate(ctx, key, func(r *store.Resource) error {
		rec, err := decode[endpointRecord](*r)
		if err != nil {
			return err
		}
		rec.EndpointStatus, rec.LastModifiedTime = string(hosting.StatusDeleting), awstime.Timestamp{Time: at}
		r.Status, r.Updated = rec.EndpointStatus, at
		r.Doc, err = marshalDoc(rec)
		return err
	})
	return err
}

// endpointDir holds the model data of the endpoint at key.
func endpointDir(rt *hostingRuntime, key store.Key) string {
	return filepath.Join(rt.workDir, key.Account, key.Region, key.Name)
}

// generationDir holds the model data of the endpoint's gen-th fleet: its
// first, then one per update.
func generationDir(rt *hostingRuntime, key store.Key, gen int) string {
	return filepath.Join(endpointDir(rt, key), "fleet-"+strconv.Itoa(gen))
}

// record stores an endpoint's status.
func (m *endpointManager) record(key store.Key, status, reason string, d *hosting.EndpointDescription) {
	s := m.svc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at := m.rt.now().Truncate(time.Millisecond).UTC()
	_, err := s.Store.Mutate(ctx, key, func(r *store.Resource) error {
		rec, err := decode[endpointRecord](*r)
		if err != nil {
			return err
		}
		if rec.EndpointStatus == string(hosting.StatusDeleting) {
			status, reason = rec.EndpointStatus, rec.FailureReason // DeleteEndpoint's, to the end
		}
		if rec.Pending != nil && status == string(hosting.StatusInService) {
			status = string(hosting.StatusUpdating) // the previous fleet serves meanwhile
		}
		if rec.EndpointStatus != status || rec.FailureReason != reason {
			rec.LastModifiedTime = awstime.Timestamp{Time: at}
		}
		rec.EndpointStatus, rec.FailureReason = status, reason
		if d != nil {
			rec.ProductionVariants = planSummaries(rec.Plan, d)
		}
		r.Status, r.Updated = status, at
		r.Doc, err = marshalDoc(rec)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		m.rt.log.Error("store endpoint status", "endpoint", key.Name, "status", status, "err", err)
	}
}

// build prepares each variant's container in dir and returns the endpoint,
// whose metrics go to owner's account and region (see metricsOwner);
// resumed variants are in service from the start (hosting.VariantConfig).
func (rt *hostingRuntime) build(ctx context.Context, dir, owner string, rec *endpointRecord, resumed bool) (*hosting.Endpoint, error) {
	vcs := make([]hosting.VariantConfig, 0, len(rec.Plan))
	for _, p := range rec.Plan {
		it, err := rt.catalog.Lookup(p.InstanceType)
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", p.VariantName, err)
		}
		c := p.Container
		c.noPayloads = true
		vdir := filepath.Join(dir, p.VariantName)
		pm, err := c.prepare(ctx, vdir, rt.sample)
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", p.VariantName, err)
		}
		env := pm.model.Env
		var multi *hosting.MultiModelConfig
		if c.multiModel() {
			multi = &hosting.MultiModelConfig{Models: newModelRepository(c.ModelDataURL, filepath.Join(vdir, "models"))}
			if _, set := c.Environment[modelserver.EnvModelMemory]; !set {
				// The sample model server keeps its models' weights within
				// three quarters of the instance type's memory, answering
				// 507 beyond; other containers ignore this.
				env = append(slices.Clip(env), fmt.Sprintf("%s=%d", modelserver.EnvModelMemory, it.MemoryBytes()/4*3))
			}
		}
		vcs = append(vcs, hosting.VariantConfig{
			Name: p.VariantName,
			Spec: backend.Spec{
				Name:        rec.EndpointName + "-" + p.VariantName,
				Command:     pm.model.Command,
				Args:        pm.model.Args,
				Env:         env,
				URL:         pm.model.URL,
				CPUs:        it.VCPUs,
				MemoryBytes: it.MemoryBytes(),
			},
			InstanceCount: p.InstanceCount,
			Weight:        p.Weight,
			Routing:       hosting.RoutingStrategy(p.Routing),
			MultiModel:    multi,
			WorkDir:       vdir,
			InService:     resumed,
		})
	}
	opts := rt.opts
	opts.Owner = owner
	return hosting.NewEndpoint(rec.EndpointName, rt.backend, vcs, opts)
}

func marshalDoc(rec *endpointRecord) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode endpoint %s: %w", rec.EndpointName, err)
	}
	return b, nil
}
