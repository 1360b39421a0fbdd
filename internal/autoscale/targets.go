package autoscale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/store"
)

type registerTargetInput struct {
	ServiceNamespace  string            `json:"ServiceNamespace"`
	ResourceId        string            `json:"ResourceId"`
	ScalableDimension string            `json:"ScalableDimension"`
	MinCapacity       *int32            `json:"MinCapacity,omitempty"`
	MaxCapacity       *int32            `json:"MaxCapacity,omitempty"`
	RoleARN           string            `json:"RoleARN,omitempty"`
	SuspendedState    *suspendedInput   `json:"SuspendedState,omitempty"`
	Tags              map[string]string `json:"Tags,omitempty"`
}

type registerTargetOutput struct {
	ScalableTargetARN string `json:"ScalableTargetARN,omitempty"`
}

type describeTargetsInput struct {
	ServiceNamespace  string   `json:"ServiceNamespace"`
	ResourceIds       []string `json:"ResourceIds,omitempty"`
	ScalableDimension string   `json:"ScalableDimension,omitempty"`
	MaxResults        *int32   `json:"MaxResults,omitempty"`
	NextToken         string   `json:"NextToken,omitempty"`
}

type describeTargetsOutput struct {
	ScalableTargets []ScalableTarget `json:"ScalableTargets"`
	NextToken       string           `json:"NextToken,omitempty"`
}

type targetInput struct {
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceId        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
}

// checkResource fails with a ValidationException unless the variant
// exists in hosting.
func (s *Service) checkResource(ctx context.Context, t targetRef) error {
	if s.Capacity == nil {
		return errors.New("autoscale: no Capacity configured")
	}
	if _, _, err := s.Capacity.Capacity(ctx, t.account, t.region, t.resourceID); err != nil {
		if errors.Is(err, ErrResourceNotFound) {
			return api.Errorf(api.KindInvalid, "The SageMaker endpoint variant %s does not exist: endpoint %s has no variant %s.",
				t.resourceID, t.variant.Endpoint, t.variant.Variant)
		}
		return fmt.Errorf("read capacity of %s: %w", t.resourceID, err)
	}
	return nil
}

func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return &api.Error{Code: "TooManyTagsException", Message: fmt.Sprintf("A scalable target can have at most %d tags.", maxTags)}
	}
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return api.Errorf(api.KindInvalid, "Tag keys cannot start with the reserved prefix aws: (%s).", k)
		}
	}
	return nil
}

func toStoreTags(tags map[string]string) []store.Tag {
	out := make([]store.Tag, 0, len(tags))
	for k, v := range tags {
		out = append(out, store.Tag{Key: k, Value: v})
	}
	return out
}

// MinVariantCapacity is the least capacity of a production variant: as
// SageMaker's documentation of RegisterScalableTarget says, its minimum
// and maximum are at least 1 (scaling to zero is for inference
// components, which this server does not have).
const MinVariantCapacity = 1

// checkCapacities checks the bounds a request gives (nil: not given).
func checkCapacities(min, max *int32) error {
	for _, c := range []struct {
		name string
		v    *int32
	}{{"MinCapacity", min}, {"MaxCapacity", max}} {
		switch {
		case c.v == nil:
		case *c.v < 0:
			return api.Errorf(api.KindInvalid, "Capacity cannot be negative (%d).", *c.v)
		case *c.v < MinVariantCapacity:
			return api.Errorf(api.KindInvalid, "%s %d is below %d: a SageMaker production variant (%s) keeps at least %d instance; scaling to zero is for inference components.",
				c.name, *c.v, MinVariantCapacity, Dimension, MinVariantCapacity)
		}
	}
	return nil
}

// registerScalableTarget registers or updates a target. The controller then
// brings the capacity within the new bounds.
func (s *Service) registerScalableTarget(ctx context.Context, req *api.Request, in *registerTargetInput) (*registerTargetOutput, error) {
	t, err := resolveTarget(req, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	if err := checkCapacities(in.MinCapacity, in.MaxCapacity); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	unlock := s.lock(t)
	defer unlock()
	if err := s.checkResource(ctx, t); err != nil {
		return nil, err
	}
	key := s.targetKey(t)
	now := req.Time.UTC()
	_, err = s.Store.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if in.MinCapacity == nil || in.MaxCapacity == nil {
			return nil, api.Errorf(api.KindInvalid, "MinCapacity and MaxCapacity are required when registering a new scalable target.")
		}
		if *in.MinCapacity > *in.MaxCapacity {
			return nil, minAboveMax(*in.MinCapacity, *in.MaxCapacity)
		}
		role := in.RoleARN
		if role == "" {
			role = serviceLinkedRole(t.account)
		}
		d := targetDoc{
			ScalableTarget: ScalableTarget{
				ServiceNamespace: Namespace, ResourceId: t.resourceID, ScalableDimension: Dimension,
				MinCapacity: *in.MinCapacity, MaxCapacity: *in.MaxCapacity, RoleARN: role,
				CreationTime:      awstime.Timestamp{Time: now.Truncate(time.Millisecond)},
				SuspendedState:    in.SuspendedState.apply(SuspendedState{}),
				ScalableTargetARN: targetARN(t.account, t.region, newHexID()),
			},
			State: TargetState{BoundsRequested: 1, ScheduledThrough: now, ScheduledActionID: newUUID()},
		}
		doc, err := encodeDoc(d)
		if err != nil {
			return nil, err
		}
		r := store.Resource{Key: key, ARN: d.ScalableTargetARN, Status: statusRegistered, Doc: doc, Created: now}
		if err := s.Store.Create(ctx, r, toStoreTags(in.Tags)...); err != nil {
			return nil, err
		}
		s.ctrl.targetChanged(key)
		return &registerTargetOutput{ScalableTargetARN: d.ScalableTargetARN}, nil
	case err != nil:
		return nil, err
	}
	d, err := s.mutateTarget(ctx, key, func(d *targetDoc) error {
		if in.MinCapacity != nil {
			d.MinCapacity = *in.MinCapacity
		}
		if in.MaxCapacity != nil {
			d.MaxCapacity = *in.MaxCapacity
		}
		if d.MinCapacity > d.MaxCapacity {
			return minAboveMax(d.MinCapacity, d.MaxCapacity)
		}
		if in.RoleARN != "" {
			d.RoleARN = in.RoleARN
		}
		d.SuspendedState = in.SuspendedState.apply(d.SuspendedState)
		// AWS brings the capacity within the bounds on every update, even
		// one that does not change them: at once, whatever it was refused
		// before.
		d.State.BoundsRequested++
		d.State.BoundsRefused = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.Store.AddTags(ctx, d.ScalableTargetARN, toStoreTags(in.Tags), maxTags); err != nil {
			return nil, tagError(err, d.ScalableTargetARN)
		}
	}
	s.ctrl.targetChanged(key)
	return &registerTargetOutput{ScalableTargetARN: d.ScalableTargetARN}, nil
}

func minAboveMax(min, max int32) error {
	return api.Errorf(api.KindInvalid, "Minimum capacity (%d) cannot be greater than maximum capacity (%d).", min, max)
}

// describeScalableTargets lists targets, by resource ID.
func (s *Service) describeScalableTargets(ctx context.Context, req *api.Request, in *describeTargetsInput) (*describeTargetsOutput, error) {
	selects, err := describeScope(in.ServiceNamespace, in.ScalableDimension, len(in.ResourceIds) > 0)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	if !selects {
		return &describeTargetsOutput{ScalableTargets: []ScalableTarget{}}, nil
	}
	rs, err := s.listAll(ctx, store.Query{Account: req.Account, Region: req.Region, Kind: kindTarget, SortBy: store.SortByName})
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range in.ResourceIds {
		want[id] = true
	}
	var targets []ScalableTarget
	for _, r := range rs {
		d, err := decodeDoc[targetDoc](r)
		if err != nil {
			return nil, err
		}
		if len(want) > 0 && !want[d.ResourceId] {
			continue
		}
		targets = append(targets, d.ScalableTarget)
	}
	page, next, err := pageOf(kindTarget, targets, func(t ScalableTarget) string { return t.ResourceId }, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	return &describeTargetsOutput{ScalableTargets: append([]ScalableTarget{}, page...), NextToken: next}, nil
}

// deregisterScalableTarget removes a target with its policies (and their
// alarms) and scheduled actions. Its activities stay for their six weeks.
// The alarms go first, ignoring those already gone, then the target and
// its children in one store transaction: an error leaves the target
// registered and a retry finishes the job.
func (s *Service) deregisterScalableTarget(ctx context.Context, req *api.Request, in *targetInput) (*struct{}, error) {
	t, err := resolveTarget(req, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	unlock := s.lock(t)
	defer unlock()
	if _, err := s.getTarget(ctx, t); err != nil {
		return nil, err
	}
	policies, err := s.policiesOf(ctx, t)
	if err != nil {
		return nil, err
	}
	actions, err := s.scheduledOf(ctx, t)
	if err != nil {
		return nil, err
	}
	key := s.targetKey(t)
	keys := make([]store.Key, 0, len(policies)+len(actions)+1)
	for _, p := range policies {
		if err := s.deleteManagedAlarms(ctx, t, p); err != nil {
			return nil, fmt.Errorf("deregister %s: policy %s: %w", t.resourceID, p.PolicyName, err)
		}
		keys = append(keys, s.childKey(t, kindPolicy, p.PolicyName))
	}
	for _, a := range actions {
		keys = append(keys, s.childKey(t, kindScheduled, a.ScheduledActionName))
	}
	if err := s.Store.DeleteAll(ctx, append(keys, key)...); err != nil {
		return nil, fmt.Errorf("deregister %s: %w", t.resourceID, err)
	}
	s.ctrl.targetRemoved(key)
	// With no policy left, any target-tracking alarm of the resource is
	// left over: one a crash left behind would otherwise outlive it.
	if err := s.removeLeftoverAlarms(ctx, t); err != nil {
		s.logger().Warn("deregister scalable target", "resource", t.resourceID, "err", err)
	}
	return nil, nil
}

func (s *Service) childKey(t targetRef, kind, name string) store.Key {
	return store.Key{Account: t.account, Region: t.region, Kind: kind, Name: t.childName(name)}
}
