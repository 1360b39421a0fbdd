package autoscale

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/store"
)

// testCapacity is hosting as the tests see it: variants whose capacity in
// service follows the desired capacity after a launch delay, read from
// time.Now (the fake clock inside synctest bubbles).
type testCapacity struct {
	mu       sync.Mutex
	variants map[string]*testVariant
	// launch is how long instances take to come into service.
	launch time.Duration
	// failSet, when set, is returned by SetCapacity; refused counts the
	// calls it refused.
	failSet error
	refused int
	// stuck variants never get instances in service beyond their current
	// count.
	stuck bool
	sets  []int
}

type testVariant struct {
	desired, actual, from int
	setAt                 time.Time
}

func newTestCapacity() *testCapacity { return &testCapacity{variants: map[string]*testVariant{}} }

func capKey(account, region, id string) string { return account + "/" + region + "/" + id }

// add creates a variant with n instances in service.
func (c *testCapacity) add(account, region, id string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.variants[capKey(account, region, id)] = &testVariant{desired: n, actual: n, from: n}
}

func (v *testVariant) inService(now time.Time, launch time.Duration, stuck bool) int {
	if stuck || now.Sub(v.setAt) < launch {
		return v.from
	}
	return v.desired
}

func (c *testCapacity) Capacity(_ context.Context, account, region, id string) (int, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.variants[capKey(account, region, id)]
	if v == nil {
		return 0, 0, fmt.Errorf("variant %s: %w", id, ErrResourceNotFound)
	}
	return v.desired, v.inService(time.Now(), c.launch, c.stuck), nil
}

func (c *testCapacity) SetCapacity(_ context.Context, account, region, id string, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failSet != nil {
		c.refused++
		return c.failSet
	}
	v := c.variants[capKey(account, region, id)]
	if v == nil {
		return fmt.Errorf("variant %s: %w", id, ErrResourceNotFound)
	}
	now := time.Now()
	v.from = v.inService(now, c.launch, c.stuck)
	if n < v.from {
		v.from = n // instances stop at once
	}
	v.desired, v.setAt = n, now
	c.sets = append(c.sets, n)
	return nil
}

// state returns a variant's desired and in-service capacity.
func (c *testCapacity) state(account, region, id string) (desired, actual int) {
	d, a, _ := c.Capacity(context.Background(), account, region, id)
	return d, a
}

// testAlarms is CloudWatch's alarm store as the tests see it: the alarm
// specs by account/region/name, and a small evaluator that plays the alarm
// loop (evaluate).
type testAlarms struct {
	mu      sync.Mutex
	specs   map[string]cloudwatch.AlarmSpec
	failPut error
	// data are each alarm's datapoints, newest last (NaN-free: missing
	// periods are absent).
	data  map[string][]*float64
	state map[string]string
	// handleErrs, when set, collects the errors of the actions evaluate
	// runs, which otherwise fail the test.
	handleErrs *[]error
}

func newTestAlarms() *testAlarms {
	return &testAlarms{specs: map[string]cloudwatch.AlarmSpec{}, data: map[string][]*float64{}, state: map[string]string{}}
}

func alarmKey(account, region, name string) string { return account + "/" + region + "/" + name }

func (a *testAlarms) PutAlarm(_ context.Context, account, region string, spec cloudwatch.AlarmSpec) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failPut != nil {
		return "", a.failPut
	}
	a.specs[alarmKey(account, region, spec.AlarmName)] = spec
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, account, spec.AlarmName), nil
}

func (a *testAlarms) DeleteAlarms(_ context.Context, account, region string, names ...string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var missing []string
	for _, n := range names {
		k := alarmKey(account, region, n)
		if _, ok := a.specs[k]; !ok {
			missing = append(missing, n)
		}
		delete(a.specs, k)
		delete(a.data, k)
		delete(a.state, k)
	}
	if len(missing) > 0 { // as CloudWatch's DeleteAlarms
		return fmt.Errorf("delete alarms %v: %w", missing, cloudwatch.ErrAlarmNotFound)
	}
	return nil
}

func (a *testAlarms) AlarmsNamed(_ context.Context, account, region, prefix string) ([]*cloudwatch.MetricAlarm, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*cloudwatch.MetricAlarm
	for k, spec := range a.specs {
		if k == alarmKey(account, region, spec.AlarmName) && strings.HasPrefix(spec.AlarmName, prefix) {
			out = append(out, &cloudwatch.MetricAlarm{AlarmSpec: spec,
				AlarmArn: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, account, spec.AlarmName)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AlarmName < out[j].AlarmName })
	return out, nil
}

func (a *testAlarms) AlarmsWithActions(_ context.Context, account, region string, arns ...string) (map[string][]*cloudwatch.MetricAlarm, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]*cloudwatch.MetricAlarm{}
	prefix := alarmKey(account, region, "")
	keys := make([]string, 0, len(a.specs))
	for k := range a.specs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec := a.specs[k]
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		for _, arn := range arns {
			if slices.Contains(spec.AlarmActions, arn) || slices.Contains(spec.OKActions, arn) || slices.Contains(spec.InsufficientDataActions, arn) {
				out[arn] = append(out[arn], &cloudwatch.MetricAlarm{AlarmSpec: spec,
					AlarmArn: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, account, spec.AlarmName)})
			}
		}
	}
	return out, nil
}

func (a *testAlarms) get(account, region, name string) (cloudwatch.AlarmSpec, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.specs[alarmKey(account, region, name)]
	return s, ok
}

func (a *testAlarms) names() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for k := range a.specs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// evaluate plays one period of CloudWatch's alarm loop for every alarm
// whose period divides the time since the epoch: it appends the metric's
// datapoint (value reports it; ok false is missing data), sets the state
// from the last EvaluationPeriods datapoints (DatapointsToAlarm breaching:
// ALARM; missing data, treated as missing: INSUFFICIENT_DATA when none is
// left, otherwise not breaching) and runs the actions of the state through
// h, as CloudWatch re-runs Auto Scaling actions every period.
func (a *testAlarms) evaluate(ctx context.Context, t *testing.T, h cloudwatch.ActionHandler, now time.Time,
	value func(spec cloudwatch.AlarmSpec) (float64, bool)) {
	t.Helper()
	type call struct {
		arn string
		ev  cloudwatch.AlarmEvent
	}
	var calls []call
	a.mu.Lock()
	keys := make([]string, 0, len(a.specs))
	for k := range a.specs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec := a.specs[k]
		period := time.Duration(spec.Period) * time.Second
		if period == 0 {
			period = time.Minute
		}
		if now.UnixNano()%int64(period) != 0 {
			continue
		}
		v, ok := value(spec)
		if ok {
			a.data[k] = append(a.data[k], &v)
		} else {
			a.data[k] = append(a.data[k], nil)
		}
		d := a.data[k]
		if n := int(spec.EvaluationPeriods); len(d) > n {
			d = d[len(d)-n:]
			a.data[k] = d
		}
		var vals []float64
		breaching := 0
		for _, p := range d {
			if p == nil {
				continue
			}
			vals = append(vals, *p)
			if spec.ComparisonOperator == "GreaterThanThreshold" && *p > *spec.Threshold ||
				spec.ComparisonOperator == "LessThanThreshold" && *p < *spec.Threshold {
				breaching++
			}
		}
		state := cloudwatch.StateOK
		switch {
		case breaching >= int(spec.DatapointsToAlarm):
			state = cloudwatch.StateAlarm
		case len(vals) == 0:
			state = cloudwatch.StateInsufficientData
		}
		changed := a.state[k] != state
		a.state[k] = state
		var actions []string
		switch state {
		case cloudwatch.StateAlarm:
			actions = spec.AlarmActions
		case cloudwatch.StateOK:
			actions = spec.OKActions
		default:
			actions = spec.InsufficientDataActions
		}
		for _, arn := range actions {
			if h.Owns(arn) {
				calls = append(calls, call{arn, cloudwatch.AlarmEvent{AlarmName: spec.AlarmName, State: state, Changed: changed,
					Threshold: *spec.Threshold, Datapoints: vals, Time: now}})
			}
		}
	}
	errs := a.handleErrs
	a.mu.Unlock()
	for _, c := range calls {
		if err := h.Handle(ctx, c.arn, c.ev); err != nil {
			if errs != nil {
				*errs = append(*errs, err)
				continue
			}
			t.Errorf("%v: Handle(%s, %s %s): %v", now, c.arn, c.ev.AlarmName, c.ev.State, err)
		}
	}
}

// openStore opens a SQLite store in a test directory.
func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dir+"/inferscale.db")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// run starts s.Run and returns a function that stops it and waits.
func run(t testing.TB, s *Service, clock Clock) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, clock) }()
	return func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}
}

// remove deletes a variant, as deleting its endpoint does.
func (c *testCapacity) remove(account, region, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.variants, capKey(account, region, id))
}
