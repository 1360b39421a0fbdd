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
	// Unit, when set, selects the data put with that unit only ("None":
	// the data put with no unit or None). Without it, the data of every
	// unit is merged, or, with SplitUnits, each unit's has its own
	// datapoints (GetMetricStatistics without Unit).
	Unit       string
	SplitUnits bool
	// Now, when set, is the time of the query: periods under a minute are
	// then answered only for data of the last 3 hours (HighResRetention),
	// as CloudWatch keeps sub-minute data, even if Evict has not yet
	// dropped older 10-second buckets.
	Now time.Time
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
	// Unit is the unit of the datapoint's data, "None" for data put
	// without one, or empty if it holds data of several units.
	Unit string
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
	var uds []*unitData
	for i := range sr.units {
		if q.Unit == "" || sr.units[i].unit == normUnit(q.Unit) {
			uds = append(uds, &sr.units[i])
		}
	}
	w := window{res: res, start: start, from: start, end: end, period: period, stats: q.ExtendedStatistics, qs: qs}
	if res == hiSec && !q.Now.IsZero() {
		w.from = max(start, q.Now.Add(-HighResRetention).Unix())
	}
	if !q.SplitUnits || len(uds) < 2 {
		return w.aggregate(uds), nil
	}
	var out []Datapoint
	for _, ud := range uds {
		out = append(out, w.aggregate([]*unitData{ud})...)
	}
	slices.SortStableFunc(out, func(a, b Datapoint) int { return a.Timestamp.Compare(b.Timestamp) })
	return out, nil
}

// window is the periods of a query.
type window struct {
	res, start, end, period int64 // unix seconds
	from                    int64 // the first bucket start used, from start on
	stats                   []string
	qs                      []float64 // stats as fractions
}

// aggregate returns the datapoints of the data of uds in the window, the
// units merged, in ascending time order. A datapoint's Unit is that of its
// data, or empty if it has data of several units.
func (w window) aggregate(uds []*unitData) []Datapoint {
	type acc struct {
		dp Datapoint
		mg *merged
	}
	var (
		accs []acc
		at   map[int64]int // index in accs of a period's start, for several units
	)
	if len(uds) > 1 {
		at = map[int64]int{}
	}
	for _, ud := range uds {
		ring := ud.lo
		if w.res == hiSec {
			ring = ud.hi
		}
		i, _ := slices.BinarySearchFunc(ring, w.from, func(x bucket, t int64) int { return cmpInt(x.start, t) })
		cur, curStart := -1, int64(math.MinInt64)
		for ; i < len(ring) && ring[i].start < w.end; i++ {
			b := &ring[i]
			ps := w.start + (b.start-w.start)/w.period*w.period
			if ps != curStart {
				curStart = ps
				k, ok := at[ps]
				if !ok {
					a := acc{dp: Datapoint{Timestamp: time.Unix(ps, 0).UTC(), Minimum: b.mn, Maximum: b.mx, Unit: ud.unit}}
					if len(w.qs) > 0 {
						a.mg = newMerged()
					}
					accs = append(accs, a)
					k = len(accs) - 1
					if at != nil {
						at[ps] = k
					}
				} else if accs[k].dp.Unit != ud.unit {
					accs[k].dp.Unit = ""
				}
				cur = k
			}
			a := &accs[cur]
			a.dp.SampleCount += b.count
			a.dp.Sum += b.sum
			a.dp.Minimum = math.Min(a.dp.Minimum, b.mn)
			a.dp.Maximum = math.Max(a.dp.Maximum, b.mx)
			if a.mg != nil {
				if b.noPct {
					a.mg.valid = false
				} else {
					a.mg.add(&b.sk)
				}
			}
		}
	}
	if at != nil {
		slices.SortFunc(accs, func(a, b acc) int { return a.dp.Timestamp.Compare(b.dp.Timestamp) })
	}
	out := make([]Datapoint, len(accs))
	for i := range accs {
		a := &accs[i]
		dp := &a.dp
		dp.Average = dp.Sum / dp.SampleCount
		if a.mg != nil && a.mg.valid {
			vals := a.mg.quantiles(w.qs, dp.Minimum, dp.Maximum)
			dp.ExtendedStatistics = make(map[string]float64, len(w.qs))
			for k, st := range w.stats {
				dp.ExtendedStatistics[st] = vals[k]
			}
		}
		out[i] = *dp
	}
	return out
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
