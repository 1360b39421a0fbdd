package recommend

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Scaling defaults, as GetScalingConfigurationRecommendation documents them
// or as inferscale chooses them (README, "Formulas").
const (
	DefaultTargetCPUPerCore = 50
	DefaultCooldown         = 300 // seconds
	MinScaleOutCooldown     = 60  // seconds
	// Without a ScalingPolicyObjective the policy is sized for up to this
	// many instances' worth of target load.
	DefaultMaxCapacity               = 4
	PredefinedInvocationsPerInstance = "SageMakerVariantInvocationsPerInstance"
)

// StepCurve is what the scaling recommendation reads off a finished step.
type StepCurve struct {
	VCPUs          int
	Points         []Point // every load measured, in any order
	MaxInvocations int     // per minute, per instance
	ModelLatency   int     // µs at MaxInvocations
	SetupTime      time.Duration
	Quantile       float64 // the latency quantile ModelLatency reports
}

// Scaling computes a target-tracking configuration from a step's curve:
//
//	cpuTarget              = TargetCpuUtilizationPerCore × vCPUs        (percent, CloudWatch's sum over cores)
//	InvocationsPerInstance = floor(60 × throughput at cpuTarget)     read off the measured (CPU, throughput)
//	                         points by linear interpolation through (0,0); capped at MaxInvocations; when
//	                         CPU was not measured, MaxInvocations × TargetCpuUtilizationPerCore / 100
//	MinCapacity            = max(1, ceil(MinInvocationsPerMinute / InvocationsPerInstance))
//	MaxCapacity            = max(MinCapacity, ceil(MaxInvocationsPerMinute / InvocationsPerInstance))
//	ScaleInCooldown        = 300 s
//	ScaleOutCooldown       = min(300, max(60, ceil(ModelSetupTime in s)))
func Scaling(c StepCurve, req ScalingRequest) (ScalingRecommendation, error) {
	perCore := req.TargetCpuUtilizationPerCore
	if perCore == 0 {
		perCore = DefaultTargetCPUPerCore
	}
	if perCore < 1 || perCore > 100 {
		return ScalingRecommendation{}, invalid("TargetCpuUtilizationPerCore", "must be between 1 and 100, got %d", perCore)
	}
	if c.MaxInvocations <= 0 {
		return ScalingRecommendation{}, errors.New("the recommendation has no measured MaxInvocations to scale on")
	}
	if o := req.ScalingPolicyObjective; o != nil {
		for _, m := range []struct {
			name string
			v    int
		}{{"MinInvocationsPerMinute", int(o.MinInvocationsPerMinute)}, {"MaxInvocationsPerMinute", int(o.MaxInvocationsPerMinute)}} {
			if m.v < 0 {
				return ScalingRecommendation{}, invalid("ScalingPolicyObjective."+m.name, "%d is negative; invocations per minute are at least 0", m.v)
			}
		}
		if o.MaxInvocationsPerMinute > 0 && o.MinInvocationsPerMinute > o.MaxInvocationsPerMinute {
			return ScalingRecommendation{}, invalid("ScalingPolicyObjective", "MinInvocationsPerMinute %d is above MaxInvocationsPerMinute %d", o.MinInvocationsPerMinute, o.MaxInvocationsPerMinute)
		}
	}

	perMinute, latency := atCPU(c, float64(perCore*max(1, c.VCPUs)), float64(perCore))
	target := max(1, int(math.Floor(perMinute)))

	minCap, maxCap := 1, DefaultMaxCapacity
	if o := req.ScalingPolicyObjective; o != nil {
		if o.MinInvocationsPerMinute > 0 {
			minCap = max(1, ceilDiv(o.MinInvocationsPerMinute, target))
		}
		if o.MaxInvocationsPerMinute > 0 {
			maxCap = ceilDiv(o.MaxInvocationsPerMinute, target)
		}
	}
	maxCap = max(maxCap, minCap)

	out := min(DefaultCooldown, max(MinScaleOutCooldown, int(math.Ceil(c.SetupTime.Seconds()))))
	return ScalingRecommendation{
		InferenceRecommendationsJobName: req.InferenceRecommendationsJobName,
		RecommendationId:                req.RecommendationId,
		EndpointName:                    req.EndpointName,
		TargetCpuUtilizationPerCore:     perCore,
		ScalingPolicyObjective:          req.ScalingPolicyObjective,
		Metric:                          ScalingPolicyMetric{InvocationsPerInstance: target, ModelLatency: latency},
		DynamicScalingConfiguration: DynamicScaling{
			MinCapacity:      minCap,
			MaxCapacity:      maxCap,
			ScaleInCooldown:  DefaultCooldown,
			ScaleOutCooldown: out,
			ScalingPolicies: []ScalingPolicy{{TargetTracking: &TargetTracking{
				MetricSpecification: MetricSpecification{Predefined: &PredefinedMetric{PredefinedMetricType: PredefinedInvocationsPerInstance}},
				TargetValue:         float64(target),
			}}},
		},
	}, nil
}

// atCPU returns the invocations per minute and the latency (µs) at the given
// total CPU percent, interpolated on the curve.
//
// The curve is the measured points that no other point beats: a point
// with as much throughput or more at a lower latency makes a point moot.
// Those are the loads a server is driven past its capacity with (closed-
// loop levels with more users than it serves at once, where only the
// queue grows, and confirmations it did not sustain); their latency says
// how long requests queued, not what a load below capacity costs, and
// would otherwise be read at the target load.
func atCPU(c StepCurve, cpu, perCore float64) (perMinute float64, latencyMicros int) {
	type xy struct{ cpu, perMin, lat float64 }
	var measured []xy
	for _, p := range c.Points {
		if math.IsNaN(p.CPU) || p.Throughput <= 0 {
			continue
		}
		measured = append(measured, xy{p.CPU, p.Throughput * 60, float64(p.Latency(c.Quantile) / time.Microsecond)})
	}
	pts := []xy{{0, 0, 0}}
	for _, p := range measured {
		if !slices.ContainsFunc(measured, func(q xy) bool { return q.perMin >= p.perMin && q.lat < p.lat }) {
			pts = append(pts, p)
		}
	}
	maxInv := float64(c.MaxInvocations)
	if len(pts) == 1 {
		// No CPU reading (a server that already ran elsewhere): assume
		// throughput proportional to CPU.
		return maxInv * perCore / 100, c.ModelLatency
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].cpu < pts[j].cpu })
	last := pts[len(pts)-1]
	if cpu >= last.cpu {
		// The model never used that much CPU (it is bound elsewhere): the
		// most it served is the target.
		return math.Min(last.perMin, maxInv), c.ModelLatency
	}
	i := sort.Search(len(pts), func(i int) bool { return pts[i].cpu >= cpu })
	a, b := pts[i-1], pts[i]
	f := (cpu - a.cpu) / (b.cpu - a.cpu)
	if b.cpu == a.cpu {
		f = 1
	}
	perMinute = a.perMin + f*(b.perMin-a.perMin)
	if perMinute >= maxInv {
		// Past the most the server sustained: the target is that, at
		// its latency.
		return maxInv, c.ModelLatency
	}
	lat := a.lat + f*(b.lat-a.lat)
	if a.cpu == 0 { // no latency measured below the first point: take the first point's
		lat = b.lat
	}
	return perMinute, int(math.Round(lat))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// String renders the configuration as a one-line summary.
func (s ScalingRecommendation) String() string {
	d := s.DynamicScalingConfiguration
	return fmt.Sprintf("target %d invocations/instance/minute at %d%% CPU per core; capacity %d..%d; cooldown out %ds in %ds",
		s.Metric.InvocationsPerInstance, s.TargetCpuUtilizationPerCore, d.MinCapacity, d.MaxCapacity, d.ScaleOutCooldown, d.ScaleInCooldown)
}
