package cloudwatch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/metrics"
)

// Limits of PutMetricData, GetMetricStatistics and ListMetrics, as
// CloudWatch documents them.
const (
	maxMetricDataPerCall   = 1000
	maxValuesPerDatum      = 150
	maxPastTimestamp       = 14 * 24 * time.Hour
	maxFutureTimestamp     = 2 * time.Hour
	maxStatisticDatapoints = 1440
	listMetricsPageSize    = 500
	recentlyActiveWindow   = 3 * time.Hour
)

// maxAbsValue is the largest magnitude CloudWatch accepts: 2^360.
var maxAbsValue = math.Ldexp(1, 360)

func (s *Service) metricOps() []*api.Operation {
	return []*api.Operation{
		api.Op("PutMetricData", s.putMetricData),
		api.Op("GetMetricStatistics", s.getMetricStatistics),
		api.Op("GetMetricData", s.getMetricData),
		api.Op("ListMetrics", s.listMetrics),
	}
}

// The doubles of a datum are api.Double, so that NaN and the infinities
// reach checkDatum, which refuses them with CloudWatch's error.
type statisticSet struct {
	SampleCount api.Double `json:"SampleCount"`
	Sum         api.Double `json:"Sum"`
	Minimum     api.Double `json:"Minimum"`
	Maximum     api.Double `json:"Maximum"`
}

type metricDatum struct {
	MetricName        string         `json:"MetricName"`
	Dimensions        []Dimension    `json:"Dimensions,omitempty"`
	Timestamp         *api.Timestamp `json:"Timestamp,omitempty"`
	Value             *api.Double    `json:"Value,omitempty"`
	StatisticValues   *statisticSet  `json:"StatisticValues,omitempty"`
	Values            []api.Double   `json:"Values,omitempty"`
	Counts            []api.Double   `json:"Counts,omitempty"`
	Unit              string         `json:"Unit,omitempty"`
	StorageResolution *int32         `json:"StorageResolution,omitempty"`
}

type entity struct {
	KeyAttributes map[string]string `json:"KeyAttributes,omitempty"`
	Attributes    map[string]string `json:"Attributes,omitempty"`
}

type entityMetricData struct {
	Entity     *entity       `json:"Entity,omitempty"`
	MetricData []metricDatum `json:"MetricData,omitempty"`
}

type putMetricDataInput struct {
	Namespace              string             `json:"Namespace"`
	MetricData             []metricDatum      `json:"MetricData,omitempty"`
	EntityMetricData       []entityMetricData `json:"EntityMetricData,omitempty"`
	StrictEntityValidation *bool              `json:"StrictEntityValidation,omitempty"`
}

// sample is one validated write into the metrics store.
type sample struct {
	name string
	dims []metrics.Dimension
	unit string
	at   time.Time
	set  metrics.StatisticSet
	raw  bool // one value: set.Sum, stored as a sample
}

// putMetricData validates every datum first and stores nothing unless all
// are valid, as CloudWatch does. Entities are accepted and not kept.
func (s *Service) putMetricData(_ context.Context, req *api.Request, in *putMetricDataInput) (*struct{}, error) {
	if strings.HasPrefix(in.Namespace, "AWS/") {
		return nil, invalidValue("The value %s for parameter Namespace is invalid: namespaces starting with AWS/ are reserved for AWS services.", in.Namespace)
	}
	type datum struct {
		d     *metricDatum
		where string
	}
	var data []datum
	for i := range in.MetricData {
		data = append(data, datum{&in.MetricData[i], fmt.Sprintf("MetricData.member.%d", i+1)})
	}
	for i := range in.EntityMetricData {
		for j := range in.EntityMetricData[i].MetricData {
			data = append(data, datum{&in.EntityMetricData[i].MetricData[j], fmt.Sprintf("EntityMetricData.member.%d.MetricData.member.%d", i+1, j+1)})
		}
	}
	if len(data) == 0 {
		return nil, missingParam("The parameter MetricData or EntityMetricData must be specified.")
	}
	if len(data) > maxMetricDataPerCall {
		return nil, invalidValue("The collection MetricData must not have a size greater than %d.", maxMetricDataPerCall)
	}
	now := s.now(req)
	var samples []sample
	for _, d := range data {
		ss, err := checkDatum(d.d, d.where, now)
		if err != nil {
			return nil, err
		}
		samples = append(samples, ss...)
	}
	ms := s.metricsOf(req)
	for _, sm := range samples {
		var err error
		if sm.raw {
			err = ms.Put(in.Namespace, sm.name, sm.dims, sm.set.Sum, sm.unit, sm.at)
		} else {
			err = ms.PutStatistics(in.Namespace, sm.name, sm.dims, sm.set, sm.unit, sm.at)
		}
		if err != nil {
			return nil, fmt.Errorf("put metric data: %w", err)
		}
	}
	return nil, nil
}

// checkDatum validates one MetricDatum and turns it into samples.
func checkDatum(d *metricDatum, where string, now time.Time) ([]sample, error) {
	at := now
	if d.Timestamp != nil {
		at = d.Timestamp.Time
	}
	if at.Before(now.Add(-maxPastTimestamp)) {
		return nil, invalidValue("The parameter %s.Timestamp must specify a time within the past two weeks.", where)
	}
	if at.After(now.Add(maxFutureTimestamp)) {
		return nil, invalidValue("The parameter %s.Timestamp must specify a time no more than two hours in the future.", where)
	}
	if d.StorageResolution != nil && *d.StorageResolution != 1 && *d.StorageResolution != 60 {
		return nil, invalidValue("The value %d for parameter %s.StorageResolution is invalid: valid values are 1 and 60.", *d.StorageResolution, where)
	}
	// Standard-resolution data is kept per minute: it shows at the start of
	// its minute, also in 10-second queries.
	if d.StorageResolution == nil || *d.StorageResolution == 60 {
		at = at.Truncate(time.Minute)
	}
	seen := map[string]bool{}
	for _, dm := range d.Dimensions {
		if seen[dm.Name] {
			return nil, invalidValue("The parameter %s.Dimensions holds the dimension %s twice; no metric may have duplicate dimension names.", where, dm.Name)
		}
		seen[dm.Name] = true
	}
	kinds := 0
	for _, set := range []bool{d.Value != nil, d.StatisticValues != nil, len(d.Values) > 0} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		return nil, invalidCombination("The parameters %[1]s.Value, %[1]s.StatisticValues and %[1]s.Values are mutually exclusive and you have specified more than one.", where)
	}
	if kinds == 0 {
		return nil, invalidCombination("At least one of the parameters %[1]s.Value, %[1]s.StatisticValues or %[1]s.Values must be specified.", where)
	}
	base := sample{name: d.MetricName, dims: toMetricDims(d.Dimensions), unit: d.Unit, at: at}
	checkValue := func(d api.Double, param string) error {
		v := float64(d)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return invalidValue("The value %s for parameter %s is invalid.", formatJava(v), param)
		}
		if math.Abs(v) > maxAbsValue {
			return invalidValue("The value %s for parameter %s is invalid: values must be in the range of -2^360 to 2^360.", formatJava(v), param)
		}
		return nil
	}
	switch {
	case d.Value != nil:
		if err := checkValue(*d.Value, where+".Value"); err != nil {
			return nil, err
		}
		sm := base
		sm.raw, sm.set.Sum = true, float64(*d.Value)
		return []sample{sm}, nil
	case d.StatisticValues != nil:
		sv := *d.StatisticValues
		for _, f := range []struct {
			v    api.Double
			name string
		}{{sv.SampleCount, "SampleCount"}, {sv.Sum, "Sum"}, {sv.Minimum, "Minimum"}, {sv.Maximum, "Maximum"}} {
			if err := checkValue(f.v, where+".StatisticValues."+f.name); err != nil {
				return nil, err
			}
		}
		if sv.SampleCount <= 0 {
			return nil, invalidValue("The parameter %s.StatisticValues.SampleCount must be greater than 0.", where)
		}
		if sv.Maximum < sv.Minimum {
			return nil, invalidValue("The parameter %[1]s.StatisticValues.Maximum must be greater than or equal to the parameter %[1]s.StatisticValues.Minimum.", where)
		}
		sm := base
		sm.set = metrics.StatisticSet{SampleCount: float64(sv.SampleCount), Sum: float64(sv.Sum), Minimum: float64(sv.Minimum), Maximum: float64(sv.Maximum)}
		return []sample{sm}, nil
	}
	if len(d.Values) > maxValuesPerDatum {
		return nil, invalidValue("The collection %s.Values must not have a size greater than %d.", where, maxValuesPerDatum)
	}
	if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
		return nil, invalidValue("The parameters %[1]s.Values and %[1]s.Counts must be arrays of the same size.", where)
	}
	var out []sample
	for i, dv := range d.Values {
		if err := checkValue(dv, fmt.Sprintf("%s.Values.member.%d", where, i+1)); err != nil {
			return nil, err
		}
		v, count := float64(dv), 1.0
		if len(d.Counts) > 0 {
			if err := checkValue(d.Counts[i], fmt.Sprintf("%s.Counts.member.%d", where, i+1)); err != nil {
				return nil, err
			}
			count = float64(d.Counts[i])
		}
		if count < 0 {
			return nil, invalidValue("The value %s for parameter %s.Counts.member.%d is invalid: counts are not negative.", formatJava(count), where, i+1)
		}
		if count == 0 {
			continue
		}
		sm := base
		if count == 1 {
			sm.raw, sm.set.Sum = true, v
		} else {
			sm.set = metrics.StatisticSet{SampleCount: count, Sum: v * count, Minimum: v, Maximum: v}
		}
		out = append(out, sm)
	}
	return out, nil
}

type getMetricStatisticsInput struct {
	Namespace          string        `json:"Namespace"`
	MetricName         string        `json:"MetricName"`
	Dimensions         []Dimension   `json:"Dimensions,omitempty"`
	StartTime          api.Timestamp `json:"StartTime"`
	EndTime            api.Timestamp `json:"EndTime"`
	Period             int32         `json:"Period"`
	Statistics         []string      `json:"Statistics,omitempty"`
	ExtendedStatistics []string      `json:"ExtendedStatistics,omitempty"`
	Unit               string        `json:"Unit,omitempty"`
}

type datapointOut struct {
	Timestamp          api.Timestamp      `json:"Timestamp"`
	SampleCount        *float64           `json:"SampleCount,omitempty"`
	Average            *float64           `json:"Average,omitempty"`
	Sum                *float64           `json:"Sum,omitempty"`
	Minimum            *float64           `json:"Minimum,omitempty"`
	Maximum            *float64           `json:"Maximum,omitempty"`
	Unit               string             `json:"Unit,omitempty"`
	ExtendedStatistics map[string]float64 `json:"ExtendedStatistics,omitempty"`
}

type getMetricStatisticsOutput struct {
	Label      string         `json:"Label"`
	Datapoints []datapointOut `json:"Datapoints"`
}

func (s *Service) getMetricStatistics(_ context.Context, req *api.Request, in *getMetricStatisticsInput) (*getMetricStatisticsOutput, error) {
	switch {
	case len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0:
		return nil, missingParam("Must specify either Statistics or ExtendedStatistics.")
	case len(in.Statistics) > 0 && len(in.ExtendedStatistics) > 0:
		return nil, invalidCombination("Must specify either Statistics or ExtendedStatistics, but not both.")
	}
	for i, st := range in.ExtendedStatistics {
		if _, err := metrics.ParsePercentile(st); err != nil {
			return nil, invalidValue("The value %s for parameter ExtendedStatistics.member.%d is not a valid percentile: use p0.0 to p100 with at most two decimals.", st, i+1)
		}
	}
	if !in.StartTime.Before(in.EndTime.Time) {
		return nil, invalidValue("The parameter StartTime must be less than the parameter EndTime.")
	}
	if err := checkPeriod(in.Period, "Period"); err != nil {
		return nil, err
	}
	period := time.Duration(in.Period) * time.Second
	// CloudWatch counts the periods of the time range as given, not as
	// aligned: the last 1,440 minutes at Period 60 are 1,440 datapoints,
	// though they touch 1,441 minutes when now is not on a minute.
	if n := int((in.EndTime.Sub(in.StartTime.Time) + period - 1) / period); n > maxStatisticDatapoints {
		return nil, invalidCombination("You have requested up to %s datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", thousands(n))
	}
	dps, err := s.metricsOf(req).Query(metrics.Query{
		Namespace:          in.Namespace,
		MetricName:         in.MetricName,
		Dimensions:         toMetricDims(in.Dimensions),
		Start:              in.StartTime.Time,
		End:                in.EndTime.Time,
		Period:             period,
		ExtendedStatistics: in.ExtendedStatistics,
		// CloudWatch keeps each unit's data apart: without Unit, each
		// unit's has its own datapoints, with their Unit.
		Unit:       in.Unit,
		SplitUnits: true,
		Now:        s.now(req),
	})
	if err != nil {
		return nil, fmt.Errorf("get metric statistics: %w", err)
	}
	out := &getMetricStatisticsOutput{Label: in.MetricName, Datapoints: []datapointOut{}}
	for _, dp := range dps {
		o := datapointOut{Timestamp: api.Timestamp{Time: dp.Timestamp}, Unit: dp.Unit}
		for _, st := range in.Statistics {
			v, _ := statValue(dp, st)
			p := &v
			switch st {
			case StatSampleCount:
				o.SampleCount = p
			case StatAverage:
				o.Average = p
			case StatSum:
				o.Sum = p
			case StatMinimum:
				o.Minimum = p
			case StatMaximum:
				o.Maximum = p
			}
		}
		if len(dp.ExtendedStatistics) > 0 {
			o.ExtendedStatistics = dp.ExtendedStatistics
		}
		out.Datapoints = append(out.Datapoints, o)
	}
	return out, nil
}

// thousands formats n with comma separators, as CloudWatch's messages do.
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

type dimensionFilter struct {
	Name  string `json:"Name"`
	Value string `json:"Value,omitempty"`
}

type listMetricsInput struct {
	Namespace             string            `json:"Namespace,omitempty"`
	MetricName            string            `json:"MetricName,omitempty"`
	Dimensions            []dimensionFilter `json:"Dimensions,omitempty"`
	NextToken             string            `json:"NextToken,omitempty"`
	RecentlyActive        string            `json:"RecentlyActive,omitempty"`
	IncludeLinkedAccounts bool              `json:"IncludeLinkedAccounts,omitempty"`
	OwningAccount         string            `json:"OwningAccount,omitempty"`
}

type listMetricsOutput struct {
	Metrics   []MetricRef `json:"Metrics"`
	NextToken string      `json:"NextToken,omitempty"`
	// OwningAccounts is, with IncludeLinkedAccounts, the account of each
	// metric of Metrics.
	OwningAccounts []string `json:"OwningAccounts,omitempty"`
}

// listMetrics pages through the series in the store's order (namespace,
// name, dimensions); the token is the key of the last series returned.
// There are no linked accounts: with IncludeLinkedAccounts, every metric's
// owning account is the caller's, and OwningAccount names it or nothing.
func (s *Service) listMetrics(_ context.Context, req *api.Request, in *listMetricsInput) (*listMetricsOutput, error) {
	f := metrics.MetricFilter{Namespace: in.Namespace, MetricName: in.MetricName}
	for _, d := range in.Dimensions {
		f.Dimensions = append(f.Dimensions, metrics.DimensionFilter{Name: d.Name, Value: d.Value})
	}
	if in.RecentlyActive == "PT3H" {
		f.ActiveSince = s.now(req).Add(-recentlyActiveWindow)
	}
	out := &listMetricsOutput{Metrics: []MetricRef{}}
	if in.OwningAccount != "" && in.OwningAccount != req.Account {
		return out, nil // no linked accounts
	}
	all := s.metricsOf(req).ListMetrics(f)
	start := 0
	if in.NextToken != "" {
		after, err := decodeMetricToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		start, _ = slices.BinarySearchFunc(all, after, func(m, t metrics.Metric) int { return cmpMetric(m, t) })
		if start < len(all) && cmpMetric(all[start], after) == 0 {
			start++
		}
	}
	for _, m := range all[start:] {
		if len(out.Metrics) == listMetricsPageSize {
			out.NextToken = encodeMetricToken(all[start+listMetricsPageSize-1])
			break
		}
		ref := MetricRef{Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: []Dimension{}}
		for _, d := range m.Dimensions {
			ref.Dimensions = append(ref.Dimensions, Dimension{Name: d.Name, Value: d.Value})
		}
		out.Metrics = append(out.Metrics, ref)
		if in.IncludeLinkedAccounts {
			out.OwningAccounts = append(out.OwningAccounts, req.Account)
		}
	}
	return out, nil
}

// cmpMetric orders series as metrics.Store.ListMetrics does.
func cmpMetric(a, b metrics.Metric) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.MetricName, b.MetricName); c != 0 {
		return c
	}
	return slices.CompareFunc(a.Dimensions, b.Dimensions, func(x, y metrics.Dimension) int {
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return strings.Compare(x.Value, y.Value)
	})
}

func encodeMetricToken(m metrics.Metric) string {
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeMetricToken(tok string) (metrics.Metric, error) {
	var m metrics.Metric
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return m, errBadToken
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, errBadToken
	}
	return m, nil
}
