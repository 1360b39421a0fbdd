package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/hosting"
	"github.com/inferscale/inferscale/internal/store"
)

// UpdateEndpoint moves an endpoint to another endpoint configuration, blue/
// green and all at once, as SageMaker does without a DeploymentConfig: the
// endpoint is Updating while the new configuration's instances launch
// beside the old ones, which go on serving; once every new variant is in
// service, invocations go to the new fleet and the old one drains and
// stops. If the new fleet fails, it is stopped and the endpoint stays on
// its previous configuration, InService, with a FailureReason saying why.
// An update in progress survives a restart: the server relaunches the
// previous configuration and tries again.

// pendingUpdate is an UpdateEndpoint in progress: the configuration the
// endpoint moves to, resolved as Plan is when it is asked for.
type pendingUpdate struct {
	EndpointConfigName string             `json:"EndpointConfigName"`
	Plan               []variantPlan      `json:"Plan"`
	Capture            *DataCaptureConfig `json:"Capture,omitempty"`
	StartTime          awstime.Timestamp  `json:"StartTime"`
}

// pendingDeploymentSummary is DescribeEndpoint's view of an update in
// progress.
type pendingDeploymentSummary struct {
	EndpointConfigName string                     `json:"EndpointConfigName"`
	ProductionVariants []ProductionVariantSummary `json:"ProductionVariants,omitempty"`
	StartTime          awstime.Timestamp          `json:"StartTime"`
}

type variantProperty struct {
	VariantPropertyType string `json:"VariantPropertyType"`
}

type updateEndpointInput struct {
	EndpointName                     string            `json:"EndpointName"`
	EndpointConfigName               string            `json:"EndpointConfigName"`
	RetainAllVariantProperties       *bool             `json:"RetainAllVariantProperties,omitempty"`
	ExcludeRetainedVariantProperties []variantProperty `json:"ExcludeRetainedVariantProperties,omitempty"`
	DeploymentConfig                 Opaque            `json:"DeploymentConfig,omitempty"`
	RetainDeploymentConfig           *bool             `json:"RetainDeploymentConfig,omitempty"`
}

// errDeploymentConfig refuses a DeploymentConfig, in CreateEndpoint as in
// UpdateEndpoint.
var errDeploymentConfig = api.Errorf(api.KindInvalid, "DeploymentConfig is not supported by this server: without it an update is blue/green, all at once.")

// updateTimeout bounds how long a new fleet may take to be in service.
const updateTimeout = 30 * time.Minute

func (s *Service) updateEndpoint(ctx context.Context, req *api.Request, in *updateEndpointInput) (*endpointArnOutput, error) {
	sc := scopeOf(req)
	arn := kindEndpoint.arn(sc, in.EndpointName)
	key := kindEndpoint.key(sc, in.EndpointName)
	if len(in.DeploymentConfig) > 0 {
		return nil, errDeploymentConfig
	}
	current, _, err := get[endpointRecord](ctx, s.Store, kindEndpoint, sc, in.EndpointName)
	if err != nil {
		return nil, err
	}
	cfg, plan, err := s.planConfig(ctx, sc, in.EndpointConfigName)
	if err != nil {
		return nil, err
	}
	excluded := map[string]bool{}
	for _, p := range in.ExcludeRetainedVariantProperties {
		excluded[p.VariantPropertyType] = true
	}
	if len(excluded) > 0 && (in.RetainAllVariantProperties == nil || !*in.RetainAllVariantProperties) {
		return nil, api.Errorf(api.KindInvalid, "ExcludeRetainedVariantProperties applies only with RetainAllVariantProperties set to true.")
	}
	capture := cfg.DataCaptureConfig
	if in.RetainAllVariantProperties != nil && *in.RetainAllVariantProperties && !excluded["DataCaptureConfig"] {
		capture = current.Capture
	}
	if in.RetainAllVariantProperties != nil && *in.RetainAllVariantProperties {
		// Variants of the same name keep the capacity and weight they
		// have now (those UpdateEndpointWeightsAndCapacities or scaling
		// set), unless excluded.
		for i := range plan {
			for _, old := range current.Plan {
				if old.VariantName != plan[i].VariantName {
					continue
				}
				if !excluded["DesiredInstanceCount"] {
					plan[i].InstanceCount = old.InstanceCount
				}
				if !excluded["DesiredWeight"] {
					plan[i].Weight = old.Weight
				}
			}
		}
	}
	m := s.endpoints()
	m.quotaMu.Lock()
	defer m.quotaMu.Unlock()
	if err := m.checkUpdatable(key, current, arn); err != nil {
		return nil, err
	}
	// The new fleet runs beside the current one until it is in service.
	delta := map[string]int{}
	addUsage(delta, plan, 1)
	if err := s.checkQuota(ctx, sc, delta); err != nil {
		return nil, err
	}
	at := now(req).Truncate(time.Millisecond).UTC()
	_, err = s.Store.Mutate(ctx, key, func(r *store.Resource) error {
		rec, err := decode[endpointRecord](*r)
		if err != nil {
			return err
		}
		if err := m.checkUpdatable(key, rec, arn); err != nil {
			return err
		}
		rec.Pending = &pendingUpdate{EndpointConfigName: cfg.EndpointConfigName, Plan: plan, Capture: capture, StartTime: awstime.Timestamp{Time: at}}
		rec.EndpointStatus, rec.FailureReason = string(hosting.StatusUpdating), ""
		rec.LastModifiedTime = awstime.Timestamp{Time: at}
		r.Status, r.Updated = rec.EndpointStatus, at
		r.Doc, err = marshalDoc(rec)
		return err
	})
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, kindEndpoint.mapErr(err, arn)
	}
	m.update(key)
	return &endpointArnOutput{EndpointArn: arn}, nil
}

// checkUpdatable fails unless the endpoint at key, stored as rec, runs, is
// in service and has no update in progress: UpdateEndpoint and
// UpdateEndpointWeightsAndCapacities act on such endpoints only. A Failed
// endpoint cannot be updated at all.
func (m *endpointManager) checkUpdatable(key store.Key, rec *endpointRecord, arn string) error {
	ep := m.endpoint(key)
	status := hosting.Status(rec.EndpointStatus)
	if ep != nil {
		status = ep.Describe().Status
	}
	switch {
	case status == hosting.StatusFailed:
		return api.Errorf(api.KindInvalid, `Cannot update failed endpoint "%s". Delete it and create it again.`, arn)
	case ep == nil || status != hosting.StatusInService || rec.Pending != nil:
		return api.Errorf(api.KindInvalid, `Cannot update in-progress endpoint "%s".`, arn)
	}
	return nil
}

// update tells the endpoint at key, if it runs, that an update waits.
func (m *endpointManager) update(key store.Key) {
	m.mu.Lock()
	l := m.live[key]
	m.mu.Unlock()
	if l != nil {
		select {
		case l.update <- struct{}{}:
		default: // already told
		}
	}
}

// fleet is one configuration's hosting.Endpoint running, with what stops
// it and the directory of its model data.
type fleet struct {
	ep      *hosting.Endpoint
	capture *captureWriter // nil: no data capture
	cancel  context.CancelFunc
	done    chan error // Run's result
	dir     string
	// endCapture ends the capture writer, once the fleet has stopped
	// taking invocations.
	endCapture context.CancelFunc
}

// launch builds the fleet of plan in dir and starts running it, and its
// data capture as capture says; a resumed fleet is in service from the
// start (see build).
func (rt *hostingRuntime) launch(ctx context.Context, dir, owner string, rec *endpointRecord, plan []variantPlan, capture *DataCaptureConfig, resumed bool) (*fleet, error) {
	r := *rec
	r.Plan = plan
	ep, err := rt.build(ctx, dir, owner, &r, resumed)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The writer outlives the fleet's ctx: stop ends it after the last
	// invocation.
	cctx, endCapture := context.WithCancel(context.WithoutCancel(ctx))
	ctx, cancel := context.WithCancel(ctx)
	f := &fleet{ep: ep, cancel: cancel, done: make(chan error, 1), dir: dir, endCapture: endCapture,
		capture: startCapture(cctx, capture, rec.EndpointName, rt.log)}
	go func() { f.done <- ep.Run(ctx) }()
	return f, nil
}

// stop stops the fleet's instances (each drains its requests first), then
// its data capture, and removes its model data.
func (f *fleet) stop() error {
	f.cancel()
	err := <-f.done
	f.done <- err // stop may be called again
	f.endCapture()
	f.capture.wait()
	os.RemoveAll(f.dir)
	return err
}

// applyUpdate runs the endpoint's pending update, if any: it launches the
// new fleet beside cur and returns the fleet that serves afterwards, the
// new one or cur. It returns cur and ctx's error if ctx ends first; the
// update stays pending then.
func (m *endpointManager) applyUpdate(ctx context.Context, key store.Key, l *liveEndpoint, rt *hostingRuntime, cur *fleet, gen int) (*fleet, error) {
	log := rt.log.With("endpoint", key.Name, "account", key.Account, "region", key.Region)
	r, err := m.svc.Store.Get(ctx, key)
	if err != nil {
		return cur, fmt.Errorf("read endpoint: %w", err)
	}
	rec, err := decode[endpointRecord](r)
	if err != nil || rec.Pending == nil {
		return cur, err
	}
	p := rec.Pending
	log.Info("endpoint update", "config", p.EndpointConfigName)
	next, err := rt.launch(ctx, generationDir(rt, key, gen), metricsOwner(key.Account, key.Region), rec, p.Plan, p.Capture, false)
	if err == nil {
		err = waitInService(ctx, next)
		if err != nil {
			next.stop()
		}
	}
	if ctx.Err() != nil {
		return cur, ctx.Err()
	}
	if err != nil {
		log.Warn("endpoint update failed", "config", p.EndpointConfigName, "err", err)
		m.finishUpdate(key, nil, fmt.Sprintf("Update to endpoint configuration %s failed: %v. The endpoint runs its previous configuration.", p.EndpointConfigName, err), cur.ep)
		return cur, nil
	}
	// Invocations go to the new fleet from here; the old one finishes
	// what it has.
	l.mu.Lock()
	l.ep, l.capture = next.ep, next.capture
	l.mu.Unlock()
	m.finishUpdate(key, p, "", next.ep)
	if err := cur.stop(); err != nil {
		log.Warn("previous fleet stopped", "err", err)
	}
	log.Info("endpoint updated", "config", p.EndpointConfigName)
	return next, nil
}

// waitInService waits until every variant of f is in service. It fails if
// f fails or stops, or after updateTimeout.
func waitInService(ctx context.Context, f *fleet) error {
	tick := time.NewTicker(statusPoll)
	defer tick.Stop()
	deadline := time.NewTimer(updateTimeout)
	defer deadline.Stop()
	for {
		d := f.ep.Describe()
		switch d.Status {
		case hosting.StatusInService:
			return nil
		case hosting.StatusFailed:
			return errors.New(d.FailureReason)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-f.done:
			f.done <- err // for stop
			return fmt.Errorf("stopped while launching: %v", err)
		case <-deadline.C:
			return fmt.Errorf("not in service after %v", updateTimeout)
		case <-tick.C:
		}
	}
}

// finishUpdate stores the end of an update: with p, the endpoint now runs
// p's configuration; without, the update failed for reason. ep is the
// fleet that serves.
func (m *endpointManager) finishUpdate(key store.Key, p *pendingUpdate, reason string, ep *hosting.Endpoint) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at := m.rt.now().Truncate(time.Millisecond).UTC()
	_, err := m.svc.Store.Mutate(ctx, key, func(r *store.Resource) error {
		rec, err := decode[endpointRecord](*r)
		if err != nil {
			return err
		}
		if p != nil {
			rec.Plan, rec.Capture, rec.EndpointConfigName = p.Plan, p.Capture, p.EndpointConfigName
		}
		d := ep.Describe()
		rec.Pending = nil
		rec.EndpointStatus, rec.FailureReason = string(d.Status), reason
		rec.LastModifiedTime = awstime.Timestamp{Time: at}
		rec.ProductionVariants = planSummaries(rec.Plan, &d)
		r.Status, r.Updated = rec.EndpointStatus, at
		r.Doc, err = marshalDoc(rec)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		m.rt.log.Error("store endpoint update", "endpoint", key.Name, "err", err)
	}
}
