package cloudwatch_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/store"
)

// fakeClock is a Clock the test moves. Every After call is announced on
// sleeps, so the test knows when the loop has finished a pass and waits.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	sleeps  chan time.Time
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, sleeps: make(chan time.Time, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	at := c.now.Add(d)
	if d <= 0 {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, fakeWaiter{at, ch})
	}
	c.mu.Unlock()
	c.sleeps <- at
	return ch
}

// set moves the clock to t and fires the waiters due by then.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- t
	}
	c.waiters = kept
}

// loop runs RunAlarms on a fake clock and steps it tick by tick.
type loop struct {
	t       *testing.T
	clock   *fakeClock
	pending time.Time // the deadline the loop waits for
	cancel  context.CancelFunc
	done    chan error
}

func startLoop(t *testing.T, svc *cloudwatch.Service, at time.Time) *loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{t: t, clock: newFakeClock(at), cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- svc.RunAlarms(ctx, l.clock) }()
	l.pending = l.nextSleep()
	t.Cleanup(l.stop)
	return l
}

func (l *loop) nextSleep() time.Time {
	l.t.Helper()
	select {
	case at := <-l.clock.sleeps:
		return at
	case <-time.After(10 * time.Second):
		l.t.Fatal("the alarm loop did not come back to wait")
		return time.Time{}
	}
}

// advance runs every tick up to t, each to completion, and leaves the
// clock at t.
func (l *loop) advance(t time.Time) {
	l.t.Helper()
	for !l.pending.After(t) {
		l.clock.set(l.pending)
		l.pending = l.nextSleep()
	}
	l.clock.set(t)
}

func (l *loop) stop() {
	l.cancel()
	select {
	case err := <-l.done:
		if err != nil {
			l.t.Errorf("RunAlarms: %v", err)
		}
	case <-time.After(10 * time.Second):
		l.t.Error("RunAlarms did not return after cancel")
	}
}

// recorder is an ActionHandler that owns the ARNs it was given and records
// the events it receives.
type recorder struct {
	mu     sync.Mutex
	owns   map[string]string // ARN -> short name
	events []string
	last   []cloudwatch.AlarmEvent
	fail   bool
}

func newRecorder(arns map[string]string) *recorder { return &recorder{owns: arns} }

func (r *recorder) Owns(arn string) bool { _, ok := r.owns[arn]; return ok }

func (r *recorder) Handle(_ context.Context, arn string, ev cloudwatch.AlarmEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := ""
	if ev.Changed {
		changed = "*"
	}
	r.events = append(r.events, fmt.Sprintf("%s %s%s%s", ev.Time.Format("15:04:05"), r.owns[arn], changed, values(ev.Datapoints)))
	r.last = append(r.last, ev)
	if r.fail {
		return errors.New("handler failed")
	}
	return nil
}

func values(vs []float64) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprint(v))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// take returns the events recorded since the last call.
func (r *recorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := strings.Join(r.events, ", ")
	r.events = nil
	return out
}

func TestAlarmLoop(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder(map[string]string{scaleOutARN: "out", scaleInARN: "in"})
	e.svc.AddActionHandler(rec)
	e.ok("PutMetricAlarm", cpuAlarm("cpu")) // 3 periods of 60 s above 70
	// CPU: 80 for five minutes from 10:00, then 50.
	cpu := []float64{80, 80, 80, 80, 80, 50, 50, 50}
	for i, v := range cpu {
		if err := e.metrics.Put("Custom/App", "CPU", []metrics.Dimension{{Name: "Host", Value: "a"}}, v, "Percent", start.Add(time.Duration(i)*time.Minute+30*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	l := startLoop(t, e.svc, start.Add(-5*time.Second))

	steps := []struct {
		to     string // clock time to run to
		state  string
		events string
	}{
		// 10:00:03: the newest complete period (09:59) has no data.
		{"10:00:30", "INSUFFICIENT_DATA", ""},
		// One breaching datapoint is not three: OK, and the OK action runs.
		{"10:01:30", "OK", "10:01:03 in*[80]"},
		// Still OK: the action runs again for the new period.
		{"10:02:30", "OK", "10:02:03 in[80 80]"},
		// Three breaching periods: ALARM.
		{"10:03:30", "ALARM", "10:03:03 out*[80 80 80]"},
		// The action runs every period while the alarm lasts.
		{"10:05:30", "ALARM", "10:04:03 out[80 80 80], 10:05:03 out[80 80 80]"},
		// 10:05 is 50: back to OK.
		{"10:06:30", "OK", "10:06:03 in*[80 80 50]"},
		{"10:07:30", "OK", "10:07:03 in[80 50 50]"},
	}
	for _, st := range steps {
		l.advance(at(st.to))
		a, err := e.svc.DescribeAlarm(e.ctx, account, region, "cpu")
		if err != nil {
			t.Fatal(err)
		}
		if a.StateValue != st.state {
			t.Errorf("%s: state %s, want %s (%s)", st.to, a.StateValue, st.state, a.StateReason)
		}
		if got := rec.take(); got != st.events {
			t.Errorf("%s: actions %q, want %q", st.to, got, st.events)
		}
	}
	a, _ := e.svc.DescribeAlarm(e.ctx, account, region, "cpu")
	if want := "Threshold Crossed: 1 datapoint [50.0 (26/11/25 10:05:00)] was not greater than the threshold (70.0)."; a.StateReason != want {
		t.Errorf("reason %q, want %q", a.StateReason, want)
	}
	if !a.StateTransitionedTimestamp.Equal(at("10:06:03")) {
		t.Errorf("transitioned at %v", a.StateTransitionedTimestamp)
	}
	// Each transition is in the history.
	out := e.ok("DescribeAlarmHistory", obj{"AlarmName": "cpu", "HistoryItemType": "StateUpdate", "ScanBy": "TimestampAscending"})
	var summaries []string
	for _, it := range list(out, "AlarmHistoryItems") {
		summaries = append(summaries, it["HistorySummary"].(string))
	}
	if got := strings.Join(summaries, "; "); got != "Alarm updated from INSUFFICIENT_DATA to OK; Alarm updated from OK to ALARM; Alarm updated from ALARM to OK" {
		t.Errorf("history: %s", got)
	}

	// SetAlarmState runs the new state's actions at once; the next
	// evaluation puts the alarm back where its data says.
	e.setNow(at("10:07:40"))
	e.ok("SetAlarmState", obj{"AlarmName": "cpu", "StateValue": "ALARM", "StateReason": "drill", "StateReasonData": `{"recentDatapoints":[95.5]}`})
	if got := rec.take(); got != "10:07:40 out*[95.5]" {
		t.Errorf("SetAlarmState actions %q", got)
	}
	l.advance(at("10:08:30"))
	if got := rec.take(); got != "10:08:03 in*[50 50 50]" {
		t.Errorf("after SetAlarmState: actions %q", got)
	}

	// Disabled actions do not run; the state still changes.
	e.ok("DisableAlarmActions", obj{"AlarmNames": []string{"cpu"}})
	e.ok("SetAlarmState", obj{"AlarmName": "cpu", "StateValue": "ALARM", "StateReason": "drill"})
	l.advance(at("10:09:30"))
	if got := rec.take(); got != "" {
		t.Errorf("actions ran while disabled: %q", got)
	}
	if a, _ := e.svc.DescribeAlarm(e.ctx, account, region, "cpu"); a.StateValue != "OK" {
		t.Errorf("state %s while actions are disabled", a.StateValue)
	}
}

// TestAlarmLoopHighResolution: an alarm with 10-second periods is
// evaluated every 10 seconds; a standard one only after minute
// boundaries.
func TestAlarmLoopHighResolution(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder(map[string]string{scaleOutARN: "hi-out", topicARN: "std-out"})
	e.svc.AddActionHandler(rec)
	e.ok("PutMetricAlarm", obj{"AlarmName": "hi", "Namespace": "Custom/App", "MetricName": "Queue", "Statistic": "Maximum",
		"Period": 10, "EvaluationPeriods": 1, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": []string{scaleOutARN}})
	e.ok("PutMetricAlarm", obj{"AlarmName": "std", "Namespace": "Custom/App", "MetricName": "Queue", "Statistic": "Maximum",
		"Period": 60, "EvaluationPeriods": 1, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": []string{topicARN}})
	for _, s := range []struct {
		at string
		v  float64
	}{{"10:00:05", 9}, {"10:00:15", 1}, {"10:00:25", 9}, {"10:00:35", 9}} {
		if err := e.metrics.Put("Custom/App", "Queue", nil, s.v, "Count", at(s.at)); err != nil {
			t.Fatal(err)
		}
	}
	l := startLoop(t, e.svc, at("09:59:59"))
	l.advance(at("10:00:45"))
	// hi: 10:00:03 sees 09:59:50 (none), 10:00:13 sees 10:00:00 (9),
	// 10:00:23 sees 10:00:10 (1), 10:00:33 and 10:00:43 see 9.
	if got, want := rec.take(), "10:00:13 hi-out*[9], 10:00:33 hi-out*[9], 10:00:43 hi-out[9]"; got != want {
		t.Errorf("actions %q, want %q", got, want)
	}
	// From 10:00:53 on no new data arrives, but the evaluation range
	// (three periods for one evaluation period) still holds 10:00:30.
	l.advance(at("10:01:05"))
	if got, want := rec.take(), "10:00:53 hi-out[9], 10:01:03 hi-out[9], 10:01:03 std-out*[9]"; got != want {
		t.Errorf("actions %q, want %q", got, want)
	}
	// 10:01:13: the range 10:00:40 to 10:01:10 has no data.
	l.advance(at("10:01:15"))
	if got := rec.take(); got != "" {
		t.Errorf("actions %q without data", got)
	}
	if a, _ := e.svc.DescribeAlarm(e.ctx, account, region, "hi"); a.StateValue != "INSUFFICIENT_DATA" || !a.StateTransitionedTimestamp.Equal(at("10:01:13")) {
		t.Errorf("hi: %s at %v", a.StateValue, a.StateTransitionedTimestamp)
	}
}

// TestAlarmsSurviveRestart: alarms, their state and history are in the
// store; a new Service on the reopened store evaluates them.
func TestAlarmsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricAlarm", cpuAlarm("cpu", "Tags", []obj{{"Key": "k", "Value": "v"}}))
	e.ok("SetAlarmState", obj{"AlarmName": "cpu", "StateValue": "ALARM", "StateReason": "before restart"})
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(e.ctx, e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	svc := &cloudwatch.Service{Store: st, Metrics: e.metrics, EvaluationDelay: 3 * time.Second}
	a, err := svc.DescribeAlarm(e.ctx, account, region, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	if a.StateValue != "ALARM" || a.StateReason != "before restart" || a.Threshold == nil || *a.Threshold != 70 || a.AlarmArn != alarmARN("cpu") {
		t.Errorf("after reopening: %+v", a)
	}
	tags, err := st.ListTags(e.ctx, a.AlarmArn)
	if err != nil || len(tags) != 1 {
		t.Errorf("tags after reopening: %v %v", tags, err)
	}
	// No data: the next evaluation finds INSUFFICIENT_DATA.
	if err := svc.EvaluateNow(e.ctx, at("10:05:03")); err != nil {
		t.Fatal(err)
	}
	a, _ = svc.DescribeAlarm(e.ctx, account, region, "cpu")
	if a.StateValue != "INSUFFICIENT_DATA" || a.StateReason != "Insufficient Data: 3 datapoints were unknown." {
		t.Errorf("after evaluation: %s %q", a.StateValue, a.StateReason)
	}
}

func alarmARN(name string) string { return "arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name }

// TestGoAPI: Application Auto Scaling's use: put, describe and delete
// target-tracking alarms without HTTP.
func TestGoAPI(t *testing.T) {
	e := newEnv(t)
	th := 70.0
	name := "TargetTracking-endpoint/E/variant/V-AlarmHigh-0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7"
	spec := cloudwatch.AlarmSpec{
		AlarmName: name, Namespace: "AWS/SageMaker", MetricName: "InvocationsPerInstance",
		Dimensions: []cloudwatch.Dimension{{Name: "EndpointName", Value: "E"}, {Name: "VariantName", Value: "V"}},
		Statistic:  "Sum", Period: 60, EvaluationPeriods: 3, Threshold: &th,
		ComparisonOperator: cloudwatch.GreaterThanThreshold, AlarmActions: []string{scaleOutARN},
	}
	arn, err := e.svc.PutAlarm(e.ctx, account, region, spec)
	if err != nil {
		t.Fatal(err)
	}
	if arn != alarmARN(name) {
		t.Errorf("arn %s", arn)
	}
	a, err := e.svc.DescribeAlarm(e.ctx, account, region, name)
	if err != nil || a.StateValue != cloudwatch.StateInsufficientData || a.ActionsEnabled == nil || !*a.ActionsEnabled {
		t.Fatalf("describe: %+v %v", a, err)
	}
	// The API sees it too (AWS/ namespaces are only refused for data).
	if got := alarmNames(e.ok("DescribeAlarms", obj{"AlarmNamePrefix": "TargetTracking-endpoint/E/"})); got != name {
		t.Errorf("DescribeAlarms: %q", got)
	}
	bad := spec
	bad.Period = 45
	if _, err := e.svc.PutAlarm(e.ctx, account, region, bad); err == nil || !strings.Contains(err.Error(), "Period") {
		t.Errorf("PutAlarm with period 45: %v", err)
	}
	if _, err := e.svc.DescribeAlarm(e.ctx, account, "eu-west-1", name); !errors.Is(err, cloudwatch.ErrAlarmNotFound) {
		t.Errorf("other region: %v", err)
	}
	if err := e.svc.DeleteAlarms(e.ctx, account, region, name, "ghost"); !errors.Is(err, cloudwatch.ErrAlarmNotFound) || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("delete with a missing alarm: %v", err)
	}
	if _, err := e.svc.DescribeAlarm(e.ctx, account, region, name); !errors.Is(err, cloudwatch.ErrAlarmNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

// TestMathAlarm evaluates an alarm on an expression.
func TestMathAlarm(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder(map[string]string{scaleOutARN: "out"})
	e.svc.AddActionHandler(rec)
	e.ok("PutMetricAlarm", obj{
		"AlarmName": "error-rate", "EvaluationPeriods": 2, "Threshold": 10, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"AlarmActions": []string{scaleOutARN},
		"Metrics": []obj{
			{"Id": "rate", "Expression": "FILL(m2, 0) / m1 * 100", "ReturnData": true},
			metricStat("m1", "Requests", false), metricStat("m2", "Errors", false),
		},
	})
	seedRequests(e) // 09:55-09:59: requests 10..50, errors 1, 0, 3, -, 5
	if err := e.svc.EvaluateNow(e.ctx, at("09:59:03")); err != nil {
		t.Fatal(err)
	}
	// 09:57 and 09:58: 10% and 0%: one of two breaching.
	a, _ := e.svc.DescribeAlarm(e.ctx, account, region, "error-rate")
	if a.StateValue != "OK" {
		t.Errorf("09:59: %s %q", a.StateValue, a.StateReason)
	}
	if err := e.svc.EvaluateNow(e.ctx, at("10:00:03")); err != nil {
		t.Fatal(err)
	}
	a, _ = e.svc.DescribeAlarm(e.ctx, account, region, "error-rate")
	if a.StateValue != "OK" {
		t.Errorf("10:00: %s %q", a.StateValue, a.StateReason)
	}
	// 09:59 is 10% again, and 10:00 gets 2 errors out of 10.
	e.ok("PutMetricData", obj{"Namespace": "Custom/Web", "MetricData": []obj{
		{"MetricName": "Requests", "Value": 10, "Timestamp": epoch(at("10:00:10"))},
		{"MetricName": "Errors", "Value": 2, "Timestamp": epoch(at("10:00:10"))},
	}})
	if err := e.svc.EvaluateNow(e.ctx, at("10:01:03")); err != nil {
		t.Fatal(err)
	}
	a, _ = e.svc.DescribeAlarm(e.ctx, account, region, "error-rate")
	if a.StateValue != "ALARM" || rec.take() != "10:01:03 out*[10 20]" {
		t.Errorf("10:01: %s %q", a.StateValue, a.StateReason)
	}
}
