package cloudwatch

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// evalEnd is the end of the newest complete period in the evaluation
// tests: the range of a 3-period alarm is 10:00 to 10:05.
var evalEnd = time.Date(2025, 11, 26, 10, 5, 0, 0, time.UTC)

// pattern turns "0 - X - X" (oldest first: X breaching at 80, 0 not
// breaching at 50, - missing) into the datapoints of the periods ending at
// evalEnd.
func pattern(p string) []AlarmDatapoint {
	fields := strings.Fields(p)
	start := evalEnd.Add(-time.Duration(len(fields)) * time.Minute)
	var out []AlarmDatapoint
	for i, f := range fields {
		at := start.Add(time.Duration(i) * time.Minute)
		switch f {
		case "X":
			out = append(out, AlarmDatapoint{Timestamp: at, Value: 80, SampleCount: 1})
		case "0":
			out = append(out, AlarmDatapoint{Timestamp: at, Value: 50, SampleCount: 1})
		}
	}
	return out
}

func threeOf(m int32, treat string) AlarmSpec {
	th := 70.0
	return AlarmSpec{
		AlarmName: "a", Namespace: "Custom", MetricName: "CPU", Statistic: StatAverage, Period: 60,
		EvaluationPeriods: 3, DatapointsToAlarm: m, Threshold: &th,
		ComparisonOperator: GreaterThanThreshold, TreatMissingData: treat,
	}
}

const retain = "retain"

// TestEvaluateMissingData walks CloudWatch's tables of how alarms treat
// missing data (3 evaluation periods, evaluation range 5), for each
// TreatMissingData, with 3 and with 2 datapoints to alarm; "retain" means
// the alarm keeps its current state.
func TestEvaluateMissingData(t *testing.T) {
	tests := []struct {
		data                                     string
		m                                        int32
		missing, ignore, breaching, notBreaching string
	}{
		// 3 out of 3.
		{"0 - X - X", 3, StateOK, StateOK, StateOK, StateOK},
		{"0 - - - -", 3, StateOK, StateOK, StateOK, StateOK},
		{"- - - - -", 3, StateInsufficientData, retain, StateAlarm, StateOK},
		{"0 X X - X", 3, StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{"- - X - -", 3, StateAlarm, retain, StateAlarm, StateOK},
		// More real datapoints than needed: the newest three decide.
		{"X X 0 0 0", 3, StateOK, StateOK, StateOK, StateOK},
		{"0 0 X X X", 3, StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		// Intermittent data: a new breaching datapoint alone does not alarm.
		{"- - - - X", 3, StateOK, retain, StateAlarm, StateOK},
		{"- - - X X", 3, StateOK, retain, StateAlarm, StateOK},
		{"- - X X -", 3, StateAlarm, retain, StateAlarm, StateOK},
		{"- X 0 - -", 3, StateOK, retain, StateOK, StateOK},
		// 2 out of 3.
		{"0 - X - X", 2, StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{"0 0 X 0 X", 2, StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{"0 - - - -", 2, StateOK, StateOK, StateAlarm, StateOK},
		{"- - - - -", 2, StateInsufficientData, retain, StateAlarm, StateOK},
		{"0 X X - X", 2, StateAlarm, StateAlarm, StateAlarm, StateAlarm},
		{"- - X - -", 2, StateAlarm, retain, StateAlarm, StateOK},
		{"X 0 0 X 0", 2, StateOK, StateOK, StateOK, StateOK},
	}
	for _, tt := range tests {
		for _, tc := range []struct{ treat, want string }{
			{TreatMissing, tt.missing}, {TreatIgnore, tt.ignore},
			{TreatBreaching, tt.breaching}, {TreatNotBreaching, tt.notBreaching},
		} {
			t.Run(tt.data+"/"+string(rune('0'+tt.m))+"of3/"+tc.treat, func(t *testing.T) {
				// From each current state, so that "retain" is told apart.
				for _, current := range []string{StateOK, StateAlarm, StateInsufficientData} {
					ev := EvaluateAlarm(EvaluationInput{
						Spec: threeOf(tt.m, tc.treat), State: current, Period: time.Minute,
						End: evalEnd, Datapoints: pattern(tt.data), Now: evalEnd.Add(3 * time.Second),
					})
					want := tc.want
					if want == retain {
						want = current
						if !ev.Retained {
							t.Errorf("from %s: not retained (%s, %q)", current, ev.State, ev.Reason)
						}
					} else if ev.Retained {
						t.Errorf("from %s: retained, want %s", current, want)
					}
					if ev.State != want {
						t.Errorf("from %s: state %s, want %s (%s)", current, ev.State, want, ev.Reason)
					}
				}
			})
		}
	}
}

// TestEvaluateTreatMissingDefault: no TreatMissingData means missing.
func TestEvaluateTreatMissingDefault(t *testing.T) {
	ev := EvaluateAlarm(EvaluationInput{Spec: threeOf(0, ""), State: StateOK, Period: time.Minute, End: evalEnd, Now: evalEnd})
	if ev.State != StateInsufficientData || ev.Reason != "Insufficient Data: 3 datapoints were unknown." {
		t.Errorf("got %s %q", ev.State, ev.Reason)
	}
}

func TestEvaluateComparisons(t *testing.T) {
	tests := []struct {
		op    string
		value float64
		want  string
	}{
		{GreaterThanThreshold, 70.5, StateAlarm},
		{GreaterThanThreshold, 70, StateOK},
		{GreaterThanOrEqualToThreshold, 70, StateAlarm},
		{GreaterThanOrEqualToThreshold, 69.9, StateOK},
		{LessThanThreshold, 69.9, StateAlarm},
		{LessThanThreshold, 70, StateOK},
		{LessThanOrEqualToThreshold, 70, StateAlarm},
		{LessThanOrEqualToThreshold, 70.1, StateOK},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+formatJava(tt.value), func(t *testing.T) {
			th := 70.0
			spec := AlarmSpec{EvaluationPeriods: 1, Threshold: &th, ComparisonOperator: tt.op, Period: 60}
			ev := EvaluateAlarm(EvaluationInput{Spec: spec, State: StateInsufficientData, Period: time.Minute, End: evalEnd,
				Datapoints: []AlarmDatapoint{{Timestamp: evalEnd.Add(-time.Minute), Value: tt.value}}, Now: evalEnd})
			if ev.State != tt.want {
				t.Errorf("%v %s 70: %s, want %s", tt.value, tt.op, ev.State, tt.want)
			}
		})
	}
}

// TestEvaluateCompletePeriodsOnly: datapoints of the period still filling
// (at or after End) and before the range are not evaluated.
func TestEvaluateCompletePeriodsOnly(t *testing.T) {
	spec := threeOf(0, TreatMissing)
	dps := pattern("0 0 0 0 0")
	dps = append(dps,
		AlarmDatapoint{Timestamp: evalEnd, Value: 99},                       // filling
		AlarmDatapoint{Timestamp: evalEnd.Add(-6 * time.Minute), Value: 99}, // before the range
	)
	ev := EvaluateAlarm(EvaluationInput{Spec: spec, State: StateOK, Period: time.Minute, End: evalEnd, Datapoints: dps, Now: evalEnd})
	if ev.State != StateOK || len(ev.Datapoints) != 3 {
		t.Fatalf("got %s with %d datapoints", ev.State, len(ev.Datapoints))
	}
	for _, dp := range ev.Datapoints {
		if dp.Value != 50 {
			t.Errorf("evaluated %v at %v", dp.Value, dp.Timestamp)
		}
	}
	if !ev.Datapoints[0].Timestamp.Equal(evalEnd.Add(-3*time.Minute)) || !ev.Datapoints[2].Timestamp.Equal(evalEnd.Add(-time.Minute)) {
		t.Errorf("datapoints %v, want the three periods before %v, oldest first", ev.Datapoints, evalEnd)
	}
}

func TestEvaluateReasons(t *testing.T) {
	tests := []struct {
		name  string
		m     int32
		treat string
		state string
		data  string
		want  string
	}{
		{"all breaching", 0, TreatMissing, StateOK, "0 0 X X X",
			"Threshold Crossed: 3 datapoints [80.0 (26/11/25 10:04:00), 80.0 (26/11/25 10:03:00), 80.0 (26/11/25 10:02:00)] were greater than the threshold (70.0)."},
		{"back to OK", 0, TreatMissing, StateAlarm, "X X X X 0",
			"Threshold Crossed: 1 datapoint [50.0 (26/11/25 10:04:00)] was not greater than the threshold (70.0)."},
		{"M out of N", 2, TreatMissing, StateOK, "0 0 X 0 X",
			"Threshold Crossed: 2 out of the last 3 datapoints [80.0 (26/11/25 10:04:00), 80.0 (26/11/25 10:02:00)] were greater than the threshold (70.0) (minimum 2 datapoints for OK -> ALARM transition)."},
		{"M out of N to OK", 2, TreatMissing, StateAlarm, "X X 0 0 X",
			"Threshold Crossed: 2 out of the last 3 datapoints [50.0 (26/11/25 10:03:00), 50.0 (26/11/25 10:02:00)] were not greater than the threshold (70.0) (minimum 2 datapoints for ALARM -> OK transition)."},
		{"all missing, breaching", 0, TreatBreaching, StateOK, "- - - - -",
			"Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [Breaching]."},
		{"some missing, breaching", 0, TreatBreaching, StateOK, "- - X - -",
			"Threshold Crossed: 1 datapoint [80.0 (26/11/25 10:02:00)] was greater than the threshold (70.0) and 2 missing datapoints were treated as [Breaching]."},
		{"filled only", 2, TreatBreaching, StateOK, "0 - - - -",
			"Threshold Crossed: no datapoints were greater than the threshold (70.0) and 2 missing datapoints were treated as [Breaching] (minimum 2 datapoints for OK -> ALARM transition)."},
		{"all missing", 0, TreatMissing, StateOK, "- - - - -",
			"Insufficient Data: 3 datapoints were unknown."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := EvaluateAlarm(EvaluationInput{Spec: threeOf(tt.m, tt.treat), State: tt.state, Period: time.Minute,
				End: evalEnd, Datapoints: pattern(tt.data), Now: evalEnd.Add(3 * time.Second)})
			if ev.Reason != tt.want {
				t.Errorf("reason\n got %s\nwant %s", ev.Reason, tt.want)
			}
		})
	}
}

func TestEvaluateReasonData(t *testing.T) {
	spec := threeOf(0, TreatMissing)
	spec.Unit = "Percent"
	dps := pattern("- X X X -")
	dps[1].Value = 81.5
	ev := EvaluateAlarm(EvaluationInput{Spec: spec, State: StateOK, Period: time.Minute, End: evalEnd, Datapoints: dps,
		Now: evalEnd.Add(3*time.Second + 101*time.Millisecond)})
	var rd struct {
		Version             string    `json:"version"`
		QueryDate           string    `json:"queryDate"`
		StartDate           string    `json:"startDate"`
		Statistic           string    `json:"statistic"`
		Unit                string    `json:"unit"`
		Period              int       `json:"period"`
		RecentDatapoints    []float64 `json:"recentDatapoints"`
		Threshold           float64   `json:"threshold"`
		EvaluatedDatapoints []struct {
			Timestamp   string  `json:"timestamp"`
			SampleCount float64 `json:"sampleCount"`
			Value       float64 `json:"value"`
		} `json:"evaluatedDatapoints"`
	}
	if err := json.Unmarshal([]byte(ev.ReasonData), &rd); err != nil {
		t.Fatalf("reason data %s: %v", ev.ReasonData, err)
	}
	if rd.Version != "1.0" || rd.QueryDate != "2025-11-26T10:05:03.101+0000" || rd.StartDate != "2025-11-26T10:01:00.000+0000" ||
		rd.Statistic != "Average" || rd.Unit != "Percent" || rd.Period != 60 || rd.Threshold != 70 {
		t.Errorf("reason data %s", ev.ReasonData)
	}
	if len(rd.RecentDatapoints) != 3 || rd.RecentDatapoints[0] != 80 || rd.RecentDatapoints[1] != 81.5 {
		t.Errorf("recentDatapoints %v, want oldest first", rd.RecentDatapoints)
	}
	if len(rd.EvaluatedDatapoints) != 3 || rd.EvaluatedDatapoints[0].Timestamp != "2025-11-26T10:03:00.000+0000" || rd.EvaluatedDatapoints[2].Value != 80 {
		t.Errorf("evaluatedDatapoints %+v, want newest first", rd.EvaluatedDatapoints)
	}
	// Numbers are written as Java writes doubles.
	if !strings.Contains(ev.ReasonData, `"threshold":70.0`) || !strings.Contains(ev.ReasonData, `"sampleCount":1.0`) {
		t.Errorf("reason data %s: want Java-style doubles", ev.ReasonData)
	}
}

// TestEvaluateLongReason: reasons and reason data stay within the model's
// limits (1023 and 4000 characters) for long evaluation ranges.
func TestEvaluateLongReason(t *testing.T) {
	th := 0.0
	spec := AlarmSpec{EvaluationPeriods: 1000, Threshold: &th, ComparisonOperator: GreaterThanThreshold, Statistic: StatSum, Period: 60}
	var dps []AlarmDatapoint
	for i := range 1000 {
		dps = append(dps, AlarmDatapoint{Timestamp: evalEnd.Add(-time.Duration(i+1) * time.Minute), Value: 123.456 + float64(i), SampleCount: 10})
	}
	ev := EvaluateAlarm(EvaluationInput{Spec: spec, State: StateOK, Period: time.Minute, End: evalEnd, Datapoints: dps, Now: evalEnd})
	if ev.State != StateAlarm {
		t.Fatalf("state %s", ev.State)
	}
	if len(ev.Reason) > 1023 || !strings.HasPrefix(ev.Reason, "Threshold Crossed: 1000 datapoints [123.456 (26/11/25 10:04:00), ") || !strings.Contains(ev.Reason, ", ...] were greater than the threshold (0.0).") {
		t.Errorf("reason (%d chars): %s", len(ev.Reason), ev.Reason)
	}
	if len(ev.ReasonData) > 4000 || !json.Valid([]byte(ev.ReasonData)) {
		t.Errorf("reason data of %d chars, valid %v", len(ev.ReasonData), json.Valid([]byte(ev.ReasonData)))
	}
}

func TestEvaluateLowSampleCount(t *testing.T) {
	th := 100.0
	spec := AlarmSpec{EvaluationPeriods: 1, Threshold: &th, ComparisonOperator: GreaterThanThreshold, ExtendedStatistic: "p99", Period: 60}
	dp := func(samples float64) []AlarmDatapoint {
		return []AlarmDatapoint{{Timestamp: evalEnd.Add(-time.Minute), Value: 150, SampleCount: samples}}
	}
	tests := []struct {
		mode     string
		samples  float64
		want     string
		retained bool
	}{
		{"ignore", 999, StateOK, true}, // p99 needs 10/(1-0.99) = 1000 samples
		{"ignore", 1000, StateAlarm, false},
		{"evaluate", 5, StateAlarm, false},
		{"", 5, StateAlarm, false},
	}
	for _, tt := range tests {
		spec.EvaluateLowSampleCountPercentile = tt.mode
		ev := EvaluateAlarm(EvaluationInput{Spec: spec, State: StateOK, Period: time.Minute, End: evalEnd, Datapoints: dp(tt.samples), Now: evalEnd})
		if ev.State != tt.want || ev.Retained != tt.retained {
			t.Errorf("%q with %v samples: %s retained=%v, want %s retained=%v", tt.mode, tt.samples, ev.State, ev.Retained, tt.want, tt.retained)
		}
	}
}

func TestFormatJava(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{70, "70.0"}, {0, "0.0"}, {0.5, "0.5"}, {-3.25, "-3.25"}, {82.4, "82.4"},
		{0.001, "0.001"}, {0.0001, "1.0E-4"}, {1e7, "1.0E7"}, {1234567.5, "1234567.5"},
		{1.5e10, "1.5E10"}, {-2.5e-7, "-2.5E-7"}, {0.9900990099009901, "0.9900990099009901"},
	}
	for _, tt := range tests {
		if got := formatJava(tt.v); got != tt.want {
			t.Errorf("formatJava(%v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}
