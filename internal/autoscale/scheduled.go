package autoscale

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/store"
)

type putScheduledInput struct {
	ServiceNamespace     string                `json:"ServiceNamespace"`
	Schedule             string                `json:"Schedule,omitempty"`
	Timezone             string                `json:"Timezone,omitempty"`
	ScheduledActionName  string                `json:"ScheduledActionName"`
	ResourceId           string                `json:"ResourceId"`
	ScalableDimension    string                `json:"ScalableDimension"`
	StartTime            *awstime.Timestamp    `json:"StartTime,omitempty"`
	EndTime              *awstime.Timestamp    `json:"EndTime,omitempty"`
	ScalableTargetAction *ScalableTargetAction `json:"ScalableTargetAction,omitempty"`
}

type describeScheduledInput struct {
	ScheduledActionNames []string `json:"ScheduledActionNames,omitempty"`
	ServiceNamespace     string   `json:"ServiceNamespace"`
	ResourceId           string   `json:"ResourceId,omitempty"`
	ScalableDimension    string   `json:"ScalableDimension,omitempty"`
	MaxResults           *int32   `json:"MaxResults,omitempty"`
	NextToken            string   `json:"NextToken,omitempty"`
}

type describeScheduledOutput struct {
	ScheduledActions []ScheduledAction `json:"ScheduledActions"`
	NextToken        string            `json:"NextToken,omitempty"`
}

type deleteScheduledInput struct {
	ServiceNamespace    string `json:"ServiceNamespace"`
	ScheduledActionName string `json:"ScheduledActionName"`
	ResourceId          string `json:"ResourceId"`
	ScalableDimension   string `json:"ScalableDimension"`
}

func scheduledNotFound(t targetRef, name string) error {
	return api.Errorf(api.KindNotFound, "No scheduled action found for %s, scheduled action name: %s", t.describe(), name)
}

// putScheduledAction creates or updates a scheduled action. On an update,
// Schedule, Timezone and ScalableTargetAction keep their values when not
// given; StartTime and EndTime are replaced (AWS: "If you don't specify
// start and end times, the old values are deleted").
func (s *Service) putScheduledAction(ctx context.Context, req *api.Request, in *putScheduledInput) (*struct{}, error) {
	t, err := resolveTarget(req, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	unlock := s.lock(t)
	defer unlock()
	target, err := s.getTarget(ctx, t)
	if err != nil {
		return nil, err
	}
	key := s.childKey(t, kindScheduled, in.ScheduledActionName)
	var old *scheduledDoc
	if r, err := s.Store.Get(ctx, key); err == nil {
		if old, err = decodeDoc[scheduledDoc](r); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	now := req.Time.UTC()
	a := ScheduledAction{
		ScheduledActionName: in.ScheduledActionName,
		ScheduledActionARN:  scheduledActionARN(t, target.State.ScheduledActionID, in.ScheduledActionName),
		ServiceNamespace:    Namespace, ResourceId: t.resourceID, ScalableDimension: Dimension,
		Schedule: in.Schedule, Timezone: in.Timezone,
		StartTime: in.StartTime, EndTime: in.EndTime,
		ScalableTargetAction: in.ScalableTargetAction,
		CreationTime:         awstime.Timestamp{Time: now.Truncate(time.Millisecond)},
	}
	if old != nil {
		a.ScheduledActionARN, a.CreationTime = old.ScheduledActionARN, old.CreationTime
		if a.Schedule == "" {
			a.Schedule = old.Schedule
		}
		if a.Timezone == "" {
			a.Timezone = old.Timezone
		}
		if a.ScalableTargetAction == nil {
			a.ScalableTargetAction = old.ScalableTargetAction
		}
	}
	if err := validateScheduled(a); err != nil {
		return nil, err
	}
	doc, err := encodeDoc(scheduledDoc{ScheduledAction: a, Since: now})
	if err != nil {
		return nil, err
	}
	if old == nil {
		existing, err := s.children(ctx, t, kindScheduled)
		if err != nil {
			return nil, err
		}
		if len(existing) >= maxScheduledPerTarget {
			return nil, api.Errorf(api.KindLimitExceeded,
				"The maximum number of scheduled actions (%d) for the scalable target %s has been reached.", maxScheduledPerTarget, t.resourceID)
		}
		err = s.Store.Create(ctx, store.Resource{Key: key, ARN: a.ScheduledActionARN, Parent: t.name(), Doc: doc, Created: now})
		if err != nil {
			return nil, err
		}
	} else if _, err := s.Store.Mutate(ctx, key, func(r *store.Resource) error { r.Doc = doc; return nil }); err != nil {
		return nil, err
	}
	s.ctrl.targetChanged(s.targetKey(t))
	return nil, nil
}

// validateScheduled checks a scheduled action as it will be stored.
func validateScheduled(a ScheduledAction) error {
	if a.Schedule == "" {
		return invalidf("Schedule is required when creating a scheduled action.")
	}
	if _, err := ParseActionSchedule(a, time.Time{}); err != nil {
		return invalidf("%s", err.Error())
	}
	if a.StartTime != nil && a.EndTime != nil && !a.StartTime.Before(a.EndTime.Time) {
		return invalidf("The StartTime (%s) must be before the EndTime (%s).",
			a.StartTime.UTC().Format(time.RFC3339), a.EndTime.UTC().Format(time.RFC3339))
	}
	act := a.ScalableTargetAction
	if act == nil || act.MinCapacity == nil && act.MaxCapacity == nil {
		return invalidf("ScalableTargetAction must specify MinCapacity, MaxCapacity or both.")
	}
	if err := checkCapacities(act.MinCapacity, act.MaxCapacity); err != nil {
		return err
	}
	if act.MinCapacity != nil && act.MaxCapacity != nil && *act.MinCapacity > *act.MaxCapacity {
		return minAboveMax(*act.MinCapacity, *act.MaxCapacity)
	}
	return nil
}

// describeScope applies the rules the four Describe operations share: a
// scalable dimension needs a resource ID; a namespace or dimension other
// than the one inferscale scales (the API model has already checked that
// it is one AWS knows) selects nothing, since no target of it can be
// registered here. selects is false when the answer is an empty list.
func describeScope(ns, dim string, hasResourceID bool) (selects bool, err error) {
	if dim != "" && !hasResourceID {
		return false, invalidf("If you specify a scalable dimension, you must also specify a resource ID.")
	}
	return ns == Namespace && (dim == "" || dim == Dimension), nil
}

// describeFilter applies describeScope to a Describe operation with one
// resource ID and returns the store parent that the resource ID selects
// ("" for all).
func describeFilter(ns, resourceID, dim string) (parent string, selects bool, err error) {
	if selects, err = describeScope(ns, dim, resourceID != ""); err != nil || !selects {
		return "", false, err
	}
	if resourceID == "" {
		return "", true, nil
	}
	return Dimension + "|" + resourceID, true, nil
}

func (s *Service) describeScheduledActions(ctx context.Context, req *api.Request, in *describeScheduledInput) (*describeScheduledOutput, error) {
	parent, selects, err := describeFilter(in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	if !selects {
		return &describeScheduledOutput{ScheduledActions: []ScheduledAction{}}, nil
	}
	rs, err := s.listAll(ctx, store.Query{Account: req.Account, Region: req.Region, Kind: kindScheduled, Parent: parent, SortBy: store.SortByName})
	if err != nil {
		return nil, err
	}
	var as []ScheduledAction
	for _, r := range rs {
		a, err := decodeDoc[scheduledDoc](r)
		if err != nil {
			return nil, err
		}
		if len(in.ScheduledActionNames) > 0 && !slices.Contains(in.ScheduledActionNames, a.ScheduledActionName) {
			continue
		}
		as = append(as, a.ScheduledAction)
	}
	page, next, err := pageOf(kindScheduled, as, func(a ScheduledAction) string { return a.ResourceId + "|" + a.ScheduledActionName }, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	return &describeScheduledOutput{ScheduledActions: append([]ScheduledAction{}, page...), NextToken: next}, nil
}

func (s *Service) deleteScheduledAction(ctx context.Context, req *api.Request, in *deleteScheduledInput) (*struct{}, error) {
	t, err := resolveTarget(req, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	unlock := s.lock(t)
	defer unlock()
	if err := s.Store.Delete(ctx, s.childKey(t, kindScheduled, in.ScheduledActionName)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, scheduledNotFound(t, in.ScheduledActionName)
		}
		return nil, err
	}
	s.ctrl.targetChanged(s.targetKey(t))
	return nil, nil
}
