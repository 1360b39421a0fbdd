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

type describeActivitiesInput struct {
	ServiceNamespace           string `json:"ServiceNamespace"`
	ResourceId                 string `json:"ResourceId,omitempty"`
	ScalableDimension          string `json:"ScalableDimension,omitempty"`
	MaxResults                 *int32 `json:"MaxResults,omitempty"`
	NextToken                  string `json:"NextToken,omitempty"`
	IncludeNotScaledActivities bool   `json:"IncludeNotScaledActivities,omitempty"`
}

type describeActivitiesOutput struct {
	ScalingActivities []ScalingActivity `json:"ScalingActivities"`
	NextToken         string            `json:"NextToken,omitempty"`
}

// describeScalingActivities lists activities newest first; not-scaled ones
// only when asked for.
func (s *Service) describeScalingActivities(ctx context.Context, req *api.Request, in *describeActivitiesInput) (*describeActivitiesOutput, error) {
	parent, selects, err := describeFilter(in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	if !selects {
		return &describeActivitiesOutput{ScalingActivities: []ScalingActivity{}}, nil
	}
	q := store.Query{
		Account: req.Account, Region: req.Region, Kind: kindActivity, Parent: parent,
		SortBy: store.SortByCreationTime, Descending: true, Limit: limit, Token: in.NextToken,
	}
	if !in.IncludeNotScaledActivities {
		q.DocEquals = map[string]string{"inferscaleKind": activityScaled}
	}
	rs, next, err := s.Store.List(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &describeActivitiesOutput{ScalingActivities: make([]ScalingActivity, 0, len(rs)), NextToken: next}
	for _, r := range rs {
		a, err := decodeDoc[activityDoc](r)
		if err != nil {
			return nil, err
		}
		out.ScalingActivities = append(out.ScalingActivities, a.ScalingActivity)
	}
	return out, nil
}

// Activity wording, as AWS words it for SageMaker variants.

func describeSetCapacity(n int) string {
	return fmt.Sprintf("Setting desired instance count to %d.", n)
}

func alarmCause(alarm, policy string) string {
	return fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", alarm, policy)
}

func successMessage(n int) string {
	return fmt.Sprintf("Successfully set desired instance count to %d. Change successfully fulfilled by sagemaker.", n)
}

func failureMessage(n int, err error) string {
	return fmt.Sprintf("Failed to set desired instance count to %d. Reason: %s", n, failureReason(err))
}

// failureReason is the Reason of a failed activity's StatusMessage.
func failureReason(err error) string {
	var nf *variantGone
	if errors.As(err, &nf) || errors.Is(err, ErrResourceNotFound) {
		id := ""
		if nf != nil {
			id = nf.resourceID + " "
		}
		return fmt.Sprintf("The SageMaker endpoint variant %sdoes not exist.", id)
	}
	return err.Error()
}

// variantGone is the error of a target whose endpoint variant is gone.
type variantGone struct{ resourceID string }

func (e *variantGone) Error() string { return "endpoint variant " + e.resourceID + " does not exist" }
func (e *variantGone) Unwrap() error { return ErrResourceNotFound }

// failedBoundsMessage is the StatusMessage of a scheduled action whose
// bounds could not be applied to the resource: desc is the activity's
// Description ("Setting min capacity to 2").
func failedBoundsMessage(desc string, err error) string {
	return fmt.Sprintf("Failed to set %s. Reason: %s", strings.TrimPrefix(desc, "Setting "), failureReason(err))
}

// failedAlarmDescription is the Description of an alarm's scaling attempt
// that failed before its capacity was known.
const failedAlarmDescription = "Setting desired instance count."

// failedAlarmMessage is its StatusMessage.
func failedAlarmMessage(err error) string {
	return "Failed to set desired instance count. Reason: " + failureReason(err)
}

const notScaledDescription = "Attempting to scale due to alarm triggered"

// newActivity stores a new activity of target t and returns it.
func (s *Service) newActivity(ctx context.Context, key store.Key, resourceID string, a ScalingActivity) (ScalingActivity, error) {
	a.ActivityId = newUUID()
	a.ServiceNamespace, a.ResourceId, a.ScalableDimension = Namespace, resourceID, Dimension
	kind := activityScaled
	if len(a.NotScaledReasons) > 0 {
		kind = activityNotScaled
	}
	doc, err := encodeDoc(activityDoc{ScalingActivity: a, Kind: kind})
	if err != nil {
		return a, err
	}
	// Names sort like start times, and activities that start at the same
	// instant in the order they were recorded: DescribeScalingActivities
	// lists newest first, name breaking ties.
	name := fmt.Sprintf("%s|%020d|%010d", key.Name, a.StartTime.UnixNano(), s.activitySeq.Add(1))
	r := store.Resource{
		Key:    store.Key{Account: key.Account, Region: key.Region, Kind: kindActivity, Name: name},
		ARN:    activityARN(key.Account, key.Region, a.ActivityId),
		Parent: key.Name, Status: a.StatusCode, Doc: doc, Created: a.StartTime.Time,
	}
	if err := s.Store.Create(ctx, r); err != nil {
		return a, fmt.Errorf("record scaling activity: %w", err)
	}
	return a, nil
}

// updateActivity sets an activity's status, message (when not empty) and
// end time (when not zero).
func (s *Service) updateActivity(ctx context.Context, key store.Key, id, status, message string, end time.Time) error {
	ar, err := s.Store.GetByARN(ctx, activityARN(key.Account, key.Region, id))
	if err != nil {
		return fmt.Errorf("update scaling activity %s: %w", id, err)
	}
	_, err = s.Store.Mutate(ctx, ar.Key, func(r *store.Resource) error {
		a, err := decodeDoc[activityDoc](*r)
		if err != nil {
			return err
		}
		a.StatusCode, r.Status = status, status
		if message != "" {
			a.StatusMessage = message
		}
		if !end.IsZero() {
			a.EndTime = awstime.At(end.Truncate(time.Millisecond))
		}
		r.Doc, err = encodeDoc(a)
		return err
	})
	if err != nil {
		return fmt.Errorf("update scaling activity %s: %w", id, err)
	}
	return nil
}

// pruneActivities deletes a target's activities older than the retention.
func (s *Service) pruneActivities(ctx context.Context, key store.Key, now time.Time) error {
	rs, err := s.listAll(ctx, store.Query{Account: key.Account, Region: key.Region, Kind: kindActivity, Parent: key.Name,
		CreatedBefore: now.Add(-ActivityRetention)})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := s.Store.Delete(ctx, r.Key); err != nil {
			return err
		}
	}
	return nil
}
