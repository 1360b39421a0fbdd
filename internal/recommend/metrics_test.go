package recommend

import (
	"math"
	"testing"
	"time"
)

func TestMetricsFor(t *testing.T) {
	p := Point{Throughput: 123.456, P50: 1500 * time.Microsecond, P95: 4 * time.Millisecond, P99: 9 * time.Millisecond, CPU: 87.654, Memory: 3.21}
	price := 0.115
	m := MetricsFor(p, Limits{Quantile: 0.95}, &price, 1, 1200*time.Millisecond)
	if m.MaxInvocations != 7407 { // round(123.456 × 60)
		t.Errorf("MaxInvocations = %d", m.MaxInvocations)
	}
	if m.ModelLatency != 4000 {
		t.Errorf("ModelLatency = %d µs, want 4000", m.ModelLatency)
	}
	if *m.CostPerHour != 0.115 {
		t.Errorf("CostPerHour = %v", *m.CostPerHour)
	}
	if want := 2.58764232033e-07; *m.CostPerInference != want { // 0.115 / (7407 × 60) to 12 digits
		t.Errorf("CostPerInference = %v, want %v", *m.CostPerInference, want)
	}
	if *m.CpuUtilization != 87.65 || *m.MemoryUtilization != 3.21 || *m.ModelSetupTime != 2 {
		t.Errorf("utilisation %v %v setup %v", *m.CpuUtilization, *m.MemoryUtilization, *m.ModelSetupTime)
	}

	m = MetricsFor(Point{Throughput: 100, CPU: math.NaN(), Memory: math.NaN()}, Limits{}, &price, 3, 0)
	// 3 × 0.115 is 0.34500000000000003 in binary: costs are rounded to 12
	// significant digits.
	if m.MaxInvocations != 18000 || *m.CostPerHour != 0.345 || *m.CostPerInference != 3.19444444444e-07 {
		t.Errorf("3 instances: %+v", m)
	}
	if m.CpuUtilization != nil || m.MemoryUtilization != nil || m.ModelSetupTime != nil {
		t.Errorf("unknown readings filled in: %+v", m)
	}
	if m := MetricsFor(Point{Throughput: 100}, Limits{}, nil, 1, 0); m.CostPerHour != nil || m.CostPerInference != nil {
		t.Errorf("no price: %+v", m)
	}
}

func TestInstancesFor(t *testing.T) {
	for _, tt := range []struct {
		max  int
		per  float64
		want int
	}{{0, 100, 1}, {100, 100, 1}, {101, 100, 2}, {1000, 300, 4}, {5, 0, 1}} {
		if got := InstancesFor(tt.max, tt.per); got != tt.want {
			t.Errorf("InstancesFor(%d, %v) = %d, want %d", tt.max, tt.per, got, tt.want)
		}
	}
}

func rec(id string, cpi *float64, lat, inv int) Recommendation {
	return Recommendation{RecommendationId: id, Metrics: &Metrics{CostPerInference: cpi, ModelLatency: lat, MaxInvocations: inv}}
}

func ids(recs []Recommendation) string {
	s := ""
	for _, r := range recs {
		s += r.RecommendationId
	}
	return s
}

func TestRank(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	base := func() []Recommendation {
		return []Recommendation{
			rec("a", f(3e-7), 900, 20000), // pricey, fast, high throughput
			rec("b", f(1e-7), 5000, 8000), // cheap, slow
			rec("c", nil, 100, 50000),     // no price
			rec("d", f(2e-7), 2000, 12000),
			{RecommendationId: "e"}, // failed: no metrics
		}
	}
	tests := []struct {
		goals Goals
		want  string
	}{
		{Goals{}, "bdace"},
		{Goals{Cost: 5}, "bdace"},
		{Goals{Latency: 5}, "cadbe"},
		{Goals{Throughput: 5}, "cadbe"},
		{Goals{Cost: 1, Latency: 5}, "cadbe"},
	}
	for _, tt := range tests {
		recs := base()
		Rank(recs, tt.goals)
		if got := ids(recs); got != tt.want {
			t.Errorf("Rank(%+v) = %s, want %s", tt.goals, got, tt.want)
		}
	}
}
