package autoscale

import (
	"strings"
	"testing"
	"time"
)

func f64(v float64) *float64 { return &v }
func i32(v int32) *int32     { return &v }
func boolp(v bool) *bool     { return &v }

func TestTargetTrackingCapacity(t *testing.T) {
	tests := []struct {
		current        int
		metric, target float64
		want           int
	}{
		{2, 140, 70, 4},
		{2, 141, 70, 5},   // rounds up: the metric ends at or below target
		{3, 0.7, 0.7, 3},  // floating-point noise does not add an instance
		{10, 30, 70, 5},   // 4.28 -> 5
		{4, 62, 70, 4},    // 3.54 -> 4: below 90% but no instance to remove
		{1, 1000, 70, 15}, // 14.28 -> 15
		{0, 50, 70, 0},    // nothing measured
		{5, 70, 0, 5},     // invalid target: unchanged
		{8, 0, 70, 0},     // no load at all
		{3, 70.0000001, 70, 4},
	}
	for _, tc := range tests {
		if got := TargetTrackingCapacity(tc.current, tc.metric, tc.target); got != tc.want {
			t.Errorf("TargetTrackingCapacity(%d, %g, %g) = %d, want %d", tc.current, tc.metric, tc.target, got, tc.want)
		}
	}
}

func TestClampAndBounds(t *testing.T) {
	for _, tc := range []struct{ n, min, max, want int }{{0, 1, 8, 1}, {9, 1, 8, 8}, {5, 1, 8, 5}, {3, 3, 3, 3}} {
		if got := Clamp(tc.n, tc.min, tc.max); got != tc.want {
			t.Errorf("Clamp(%d, %d, %d) = %d, want %d", tc.n, tc.min, tc.max, got, tc.want)
		}
	}
	for _, tc := range []struct {
		desired, min, max, want int
		cause                   string
	}{
		{1, 2, 8, 2, "minimum capacity was set to 2"},
		{10, 1, 8, 8, "maximum capacity was set to 8"},
		{4, 1, 8, 4, ""},
	} {
		got, cause, changed := EnforceBounds(tc.desired, tc.min, tc.max)
		if got != tc.want || cause != tc.cause || changed != (tc.cause != "") {
			t.Errorf("EnforceBounds(%d, %d, %d) = %d, %q, %v", tc.desired, tc.min, tc.max, got, cause, changed)
		}
	}
}

func TestApplyScalableTargetAction(t *testing.T) {
	tests := []struct {
		min, max         int
		action           ScalableTargetAction
		wantMin, wantMax int
		desc             string
	}{
		{1, 8, ScalableTargetAction{MinCapacity: i32(5), MaxCapacity: i32(10)}, 5, 10, "Setting min capacity to 5 and max capacity to 10"},
		{1, 8, ScalableTargetAction{MinCapacity: i32(3)}, 3, 8, "Setting min capacity to 3"},
		{1, 8, ScalableTargetAction{MinCapacity: i32(12)}, 12, 12, "Setting min capacity to 12"}, // max follows
		{4, 8, ScalableTargetAction{MaxCapacity: i32(2)}, 2, 2, "Setting max capacity to 2"},     // min follows
		{1, 8, ScalableTargetAction{}, 1, 8, ""},
	}
	for _, tc := range tests {
		min, max, desc := ApplyScalableTargetAction(tc.min, tc.max, tc.action)
		if min != tc.wantMin || max != tc.wantMax || desc != tc.desc {
			t.Errorf("ApplyScalableTargetAction(%d, %d, %+v) = %d, %d, %q; want %d, %d, %q",
				tc.min, tc.max, tc.action, min, max, desc, tc.wantMin, tc.wantMax, tc.desc)
		}
	}
}

func TestAggregateMetric(t *testing.T) {
	dps := []float64{3, 9, 6}
	for _, tc := range []struct {
		agg  string
		want float64
	}{{"", 6}, {"Average", 6}, {"Minimum", 3}, {"Maximum", 9}} {
		if got, ok := AggregateMetric(tc.agg, dps); !ok || got != tc.want {
			t.Errorf("AggregateMetric(%q) = %g, %v; want %g", tc.agg, got, ok, tc.want)
		}
	}
	if _, ok := AggregateMetric("Average", nil); ok {
		t.Error("AggregateMetric without datapoints is ok")
	}
}

// AWS's example: an alarm with threshold 50; [0, 10) holds 50 up to 60
// exclusive when above, (-10, 0] holds 40 exclusive to 50 when below.
func TestSelectStep(t *testing.T) {
	steps := []StepAdjustment{
		{MetricIntervalUpperBound: f64(-10), ScalingAdjustment: -2},
		{MetricIntervalLowerBound: f64(-10), MetricIntervalUpperBound: f64(0), ScalingAdjustment: -1},
		{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: 1},
		{MetricIntervalLowerBound: f64(10), ScalingAdjustment: 3},
	}
	tests := []struct {
		value float64
		want  int32
		ok    bool
	}{
		{50, 1, true},   // at the threshold: above, lower bound inclusive
		{59.9, 1, true}, // upper exclusive
		{60, 3, true},   // next step's inclusive lower bound
		{1000, 3, true},
		{49.9, -1, true},
		{40, -2, true}, // below: upper inclusive, so 40 is in (-inf, -10]
		{40.1, -1, true},
		{-5, -2, true},
	}
	for _, tc := range tests {
		got, ok := SelectStep(steps, 50, tc.value)
		if ok != tc.ok || got.ScalingAdjustment != tc.want {
			t.Errorf("SelectStep(%g) = %d, %v; want %d", tc.value, got.ScalingAdjustment, ok, tc.want)
		}
	}
	// Only scale-out steps: below the threshold nothing applies.
	if _, ok := SelectStep(steps[2:], 50, 45); ok {
		t.Error("a value below the threshold matched a scale-out step")
	}
}

func TestApplyAdjustment(t *testing.T) {
	tests := []struct {
		typ         string
		current     int
		adj, minMag int32
		want        int
	}{
		{ChangeInCapacity, 4, 2, 0, 6},
		{ChangeInCapacity, 4, -3, 0, 1},
		{ExactCapacity, 4, 7, 0, 7},
		{ExactCapacity, 4, 0, 0, 0},
		{PercentChangeInCapacity, 4, 25, 2, 6},    // AWS's example: 25% of 4 is 1, at least 2
		{PercentChangeInCapacity, 4, 25, 0, 5},    // 1
		{PercentChangeInCapacity, 10, 127, 0, 22}, // 12.7 rounds down to 12
		{PercentChangeInCapacity, 3, -222, 0, -3}, // -6.66 rounds up to -6
		{PercentChangeInCapacity, 1, 50, 0, 2},    // 0.5 rounds to 1
		{PercentChangeInCapacity, 1, -50, 0, 0},   // -0.5 rounds to -1
		{PercentChangeInCapacity, 10, -10, 3, 7},  // -1, at least 3
		{PercentChangeInCapacity, 10, 200, 0, 30},
	}
	for _, tc := range tests {
		if got := ApplyAdjustment(tc.typ, tc.current, tc.adj, tc.minMag); got != tc.want {
			t.Errorf("ApplyAdjustment(%s, %d, %d, %d) = %d, want %d", tc.typ, tc.current, tc.adj, tc.minMag, got, tc.want)
		}
	}
}

func TestValidateStepAdjustments(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		steps []StepAdjustment
		err   string // substring; "" for valid
	}{
		{"one open step", ChangeInCapacity, []StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 1}}, ""},
		{"ladder", ChangeInCapacity, []StepAdjustment{
			{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: 1},
			{MetricIntervalLowerBound: f64(10), ScalingAdjustment: 3},
		}, ""},
		{"both sides", ChangeInCapacity, []StepAdjustment{
			{MetricIntervalUpperBound: f64(0), ScalingAdjustment: -1},
			{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 1},
		}, ""},
		{"none", ChangeInCapacity, nil, "At least one"},
		{"both null", ChangeInCapacity, []StepAdjustment{{ScalingAdjustment: 1}}, "cannot both be null"},
		{"upper below lower", ChangeInCapacity, []StepAdjustment{{MetricIntervalLowerBound: f64(5), MetricIntervalUpperBound: f64(1), ScalingAdjustment: 1}}, "greater than"},
		{"two null lower", ChangeInCapacity, []StepAdjustment{
			{MetricIntervalUpperBound: f64(-5), ScalingAdjustment: -1},
			{MetricIntervalUpperBound: f64(0), ScalingAdjustment: -1},
		}, "null lower bound"},
		{"negative lower without null", ChangeInCapacity, []StepAdjustment{
			{MetricIntervalLowerBound: f64(-10), MetricIntervalUpperBound: f64(0), ScalingAdjustment: -1},
		}, "negative lower bound"},
		{"positive upper without null", ChangeInCapacity, []StepAdjustment{
			{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: 1},
		}, "positive upper bound"},
		{"gap", ChangeInCapacity, []StepAdjustment{
			{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: 1},
			{MetricIntervalLowerBound: f64(20), ScalingAdjustment: 2},
		}, "gaps"},
		{"overlap", ChangeInCapacity, []StepAdjustment{
			{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: 1},
			{MetricIntervalLowerBound: f64(5), ScalingAdjustment: 2},
		}, "overlap"},
		{"negative exact", ExactCapacity, []StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: -1}}, "cannot be negative"},
	}
	for _, tc := range tests {
		err := ValidateStepAdjustments(tc.typ, tc.steps)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: ValidateStepAdjustments = %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestCooldownsAfterScale(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := Cooldowns{}.AfterScale(t0, Out, 5*time.Minute, 2)
	if !c.ScaleOutUntil.Equal(t0.Add(5*time.Minute)) || c.ScaleOutBase != 2 {
		t.Fatalf("after scale-out: %+v", c)
	}
	// A second scale-out inside the cooldown keeps the base.
	c2 := c.AfterScale(t0.Add(time.Minute), Out, 5*time.Minute, 4)
	if c2.ScaleOutBase != 2 || !c2.ScaleOutUntil.Equal(t0.Add(6*time.Minute)) {
		t.Errorf("second scale-out in cooldown: %+v", c2)
	}
	// After the cooldown the base is the new capacity.
	if c3 := c.AfterScale(t0.Add(10*time.Minute), Out, time.Minute, 4); c3.ScaleOutBase != 4 {
		t.Errorf("scale-out after cooldown: %+v", c3)
	}
	// A scale-out ends a scale-in cooldown.
	in := Cooldowns{}.AfterScale(t0, In, 10*time.Minute, 4)
	if !in.InScaleIn(t0.Add(time.Minute)) {
		t.Fatal("no scale-in cooldown")
	}
	out := in.AfterScale(t0.Add(time.Minute), Out, time.Minute, 3)
	if out.InScaleIn(t0.Add(time.Minute)) {
		t.Errorf("scale-out did not end the scale-in cooldown: %+v", out)
	}
}

func TestAlarmReadingBreaching(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := AlarmReading{Alarm: "a", State: "ALARM", Value: 1, Has: true, Time: t0, Period: time.Minute}
	for _, tc := range []struct {
		r    AlarmReading
		at   time.Time
		want bool
	}{
		{r, t0.Add(time.Minute), true},
		{r, t0.Add(150 * time.Second), true},
		{r, t0.Add(151 * time.Second), false}, // the alarm left ALARM: no re-invocation
		{AlarmReading{State: "OK", Has: true, Time: t0}, t0, false},
		{AlarmReading{State: "ALARM", Time: t0}, t0, false}, // no value
		{AlarmReading{State: "ALARM", Has: true, Time: t0, Period: 10 * time.Second}, t0.Add(51 * time.Second), false},
	} {
		if got := tc.r.Breaching(tc.at); got != tc.want {
			t.Errorf("%+v.Breaching(+%v) = %v, want %v", tc.r, tc.at.Sub(t0), got, tc.want)
		}
	}
}

// tt is a target-tracking policy state with readings taken at now.
func tt(name string, target float64, high, low *float64, now time.Time, opts ...func(*TargetTrackingScalingPolicyConfiguration)) PolicyState {
	cfg := &TargetTrackingScalingPolicyConfiguration{TargetValue: target}
	for _, o := range opts {
		o(cfg)
	}
	p := PolicyState{Name: name, Type: PolicyTargetTracking, TargetTracking: cfg,
		High: AlarmReading{Alarm: name + "-AlarmHigh-x", Period: time.Minute},
		Low:  AlarmReading{Alarm: name + "-AlarmLow-x", Period: time.Minute}}
	if high != nil {
		p.High.State, p.High.Value, p.High.Has, p.High.Time = "ALARM", *high, true, now
	}
	if low != nil {
		p.Low.State, p.Low.Value, p.Low.Has, p.Low.Time = "ALARM", *low, true, now
	}
	return p
}

func step(name, typ string, cooldown int32, steps ...StepAdjustment) PolicyState {
	return PolicyState{Name: name, Type: PolicyStep, Step: &StepScalingPolicyConfiguration{
		AdjustmentType: typ, StepAdjustments: steps, Cooldown: &cooldown}}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	highEv := func(p string, v float64) AlarmEvent {
		return AlarmEvent{Policy: p, Alarm: p + "-AlarmHigh-x", State: "ALARM", Threshold: 70, Datapoints: []float64{v, v, v}}
	}
	lowEv := func(p string, v float64) AlarmEvent {
		return AlarmEvent{Policy: p, Alarm: p + "-AlarmLow-x", State: "ALARM", Threshold: 63, Datapoints: []float64{v}}
	}
	stepEv := func(p string, threshold, v float64) AlarmEvent {
		return AlarmEvent{Policy: p, Alarm: p + "-alarm", State: "ALARM", Threshold: threshold, Datapoints: []float64{v}}
	}
	up := []StepAdjustment{
		{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(20), ScalingAdjustment: 2},
		{MetricIntervalLowerBound: f64(20), ScalingAdjustment: 4},
	}
	down := []StepAdjustment{{MetricIntervalUpperBound: f64(0), ScalingAdjustment: -1}}
	disableIn := func(c *TargetTrackingScalingPolicyConfiguration) { c.DisableScaleIn = boolp(true) }
	caps := Capacities{Min: 1, Max: 8, Desired: 2, Actual: 2}
	inCooldown := Cooldowns{ScaleInUntil: now.Add(time.Minute)}
	outCooldown := Cooldowns{ScaleOutUntil: now.Add(time.Minute), ScaleOutBase: 2}

	tests := []struct {
		name      string
		caps      Capacities
		susp      SuspendedState
		cool      Cooldowns
		policies  []PolicyState
		ev        AlarmEvent
		scale     bool
		desired   int
		dir       Direction
		notScaled string
		winner    string
	}{
		{name: "tt out", caps: caps, policies: []PolicyState{tt("a", 70, f64(140), nil, now)}, ev: highEv("a", 140),
			scale: true, desired: 4, dir: Out, winner: "a"},
		{name: "tt out clamped to max", caps: caps, policies: []PolicyState{tt("a", 70, f64(700), nil, now)}, ev: highEv("a", 700),
			scale: true, desired: 8, dir: Out},
		{name: "tt out at max", caps: Capacities{Min: 1, Max: 2, Desired: 2, Actual: 2}, policies: []PolicyState{tt("a", 70, f64(140), nil, now)},
			ev: highEv("a", 140), dir: Out, notScaled: ReasonAlreadyAtMax},
		{name: "tt out: capacity still launching covers it", caps: Capacities{Min: 1, Max: 8, Desired: 4, Actual: 2},
			policies: []PolicyState{tt("a", 70, f64(140), nil, now)}, ev: highEv("a", 140), dir: Hold},
		{name: "tt out measured on instances in service", caps: Capacities{Min: 1, Max: 8, Desired: 4, Actual: 2},
			policies: []PolicyState{tt("a", 70, f64(210), nil, now)}, ev: highEv("a", 210), scale: true, desired: 6, dir: Out},
		{name: "tt out in cooldown: metric lags the capacity added", caps: Capacities{Min: 1, Max: 10, Desired: 6, Actual: 6}, cool: outCooldown,
			policies: []PolicyState{tt("a", 70, f64(210), nil, now)}, ev: highEv("a", 210), dir: Hold},
		{name: "tt out in cooldown: larger scale-out goes ahead", caps: Capacities{Min: 1, Max: 10, Desired: 6, Actual: 6}, cool: outCooldown,
			policies: []PolicyState{tt("a", 70, f64(350), nil, now)}, ev: highEv("a", 350), scale: true, desired: 10, dir: Out},
		{name: "two tt out: largest wins", caps: caps,
			policies: []PolicyState{tt("a", 70, f64(140), nil, now), tt("b", 10, f64(40), nil, now)}, ev: highEv("a", 140),
			scale: true, desired: 8, dir: Out, winner: "b"},
		{name: "tt in", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now)}, ev: lowEv("a", 20), scale: true, desired: 2, dir: In},
		{name: "tt in: all policies say in, largest wins", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now), tt("b", 10, nil, f64(5), now)}, ev: lowEv("a", 20),
			scale: true, desired: 3, dir: In, winner: "b"},
		{name: "tt in held: another policy not ready", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now), tt("b", 10, nil, nil, now)}, ev: lowEv("a", 20), dir: Hold},
		{name: "tt in: DisableScaleIn policy does not vote", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now), tt("b", 10, nil, nil, now, disableIn)}, ev: lowEv("a", 20),
			scale: true, desired: 2, dir: In},
		{name: "tt in held: another says out", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now), tt("b", 10, f64(50), nil, now)}, ev: lowEv("a", 20), dir: Hold},
		{name: "tt in disabled", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now, disableIn)}, ev: lowEv("a", 20), dir: Hold},
		{name: "tt in: missing data never scales in", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now)},
			ev:       AlarmEvent{Policy: "a", Alarm: "a-AlarmLow-x", State: "ALARM", Threshold: 63}, dir: Hold},
		{name: "tt in at min", caps: Capacities{Min: 2, Max: 8, Desired: 2, Actual: 2},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now)}, ev: lowEv("a", 20), dir: In, notScaled: ReasonAlreadyAtMin},
		{name: "tt in rounds to the same capacity", caps: Capacities{Min: 1, Max: 8, Desired: 4, Actual: 4},
			policies: []PolicyState{tt("a", 70, nil, f64(60), now)}, ev: lowEv("a", 60), dir: In, notScaled: ReasonAlreadyAtDesired},
		{name: "scale-in cooldown holds scale-in", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6}, cool: inCooldown,
			policies: []PolicyState{tt("a", 70, nil, f64(20), now)}, ev: lowEv("a", 20), dir: Hold},
		{name: "scale-out during scale-in cooldown goes ahead", caps: caps, cool: inCooldown,
			policies: []PolicyState{tt("a", 70, f64(140), nil, now)}, ev: highEv("a", 140), scale: true, desired: 4, dir: Out},
		{name: "suspended scale-out", caps: caps, susp: SuspendedState{DynamicScalingOutSuspended: true},
			policies: []PolicyState{tt("a", 70, f64(140), nil, now)}, ev: highEv("a", 140), dir: Hold},
		{name: "suspended scale-in", caps: Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6}, susp: SuspendedState{DynamicScalingInSuspended: true},
			policies: []PolicyState{tt("a", 70, nil, f64(20), now)}, ev: lowEv("a", 20), dir: Hold},
		{name: "suspended scale-in lets scale-out", caps: caps, susp: SuspendedState{DynamicScalingInSuspended: true},
			policies: []PolicyState{tt("a", 70, f64(140), nil, now)}, ev: highEv("a", 140), scale: true, desired: 4, dir: Out},
		{name: "step out", caps: caps, policies: []PolicyState{step("s", ChangeInCapacity, 300, up...)}, ev: stepEv("s", 80, 90),
			scale: true, desired: 4, dir: Out},
		{name: "step out big breach", caps: caps, policies: []PolicyState{step("s", ChangeInCapacity, 300, up...)}, ev: stepEv("s", 80, 120),
			scale: true, desired: 6, dir: Out},
		{name: "step out in cooldown: same step held", caps: Capacities{Min: 1, Max: 8, Desired: 4, Actual: 2}, cool: outCooldown,
			policies: []PolicyState{step("s", ChangeInCapacity, 300, up...)}, ev: stepEv("s", 80, 90), dir: Hold},
		{name: "step out in cooldown: larger step goes ahead from the base", caps: Capacities{Min: 1, Max: 8, Desired: 4, Actual: 2}, cool: outCooldown,
			policies: []PolicyState{step("s", ChangeInCapacity, 300, up...)}, ev: stepEv("s", 80, 120), scale: true, desired: 6, dir: Out},
		{name: "step out combined with tt: largest wins", caps: caps,
			policies: []PolicyState{step("s", ChangeInCapacity, 300, up...), tt("a", 70, f64(280), nil, now)}, ev: stepEv("s", 80, 90),
			scale: true, desired: 8, dir: Out, winner: "a"},
		{name: "step in not held by tt not ready", caps: Capacities{Min: 1, Max: 8, Desired: 4, Actual: 4},
			policies: []PolicyState{step("s", ChangeInCapacity, 300, down...), tt("a", 70, nil, nil, now)}, ev: stepEv("s", 20, 10),
			scale: true, desired: 3, dir: In},
		{name: "step in held by tt out", caps: Capacities{Min: 1, Max: 8, Desired: 4, Actual: 4},
			policies: []PolicyState{step("s", ChangeInCapacity, 300, down...), tt("a", 70, f64(100), nil, now)}, ev: stepEv("s", 20, 10), dir: Hold},
		{name: "step in at min", caps: Capacities{Min: 4, Max: 8, Desired: 4, Actual: 4},
			policies: []PolicyState{step("s", ChangeInCapacity, 300, down...)}, ev: stepEv("s", 20, 10), dir: In, notScaled: ReasonAlreadyAtMin},
		{name: "step exact capacity", caps: caps,
			policies: []PolicyState{step("s", ExactCapacity, 300, StepAdjustment{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 5})},
			ev:       stepEv("s", 80, 90), scale: true, desired: 5, dir: Out},
		{name: "step exact capacity already there", caps: Capacities{Min: 1, Max: 8, Desired: 5, Actual: 5},
			policies: []PolicyState{step("s", ExactCapacity, 300, StepAdjustment{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 5})},
			ev:       stepEv("s", 80, 90), notScaled: ReasonAlreadyAtDesired},
		{name: "step percent with min magnitude", caps: Capacities{Min: 1, Max: 20, Desired: 4, Actual: 4},
			policies: []PolicyState{{Name: "s", Type: PolicyStep, Step: &StepScalingPolicyConfiguration{AdjustmentType: PercentChangeInCapacity,
				MinAdjustmentMagnitude: i32(2), StepAdjustments: []StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 25}}}}},
			ev: stepEv("s", 80, 90), scale: true, desired: 6, dir: Out},
		{name: "step aggregates datapoints", caps: caps,
			policies: []PolicyState{{Name: "s", Type: PolicyStep, Step: &StepScalingPolicyConfiguration{AdjustmentType: ChangeInCapacity,
				MetricAggregationType: "Maximum", StepAdjustments: up}}},
			ev:    AlarmEvent{Policy: "s", Alarm: "s-alarm", State: "ALARM", Threshold: 80, Datapoints: []float64{85, 101, 90}},
			scale: true, desired: 6, dir: Out},
		{name: "step without datapoints (SetAlarmState): the step at the threshold, out", caps: caps,
			policies: []PolicyState{step("s", ChangeInCapacity, 300, up...)},
			ev:       AlarmEvent{Policy: "s", Alarm: "s-alarm", State: "ALARM", Threshold: 80}, scale: true, desired: 4, dir: Out},
		{name: "step without datapoints (SetAlarmState): the step at the threshold, in", caps: Capacities{Min: 1, Max: 8, Desired: 4, Actual: 4},
			policies: []PolicyState{step("s", ChangeInCapacity, 300, down...)},
			ev:       AlarmEvent{Policy: "s", Alarm: "s-alarm", State: "ALARM", Threshold: 80}, scale: true, desired: 3, dir: In},
		{name: "OK state does nothing", caps: caps, policies: []PolicyState{tt("a", 70, f64(140), nil, now)},
			ev: AlarmEvent{Policy: "a", Alarm: "a-AlarmHigh-x", State: "OK"}, dir: Hold},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(now, tc.caps, tc.susp, tc.cool, tc.policies, tc.ev)
			if d.Scale != tc.scale || tc.scale && d.Desired != tc.desired || d.Direction != tc.dir {
				t.Fatalf("Decide = %+v; want scale %v to %d, direction %v", d, tc.scale, tc.desired, tc.dir)
			}
			var code string
			if len(d.NotScaled) > 0 {
				code = d.NotScaled[0].Code
			}
			if code != tc.notScaled {
				t.Errorf("not scaled %q, want %q (decision %+v)", code, tc.notScaled, d)
			}
			if tc.winner != "" && d.Policy != tc.winner {
				t.Errorf("winner %q, want %q", d.Policy, tc.winner)
			}
			if !d.Scale && d.Cooldowns != tc.cool {
				t.Errorf("cooldowns changed without scaling: %+v", d.Cooldowns)
			}
			if d.Scale && d.Direction == Out && !d.Cooldowns.InScaleOut(now) {
				t.Errorf("scale-out without a scale-out cooldown: %+v", d.Cooldowns)
			}
			if d.Scale && d.Direction == In && !d.Cooldowns.InScaleIn(now) {
				t.Errorf("scale-in without a scale-in cooldown: %+v", d.Cooldowns)
			}
		})
	}
}

// The cooldown a decision starts is the winning policy's.
func TestDecideCooldownLength(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := tt("a", 70, f64(140), f64(10), now, func(c *TargetTrackingScalingPolicyConfiguration) {
		c.ScaleOutCooldown, c.ScaleInCooldown = i32(60), i32(600)
	})
	d := Decide(now, Capacities{Min: 1, Max: 8, Desired: 2, Actual: 2}, SuspendedState{}, Cooldowns{}, []PolicyState{p},
		AlarmEvent{Policy: "a", Alarm: "a-AlarmHigh-x", State: "ALARM", Datapoints: []float64{140}})
	if !d.Cooldowns.ScaleOutUntil.Equal(now.Add(time.Minute)) {
		t.Errorf("scale-out cooldown until %v, want +60s", d.Cooldowns.ScaleOutUntil)
	}
	p.High = AlarmReading{Alarm: p.High.Alarm}
	d = Decide(now, Capacities{Min: 1, Max: 8, Desired: 6, Actual: 6}, SuspendedState{}, Cooldowns{}, []PolicyState{p},
		AlarmEvent{Policy: "a", Alarm: "a-AlarmLow-x", State: "ALARM", Datapoints: []float64{10}})
	if !d.Scale || !d.Cooldowns.ScaleInUntil.Equal(now.Add(10*time.Minute)) {
		t.Errorf("scale-in: %+v, want a 600 s cooldown", d)
	}
	// Defaults: 300 s.
	q := step("s", ChangeInCapacity, 0)
	q.Step.Cooldown = nil
	if got := q.Cooldown(Out); got != 300*time.Second {
		t.Errorf("default step cooldown %v", got)
	}
}

// TestRefusal: a refused scaling is news once; the same refusal again backs
// off, doubling up to RefusalRetryMax, and holds back only scalings the
// same way until its retry time.
func TestRefusal(t *testing.T) {
	var backoffs []string
	for n := 1; n <= 7; n++ {
		backoffs = append(backoffs, RefusalBackoff(n).String())
	}
	if got, want := strings.Join(backoffs, " "), "1m0s 2m0s 4m0s 8m0s 15m0s 15m0s 15m0s"; got != want {
		t.Errorf("backoffs %s, want %s", got, want)
	}

	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const quota = "over the quota"
	r1, news := Refused(nil, 2, 5, quota, t0)
	if !news || r1 != (Refusal{Desired: 5, Reason: quota, Out: true, Attempts: 1, Retry: t0.Add(time.Minute), Asked: t0}) {
		t.Errorf("first refusal %+v, news %v", r1, news)
	}
	at := t0.Add(time.Minute)
	r2, news := Refused(&r1, 2, 5, quota, at)
	if news || r2.Attempts != 2 || !r2.Retry.Equal(at.Add(2*time.Minute)) {
		t.Errorf("the same refusal again: %+v, news %v", r2, news)
	}
	if _, news := Refused(&r2, 2, 5, "another reason", at); !news {
		t.Error("a refusal for another reason is not news")
	}
	if r, news := Refused(&r2, 2, 6, quota, at); !news || r.Attempts != 1 {
		t.Errorf("a refusal of another capacity: %+v, news %v", r, news)
	}

	tests := []struct {
		name       string
		r          *Refusal
		at         time.Time
		desired, n int
		holdsBack  bool
	}{
		{"no refusal", nil, at, 2, 5, false},
		{"scale-out before the retry", &r2, at, 2, 5, true},
		{"another scale-out before the retry", &r2, at, 2, 7, true},
		{"scale-in before the retry", &r2, at, 2, 1, false},
		{"scale-out at the retry", &r2, r2.Retry, 2, 5, false},
	}
	for _, tt := range tests {
		if got := tt.r.HoldsBack(tt.at, tt.desired, tt.n); got != tt.holdsBack {
			t.Errorf("%s: HoldsBack %v, want %v", tt.name, got, tt.holdsBack)
		}
	}
}
