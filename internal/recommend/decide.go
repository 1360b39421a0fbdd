package recommend

import (
	"fmt"
	"math"
	"time"
)

// The decisions of a benchmark, apart from the code that runs load: each is
// a pure function of what has been measured.

// Point is the measured behaviour of the model at one load: a level of the
// Default ramp, a window of an Advanced run, or an open-loop confirmation.
type Point struct {
	Stage       string        `json:"stage,omitempty"`       // "ramp", "confirm" or "window"
	Users       int           `json:"users,omitempty"`       // closed-loop users
	OfferedRate float64       `json:"offeredRate,omitempty"` // open-loop requests/s
	Duration    time.Duration `json:"durationNs"`
	Sent        int64         `json:"sent"`
	Throughput  float64       `json:"throughput"` // successful requests/s
	ErrorRate   float64       `json:"errorRate"`  // failed / sent
	P50         time.Duration `json:"p50Ns"`
	P95         time.Duration `json:"p95Ns"`
	P99         time.Duration `json:"p99Ns"`
	CPU         float64       `json:"cpuPercent"`    // sum over cores, NaN when unknown
	Memory      float64       `json:"memoryPercent"` // of the instance's memory, NaN when unknown
	FirstError  string        `json:"firstError,omitempty"`
	Rejected    string        `json:"rejected,omitempty"` // why a confirmation did not sustain this load
}

// Latency is the point's latency at quantile q (0.5, 0.95 or 0.99; other
// values fall back to the nearest of those above).
func (p Point) Latency(q float64) time.Duration {
	switch {
	case q <= 0.5:
		return p.P50
	case q <= 0.95:
		return p.P95
	default:
		return p.P99
	}
}

func (p Point) load() string {
	if p.Users > 0 {
		return fmt.Sprintf("%d users", p.Users)
	}
	return fmt.Sprintf("%.1f req/s", p.OfferedRate)
}

// Limits are what a load must satisfy to count.
type Limits struct {
	// Quantile and MaxLatency: the latency threshold; MaxLatency 0 = none.
	Quantile   float64
	MaxLatency time.Duration
	// ErrorBudget is the largest acceptable failed fraction (default 0.01).
	ErrorBudget float64
	// PlateauGain is the smallest throughput gain between consecutive
	// levels that counts as still rising (default 0.05).
	PlateauGain float64
	// MaxUsers bounds the Default ramp (default 1024).
	MaxUsers int
}

func (l Limits) withDefaults() Limits {
	if l.ErrorBudget == 0 {
		l.ErrorBudget = 0.01
	}
	if l.PlateauGain == 0 {
		l.PlateauGain = 0.05
	}
	if l.MaxUsers == 0 {
		l.MaxUsers = 1024
	}
	if l.Quantile == 0 {
		l.Quantile = 0.5
	}
	return l
}

// LimitsFor derives a job's limits from its stopping conditions.
func LimitsFor(sc *StoppingConditions) Limits {
	l := Limits{}
	if sc != nil && len(sc.ModelLatencyThresholds) > 0 {
		th := sc.ModelLatencyThresholds[0]
		if q, err := percentileOf(th.Percentile); err == nil {
			l.Quantile = q
			l.MaxLatency = time.Duration(th.ValueInMilliseconds) * time.Millisecond
		}
	}
	return l.withDefaults()
}

// Meets reports whether p satisfies the limits, and if not, why.
func (l Limits) Meets(p Point) (bool, string) {
	l = l.withDefaults()
	if p.Sent == 0 {
		return false, fmt.Sprintf("no request completed at %s", p.load())
	}
	if p.ErrorRate > l.ErrorBudget {
		msg := fmt.Sprintf("%.1f%% of requests failed at %s (budget %.0f%%)", 100*p.ErrorRate, p.load(), 100*l.ErrorBudget)
		if p.FirstError != "" {
			msg += ": " + p.FirstError
		}
		return false, msg
	}
	if l.MaxLatency > 0 {
		if lat := p.Latency(l.Quantile); lat > l.MaxLatency {
			return false, fmt.Sprintf("P%.0f latency %s at %s exceeds the %s threshold", 100*l.Quantile, lat.Round(time.Microsecond), p.load(), l.MaxLatency)
		}
	}
	return true, ""
}

// best returns the index of the point with the highest throughput among
// those that meet the limits, or -1.
func (l Limits) best(points []Point) int {
	b := -1
	for i, p := range points {
		if ok, _ := l.Meets(p); ok && (b < 0 || p.Throughput > points[b].Throughput) {
			b = i
		}
	}
	return b
}

// RampVerdict is what to do after a level of the Default ramp.
type RampVerdict struct {
	Done      bool
	NextUsers int    // when not Done
	Best      int    // when Done: index of the level to confirm, or -1
	Reason    string // when Done: why the ramp ended
}

// plateauLevels is how many levels in a row must fail to raise the best
// throughput by PlateauGain before the ramp ends: one noisy level does not
// end it.
const plateauLevels = 2

// NextRamp decides the Default ramp: users double from level to level until
// plateauLevels levels in a row gain less than PlateauGain over the best
// throughput before them, a level breaks the limits, or MaxUsers is reached.
// The best level is then the one with the highest throughput that meets the
// limits.
func NextRamp(levels []Point, l Limits) RampVerdict {
	l = l.withDefaults()
	k := len(levels) - 1
	if k < 0 {
		return RampVerdict{NextUsers: 1}
	}
	last := levels[k]
	if ok, why := l.Meets(last); !ok {
		return RampVerdict{Done: true, Best: l.best(levels[:k]), Reason: why}
	}
	flat, best := 0, 0
	for i := 1; i <= k; i++ {
		if levels[i].Throughput < levels[best].Throughput*(1+l.PlateauGain) {
			flat++
		} else {
			flat = 0
		}
		if levels[i].Throughput > levels[best].Throughput {
			best = i
		}
	}
	if flat >= plateauLevels {
		b := l.best(levels)
		return RampVerdict{Done: true, Best: b, Reason: fmt.Sprintf(
			"throughput levelled off at %.1f/s with %d users: the last %d levels, up to %d users, gained under %.0f%% on the best before them",
			levels[b].Throughput, levels[b].Users, flat, last.Users, 100*l.PlateauGain)}
	}
	next := last.Users * 2
	if next > l.MaxUsers {
		return RampVerdict{Done: true, Best: l.best(levels), Reason: fmt.Sprintf("reached the limit of %d users", l.MaxUsers)}
	}
	return RampVerdict{NextUsers: next}
}

// ConfirmVerdict judges an open-loop run at a fixed rate against ref, the
// closed-loop level it confirms. The rate is sustained when the server
// completed at least 99% of it within the limits, and its latency (at the
// limits' quantile) stayed within 2×ref + 1ms: a server that cannot keep up
// with an open loop builds a queue, and its latency grows without bound.
// Otherwise ConfirmVerdict proposes a lower rate to try: 98% of what was
// served when throughput fell short, 95% of the offered rate when only the
// latency did.
func ConfirmVerdict(p, ref Point, l Limits) (ok bool, nextRate float64, reason string) {
	l = l.withDefaults()
	if met, why := l.Meets(p); !met {
		return false, 0.98 * math.Min(p.Throughput, p.OfferedRate), why
	}
	if p.Throughput < 0.99*p.OfferedRate {
		return false, 0.98 * p.Throughput, fmt.Sprintf("served %.1f/s of %.1f/s offered", p.Throughput, p.OfferedRate)
	}
	bound := 2*ref.Latency(l.Quantile) + time.Millisecond
	if lat := p.Latency(l.Quantile); lat > bound {
		return false, 0.95 * p.OfferedRate, fmt.Sprintf("P%.0f latency %s above %s, twice the closed-loop %s: a queue builds up",
			100*l.Quantile, lat.Round(time.Microsecond), bound.Round(time.Microsecond), ref.Latency(l.Quantile).Round(time.Microsecond))
	}
	return true, 0, ""
}

// NextConfirmRate is the rate of the confirmation after the attempt-th
// failed one (from 1), which ran at rate and for which ConfirmVerdict
// proposed proposed. The first retry takes the proposal, which stays close
// to the rate; from the second on, each retry is at most 85% of the one
// before, so that a capacity the closed loop overstated (a small model
// whose server answers concurrent requests in batches does more per
// second than it sustains for requests that arrive one by one) is found
// within ConfirmAttempts: six reach down to about half the closed loop's.
func NextConfirmRate(attempt int, rate, proposed float64) float64 {
	if attempt >= 2 {
		return math.Min(proposed, 0.85*rate)
	}
	return proposed
}

// AdvancedStop decides whether an Advanced job's load ends early, after the
// windows measured so far.
func AdvancedStop(windows []Point, sc *StoppingConditions, l Limits) (bool, string) {
	if len(windows) == 0 {
		return false, ""
	}
	last := windows[len(windows)-1]
	if ok, why := l.Meets(last); !ok {
		return true, why
	}
	if sc == nil {
		return false, ""
	}
	if sc.MaxInvocations > 0 && last.Throughput*60 >= float64(sc.MaxInvocations) {
		return true, fmt.Sprintf("reached MaxInvocations: %.0f per minute at %s", last.Throughput*60, last.load())
	}
	if sc.FlatInvocations == FlatInvocationsStop && len(windows) >= 3 {
		a, b, c := windows[len(windows)-3], windows[len(windows)-2], last
		gain := l.withDefaults().PlateauGain
		if c.Users > a.Users && b.Throughput < a.Throughput*(1+gain) && c.Throughput < b.Throughput*(1+gain) {
			return true, fmt.Sprintf("invocations flat: %.1f/s at %d users, %.1f/s at %d users", a.Throughput, a.Users, c.Throughput, c.Users)
		}
	}
	return false, ""
}

// TailWindow is where the last, partial window of an Advanced run of n
// one-second samples starts, when it is worth judging: at least half a
// window of window samples. It is -1 otherwise, and when the run ended on
// a whole window.
func TailWindow(n, window int) int {
	rest := n % window
	if rest == 0 || 2*rest < window {
		return -1
	}
	return n - rest
}

// BestWindow is the Advanced job's result: the window with the highest
// throughput that meets the limits, or -1.
func BestWindow(windows []Point, l Limits) int { return l.withDefaults().best(windows) }
