package autoscale

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/store"
)

// The documents the store holds: the API shapes, plus what the controller
// keeps, in members the API never shows (they are not in the output
// shapes, and the handlers return the API part only).

// targetDoc is a stored scalable target.
type targetDoc struct {
	ScalableTarget
	State TargetState `json:"inferscaleState"`
}

// TargetState is the controller's state of a target. It is part of the
// target's store document, so it survives restarts.
type TargetState struct {
	Cooldowns Cooldowns `json:"Cooldowns"`
	// Readings are the last readings of each target-tracking policy's
	// alarms, by policy name.
	Readings map[string]PolicyReadings `json:"Readings,omitempty"`
	// BoundsRequested and BoundsApplied ask the controller to bring the
	// capacity within [Min, Max]: every RegisterScalableTarget increments
	// BoundsRequested; the controller sets BoundsApplied to the request it
	// carried out.
	BoundsRequested int64 `json:"BoundsRequested,omitempty"`
	BoundsApplied   int64 `json:"BoundsApplied,omitempty"`
	// ScheduledThrough is how far scheduled actions have been processed.
	ScheduledThrough time.Time `json:"ScheduledThrough,omitzero"`
	// Active is the scaling activity in progress.
	Active *ActiveActivity `json:"Active,omitempty"`
	// LastNotScaled de-duplicates not-scaled activities: the same reason
	// from the same policy is recorded once per breach.
	LastNotScaled *NotScaledMark `json:"LastNotScaled,omitempty"`
	// BoundsRefused and PolicyRefused are hosting's standing refusals of
	// the scaling that brings the capacity within the bounds and of the
	// one an alarm asked for: each was recorded once, and is retried
	// with backoff (Refusal) until hosting takes it.
	BoundsRefused *Refusal `json:"BoundsRefused,omitempty"`
	PolicyRefused *Refusal `json:"PolicyRefused,omitempty"`
	// ScheduledActionID is the identifier in the target's scaling policy
	// and scheduled action ARNs: AWS's ARNs of one resource share it.
	ScheduledActionID string `json:"ScheduledActionID,omitempty"`
	// PrunedAt is when activities older than ActivityRetention were last
	// removed.
	PrunedAt time.Time `json:"PrunedAt,omitzero"`
}

// PolicyReadings are the readings of a target-tracking policy's alarms.
type PolicyReadings struct {
	High AlarmReading `json:"High"`
	Low  AlarmReading `json:"Low"`
}

// ActiveActivity is a scaling activity waiting for its capacity.
type ActiveActivity struct {
	ID      string    `json:"ID"`
	Desired int       `json:"Desired"`
	Start   time.Time `json:"Start"`
}

// NotScaledMark identifies the last not-scaled activity.
type NotScaledMark struct {
	Key  string    `json:"Key"`
	Time time.Time `json:"Time"`
}

// scheduledDoc is a stored scheduled action.
type scheduledDoc struct {
	ScheduledAction
	// Since is when the action was created or last changed.
	Since time.Time `json:"inferscaleSince"`
}

// activityDoc is a stored scaling activity.
type activityDoc struct {
	ScalingActivity
	// Kind is "scaled" or "not-scaled", so that DescribeScalingActivities
	// can leave not-scaled activities out in the store query.
	Kind string `json:"inferscaleKind"`
}

const (
	activityScaled    = "scaled"
	activityNotScaled = "not-scaled"
)

func decodeDoc[T any](r store.Resource) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(r.Doc, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", r.Key, err)
	}
	return v, nil
}

func encodeDoc(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return b, nil
}

func (s *Service) targetKey(t targetRef) store.Key {
	return store.Key{Account: t.account, Region: t.region, Kind: kindTarget, Name: t.name()}
}

// getTarget reads a target; a missing one is AWS's ObjectNotFoundException.
func (s *Service) getTarget(ctx context.Context, t targetRef) (*targetDoc, error) {
	r, err := s.Store.Get(ctx, s.targetKey(t))
	if errors.Is(err, store.ErrNotFound) {
		return nil, t.notFound()
	}
	if err != nil {
		return nil, err
	}
	return decodeDoc[targetDoc](r)
}

// mutateTarget changes a target's document in one transaction.
func (s *Service) mutateTarget(ctx context.Context, key store.Key, fn func(d *targetDoc) error) (*targetDoc, error) {
	var out *targetDoc
	_, err := s.Store.Mutate(ctx, key, func(r *store.Resource) error {
		d, err := decodeDoc[targetDoc](*r)
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
		if r.Doc, err = encodeDoc(d); err != nil {
			return err
		}
		out = d
		return nil
	})
	return out, err
}

// listAll returns every resource a query selects, across pages.
func (s *Service) listAll(ctx context.Context, q store.Query) ([]store.Resource, error) {
	q.Limit = 1000
	var out []store.Resource
	for {
		rs, next, err := s.Store.List(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if next == "" {
			return out, nil
		}
		q.Token = next
	}
}

// children lists a target's policies or scheduled actions.
func (s *Service) children(ctx context.Context, t targetRef, kind string) ([]store.Resource, error) {
	return s.listAll(ctx, store.Query{Account: t.account, Region: t.region, Kind: kind, Parent: t.name(), SortBy: store.SortByName})
}

// policiesOf returns a target's policies, by name.
func (s *Service) policiesOf(ctx context.Context, t targetRef) ([]ScalingPolicy, error) {
	rs, err := s.children(ctx, t, kindPolicy)
	if err != nil {
		return nil, err
	}
	out := make([]ScalingPolicy, 0, len(rs))
	for _, r := range rs {
		p, err := decodeDoc[ScalingPolicy](r)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, nil
}

// scheduledOf returns a target's scheduled actions, by name.
func (s *Service) scheduledOf(ctx context.Context, t targetRef) ([]scheduledDoc, error) {
	rs, err := s.children(ctx, t, kindScheduled)
	if err != nil {
		return nil, err
	}
	out := make([]scheduledDoc, 0, len(rs))
	for _, r := range rs {
		a, err := decodeDoc[scheduledDoc](r)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}

// errInvalidToken is a NextToken that this package did not issue.
var errInvalidToken = errors.New("invalid next token")

// pageToken is the NextToken of pageOf: the operation's list (kind) and
// the key of the last item of the page before. A token that does not
// decode to one, or was issued for another list, is errInvalidToken, which
// mapError answers, like the store's tokens, with
// InvalidNextTokenException.
type pageToken struct {
	Kind  string `json:"k"`
	After string `json:"a"`
}

// pageOf returns one page of items (sorted by key) after the item whose key
// the token names, and the token of the next page. kind names the list, so
// that a token of another operation is not valid.
func pageOf[T any](kind string, items []T, key func(T) string, token string, limit int) ([]T, string, error) {
	start := 0
	if token != "" {
		t, err := decodePageToken(token)
		if err != nil || t.Kind != kind {
			return nil, "", errInvalidToken
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > t.After })
	}
	rest := items[start:]
	if len(rest) <= limit {
		return rest, "", nil
	}
	page := rest[:limit]
	b, err := json.Marshal(pageToken{Kind: kind, After: key(page[limit-1])})
	if err != nil {
		return nil, "", fmt.Errorf("encode next token: %w", err)
	}
	return page, base64.RawURLEncoding.EncodeToString(b), nil
}

func decodePageToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, errInvalidToken
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil || t.Kind == "" || dec.More() {
		return t, errInvalidToken
	}
	return t, nil
}

// maxResults validates MaxResults against an operation's range; absent
// is the maximum. MaxResults has no range in the API model (the service
// checks it), so 0 reaches here and is out of range, as -1 is.
func maxResults(n *int32, max int) (int, error) {
	if n == nil {
		return max, nil
	}
	if *n < 1 || int(*n) > max {
		return 0, api.Errorf(api.KindInvalid, "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", *n, max)
	}
	return int(*n), nil
}
