package cloudwatch

import (
	"math"
	"time"
)

// series is a time series on a regular grid, as metric math sees it: value
// i belongs to the period starting at start + i*period, and NaN marks a
// period without data.
type series struct {
	id    string // query id it came from, for METRICS("filter")
	label string // as the query gave it: dynamic labels are expanded on output
	// defaultLabel is what ${LABEL} stands for: a metric query's metric
	// name, an expression's id.
	defaultLabel string
	// metric is the metric query the series holds, or that an element of an
	// array of series comes from, for ${PROP('...')}; nil for an expression
	// that yields one series.
	metric *MetricStat
	start  time.Time
	// period is the grid step.
	period time.Duration
	vals   []float64
}

// missing is the value of a period without data.
var missing = math.NaN()

func isMissing(v float64) bool { return math.IsNaN(v) }

// newSeries returns a series of n missing values.
func newSeries(start time.Time, period time.Duration, n int) *series {
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = missing
	}
	return &series{start: start, period: period, vals: vals}
}

// like returns a series on s's grid with every value missing.
func (s *series) like() *series {
	out := newSeries(s.start, s.period, len(s.vals))
	out.label, out.id, out.defaultLabel, out.metric = s.label, s.id, s.defaultLabel, s.metric
	return out
}

// sameGrid reports whether a and b have the same timestamps.
func sameGrid(a, b *series) bool {
	return a.start.Equal(b.start) && a.period == b.period && len(a.vals) == len(b.vals)
}

// at is the start of period i.
func (s *series) at(i int) time.Time { return s.start.Add(time.Duration(i) * s.period) }

// grid is the timestamps a query covers: periods of length period from
// start (aligned as CloudWatch aligns it) up to, excluding, end.
type grid struct {
	start  time.Time
	period time.Duration
	n      int
}

// gridFor aligns [start, end) for period the way the metrics store does:
// start rounds down to 1 minute for periods that are multiples of a
// minute, to 10 seconds otherwise.
func gridFor(start, end time.Time, period time.Duration) grid {
	res := int64(10)
	if period%time.Minute == 0 {
		res = 60
	}
	s := start.Unix()
	s = floorDiv(s, res) * res
	gs := time.Unix(s, 0).UTC()
	n := 0
	if end.After(gs) && period > 0 {
		span := end.Sub(gs)
		n = int((span + period - 1) / period)
	}
	return grid{start: gs, period: period, n: n}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// index returns the position of t in the grid, or -1.
func (g grid) index(t time.Time) int {
	if t.Before(g.start) || g.period <= 0 {
		return -1
	}
	i := int(t.Sub(g.start) / g.period)
	if i >= g.n {
		return -1
	}
	return i
}
