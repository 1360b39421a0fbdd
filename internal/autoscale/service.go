package autoscale

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/api/model"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/store"

	"github.com/inferscale/inferscale/internal/clock"
)

// ErrResourceNotFound is what Capacity returns (wrapped) for a resource
// that does not exist.
var ErrResourceNotFound = errors.New("scalable resource not found")

// Capacity is hosting's side: read and set the desired instance count of a
// variant. resourceID is endpoint/<endpoint>/variant/<variant>.
type Capacity interface {
	// Capacity returns the desired and the actual (running, in service)
	// capacity of the resource; an error wrapping ErrResourceNotFound when
	// it does not exist.
	Capacity(ctx context.Context, account, region, resourceID string) (desired, actual int, err error)
	// SetCapacity sets the desired capacity.
	SetCapacity(ctx context.Context, account, region, resourceID string, desired int) error
}

// Alarms is CloudWatch's side: the alarms of target-tracking policies, and
// the alarms that call step policies.
type Alarms interface {
	PutAlarm(ctx context.Context, account, region string, spec cloudwatch.AlarmSpec) (arn string, err error)
	// DeleteAlarms deletes alarms by name; an error wraps
	// cloudwatch.ErrAlarmNotFound when one does not exist.
	DeleteAlarms(ctx context.Context, account, region string, names ...string) error
	// AlarmsWithActions returns, for each ARN, the alarms that name it
	// among their actions.
	AlarmsWithActions(ctx context.Context, account, region string, arns ...string) (map[string][]*cloudwatch.MetricAlarm, error)
	// AlarmsNamed returns the alarms whose names start with prefix.
	AlarmsNamed(ctx context.Context, account, region, prefix string) ([]*cloudwatch.MetricAlarm, error)
}

// Clock is the time source of Run.
type Clock = clock.Clock

// Now returns time.Now().

// After returns time.After(d).

// Defaults of the Service's timing fields.
const (
	DefaultPollInterval    = 10 * time.Second
	DefaultActivityTimeout = time.Hour
	// ActivityRetention is how long activities are kept (AWS: six weeks).
	ActivityRetention = 6 * 7 * 24 * time.Hour
)

// Limits per scalable target.
const (
	maxPoliciesPerTarget  = 50
	maxScheduledPerTarget = 200
	maxTags               = 50
)

// Service implements Application Auto Scaling on a store. Set the exported
// fields, then add NewAPI() to a Router, register the Service as
// CloudWatch's action handler (it implements cloudwatch.ActionHandler) and
// call Run.
type Service struct {
	Store *store.Store
	// Capacity reads and sets variant capacity (hosting). Required.
	Capacity Capacity
	// Alarms creates and deletes target-tracking alarms (CloudWatch).
	// Required for target-tracking policies.
	Alarms Alarms
	// Metrics holds the history GetPredictiveScalingForecast forecasts from;
	// nil answers empty forecasts.
	Metrics *metrics.Store
	// Logger receives the controller's events; nil discards.
	Logger *slog.Logger
	// PollInterval is how often a scaling activity in progress checks the
	// capacity in service (DefaultPollInterval when zero).
	PollInterval time.Duration
	// ActivityTimeout makes an activity whose capacity is not in service by
	// then Unfulfilled (DefaultActivityTimeout when zero).
	ActivityTimeout time.Duration

	locks       sync.Map // target store name -> *sync.Mutex: serializes API changes per target
	ctrl        controller
	activitySeq atomic.Uint64
}

var _ cloudwatch.ActionHandler = (*Service)(nil)

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) pollInterval() time.Duration {
	if s.PollInterval > 0 {
		return s.PollInterval
	}
	return DefaultPollInterval
}

func (s *Service) activityTimeout() time.Duration {
	if s.ActivityTimeout > 0 {
		return s.ActivityTimeout
	}
	return DefaultActivityTimeout
}

// lock serializes the API's read-modify-write sequences on one target
// (which also call CloudWatch and hosting).
func (s *Service) lock(t targetRef) func() {
	m, _ := s.locks.LoadOrStore(t.account+"/"+t.region+"/"+t.name(), new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// Codes are Application Auto Scaling's error codes for the error kinds.
var Codes = api.Codes{
	api.KindNotFound:      {Name: "ObjectNotFoundException", Status: http.StatusBadRequest},
	api.KindConflict:      {Name: "ConcurrentUpdateException", Status: http.StatusBadRequest},
	api.KindLimitExceeded: {Name: "LimitExceededException", Status: http.StatusBadRequest},
	api.KindInternal:      {Name: "InternalServiceException", Status: http.StatusInternalServerError},
}

// NewAPI returns the Application Auto Scaling api.Service with s's
// operations registered.
func (s *Service) NewAPI() *api.Service {
	svc := api.NewService(model.MustLoad("application-autoscaling"))
	s.Register(svc)
	return svc
}

// Register sets the service's error mapping and registers the 14
// operations.
func (s *Service) Register(svc *api.Service) {
	svc.Codes = Codes
	svc.MapError = mapError
	svc.Handle(
		api.Op("RegisterScalableTarget", s.registerScalableTarget),
		api.Op("DescribeScalableTargets", s.describeScalableTargets),
		api.Op("DeregisterScalableTarget", s.deregisterScalableTarget),
		api.Op("PutScalingPolicy", s.putScalingPolicy),
		api.Op("DescribeScalingPolicies", s.describeScalingPolicies),
		api.Op("DeleteScalingPolicy", s.deleteScalingPolicy),
		api.Op("PutScheduledAction", s.putScheduledAction),
		api.Op("DescribeScheduledActions", s.describeScheduledActions),
		api.Op("DeleteScheduledAction", s.deleteScheduledAction),
		api.Op("DescribeScalingActivities", s.describeScalingActivities),
		api.Op("TagResource", s.tagResource),
		api.Op("UntagResource", s.untagResource),
		api.Op("ListTagsForResource", s.listTagsForResource),
		api.Op("GetPredictiveScalingForecast", s.getPredictiveScalingForecast),
	)
}

// mapError turns errors of the store into API errors.
func mapError(err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, errInvalidToken), errors.Is(err, store.ErrInvalidToken):
		return &api.Error{Code: "InvalidNextTokenException", Status: http.StatusBadRequest, Message: "The NextToken is not valid.", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &api.Error{Kind: api.KindConflict, Message: "The resource was changed by another request; retry.", Err: err}
	}
	return nil
}
