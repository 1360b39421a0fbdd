package cloudwatch

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/metrics"
)

// Statistics CloudWatch names; percentiles are pNN or pNN.NN.
const (
	StatSampleCount = "SampleCount"
	StatAverage     = "Average"
	StatSum         = "Sum"
	StatMinimum     = "Minimum"
	StatMaximum     = "Maximum"
)

// maxGridPoints bounds the periods one metric query may span (GetMetricData
// returns at most 100,800 datapoints by default).
const maxGridPoints = 100800

// queryIDPattern is what MetricDataQuery ids look like.
var queryIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// isBasicStat reports whether stat is one of the five basic statistics.
func isBasicStat(stat string) bool {
	switch stat {
	case StatSampleCount, StatAverage, StatSum, StatMinimum, StatMaximum:
		return true
	}
	return false
}

// validStat reports whether stat is a statistic inferscale computes: a basic
// one or a percentile.
func validStat(stat string) bool {
	if isBasicStat(stat) {
		return true
	}
	_, err := metrics.ParsePercentile(stat)
	return err == nil
}

// statValue picks a statistic out of a datapoint; ok is false when the
// datapoint does not have it (a percentile that is not available).
func statValue(dp metrics.Datapoint, stat string) (v float64, ok bool) {
	switch stat {
	case StatSampleCount:
		return dp.SampleCount, true
	case StatAverage:
		return dp.Average, true
	case StatSum:
		return dp.Sum, true
	case StatMinimum:
		return dp.Minimum, true
	case StatMaximum:
		return dp.Maximum, true
	}
	v, ok = dp.ExtendedStatistics[stat]
	return v, ok
}

// checkPeriod validates a period in seconds: multiples of 60, and 10, 20
// and 30 for high-resolution metrics. CloudWatch also takes 1 and 5 for
// high-resolution metrics; inferscale keeps high-resolution data in
// 10-second buckets, so it refuses them rather than answer wrongly.
func checkPeriod(period int32, param string) error {
	switch {
	case period <= 0:
		return invalidValue("The parameter %s must be greater than 0.", param)
	case period%60 == 0, period == 10, period == 20, period == 30:
		return nil
	case period < 60 && 60%period == 0:
		return invalidValue("The value %d for parameter %s is not supported: inferscale stores high-resolution data at 10-second granularity, so periods are 10, 20, 30 or a multiple of 60.", period, param)
	}
	return invalidValue("The parameter %s must be a multiple of 60, or 10, 20 or 30 for high-resolution metrics.", param)
}

// querySet evaluates a list of MetricDataQuery over a time range: metric
// queries read the metrics store, expressions are evaluated on demand with
// their results kept, so each query runs once.
type querySet struct {
	store      *metrics.View
	queries    []MetricDataQuery
	parsed     []node // expression of query i, nil for metric queries
	byID       map[string]int
	start, end time.Time
	// now, when set, is the time of the request: sub-minute periods show
	// only the last 3 hours' data (see metrics.Query.Now).
	now time.Time
	// param names the list in messages: "MetricDataQueries" or "Metrics".
	param string
	// account, when set, is the caller's: a metric query naming another
	// account (AccountId, for cross-account observability) reads nothing,
	// as no account is linked to another here.
	account string

	values   map[string]value
	dropped  map[string]bool // expressions that dropped non-finite results
	visiting map[string]bool
	ctx      evalContext
}

// newQuerySet validates queries (ids, exactly one of MetricStat and
// Expression, metrics, periods, statistics, expression syntax and
// references) and prepares their evaluation over [start, end).
func newQuerySet(store *metrics.View, queries []MetricDataQuery, start, end time.Time, param string) (*querySet, error) {
	qs := &querySet{
		store: store, queries: queries, parsed: make([]node, len(queries)), byID: map[string]int{},
		start: start, end: end, param: param,
		values: map[string]value{}, dropped: map[string]bool{}, visiting: map[string]bool{},
	}
	for i, q := range queries {
		where := fmt.Sprintf("%s.member.%d", param, i+1)
		if !queryIDPattern.MatchString(q.ID) {
			return nil, invalidValue("The value %s for parameter %s.Id is invalid: an id starts with a lower-case letter and holds only letters, digits and underscores.", q.ID, where)
		}
		if _, dup := qs.byID[q.ID]; dup {
			return nil, invalidValue("The values for parameter %s.Id must be unique; %s is repeated.", param, q.ID)
		}
		qs.byID[q.ID] = i
		switch {
		case q.MetricStat != nil && q.Expression != "":
			return nil, invalidCombination("The parameters %s.MetricStat and %s.Expression are mutually exclusive and you have specified both.", where, where)
		case q.MetricStat == nil && q.Expression == "":
			return nil, missingParam("One of the parameters %s.MetricStat or %s.Expression must be specified.", where, where)
		case q.MetricStat != nil:
			ms := q.MetricStat
			if ms.Metric.Namespace == "" || ms.Metric.MetricName == "" {
				return nil, missingParam("The parameters %s.MetricStat.Metric.Namespace and %s.MetricStat.Metric.MetricName are required.", where, where)
			}
			if err := checkPeriod(ms.Period, where+".MetricStat.Period"); err != nil {
				return nil, err
			}
			if !validStat(ms.Stat) {
				return nil, invalidValue("The value for parameter %s.MetricStat.Stat is not a valid statistic: %q (inferscale computes SampleCount, Average, Sum, Minimum, Maximum and percentiles pNN.NN).", where, ms.Stat)
			}
		default:
			n, err := parseExpr(q.Expression)
			if err != nil {
				return nil, invalidValue("Error in expression %s: %v", q.ID, err)
			}
			qs.parsed[i] = n
			if q.Period != 0 {
				if err := checkPeriod(q.Period, where+".Period"); err != nil {
					return nil, err
				}
			}
		}
	}
	// References must name queries of the request.
	for i, n := range qs.parsed {
		if n == nil {
			continue
		}
		ids, _ := refs(n)
		for _, id := range ids {
			if _, ok := qs.byID[id]; !ok {
				return nil, invalidValue("Error in expression %s: Unrecognized metric id %s.", queries[i].ID, id)
			}
		}
	}
	qs.ctx.lookup = qs.value
	qs.ctx.metrics = qs.metricSeries
	return qs, nil
}

// value returns the value of the query with this id, evaluating it (and
// what it depends on) on first use.
func (qs *querySet) value(id string) (value, error) {
	if v, ok := qs.values[id]; ok {
		if qs.dropped[id] {
			qs.ctx.dropped = true // an expression using id inherits its drops
		}
		return v, nil
	}
	i := qs.byID[id]
	q := qs.queries[i]
	if q.MetricStat != nil {
		s, err := qs.fetch(q)
		if err != nil {
			return value{}, err
		}
		v := seriesOf(s)
		qs.values[id] = v
		return v, nil
	}
	if qs.visiting[id] {
		return value{}, invalidValue("Error in expression %s: circular reference to %s.", id, id)
	}
	qs.visiting[id] = true
	defer delete(qs.visiting, id)
	outer := qs.ctx.dropped
	qs.ctx.dropped = false
	v, err := qs.parsed[i].eval(&qs.ctx)
	qs.dropped[id] = qs.ctx.dropped
	qs.ctx.dropped = outer || qs.ctx.dropped
	if err != nil {
		if isAPIError(err) {
			return value{}, err
		}
		return value{}, invalidValue("Error in expression %s: %v", id, err)
	}
	// Results carry the query's label.
	label := q.Label
	if label == "" {
		label = q.ID
	}
	switch v.kind {
	case seriesValue:
		s := *v.ser
		s.id, s.label, s.defaultLabel, s.metric = id, label, id, nil
		v = seriesOf(&s)
	case arrayValue:
		// Each element keeps its own label, as CloudWatch shows them.
	}
	qs.values[id] = v
	return v, nil
}

// metricSeries returns the series of the metric queries whose id or label
// contains filter, in request order.
func (qs *querySet) metricSeries(filter string) ([]*series, error) {
	var out []*series
	for _, q := range qs.queries {
		if q.MetricStat == nil {
			continue
		}
		if filter != "" && !strings.Contains(q.ID, filter) && !strings.Contains(q.Label, filter) {
			continue
		}
		v, err := qs.value(q.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, v.ser)
	}
	return out, nil
}

// fetch reads a metric query's statistic for each period of the range.
func (qs *querySet) fetch(q MetricDataQuery) (*series, error) {
	ms := q.MetricStat
	period := time.Duration(ms.Period) * time.Second
	g := gridFor(qs.start, qs.end, period)
	if g.n > maxGridPoints {
		return nil, invalidCombination("The query %s spans %d periods of %d seconds, more than the %d datapoints a query can return; increase the period or narrow the time range.", q.ID, g.n, ms.Period, maxGridPoints)
	}
	s := newSeries(g.start, period, g.n)
	s.id = q.ID
	s.label, s.defaultLabel, s.metric = q.Label, ms.Metric.MetricName, ms
	if s.label == "" {
		s.label = ms.Metric.MetricName
	}
	if g.n == 0 || qs.account != "" && q.AccountID != "" && q.AccountID != qs.account {
		return s, nil
	}
	mq := metrics.Query{
		Namespace:  ms.Metric.Namespace,
		MetricName: ms.Metric.MetricName,
		Dimensions: toMetricDims(ms.Metric.Dimensions),
		Start:      g.start,
		End:        qs.end,
		Period:     period,
		Unit:       ms.Unit,
		Now:        qs.now,
	}
	if !isBasicStat(ms.Stat) {
		mq.ExtendedStatistics = []string{ms.Stat}
	}
	dps, err := qs.store.Query(mq)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q.ID, err)
	}
	for _, dp := range dps {
		if i := g.index(dp.Timestamp); i >= 0 {
			if v, ok := statValue(dp, ms.Stat); ok {
				s.vals[i] = v
			}
		}
	}
	return s, nil
}

// result evaluates query id and returns its series: one, several for an
// expression that yields an array, or a scalar spread over the grid of
// period (or, when period is 0, of the metrics it uses).
func (qs *querySet) result(id string) ([]*series, error) {
	v, err := qs.value(id)
	if err != nil {
		return nil, err
	}
	switch v.kind {
	case seriesValue:
		return []*series{v.ser}, nil
	case arrayValue:
		return v.arr, nil
	}
	q := qs.queries[qs.byID[id]]
	period := time.Duration(q.Period) * time.Second
	if period == 0 {
		period = qs.commonPeriod()
	}
	if period == 0 {
		return nil, invalidValue("Error in expression %s: the expression yields a single number; set the query's Period to return it as a time series.", id)
	}
	g := gridFor(qs.start, qs.end, period)
	if g.n > maxGridPoints {
		return nil, invalidCombination("The query %s spans %d periods, more than the %d datapoints a query can return.", id, g.n, maxGridPoints)
	}
	s := newSeries(g.start, period, g.n)
	s.id, s.label, s.defaultLabel = id, q.Label, id
	if s.label == "" {
		s.label = id
	}
	if !isMissing(v.num) && !isInf(v.num) {
		for i := range s.vals {
			s.vals[i] = v.num
		}
	}
	return []*series{s}, nil
}

// commonPeriod is the period of the metric queries if they all have the
// same, else 0.
func (qs *querySet) commonPeriod() time.Duration {
	var p int32
	for _, q := range qs.queries {
		if q.MetricStat == nil {
			continue
		}
		if p != 0 && q.MetricStat.Period != p {
			return 0
		}
		p = q.MetricStat.Period
	}
	return time.Duration(p) * time.Second
}

func toMetricDims(ds []Dimension) []metrics.Dimension {
	out := make([]metrics.Dimension, len(ds))
	for i, d := range ds {
		out[i] = metrics.Dimension{Name: d.Name, Value: d.Value}
	}
	return out
}
