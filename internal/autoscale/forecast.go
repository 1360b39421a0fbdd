package autoscale

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/store"
)

// asValidation turns a not-found API error into a ValidationException with
// the same message.
func asValidation(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) && ae.Kind == api.KindNotFound {
		return api.Errorf(api.KindInvalid, "%s", ae.Message)
	}
	return err
}

// Predictive scaling. AWS forecasts ECS services only; inferscale forecasts
// SageMaker variants from the hourly history of their load in the metrics
// store (15 days of one-minute data), with daily and weekly seasonality.

const (
	// MinForecastHistory is the history a forecast needs (AWS: "A minimum
	// of 24 hours of data is required to create the initial forecasts").
	MinForecastHistory = 24 * time.Hour
	// forecastHistory is how much history is used: what the metrics store
	// keeps at one-minute resolution, in whole days.
	forecastHistory = 14 * 24 * time.Hour
	// forecastHorizon is how far ahead of now forecasts go (AWS: 48 hours).
	forecastHorizon = 48 * time.Hour
	// maxForecastSpan bounds a request's StartTime..EndTime.
	maxForecastSpan = 31 * 24 * time.Hour
)

// ForecastLoad forecasts the load of the hours at (each the start of an
// hour) from hourly history, history[i] being the load of the hour starting
// at start + i hours. It needs at least 24 hours of history (nil
// otherwise). The model, on UTC hours:
//
//   - with at least one whole week of history, weekly seasonality: the
//     forecast of an hour is the mean load of the same hour of the week
//     over the whole weeks of history (the most recent ones), which keeps
//     the daily cycle and the weekday/weekend difference in level and
//     shape;
//   - with less, daily seasonality: the mean load times the daily profile
//     (the mean of each hour of the day relative to the mean).
//
// Forecasts are never negative.
func ForecastLoad(history []float64, start time.Time, at []time.Time) []float64 {
	if len(history) < int(MinForecastHistory/time.Hour) {
		return nil
	}
	start = start.UTC()
	hourOf := func(i int) time.Time { return start.Add(time.Duration(i) * time.Hour) }
	var total float64
	for _, v := range history {
		total += v
	}
	level := total / float64(len(history))
	out := make([]float64, len(at))

	if weeks := len(history) / (7 * 24); weeks > 0 {
		// Seasonal naive by hour of the week, over the latest whole weeks.
		var how [7 * 24]float64
		first := len(history) - weeks*7*24
		for i := first; i < len(history); i++ {
			t := hourOf(i)
			how[int(t.Weekday())*24+t.Hour()] += history[i] / float64(weeks)
		}
		for j, t := range at {
			t = t.UTC()
			out[j] = math.Max(0, how[int(t.Weekday())*24+t.Hour()])
		}
		return out
	}

	// Daily profile: the mean of each hour of the day relative to the level.
	var sum [24]float64
	var n [24]int
	for i, v := range history {
		h := hourOf(i).Hour()
		sum[h] += v
		n[h]++
	}
	for j, t := range at {
		h := t.UTC().Hour()
		f := level
		if n[h] > 0 {
			f = sum[h] / float64(n[h])
		}
		out[j] = math.Max(0, f)
	}
	return out
}

// ForecastCapacity is the capacity a load forecast needs: ceil(load /
// perInstance), clamped to [min, max] (max ignored when max < 0, AWS's
// IncreaseMaxCapacity).
func ForecastCapacity(load, perInstance float64, min, max int) int {
	n := min
	if perInstance > 0 {
		n = int(math.Ceil(load/perInstance - 1e-9))
	}
	if n < min {
		n = min
	}
	if max >= 0 && n > max {
		n = max
	}
	return n
}

type forecastInput struct {
	ServiceNamespace  string            `json:"ServiceNamespace"`
	ResourceId        string            `json:"ResourceId"`
	ScalableDimension string            `json:"ScalableDimension"`
	PolicyName        string            `json:"PolicyName"`
	StartTime         awstime.Timestamp `json:"StartTime"`
	EndTime           awstime.Timestamp `json:"EndTime"`
}

type loadForecast struct {
	Timestamps          []awstime.Timestamp                  `json:"Timestamps"`
	Values              []float64                            `json:"Values"`
	MetricSpecification PredictiveScalingMetricSpecification `json:"MetricSpecification"`
}

type capacityForecast struct {
	Timestamps []awstime.Timestamp `json:"Timestamps"`
	Values     []float64           `json:"Values"`
}

type forecastOutput struct {
	LoadForecast     []loadForecast     `json:"LoadForecast"`
	CapacityForecast *capacityForecast  `json:"CapacityForecast,omitempty"`
	UpdateTime       *awstime.Timestamp `json:"UpdateTime,omitempty"`
}

// loadMetric is the metric a predictive specification forecasts, with how
// to read its hourly value and how much of it one instance carries.
type loadMetric struct {
	namespace, name string
	dims            []metrics.Dimension
	stat            string
	unit            string
	perInstance     float64
}

func predictiveLoad(spec PredictiveScalingMetricSpecification, v Variant) loadMetric {
	if spec.PredefinedMetricPairSpecification != nil {
		// The variant pair: the load is Invocations per hour; TargetValue is
		// invocations per instance per minute, as InvocationsPerInstance.
		return loadMetric{namespace: "AWS/SageMaker", name: "Invocations", stat: "Sum",
			dims:        []metrics.Dimension{{Name: "EndpointName", Value: v.Endpoint}, {Name: "VariantName", Value: v.Variant}},
			perInstance: spec.TargetValue * 60}
	}
	ms := spec.CustomizedLoadMetricSpecification.MetricDataQueries[0].MetricStat
	m := loadMetric{namespace: ms.Metric.Namespace, name: ms.Metric.MetricName, stat: ms.Stat, unit: ms.Unit,
		perInstance: spec.TargetValue}
	for _, d := range ms.Metric.Dimensions {
		m.dims = append(m.dims, metrics.Dimension{Name: d.Name, Value: d.Value})
	}
	return m
}

// hourlyHistory reads a metric's complete hours in [from, to) from the
// store: the series from its first hour with data, hours without data
// being 0 (no load).
func hourlyHistory(ms *metrics.View, m loadMetric, from, to time.Time) ([]float64, time.Time, error) {
	dps, err := ms.Query(metrics.Query{Namespace: m.namespace, MetricName: m.name, Dimensions: m.dims,
		Start: from, End: to, Period: time.Hour, Unit: m.unit})
	if err != nil || len(dps) == 0 {
		return nil, time.Time{}, err
	}
	first := dps[0].Timestamp
	n := int(to.Sub(first) / time.Hour)
	out := make([]float64, n)
	for _, dp := range dps {
		i := int(dp.Timestamp.Sub(first) / time.Hour)
		if i < 0 || i >= n {
			continue
		}
		switch m.stat {
		case "Average":
			out[i] = dp.Average
		case "Maximum":
			out[i] = dp.Maximum
		case "Minimum":
			out[i] = dp.Minimum
		case "SampleCount":
			out[i] = dp.SampleCount
		default:
			out[i] = dp.Sum
		}
	}
	return out, first, nil
}

// getPredictiveScalingForecast forecasts a predictive policy's load and
// capacity for the hours of [StartTime, EndTime), up to 48 hours ahead.
func (s *Service) getPredictiveScalingForecast(ctx context.Context, req *api.Request, in *forecastInput) (*forecastOutput, error) {
	t, err := resolveTarget(req, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	if !in.StartTime.Before(in.EndTime.Time) {
		return nil, invalidf("The StartTime must be before the EndTime.")
	}
	if in.EndTime.Sub(in.StartTime.Time) > maxForecastSpan {
		return nil, invalidf("The time between StartTime and EndTime cannot exceed %d days.", int(maxForecastSpan/(24*time.Hour)))
	}
	// GetPredictiveScalingForecast has no ObjectNotFoundException: a
	// missing target or policy is a ValidationException.
	target, err := s.getTarget(ctx, t)
	if err != nil {
		return nil, asValidation(err)
	}
	r, err := s.Store.Get(ctx, s.childKey(t, kindPolicy, in.PolicyName))
	if errors.Is(err, store.ErrNotFound) {
		return nil, asValidation(policyNotFound(t, in.PolicyName))
	}
	if err != nil {
		return nil, err
	}
	p, err := decodeDoc[ScalingPolicy](r)
	if err != nil {
		return nil, err
	}
	if p.PolicyType != PolicyPredictive || p.PredictiveScalingPolicyConfiguration == nil {
		return nil, invalidf("The scaling policy %s is a %s policy; forecasts are for PredictiveScaling policies.", p.PolicyName, p.PolicyType)
	}
	cfg := p.PredictiveScalingPolicyConfiguration
	spec := cfg.MetricSpecifications[0]
	now := req.Time.UTC()
	out := &forecastOutput{
		LoadForecast:     []loadForecast{{Timestamps: []awstime.Timestamp{}, Values: []float64{}, MetricSpecification: spec}},
		CapacityForecast: &capacityForecast{Timestamps: []awstime.Timestamp{}, Values: []float64{}},
		UpdateTime:       awstime.At(now.Truncate(time.Millisecond)),
	}
	if s.Metrics == nil {
		return out, nil
	}
	m := predictiveLoad(spec, t.variant)
	to := now.Truncate(time.Hour)
	history, first, err := hourlyHistory(s.Metrics.In(cloudwatch.MetricsScope(t.account, t.region)), m, to.Add(-forecastHistory), to)
	if err != nil {
		return nil, fmt.Errorf("read load history: %w", err)
	}
	var hours []time.Time
	limit := now.Add(forecastHorizon)
	for h := in.StartTime.UTC().Add(time.Hour - time.Nanosecond).Truncate(time.Hour); h.Before(in.EndTime.Time) && !h.After(limit); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	loads := ForecastLoad(history, first, hours)
	if loads == nil {
		return out, nil // not enough history yet
	}
	max := int(target.MaxCapacity)
	if cfg.MaxCapacityBreachBehavior == "IncreaseMaxCapacity" {
		max = -1
	}
	lf, cf := &out.LoadForecast[0], out.CapacityForecast
	for i, h := range hours {
		ts := awstime.Timestamp{Time: h}
		lf.Timestamps, lf.Values = append(lf.Timestamps, ts), append(lf.Values, loads[i])
		cf.Timestamps = append(cf.Timestamps, ts)
		cf.Values = append(cf.Values, float64(ForecastCapacity(loads[i], m.perInstance, int(target.MinCapacity), max)))
	}
	return out, nil
}
