package simulate

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/autoscale"
	"github.com/inferscale/inferscale/internal/cloudwatch"
)

var t0 = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// stepTrace is base invocations a minute, rising to 4× from minute 30 to
// minute 90, for minutes minutes.
func stepTrace(base float64, minutes int) Trace {
	tr := Trace{Start: t0}
	for m := range minutes {
		v := base
		if m >= 30 && m < 90 {
			v = 4 * base
		}
		tr.PerMinute = append(tr.PerMinute, v)
	}
	return tr
}

func i32(v int32) *int32     { return &v }
func f64(v float64) *float64 { return &v }
func boolp(v bool) *bool     { return &v }
func ptrTo[T any](v T) *T    { return &v }
func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

func TestTargetTracking(t *testing.T) {
	tt := &autoscale.TargetTrackingScalingPolicyConfiguration{
		TargetValue:                   700,
		PredefinedMetricSpecification: &autoscale.PredefinedMetricSpecification{PredefinedMetricType: "SageMakerVariantInvocationsPerInstance"},
		ScaleInCooldown:               i32(600), ScaleOutCooldown: i32(300),
	}
	cfg := Config{
		Trace: stepTrace(1000, 240), Variant: autoscale.Variant{Endpoint: "e", Variant: "v"},
		Instance: Instance{MaxInvocations: 1200, ModelLatency: 10 * time.Millisecond, CPUUtilization: 80, SetupTime: time.Minute, CostPerHour: 0.25},
		Min:      1, Max: 8, Initial: 1,
		Policies: []autoscale.ScalingPolicy{{PolicyName: "p", PolicyType: autoscale.PolicyTargetTracking, TargetTrackingScalingPolicyConfiguration: tt}},
	}
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 1000/min on one instance is above the target of 700 for three
	// minutes: ceil(1 × 1000/700) = 2. At 4× traffic on 2: ceil(2 × 2000/700)
	// = 6, three minutes after the step. Back at 1000/min on 6, below 90% of
	// the target for 15 minutes: ceil(6 × 166.7/700) = 2.
	want := []struct {
		from, to int
		at       time.Time
	}{{1, 2, at(3, 1)}, {2, 6, at(33, 1)}, {6, 2, at(105, 1)}}
	if len(res.Activities) != len(want) {
		t.Fatalf("activities %+v, want %d", res.Activities, len(want))
	}
	for i, w := range want {
		a := res.Activities[i]
		if a.From != w.from || a.To != w.to || !a.Time.Equal(w.at) || a.Policy != "p" {
			t.Errorf("activity %d: %d→%d at %s by %s, want %d→%d at %s", i, a.From, a.To, a.Time.Format("15:04:05"), a.Policy, w.from, w.to, w.at.Format("15:04:05"))
		}
	}
	// Over the threshold: minute 0 to 4 on one instance (1000 < 1200: not
	// over), then from the step until 6 instances serve (minute 30 to 34).
	if res.MinutesOverThreshold != 5 {
		t.Errorf("%d minutes over the threshold, want 5", res.MinutesOverThreshold)
	}
	if len(res.Minutes) != 240 || res.PeakInstances != 6 {
		t.Errorf("%d minutes, peak %d", len(res.Minutes), res.PeakInstances)
	}
	// Instance-hours: 1 for 3m01s, 2 until 33m01s, 6 until 105m01s, 2 after.
	wantHours := (1*3.05 + 2*30 + 6*72 + 2*(240-105.05)) / 60
	if math.Abs(res.InstanceHours-wantHours) > 0.02 {
		t.Errorf("%.3f instance-hours, want %.3f", res.InstanceHours, wantHours)
	}
	if res.Cost != res.InstanceHours*0.25 || !strings.Contains(res.Summary(), fmt.Sprintf("instance-hours ($%.2f)", res.Cost)) {
		t.Errorf("cost %v of %v instance-hours at $0.25: %s", res.Cost, res.InstanceHours, res.Summary())
	}
	var buf bytes.Buffer
	if err := WriteSVG(&buf, "test <plot>", res); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the plot is not well-formed XML: %v", err)
		}
	}
}

func TestStepScaling(t *testing.T) {
	step := &autoscale.StepScalingPolicyConfiguration{
		AdjustmentType: "ChangeInCapacity", Cooldown: i32(120), MetricAggregationType: "Average",
		StepAdjustments: []autoscale.StepAdjustment{
			{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(1000), ScalingAdjustment: 1},
			{MetricIntervalLowerBound: f64(1000), ScalingAdjustment: 3},
		},
	}
	alarm := cloudwatch.AlarmSpec{
		AlarmName: "busy", AlarmActions: []string{"out"}, Namespace: "AWS/SageMaker", MetricName: "InvocationsPerInstance",
		Dimensions: []cloudwatch.Dimension{{Name: "EndpointName", Value: "e"}, {Name: "VariantName", Value: "v"}},
		Statistic:  "Sum", Period: 60, EvaluationPeriods: 2, Threshold: f64(850), ComparisonOperator: "GreaterThanThreshold",
	}
	cfg := Config{
		Trace: stepTrace(1000, 120), Variant: autoscale.Variant{Endpoint: "e", Variant: "v"},
		Instance: Instance{MaxInvocations: 1200, ModelLatency: 10 * time.Millisecond, CPUUtilization: 80, SetupTime: 30 * time.Second},
		Min:      1, Max: 10, Initial: 2,
		Policies: []autoscale.ScalingPolicy{{PolicyName: "out", PolicyType: autoscale.PolicyStep, StepScalingPolicyConfiguration: step}},
		Alarms:   []cloudwatch.AlarmSpec{alarm},
	}
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 4000/min on 2 instances: 2000 per instance, 1150 over the threshold:
	// +3 (to 5) two minutes after the step; 800 per instance is below the
	// threshold, so nothing more.
	if len(res.Activities) != 1 || res.Activities[0].From != 2 || res.Activities[0].To != 5 || !res.Activities[0].Time.Equal(at(32, 1)) {
		t.Fatalf("activities %+v, want 2→5 at 00:32:01", res.Activities)
	}
}

func TestConfigErrors(t *testing.T) {
	stepPolicy := autoscale.ScalingPolicy{PolicyName: "s", PolicyType: autoscale.PolicyStep,
		StepScalingPolicyConfiguration: &autoscale.StepScalingPolicyConfiguration{AdjustmentType: "ChangeInCapacity",
			StepAdjustments: []autoscale.StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 1}}}}
	stepAlarm := cloudwatch.AlarmSpec{
		AlarmName: "busy", AlarmActions: []string{"s"}, Namespace: "AWS/SageMaker", MetricName: "InvocationsPerInstance",
		Statistic: "Sum", Period: 60, EvaluationPeriods: 2, Threshold: f64(850), ComparisonOperator: "GreaterThanThreshold",
	}
	ok := Config{
		Trace: stepTrace(10, 5), Variant: autoscale.Variant{Endpoint: "e", Variant: "v"},
		Instance: Instance{MaxInvocations: 100}, Min: 1, Max: 2, Initial: 1,
		Policies: []autoscale.ScalingPolicy{{PolicyName: "p", PolicyType: autoscale.PolicyTargetTracking,
			TargetTrackingScalingPolicyConfiguration: &autoscale.TargetTrackingScalingPolicyConfiguration{TargetValue: 1,
				PredefinedMetricSpecification: &autoscale.PredefinedMetricSpecification{PredefinedMetricType: "SageMakerVariantInvocationsPerInstance"}}}},
	}
	tests := []struct {
		name   string
		change func(c *Config)
		err    string
	}{
		{"bounds", func(c *Config) { c.Max = 0 }, "capacity bounds 1..0"},
		{"initial", func(c *Config) { c.Initial = 3 }, "initial capacity 3 is outside 1..2"},
		{"capacity", func(c *Config) { c.Instance.MaxInvocations = 0 }, "MaxInvocations) must be > 0"},
		{"no policy", func(c *Config) { c.Policies = nil }, "no scaling policy"},
		{"step without alarm", func(c *Config) {
			c.Policies = []autoscale.ScalingPolicy{{PolicyName: "s", PolicyType: autoscale.PolicyStep,
				StepScalingPolicyConfiguration: &autoscale.StepScalingPolicyConfiguration{AdjustmentType: "ChangeInCapacity",
					StepAdjustments: []autoscale.StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 1}}}}}
		}, "step policy s has no alarm"},
		{"predictive", func(c *Config) { c.Policies[0].PolicyType = "PredictiveScaling" }, `type "PredictiveScaling" is not simulated`},
		// Policies are checked as PutScalingPolicy checks them.
		{"no target value", func(c *Config) {
			tt := *c.Policies[0].TargetTrackingScalingPolicyConfiguration
			tt.TargetValue = 0
			c.Policies[0].TargetTrackingScalingPolicyConfiguration = &tt
		},
			"policy p: invalid: TargetValue must be a positive number (0)"},
		{"negative cooldown", func(c *Config) {
			tt := *c.Policies[0].TargetTrackingScalingPolicyConfiguration
			tt.ScaleInCooldown = i32(-300)
			c.Policies[0].TargetTrackingScalingPolicyConfiguration = &tt
		},
			"ScaleInCooldown cannot be negative (-300)"},
		{"no target tracking configuration", func(c *Config) { c.Policies[0].TargetTrackingScalingPolicyConfiguration = nil },
			"TargetTrackingScalingPolicyConfiguration is required"},
		{"misspelt adjustment type", func(c *Config) {
			p := stepPolicy
			p.StepScalingPolicyConfiguration = &autoscale.StepScalingPolicyConfiguration{AdjustmentType: "PercentChangeInCapacty",
				StepAdjustments: stepPolicy.StepScalingPolicyConfiguration.StepAdjustments}
			c.Policies = []autoscale.ScalingPolicy{p}
			c.Alarms = []cloudwatch.AlarmSpec{stepAlarm}
		}, "policy s: invalid: AdjustmentType PercentChangeInCapacty is not one of"},
		{"step bounds with a gap", func(c *Config) {
			p := stepPolicy
			p.StepScalingPolicyConfiguration = &autoscale.StepScalingPolicyConfiguration{AdjustmentType: "ChangeInCapacity",
				StepAdjustments: []autoscale.StepAdjustment{
					{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: 1},
					{MetricIntervalLowerBound: f64(20), ScalingAdjustment: 2}}}
			c.Policies = []autoscale.ScalingPolicy{p}
			c.Alarms = []cloudwatch.AlarmSpec{stepAlarm}
		}, "Step adjustments cannot have gaps"},
		// Alarm files are checked as PutMetricAlarm checks them.
		{"alarm without threshold", func(c *Config) {
			c.Policies = []autoscale.ScalingPolicy{stepPolicy}
			a := stepAlarm
			a.Threshold = nil
			c.Alarms = []cloudwatch.AlarmSpec{a}
		}, "alarm busy: MissingRequiredParameterException: The parameter Threshold is required"},
		{"alarm operator", func(c *Config) {
			c.Policies = []autoscale.ScalingPolicy{stepPolicy}
			a := stepAlarm
			a.ComparisonOperator = "GreaterThan"
			c.Alarms = []cloudwatch.AlarmSpec{a}
		}, "alarm busy: invalid: ComparisonOperator GreaterThan is for anomaly detection alarms"},
		{"alarm action", func(c *Config) {
			c.Policies = []autoscale.ScalingPolicy{stepPolicy}
			a := stepAlarm
			a.AlarmActions = []string{"s", "page-me"}
			c.Alarms = []cloudwatch.AlarmSpec{a}
		}, "The value page-me for parameter AlarmActions.member.2 is not a valid ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.Policies = append([]autoscale.ScalingPolicy(nil), ok.Policies...)
			tt.change(&c)
			if _, err := Run(c); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
	_ = boolp
	_ = ptrTo[int]
}

// TestAlarmActions runs the step policies an alarm names as CloudWatch and
// the controller do: every policy of AlarmActions, in order, and none while
// the alarm's actions are disabled.
func TestAlarmActions(t *testing.T) {
	step := func(adjustment int32) *autoscale.StepScalingPolicyConfiguration {
		return &autoscale.StepScalingPolicyConfiguration{AdjustmentType: "ChangeInCapacity", Cooldown: i32(120),
			StepAdjustments: []autoscale.StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: adjustment}}}
	}
	busy := cloudwatch.AlarmSpec{
		AlarmName: "busy", Namespace: "AWS/SageMaker", MetricName: "InvocationsPerInstance",
		Dimensions: []cloudwatch.Dimension{{Name: "EndpointName", Value: "e"}, {Name: "VariantName", Value: "v"}},
		Statistic:  "Sum", Period: 60, EvaluationPeriods: 2, Threshold: f64(1500), ComparisonOperator: "GreaterThanThreshold",
	}
	type act struct {
		from, to int
		policy   string
	}
	tests := []struct {
		name  string
		alarm func(a *cloudwatch.AlarmSpec)
		want  []act
	}{
		{"one policy", func(a *cloudwatch.AlarmSpec) { a.AlarmActions = []string{"two"} }, []act{{2, 4, "two"}}},
		// The second action runs during the first one's scale-out
		// cooldown: it counts from the capacity before it (2 + 2).
		{"two policies, in order", func(a *cloudwatch.AlarmSpec) { a.AlarmActions = []string{"one", "two"} }, []act{{2, 3, "one"}, {3, 4, "two"}}},
		{"an SNS topic as well", func(a *cloudwatch.AlarmSpec) {
			a.AlarmActions = []string{"arn:aws:sns:us-east-1:123456789012:ops", "one"}
		}, []act{{2, 3, "one"}}},
		{"actions disabled", func(a *cloudwatch.AlarmSpec) { a.AlarmActions, a.ActionsEnabled = []string{"one", "two"}, boolp(false) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alarm := busy
			tt.alarm(&alarm)
			cfg := Config{
				Trace: stepTrace(1000, 60), Variant: autoscale.Variant{Endpoint: "e", Variant: "v"},
				Instance: Instance{MaxInvocations: 1200, ModelLatency: 10 * time.Millisecond, CPUUtilization: 80, SetupTime: 30 * time.Second},
				Min:      1, Max: 10, Initial: 2,
				Policies: []autoscale.ScalingPolicy{
					{PolicyName: "one", PolicyType: autoscale.PolicyStep, StepScalingPolicyConfiguration: step(1)},
					{PolicyName: "two", PolicyType: autoscale.PolicyStep, StepScalingPolicyConfiguration: step(2)},
				},
				Alarms: []cloudwatch.AlarmSpec{alarm},
			}
			if !slices.Contains(alarm.AlarmActions, "two") {
				cfg.Policies = cfg.Policies[:1]
			}
			if !slices.Contains(alarm.AlarmActions, "one") {
				cfg.Policies = cfg.Policies[1:]
			}
			res, err := Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// 4000/min on 2 instances from minute 30: 2000 per instance,
			// over the threshold for two minutes at 00:32:01; on 3 or more
			// it is below.
			var got []act
			for _, a := range res.Activities {
				if !a.Time.Equal(at(32, 1)) {
					t.Errorf("activity %+v, want it at 00:32:01", a)
				}
				got = append(got, act{a.From, a.To, a.Policy})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("activities %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSuspended holds the scale-outs and scale-ins of a target whose dynamic
// scaling is suspended, as the controller does.
func TestSuspended(t *testing.T) {
	tt := &autoscale.TargetTrackingScalingPolicyConfiguration{
		TargetValue:                   700,
		PredefinedMetricSpecification: &autoscale.PredefinedMetricSpecification{PredefinedMetricType: "SageMakerVariantInvocationsPerInstance"},
	}
	for _, s := range []struct {
		suspended autoscale.SuspendedState
		want      int
	}{
		{autoscale.SuspendedState{}, 3},
		{autoscale.SuspendedState{DynamicScalingOutSuspended: true}, 0},
		// Out to 2 and to 6 still happen; back to 2 does not.
		{autoscale.SuspendedState{DynamicScalingInSuspended: true}, 2},
	} {
		res, err := Run(Config{
			Trace: stepTrace(1000, 240), Variant: autoscale.Variant{Endpoint: "e", Variant: "v"},
			Instance: Instance{MaxInvocations: 1200, ModelLatency: 10 * time.Millisecond, CPUUtilization: 80, SetupTime: time.Minute},
			Min:      1, Max: 8, Initial: 1, Suspended: s.suspended,
			Policies: []autoscale.ScalingPolicy{{PolicyName: "p", PolicyType: autoscale.PolicyTargetTracking, TargetTrackingScalingPolicyConfiguration: tt}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Activities) != s.want {
			t.Errorf("suspended %+v: activities %+v, want %d", s.suspended, res.Activities, s.want)
		}
	}
}

// TestMinuteTraffic reports each minute's traffic as the trace has it, not
// as a sum of its ticks with their rounding.
func TestMinuteTraffic(t *testing.T) {
	tr := Trace{Start: t0, PerMinute: []float64{200, 1000, 3, 0.1, 123456.7}}
	res, err := Run(Config{
		Trace: tr, Variant: autoscale.Variant{Endpoint: "e", Variant: "v"},
		Instance: Instance{MaxInvocations: 1200}, Min: 1, Max: 2, Initial: 1,
		Policies: []autoscale.ScalingPolicy{{PolicyName: "p", PolicyType: autoscale.PolicyTargetTracking,
			TargetTrackingScalingPolicyConfiguration: &autoscale.TargetTrackingScalingPolicyConfiguration{TargetValue: 700,
				PredefinedMetricSpecification: &autoscale.PredefinedMetricSpecification{PredefinedMetricType: "SageMakerVariantInvocationsPerInstance"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range res.Minutes {
		if m.Traffic != tr.PerMinute[i] {
			t.Errorf("minute %d: traffic %v, want %v", i, m.Traffic, tr.PerMinute[i])
		}
	}
}

// TestNoDataWarning warns of an alarm whose metric the simulation never
// publishes (another endpoint's, say): it never fires, which a result with
// no scaling activity would not tell.
func TestNoDataWarning(t *testing.T) {
	step := &autoscale.StepScalingPolicyConfiguration{AdjustmentType: "ChangeInCapacity",
		StepAdjustments: []autoscale.StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 1}}}
	for _, tt := range []struct {
		endpoint string
		warn     bool
	}{{"e", false}, {"my-endpoint", true}} {
		res, err := Run(Config{
			Trace: stepTrace(1000, 60), Variant: autoscale.Variant{Endpoint: "e", Variant: "v"},
			Instance: Instance{MaxInvocations: 1200}, Min: 1, Max: 10, Initial: 1,
			Policies: []autoscale.ScalingPolicy{{PolicyName: "out", PolicyType: autoscale.PolicyStep, StepScalingPolicyConfiguration: step}},
			Alarms: []cloudwatch.AlarmSpec{{
				AlarmName: "busy", AlarmActions: []string{"out"}, Namespace: "AWS/SageMaker", MetricName: "InvocationsPerInstance",
				Dimensions: []cloudwatch.Dimension{{Name: "EndpointName", Value: tt.endpoint}, {Name: "VariantName", Value: "v"}},
				Statistic:  "Sum", Period: 60, EvaluationPeriods: 2, Threshold: f64(1500), ComparisonOperator: "GreaterThanThreshold",
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "alarm busy had no datapoint in the whole simulation, so policy out never ran"
		if got := strings.Join(res.Warnings, "\n"); tt.warn != strings.Contains(got, want) || !tt.warn && got != "" {
			t.Errorf("endpoint %s: warnings %q", tt.endpoint, got)
		}
		if got := len(res.Activities) > 0; got == tt.warn {
			t.Errorf("endpoint %s: activities %+v", tt.endpoint, res.Activities)
		}
	}
}

// TestPlotTimeAxis puts the time ticks on round times of day, and labels
// midnight with the date when the trace is longer than a day: a week was
// eight ticks all reading 00:00.
func TestPlotTimeAxis(t *testing.T) {
	for _, tt := range []struct {
		start   time.Time
		minutes int
		want    []string // the first labels
		firstX  string
	}{
		{t0, 90, []string{"00:00", "00:10", "00:20"}, "70.0"},
		{t0, 24 * 60, []string{"00:00", "02:00", "04:00"}, "70.0"},
		{t0, 2 * 24 * 60, []string{"Nov 25", "06:00", "12:00", "18:00", "Nov 26", "06:00"}, "70.0"},
		// From 07:13, 6-hour ticks start at 12:00, 287 minutes in.
		{t0.Add(7*time.Hour + 13*time.Minute), 3 * 24 * 60, []string{"12:00", "18:00", "Nov 26", "06:00"}, "124.5"},
		{t0, 7 * 24 * 60, []string{"Nov 25", "Nov 26", "Nov 27"}, "70.0"},
		{t0.Add(7*time.Hour + 13*time.Minute), 31 * 24 * 60, []string{"Nov 27", "Nov 30", "Dec 3"}, ""},
	} {
		name := fmt.Sprintf("%d minutes from %s", tt.minutes, tt.start.Format("15:04"))
		r := &Result{Start: tt.start, Minutes: make([]Minute, tt.minutes)}
		var buf bytes.Buffer
		if err := WriteSVG(&buf, "axis", r); err != nil {
			t.Fatal(err)
		}
		// The tick labels are the texts under the plot area.
		var labels, xs []string
		dec := xml.NewDecoder(&buf)
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			se, ok := tok.(xml.StartElement)
			if !ok || se.Name.Local != "text" || !slices.Contains(se.Attr, xml.Attr{Name: xml.Name{Local: "y"}, Value: "368"}) {
				continue
			}
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			labels = append(labels, s)
			for _, a := range se.Attr {
				if a.Name.Local == "x" {
					xs = append(xs, a.Value)
				}
			}
		}
		if len(labels) < 2 || len(labels) > 13 {
			t.Errorf("%s: %d tick labels %q, want 2 to 13", name, len(labels), labels)
			continue
		}
		if !slices.Equal(labels[:min(len(labels), len(tt.want))], tt.want) || tt.firstX != "" && xs[0] != tt.firstX {
			t.Errorf("%s: tick labels %q at %q, want %q first at %s", name, labels, xs, tt.want, tt.firstX)
		}
		for i := 1; i < len(labels); i++ {
			if labels[i] == labels[i-1] {
				t.Errorf("%s: tick label %q twice in a row: %q", name, labels[i], labels)
			}
		}
	}
}

// TestConcurrencyAtCapacity publishes, at the load a recommendation
// measured, the concurrency its numbers give (Little's law: invocations a
// second × ModelLatency, the latency at MaxInvocations), so that a
// concurrency target derived from the recommendation holds there; past
// that load requests queue and the concurrency grows.
func TestConcurrencyAtCapacity(t *testing.T) {
	// 1200 a minute (20 a second) at 100 ms: 2 requests in flight at
	// capacity.
	tr := Trace{Start: t0}
	for m := range 60 {
		v := 1188.0 // 99% of capacity: 1.98 in flight
		if m >= 30 {
			v = 2400 // twice the capacity: 40 a second, queueing
		}
		tr.PerMinute = append(tr.PerMinute, v)
	}
	res, err := Run(Config{
		Trace: tr, Variant: autoscale.Variant{Endpoint: "e", Variant: "v"},
		Instance: Instance{MaxInvocations: 1200, ModelLatency: 100 * time.Millisecond, CPUUtilization: 90, SetupTime: time.Minute},
		Min:      1, Max: 10, Initial: 1,
		Policies: []autoscale.ScalingPolicy{{PolicyName: "c", PolicyType: autoscale.PolicyTargetTracking,
			TargetTrackingScalingPolicyConfiguration: &autoscale.TargetTrackingScalingPolicyConfiguration{TargetValue: 2.5, DisableScaleIn: boolp(true),
				PredefinedMetricSpecification: &autoscale.PredefinedMetricSpecification{PredefinedMetricType: "SageMakerVariantConcurrentRequestsPerModelHighResolution"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Below capacity nothing happens; at twice the capacity, 40 a second
	// at twice the latency (8 in flight) wants ceil(8/2.5) = 4 instances,
	// at the first high-resolution evaluation (00:30:11).
	if len(res.Activities) != 1 || res.Activities[0].To != 4 || !res.Activities[0].Time.Equal(at(30, 11)) {
		t.Errorf("activities %+v, want one to 4 at 00:30:11", res.Activities)
	}
}
