package recommend

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScaling(t *testing.T) {
	// A 2-vCPU model whose CPU grows linearly with load: 100% CPU per
	// 50 req/s, saturating at 200% and 100 req/s.
	curve := StepCurve{
		VCPUs: 2,
		Points: []Point{
			{Throughput: 25, CPU: 50, P50: 10 * time.Millisecond},
			{Throughput: 50, CPU: 100, P50: 12 * time.Millisecond},
			{Throughput: 100, CPU: 200, P50: 20 * time.Millisecond},
			{Throughput: 80, CPU: math.NaN()}, // ignored
		},
		MaxInvocations: 6000,
		ModelLatency:   20000,
		SetupTime:      2500 * time.Millisecond,
		Quantile:       0.5,
	}
	tests := []struct {
		name        string
		req         ScalingRequest
		target      int
		latency     int
		minC, maxC  int
		errContains string
	}{
		{"default 50% per core", ScalingRequest{}, 3000, 12000, 1, DefaultMaxCapacity, ""},
		{"75% per core", ScalingRequest{TargetCpuUtilizationPerCore: 75}, 4500, 16000, 1, DefaultMaxCapacity, ""},
		{"below the first point", ScalingRequest{TargetCpuUtilizationPerCore: 10}, 600, 10000, 1, DefaultMaxCapacity, ""},
		{"100% per core caps at max", ScalingRequest{TargetCpuUtilizationPerCore: 100}, 6000, 20000, 1, DefaultMaxCapacity, ""},
		{"objective", ScalingRequest{ScalingPolicyObjective: &ScalingPolicyObjective{MinInvocationsPerMinute: 4000, MaxInvocationsPerMinute: 30001}}, 3000, 12000, 2, 11, ""},
		{"bad target", ScalingRequest{TargetCpuUtilizationPerCore: 101}, 0, 0, 0, 0, "between 1 and 100"},
		{"bad objective", ScalingRequest{ScalingPolicyObjective: &ScalingPolicyObjective{MinInvocationsPerMinute: 10, MaxInvocationsPerMinute: 5}}, 0, 0, 0, 0, "above MaxInvocationsPerMinute"},
		{"negative objective", ScalingRequest{ScalingPolicyObjective: &ScalingPolicyObjective{MinInvocationsPerMinute: -1, MaxInvocationsPerMinute: 5}}, 0, 0, 0, 0, "ScalingPolicyObjective.MinInvocationsPerMinute: -1 is negative"},
		{"negative maximum", ScalingRequest{ScalingPolicyObjective: &ScalingPolicyObjective{MaxInvocationsPerMinute: -7}}, 0, 0, 0, 0, "ScalingPolicyObjective.MaxInvocationsPerMinute: -7 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Scaling(curve, tt.req)
			if tt.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errContains) {
					t.Fatalf("err = %v, want %q", err, tt.errContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := s.DynamicScalingConfiguration
			if s.Metric.InvocationsPerInstance != tt.target || s.Metric.ModelLatency != tt.latency || d.MinCapacity != tt.minC || d.MaxCapacity != tt.maxC {
				t.Errorf("got target %d latency %d capacity %d..%d, want %d %d %d..%d",
					s.Metric.InvocationsPerInstance, s.Metric.ModelLatency, d.MinCapacity, d.MaxCapacity, tt.target, tt.latency, tt.minC, tt.maxC)
			}
			if d.ScaleInCooldown != 300 || d.ScaleOutCooldown != 60 {
				t.Errorf("cooldowns in %d out %d", d.ScaleInCooldown, d.ScaleOutCooldown)
			}
			tt0 := d.ScalingPolicies[0].TargetTracking
			if tt0.TargetValue != float64(tt.target) || tt0.MetricSpecification.Predefined.PredefinedMetricType != "SageMakerVariantInvocationsPerInstance" {
				t.Errorf("policy %+v", tt0)
			}
		})
	}

	slow := curve
	slow.SetupTime = 200 * time.Second
	if s, _ := Scaling(slow, ScalingRequest{}); s.DynamicScalingConfiguration.ScaleOutCooldown != 200 {
		t.Errorf("slow setup: out cooldown %d", s.DynamicScalingConfiguration.ScaleOutCooldown)
	}
	// Past capacity, a closed loop with more users only queues: 32 users
	// served as much as 8, at the same CPU, with ten times the latency.
	// That latency is not what the target load costs.
	queued := curve
	queued.Points = append(slices.Clone(curve.Points), Point{Throughput: 100, CPU: 200, P50: 200 * time.Millisecond},
		Point{Throughput: 99, CPU: 150, P50: 150 * time.Millisecond})
	if s, _ := Scaling(queued, ScalingRequest{}); s.Metric.InvocationsPerInstance != 3000 || s.Metric.ModelLatency != 12000 {
		t.Errorf("with queued levels: %+v, want 3000 at 12000 µs", s.Metric)
	}
	// Closed-loop levels served more than the open loop sustained: where
	// the CPU target falls past MaxInvocations, the target is
	// MaxInvocations at its own latency, not the level's.
	over := curve
	over.MaxInvocations, over.ModelLatency = 2400, 9000
	if s, _ := Scaling(over, ScalingRequest{}); s.Metric.InvocationsPerInstance != 2400 || s.Metric.ModelLatency != 9000 {
		t.Errorf("target past MaxInvocations: %+v, want 2400 at 9000 µs", s.Metric)
	}
	noCPU := StepCurve{VCPUs: 2, Points: []Point{{Throughput: 100, CPU: math.NaN()}}, MaxInvocations: 6000, ModelLatency: 900}
	if s, _ := Scaling(noCPU, ScalingRequest{}); s.Metric.InvocationsPerInstance != 3000 || s.Metric.ModelLatency != 900 {
		t.Errorf("no CPU readings: %+v", s.Metric)
	}
	if _, err := Scaling(StepCurve{}, ScalingRequest{}); err == nil {
		t.Error("empty curve: no error")
	}
}
