package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/clock"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/store"
)

// DefaultEvaluationDelay is how long after a period boundary the alarm
// loop evaluates, unless Service.EvaluationDelay says otherwise. Hosting
// records each request's metrics in this process when it ends, so a period
// is complete as soon as it is over; the delay only leaves room for
// PutMetricData calls in flight.
const DefaultEvaluationDelay = time.Second

// actionTimeout bounds one alarm action.
const actionTimeout = 30 * time.Second

// tick is the loop's step: high-resolution alarms (periods under a minute)
// are evaluated every tick, others once a minute.
const tick = 10 * time.Second

// Clock is the alarm loop's time source.
type Clock = clock.Clock

// Now returns time.Now().

// After is time.After.

func (s *Service) delay() time.Duration {
	if s.EvaluationDelay > 0 {
		return s.EvaluationDelay
	}
	return DefaultEvaluationDelay
}

// RunAlarms evaluates the alarms of every account and region until ctx is
// done: those with periods under a minute right after every 10-second
// boundary, the others right after every minute boundary (each
// EvaluationDelay late, so that a period's samples have arrived). It stores
// state changes with their history and runs alarm actions (see
// evaluateAlarm). It starts no goroutines and returns nil when ctx is
// done; a nil clock is the real one.
func (s *Service) RunAlarms(ctx context.Context, clk Clock) error {
	if clk == nil {
		clk = clock.Real{}
	}
	lastMinute := int64(-1 << 62)
	for {
		now := clk.Now()
		// The next tick: the first 10-s boundary plus delay after now.
		next := now.Add(-s.delay()).Truncate(tick).Add(tick + s.delay())
		select {
		case <-ctx.Done():
			return nil
		case <-clk.After(next.Sub(now)):
		}
		now = clk.Now()
		boundary := now.Add(-s.delay())
		minute := floorDiv(boundary.Unix(), 60)
		standard := minute != lastMinute
		lastMinute = minute
		if err := s.evaluate(ctx, now, standard); err != nil && ctx.Err() == nil {
			s.log().Error("evaluate alarms", "err", err)
		}
	}
}

// EvaluateNow evaluates every alarm once at now, as the loop does: it
// stores state changes and history and runs the actions that are due. It
// is the loop's step, exported so that tests (and callers that just
// changed an alarm) need not wait for the next tick.
func (s *Service) EvaluateNow(ctx context.Context, now time.Time) error {
	return s.evaluate(ctx, now, true)
}

// evaluate evaluates the high-resolution alarms, and with standard the
// others too.
func (s *Service) evaluate(ctx context.Context, now time.Time, standard bool) error {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	rs, err := s.Store.ListByStatus(ctx, kindAlarm, StateOK, StateAlarm, StateInsufficientData)
	if err != nil {
		return fmt.Errorf("list alarms: %w", err)
	}
	var errs []error
	seen := make(map[string]bool, len(rs))
	for _, r := range rs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		seen[r.ARN] = true
		a, err := decodeAlarm(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !standard && a.DatapointPeriod() >= time.Minute {
			continue
		}
		if err := s.evaluateAlarm(ctx, r, a, now); err != nil {
			errs = append(errs, fmt.Errorf("alarm %s: %w", a.AlarmArn, err))
		}
	}
	if standard {
		s.mu.Lock()
		for arn := range s.lastRun {
			if !seen[arn] {
				delete(s.lastRun, arn)
			}
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// evaluateAlarm evaluates one alarm at now over its complete periods. A
// state change is stored (unless the alarm changed meanwhile: then the
// next evaluation decides) with a StateUpdate history item. Then, if
// actions are enabled, the current state's actions run: when the state
// just changed, and otherwise once per period while it lasts, as
// CloudWatch re-invokes Auto Scaling actions.
func (s *Service) evaluateAlarm(ctx context.Context, r store.Resource, a *MetricAlarm, now time.Time) error {
	period := a.DatapointPeriod()
	// Periods are aligned on the epoch, as metrics are bucketed; the
	// newest complete one ends at the last boundary.
	secs := int64(period / time.Second)
	end := time.Unix(floorDiv(now.Unix(), secs)*secs, 0).UTC()
	dps, err := AlarmDatapoints(s.Metrics.In(MetricsScope(r.Account, r.Region)), &a.AlarmSpec, end)
	if err != nil {
		return err
	}
	ev := EvaluateAlarm(EvaluationInput{Spec: a.AlarmSpec, State: a.StateValue, Period: period, End: end, Datapoints: dps, Now: now})
	changed := !ev.Retained && ev.State != a.StateValue
	if changed {
		before := *a
		at := now.Truncate(time.Millisecond)
		a.StateValue, a.StateReason, a.StateReasonData = ev.State, truncate(ev.Reason, 1023), ev.ReasonData
		a.StateUpdatedTimestamp = api.Timestamp{Time: at}
		a.StateTransitionedTimestamp = api.Timestamp{Time: at}
		doc, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alarm: %w", err)
		}
		r.Doc, r.Status, r.Updated = doc, a.StateValue, at
		if _, err := s.Store.Update(ctx, r); err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				return nil // changed or deleted meanwhile
			}
			return fmt.Errorf("store state: %w", err)
		}
		s.recordState(ctx, r.Account, r.Region, &before, a, at)
		s.log().Info("alarm state changed", "alarm", a.AlarmName, "from", before.StateValue, "to", a.StateValue, "reason", a.StateReason)
	}
	if !a.actionsEnabled() || len(a.actionsFor(a.StateValue)) == 0 {
		return nil
	}
	if !changed && !s.due(a.AlarmArn, end) {
		return nil
	}
	values := make([]float64, len(ev.Datapoints))
	for i, dp := range ev.Datapoints {
		values[i] = dp.Value
	}
	evt := AlarmEvent{
		Account: r.Account, Region: r.Region,
		AlarmName: a.AlarmName, AlarmARN: a.AlarmArn,
		State: a.StateValue, Changed: changed, Reason: a.StateReason,
		Datapoints: values, Time: now,
	}
	if a.Threshold != nil {
		evt.Threshold = *a.Threshold
	}
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	s.runActions(actx, &a.AlarmSpec, evt)
	s.markRun(a.AlarmArn, end)
	return nil
}

// AlarmDatapoints reads an alarm's metric from m (or evaluates its
// expression) for the complete periods of its evaluation range, which ends
// at end: the datapoints EvaluateAlarm takes. The alarm loop and
// `inferscale simulate` both read them this way.
func AlarmDatapoints(m *metrics.View, a *AlarmSpec, end time.Time) ([]AlarmDatapoint, error) {
	period := a.DatapointPeriod()
	n := int(a.EvaluationPeriods) + EvaluationRangeExtra
	start := end.Add(-time.Duration(n) * period)
	var out []AlarmDatapoint
	if a.isMath() {
		qs, err := newQuerySet(m, a.Metrics, start, end, "Metrics")
		if err != nil {
			return nil, err
		}
		qs.now = end
		ss, err := qs.result(a.returnQuery().ID)
		if err != nil {
			return nil, err
		}
		if len(ss) != 1 {
			return nil, fmt.Errorf("the expression yields %d time series, not one", len(ss))
		}
		sr := ss[0]
		for i, v := range sr.vals {
			if !isMissing(v) {
				out = append(out, AlarmDatapoint{Timestamp: sr.at(i), Value: v})
			}
		}
		return out, nil
	}
	stat := a.Statistic
	q := metrics.Query{
		Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: toMetricDims(a.Dimensions),
		Start: start, End: end, Period: period, Unit: a.Unit, Now: end,
	}
	if a.ExtendedStatistic != "" {
		stat = a.ExtendedStatistic
		q.ExtendedStatistics = []string{stat}
	}
	dps, err := m.Query(q)
	if err != nil {
		return nil, fmt.Errorf("query %s %s: %w", a.Namespace, a.MetricName, err)
	}
	for _, dp := range dps {
		if v, ok := statValue(dp, stat); ok {
			out = append(out, AlarmDatapoint{Timestamp: dp.Timestamp, Value: v, SampleCount: dp.SampleCount})
		}
	}
	return out, nil
}

// runActions calls, for each action of ev's state, the first handler that
// owns it. Errors are logged; on a state change (ev.Changed), the outcome
// is an Action item of the alarm's history, as in CloudWatch. The alarm
// loop and SetAlarmState both run actions here.
func (s *Service) runActions(ctx context.Context, spec *AlarmSpec, ev AlarmEvent) {
	if !spec.actionsEnabled() {
		return
	}
	hs := s.handlers()
	for _, arn := range spec.actionsFor(ev.State) {
		owned := false
		for _, h := range hs {
			if !h.Owns(arn) {
				continue
			}
			owned = true
			err := h.Handle(ctx, arn, ev)
			if err != nil {
				s.log().Warn("alarm action failed", "alarm", ev.AlarmName, "action", arn, "state", ev.State, "err", err)
			}
			if ev.Changed {
				s.recordAction(ctx, ev, arn, err)
			}
			break
		}
		if !owned {
			s.log().Debug("alarm action has no handler", "alarm", ev.AlarmName, "action", arn)
		}
	}
}

// due reports whether the actions of the alarm with this ARN have not run
// for the period ending at end.
func (s *Service) due(arn string, end time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.lastRun[arn]
	return !ok || end.After(last)
}

// markRun notes that the alarm's actions ran for the period ending at end.
func (s *Service) markRun(arn string, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastRun == nil {
		s.lastRun = map[string]time.Time{}
	}
	if end.After(s.lastRun[arn]) {
		s.lastRun[arn] = end
	}
}

// forget drops what the loop remembers of a deleted alarm.
func (s *Service) forget(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.lastRun, arn)
}
