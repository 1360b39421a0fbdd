package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Query selects one series' statistics, as GetMetricStatistics does.
type Query struct {
	Namespace  string
	MetricName string
	Dimensions []Dimension // any order
	// Start is inclusive and End exclusive. Start is rounded down to the
	// resolution used (10 s or 1 min); datapoints are Start + k*Period.
	Start, End time.Time
	// Period must be a positive multiple of 10 s. Multiples of 60 s are
	// answered from 1-minute buckets (kept 15 days), others from 10-second
	// buckets (kept 3 hours).
	Period time.Duration
	// ExtendedStatistics are percentiles "pNN" or "pNN.NN" (0 <= NN <= 100).
	ExtendedStatistics []string
	// Unit, when set, selects data stored under that unit only.
	Unit string
}

// Datapoint is one period's statistics, as CloudWatch returns it. All basic
// statistics are filled; the caller shows those that were asked for.
type Datapoint struct {
	Timestamp   time.Time // start of the period
	SampleCount float64
	Sum         float64
	Minimum     float64
	Maximum     float64
	Average     float64 // Sum / SampleCount
	// ExtendedStatistics holds the requested percentiles. A percentile is
	// missing when some data in the period came from a statistic set with
	// differing values or from negative values, as in CloudWatch.
	ExtendedStatistics map[string]float64
	Unit               string
}

// ParsePercentile parses a CloudWatch percentile statistic ("p99", "p99.9")
// into a fraction in [0,1].
func ParsePercentile(stat string) (float64, error) {
	if len(stat) < 2 || stat[0] != 'p' {
		return 0, fmt.Errorf("extended statistic %q: only percentiles pNN or pNN.NN are supported: %w", stat, ErrInvalidParameter)
	}
	num := stat[1:]
	if i := strings.IndexByte(num, '.'); i >= 0 && len(num)-i-1 > 2 {
		return 0, fmt.Errorf("extended statistic %q: at most two decimals: %w", stat, ErrInvalidParameter)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v > 100 || strings.ContainsAny(num, "eE+-") {
		return 0, fmt.Errorf("extended statistic %q: want a percentile in [0,100]: %w", stat, ErrInvalidParameter)
	}
	return v / 100, nil
}

// query returns the datapoints of the periods in [Start, End) that hold
// data, in ascending time order; q.Namespace is a series key's, scope
// included. An unknown series yields no datapoints.
func (s *Store) query(q Query) ([]Datapoint, error) {
	if q.Period <= 0 || q.Period%HighResPeriod != 0 {
		return nil, fmt.Errorf("query %s %s: period %v is not a positive multiple of 10s: %w", plainNS(q.Namespace), q.MetricName, q.Period, ErrInvalidParameter)
	}
	if !q.End.After(q.Start) {
		return nil, fmt.Errorf("query %s %s: end %v not after start %v: %w", plainNS(q.Namespace), q.MetricName, q.End, q.Start, ErrInvalidParameter)
	}
	qs := make([]float64, len(q.ExtendedStatistics))
	for i, st := range q.ExtendedStatistics {
		p, err := ParsePercentile(st)
		if err != nil {
			return nil, fmt.Errorf("query %s %s: %w", plainNS(q.Namespace), q.MetricName, err)
		}
		qs[i] = p
	}
	sr := s.lookup(q.Namespace, q.MetricName, sortedDims(q.Dimensions))
	if sr == nil {
		return nil, nil
	}
	period := int64(q.Period / time.Second)
	res := hiSec
	if period%loSec == 0 {
		res = loSec
	}
	start := floorDiv(q.Start.Unix(), res) * res
	end := q.End.Unix()
	if q.End.Nanosecond() > 0 {
		end++ // End is exclusive; a bucket starting within its second is in.
	}

	sr.mu.Lock()
	defer sr.mu.Unlock()
	if q.Unit != "" && q.Unit != "None" && sr.unit != "" && q.Unit != sr.unit {
		return nil, nil
	}
	ring := sr.lo
	if res == hiSec {
		ring = sr.hi
	}
	i, _ := slices.BinarySearchFunc(ring, start, func(x bucket, t int64) int { return cmpInt(x.start, t) })
	var (
		out []Datapoint
		mg  *merged
	)
	finish := func() {
		if len(out) == 0 {
			return
		}
		dp := &out[len(out)-1]
		dp.Average = dp.Sum / dp.SampleCount
		if len(qs) == 0 || !mg.valid {
			return
		}
		vals := mg.quantiles(qs, dp.Minimum, dp.Maximum)
		dp.ExtendedStatistics = make(map[string]float64, len(qs))
		for k, st := range q.ExtendedStatistics {
			dp.ExtendedStatistics[st] = vals[k]
		}
	}
	cur := int64(math.MinInt64)
	for ; i < len(ring) && ring[i].start < end; i++ {
		b := &ring[i]
		ps := start + (b.start-start)/period*period
		if ps != cur {
			finish()
			cur = ps
			out = append(out, Datapoint{Timestamp: time.Unix(ps, 0).UTC(), Minimum: b.mn, Maximum: b.mx, Unit: unitOrNone(sr.unit)})
			if len(qs) > 0 {
				mg = newMerged()
			}
		}
		dp := &out[len(out)-1]
		dp.SampleCount += b.count
		dp.Sum += b.sum
		dp.Minimum = math.Min(dp.Minimum, b.mn)
		dp.Maximum = math.Max(dp.Maximum, b.mx)
		if mg != nil {
			if b.noPct {
				mg.valid = false
			} else {
				mg.add(&b.sk)
			}
		}
	}
	finish()
	return out, nil
}

func unitOrNone(u string) string {
	if u == "" {
		return "None"
	}
	return u
}

// Metric identifies a series, as ListMetrics returns it.
type Metric struct {
	Namespace  string
	MetricName string
	Dimensions []Dimension // sorted by name
}

// DimensionFilter matches a dimension by name, and by value when Value is
// set.
type DimensionFilter struct {
	Name  string
	Value string
}

// MetricFilter selects series for ListMetrics. Empty fields match all.
type MetricFilter struct {
	Namespace  string
	MetricName string
	// Dimensions must all be present on a series (with the given value,
	// if any).
	Dimensions []DimensionFilter
	// ActiveSince, when set, keeps series with a sample timestamped at or
	// after it (second precision) (ListMetrics' RecentlyActive=PT3H is now-3h).
	ActiveSince time.Time
}

// listMetrics returns the series of the scope whose namespace prefix is
// prefix matching f, sorted by namespace, name and dimensions, their
// namespaces without the prefix; all series with their keys' namespaces if
// all is set.
func (s *Store) listMetrics(prefix string, all bool, f MetricFilter) []Metric {
	var out []Metric
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, head := range sh.series {
			for sr := head; sr != nil; sr = sr.next {
				ns := sr.ns
				if !all {
					var ok bool
					if ns, ok = inScope(ns, prefix); !ok {
						continue
					}
				}
				if sr.matches(ns, f) {
					out = append(out, Metric{ns, sr.name, slices.Clone(sr.dims)})
				}
			}
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(out, func(a, b Metric) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.MetricName, b.MetricName); c != 0 {
			return c
		}
		return slices.CompareFunc(a.Dimensions, b.Dimensions, cmpDim)
	})
	return out
}

func (sr *series) matches(ns string, f MetricFilter) bool {
	if f.Namespace != "" && f.Namespace != ns || f.MetricName != "" && f.MetricName != sr.name {
		return false
	}
	for _, df := range f.Dimensions {
		i := slices.IndexFunc(sr.dims, func(d Dimension) bool { return d.Name == df.Name })
		if i < 0 || df.Value != "" && sr.dims[i].Value != df.Value {
			return false
		}
	}
	if !f.ActiveSince.IsZero() {
		sr.mu.Lock()
		last := sr.last
		sr.mu.Unlock()
		if last < f.ActiveSince.Unix() {
			return false
		}
	}
	return true
}
