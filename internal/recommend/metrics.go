package recommend

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// MetricsFor computes a recommendation's metrics from the point it was
// measured at, the instance's hourly price (nil when the catalog has none)
// and the instance count:
//
//	MaxInvocations   = round(throughput/s × 60 × count)   (per minute)
//	ModelLatency     = latency at the limits' quantile, in microseconds
//	CostPerHour      = price × count
//	CostPerInference = CostPerHour / (MaxInvocations × 60)
func MetricsFor(p Point, l Limits, price *float64, count int, setup time.Duration) Metrics {
	l = l.withDefaults()
	m := Metrics{
		MaxInvocations: int(math.Round(p.Throughput * 60 * float64(count))),
		ModelLatency:   int(p.Latency(l.Quantile) / time.Microsecond),
	}
	if !math.IsNaN(p.CPU) {
		m.CpuUtilization = ptr(round2(p.CPU))
	}
	if !math.IsNaN(p.Memory) {
		m.MemoryUtilization = ptr(round2(p.Memory))
	}
	if setup > 0 {
		m.ModelSetupTime = ptr(int(math.Ceil(setup.Seconds())))
	}
	if price != nil {
		cph := *price * float64(count)
		m.CostPerHour = ptr(roundCost(cph))
		if m.MaxInvocations > 0 {
			m.CostPerInference = ptr(roundCost(cph / (float64(m.MaxInvocations) * 60)))
		}
	}
	return m
}

// InstancesFor is the number of instances needed to serve maxInvocations
// per minute when one serves perInstance; at least 1.
func InstancesFor(maxInvocations int, perInstance float64) int {
	if maxInvocations <= 0 || perInstance <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(float64(maxInvocations)/perInstance)))
}

func ptr[T any](v T) *T { return &v }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// roundCost rounds a cost to 12 significant digits, dropping the binary
// noise of a product: 3 × 0.115 is 0.345, not 0.34500000000000003.
func roundCost(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// Goals weigh what matters in a ranking, each 0 (ignore) to 5. The zero
// value ranks by cost per inference, as SageMaker does.
type Goals struct {
	Cost, Latency, Throughput int
}

// IsZero reports whether no goal is set.
func (g Goals) IsZero() bool { return g == Goals{} }

// Rank orders recommendations best first. Without goals: by
// CostPerInference ascending, then those without a price by MaxInvocations
// descending. With goals: by the weighted sum of each metric normalised to
// [0,1] across the recommendations (1 best: cheapest per inference, lowest
// latency, highest throughput); ties by cost per inference.
func Rank(recs []Recommendation, g Goals) {
	score := make(map[*Metrics]float64, len(recs))
	if !g.IsZero() {
		var cost, lat, thr []float64
		for _, r := range recs {
			if r.Metrics == nil {
				continue
			}
			if r.Metrics.CostPerInference != nil {
				cost = append(cost, *r.Metrics.CostPerInference)
			}
			lat = append(lat, float64(r.Metrics.ModelLatency))
			thr = append(thr, float64(r.Metrics.MaxInvocations))
		}
		for _, r := range recs {
			m := r.Metrics
			if m == nil {
				continue
			}
			s := float64(g.Latency)*normalize(float64(m.ModelLatency), lat, false) +
				float64(g.Throughput)*normalize(float64(m.MaxInvocations), thr, true)
			if m.CostPerInference != nil {
				s += float64(g.Cost) * normalize(*m.CostPerInference, cost, false)
			}
			score[m] = s
		}
	}
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i].Metrics, recs[j].Metrics
		if a == nil || b == nil {
			return a != nil
		}
		if !g.IsZero() && score[a] != score[b] {
			return score[a] > score[b]
		}
		switch {
		case a.CostPerInference != nil && b.CostPerInference != nil:
			if *a.CostPerInference != *b.CostPerInference {
				return *a.CostPerInference < *b.CostPerInference
			}
		case a.CostPerInference != nil:
			return true
		case b.CostPerInference != nil:
			return false
		}
		return a.MaxInvocations > b.MaxInvocations
	})
}

// normalize maps v into [0,1] across values: 1 for the best.
func normalize(v float64, values []float64, higherBetter bool) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range values {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	if !(hi > lo) {
		return 1
	}
	if higherBetter {
		return (v - lo) / (hi - lo)
	}
	return (hi - v) / (hi - lo)
}
