package recommend

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/loadgen"
)

func lvl(users int, thr float64, p95 time.Duration, errRate float64) Point {
	return Point{Users: users, Sent: 1000, Throughput: thr, ErrorRate: errRate, P50: p95 / 2, P95: p95, P99: p95 * 2, CPU: math.NaN(), Memory: math.NaN()}
}

func TestNextRamp(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		levels   []Point
		limits   Limits
		done     bool
		next     int
		best     int
		reasonIn string
	}{
		{"start", nil, Limits{}, false, 1, 0, ""},
		{"rising", []Point{lvl(1, 50, 20*ms, 0), lvl(2, 100, 20*ms, 0)}, Limits{}, false, 4, 0, ""},
		{"one flat level goes on", []Point{lvl(1, 50, 20*ms, 0), lvl(2, 100, 20*ms, 0), lvl(4, 197, 20*ms, 0), lvl(8, 200, 40*ms, 0)}, Limits{}, false, 16, 0, ""},
		{"plateau picks the highest", []Point{lvl(1, 50, 20*ms, 0), lvl(2, 100, 20*ms, 0), lvl(4, 197, 20*ms, 0), lvl(8, 200, 40*ms, 0), lvl(16, 199, 80*ms, 0)}, Limits{}, true, 0, 3, "levelled off at 200.0/s with 8 users: the last 2 levels, up to 16 users"},
		{"a noisy dip does not end the ramp", []Point{lvl(1, 47, ms, 0), lvl(2, 46, ms, 0), lvl(4, 100, ms, 0)}, Limits{}, false, 8, 0, ""},
		{"falling", []Point{lvl(1, 50, ms, 0), lvl(2, 100, ms, 0), lvl(4, 90, ms, 0), lvl(8, 80, ms, 0)}, Limits{}, true, 0, 1, "levelled off"},
		{"errors end the ramp", []Point{lvl(1, 50, ms, 0), lvl(2, 100, ms, 0), lvl(4, 190, ms, 0.02)}, Limits{}, true, 0, 1, "2.0% of requests failed at 4 users"},
		{"errors at one user", []Point{lvl(1, 50, ms, 0.5)}, Limits{}, true, 0, -1, "50.0% of requests failed"},
		{"latency threshold", []Point{lvl(1, 50, 10*ms, 0), lvl(2, 100, 30*ms, 0)}, Limits{Quantile: 0.95, MaxLatency: 25 * ms}, true, 0, 0, "P95 latency 30ms at 2 users exceeds the 25ms threshold"},
		{"max users", []Point{lvl(1, 10, ms, 0), lvl(2, 20, ms, 0)}, Limits{MaxUsers: 3}, true, 0, 1, "limit of 3 users"},
		{"nothing sent", []Point{{Users: 1}}, Limits{}, true, 0, -1, "no request completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NextRamp(tt.levels, tt.limits)
			if v.Done != tt.done || (!v.Done && v.NextUsers != tt.next) || (v.Done && v.Best != tt.best) {
				t.Errorf("NextRamp = %+v, want done %v next %d best %d", v, tt.done, tt.next, tt.best)
			}
			if !strings.Contains(v.Reason, tt.reasonIn) {
				t.Errorf("reason %q does not contain %q", v.Reason, tt.reasonIn)
			}
		})
	}
}

func TestConfirmVerdict(t *testing.T) {
	ms := time.Millisecond
	ref := Point{Users: 4, P50: 4 * ms}
	tests := []struct {
		name   string
		p      Point
		ok     bool
		next   float64
		reason string
	}{
		{"sustained", Point{OfferedRate: 200, Sent: 1600, Throughput: 199.5, P50: 3 * ms}, true, 0, ""},
		{"short of the rate", Point{OfferedRate: 200, Sent: 1600, Throughput: 190, P50: 3 * ms}, false, 0.98 * 190, "served 190.0/s of 200.0/s"},
		{"errors", Point{OfferedRate: 200, Sent: 1600, Throughput: 200, ErrorRate: 0.05, P50: 3 * ms}, false, 0.98 * 200, "5.0% of requests failed"},
		{"queue builds up", Point{OfferedRate: 200, Sent: 1600, Throughput: 200, P50: 40 * ms}, false, 0.95 * 200, "P50 latency 40ms above 9ms"},
		{"at the latency bound", Point{OfferedRate: 200, Sent: 1600, Throughput: 200, P50: 9 * ms}, true, 0, ""},
	}
	for _, tt := range tests {
		ok, next, why := ConfirmVerdict(tt.p, ref, Limits{})
		if ok != tt.ok || math.Abs(next-tt.next) > 1e-9 || !strings.Contains(why, tt.reason) {
			t.Errorf("%s: ok %v next %v why %q; want %v %v %q", tt.name, ok, next, why, tt.ok, tt.next, tt.reason)
		}
	}
}

func TestAdvancedStop(t *testing.T) {
	ms := time.Millisecond
	ws := []Point{lvl(1, 50, ms, 0), lvl(2, 100, ms, 0), lvl(3, 101, ms, 0), lvl(4, 102, ms, 0)}
	if stop, _ := AdvancedStop(ws, nil, Limits{}); stop {
		t.Error("stopped without conditions")
	}
	if stop, why := AdvancedStop(ws, &StoppingConditions{FlatInvocations: FlatInvocationsStop}, Limits{}); !stop || !strings.Contains(why, "flat") {
		t.Errorf("flat: %v %q", stop, why)
	}
	if stop, _ := AdvancedStop(ws, &StoppingConditions{FlatInvocations: FlatInvocationsContinue}, Limits{}); stop {
		t.Error("Continue stopped")
	}
	if stop, why := AdvancedStop(ws[:2], &StoppingConditions{MaxInvocations: 6000}, Limits{}); !stop || !strings.Contains(why, "MaxInvocations") {
		t.Errorf("max invocations: %v %q", stop, why)
	}
	slow := append(ws[:1:1], lvl(2, 100, 80*ms, 0))
	if stop, why := AdvancedStop(slow, nil, Limits{Quantile: 0.99, MaxLatency: 100 * ms}); !stop || !strings.Contains(why, "P99") {
		t.Errorf("latency: %v %q", stop, why)
	}
	if b := BestWindow(slow, Limits{Quantile: 0.99, MaxLatency: 100 * ms}); b != 0 {
		t.Errorf("BestWindow = %d", b)
	}
}

func TestLimitsFor(t *testing.T) {
	l := LimitsFor(&StoppingConditions{ModelLatencyThresholds: []ModelLatencyThreshold{{Percentile: "P99", ValueInMilliseconds: 250}}})
	if l.Quantile != 0.99 || l.MaxLatency != 250*time.Millisecond || l.ErrorBudget != 0.01 {
		t.Errorf("LimitsFor = %+v", l)
	}
	if l := LimitsFor(nil); l.Quantile != 0.5 || l.MaxLatency != 0 {
		t.Errorf("LimitsFor(nil) = %+v", l)
	}
}

func TestNextConfirmRate(t *testing.T) {
	if got := NextConfirmRate(1, 200, 190); got != 190 {
		t.Errorf("first retry: %v, want the proposal 190", got)
	}
	if got := NextConfirmRate(2, 200, 190); got != 170 {
		t.Errorf("second retry: %v, want 85%% of 200", got)
	}
	if got := NextConfirmRate(3, 171, 100); got != 100 {
		t.Errorf("a proposal below 90%%: %v, want 100", got)
	}
}

// scriptedServer answers ramp's stages: closed-loop levels that gain up
// to capacity users, and open loops sustained at or below sustain req/s.
type scriptedServer struct {
	perUser, sustain float64
	capacity         int
	offered          []float64 // the confirmations' rates
}

func (sv *scriptedServer) measure(stage string, o loadgen.Options) (Point, error) {
	ms := time.Millisecond
	if o.Arrivals == nil {
		users := o.Users.Users(0)
		thr := sv.perUser * float64(min(users, sv.capacity))
		return lvl(users, thr, time.Duration(users)*ms, 0), nil
	}
	rate := o.Arrivals.Rate
	sv.offered = append(sv.offered, rate)
	p := lvl(0, rate, 2*ms, 0)
	if rate > sv.sustain {
		p.P50, p.P95, p.P99 = 500*ms, time.Second, time.Second // a queue builds up
	}
	return p, nil
}

func TestRampConfirms(t *testing.T) {
	// The closed loop peaks at 400/s with 4 users; the open loop holds
	// 370/s: the second confirmation (95%, 380/s) fails, the third (85%
	// of that, 323/s) is reported.
	sv := &scriptedServer{perUser: 100, capacity: 4, sustain: 370}
	var s StepResult
	best, verdict, err := ramp(sv.measure, Limits{}, Tuning{}.withDefaults(), &s)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{400, 380, 323}; !slices.EqualFunc(sv.offered, want, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
		t.Errorf("confirmations at %v, want %v", sv.offered, want)
	}
	if best.Stage != "confirm" || best.OfferedRate != sv.offered[len(sv.offered)-1] || !strings.Contains(verdict, "confirmed open loop at 323.0") {
		t.Errorf("best %+v, verdict %q", best, verdict)
	}

	// An open loop that never holds: no capacity is reported, not the
	// closed loop's, which the server was just seen not to sustain.
	sv = &scriptedServer{perUser: 100, capacity: 4, sustain: 100}
	s = StepResult{}
	_, _, err = ramp(sv.measure, Limits{}, Tuning{}.withDefaults(), &s)
	if err == nil || !strings.Contains(err.Error(), "no open-loop rate was sustained in 6 attempts, from 400.0") {
		t.Errorf("err %v, want no rate sustained after 6 attempts", err)
	}
	if len(sv.offered) != 6 || sv.offered[5] > 0.85*0.85*0.85*0.85*380+1e-9 {
		t.Errorf("confirmations at %v: want 6, each from the third on at most 85%% of the one before", sv.offered)
	}
}

func TestTailWindow(t *testing.T) {
	for _, tt := range []struct{ n, window, want int }{
		{10, 5, -1}, // ended on a whole window
		{8, 5, 5},   // 3 s left: judged
		{7, 5, -1},  // 2 s left: less than half a window
		{3, 5, 0},   // a run shorter than one window, more than half of it
		{4, 1, -1},
	} {
		if got := TailWindow(tt.n, tt.window); got != tt.want {
			t.Errorf("TailWindow(%d, %d) = %d, want %d", tt.n, tt.window, got, tt.want)
		}
	}
}
