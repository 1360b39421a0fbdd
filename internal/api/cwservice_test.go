package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

// A small CloudWatch for the protocol tests: PutMetricData keeps samples in
// memory, GetMetricStatistics and GetMetricData aggregate them per period,
// ListMetrics lists what was put, GetMetricWidgetImage answers a blob made
// from its input and GetDashboard fails with modeled errors. The same
// service is driven over rpc-v2-cbor, JSON 1.0 and awsQuery.

type cwDimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type cwDimensionFilter struct {
	Name  string  `json:"Name"`
	Value *string `json:"Value,omitempty"`
}

type cwStatisticSet struct {
	SampleCount float64 `json:"SampleCount"`
	Sum         float64 `json:"Sum"`
	Minimum     float64 `json:"Minimum"`
	Maximum     float64 `json:"Maximum"`
}

type cwDatum struct {
	MetricName        string          `json:"MetricName"`
	Dimensions        []cwDimension   `json:"Dimensions,omitempty"`
	Timestamp         *Timestamp      `json:"Timestamp,omitempty"`
	Value             *float64        `json:"Value,omitempty"`
	StatisticValues   *cwStatisticSet `json:"StatisticValues,omitempty"`
	Values            []float64       `json:"Values,omitempty"`
	Counts            []float64       `json:"Counts,omitempty"`
	Unit              string          `json:"Unit,omitempty"`
	StorageResolution *int32          `json:"StorageResolution,omitempty"`
}

type cwPutInput struct {
	Namespace  string    `json:"Namespace"`
	MetricData []cwDatum `json:"MetricData,omitempty"`
}

type cwStatsInput struct {
	Namespace          string        `json:"Namespace"`
	MetricName         string        `json:"MetricName"`
	Dimensions         []cwDimension `json:"Dimensions,omitempty"`
	StartTime          Timestamp     `json:"StartTime"`
	EndTime            Timestamp     `json:"EndTime"`
	Period             int32         `json:"Period"`
	Statistics         []string      `json:"Statistics,omitempty"`
	ExtendedStatistics []string      `json:"ExtendedStatistics,omitempty"`
	Unit               string        `json:"Unit,omitempty"`
}

type cwDatapoint struct {
	Timestamp          Timestamp          `json:"Timestamp"`
	SampleCount        *float64           `json:"SampleCount,omitempty"`
	Average            *float64           `json:"Average,omitempty"`
	Sum                *float64           `json:"Sum,omitempty"`
	Minimum            *float64           `json:"Minimum,omitempty"`
	Maximum            *float64           `json:"Maximum,omitempty"`
	Unit               string             `json:"Unit,omitempty"`
	ExtendedStatistics map[string]float64 `json:"ExtendedStatistics,omitempty"`
}

type cwStatsOutput struct {
	Label      string        `json:"Label"`
	Datapoints []cwDatapoint `json:"Datapoints"`
}

type cwMetric struct {
	Namespace  string        `json:"Namespace,omitempty"`
	MetricName string        `json:"MetricName,omitempty"`
	Dimensions []cwDimension `json:"Dimensions,omitempty"`
}

type cwListInput struct {
	Namespace  string              `json:"Namespace,omitempty"`
	MetricName string              `json:"MetricName,omitempty"`
	Dimensions []cwDimensionFilter `json:"Dimensions,omitempty"`
}

type cwListOutput struct {
	Metrics []cwMetric `json:"Metrics"`
}

type cwMetricStat struct {
	Metric cwMetric `json:"Metric"`
	Period int32    `json:"Period"`
	Stat   string   `json:"Stat"`
	Unit   string   `json:"Unit,omitempty"`
}

type cwQuery struct {
	ID         string        `json:"Id"`
	MetricStat *cwMetricStat `json:"MetricStat,omitempty"`
	Expression string        `json:"Expression,omitempty"`
	Label      string        `json:"Label,omitempty"`
	ReturnData *bool         `json:"ReturnData,omitempty"`
}

type cwDataInput struct {
	MetricDataQueries []cwQuery `json:"MetricDataQueries"`
	StartTime         Timestamp `json:"StartTime"`
	EndTime           Timestamp `json:"EndTime"`
	ScanBy            string    `json:"ScanBy,omitempty"`
}

type cwDataResult struct {
	ID         string      `json:"Id"`
	Label      string      `json:"Label"`
	Timestamps []Timestamp `json:"Timestamps"`
	Values     []float64   `json:"Values"`
	StatusCode string      `json:"StatusCode"`
}

type cwDataOutput struct {
	MetricDataResults []cwDataResult `json:"MetricDataResults"`
}

type cwWidgetInput struct {
	MetricWidget string `json:"MetricWidget"`
	OutputFormat string `json:"OutputFormat,omitempty"`
}

type cwWidgetOutput struct {
	MetricWidgetImage []byte `json:"MetricWidgetImage"`
}

type cwDashboardInput struct {
	DashboardName string `json:"DashboardName"`
}

type cwDashboardOutput struct {
	DashboardName string `json:"DashboardName"`
}

// cwSample is one put, aggregated as CloudWatch keeps it.
type cwSample struct {
	key    string // namespace, name and sorted dimensions
	metric cwMetric
	at     time.Time
	set    cwStatisticSet
	values []float64 // individual values, for percentiles; nil after StatisticValues
	unit   string
}

type cwStore struct {
	mu      sync.Mutex
	samples []cwSample
	puts    []cwPutInput // every PutMetricData input, as decoded
}

func metricKey(ns, name string, dims []cwDimension) string {
	ds := make([]string, len(dims))
	for i, d := range dims {
		ds[i] = d.Name + "=" + d.Value
	}
	sort.Strings(ds)
	return ns + "|" + name + "|" + strings.Join(ds, ",")
}

// newCloudWatchService builds the test CloudWatch on the real model.
func newCloudWatchService() (*Service, *cwStore) {
	st := &cwStore{}
	svc := NewService(model.MustLoad("cloudwatch"))
	svc.CheckOutput = true
	svc.Codes = Codes{KindNotFound: {"ResourceNotFound", http.StatusNotFound}}
	svc.Handle(
		Op("PutMetricData", st.put),
		Op("GetMetricStatistics", st.statistics),
		Op("GetMetricData", st.data),
		Op("ListMetrics", st.list),
		Op("GetMetricWidgetImage", func(ctx context.Context, req *Request, in *cwWidgetInput) (*cwWidgetOutput, error) {
			// Not a PNG: the input's bytes behind a binary header, so that
			// a blob with every byte value travels back.
			img := []byte{0x89, 'P', 'N', 'G', 0x00, 0xff, 0x0d, 0x0a}
			return &cwWidgetOutput{MetricWidgetImage: append(img, in.MetricWidget...)}, nil
		}),
		Op("GetDashboard", func(ctx context.Context, req *Request, in *cwDashboardInput) (*cwDashboardOutput, error) {
			if in.DashboardName == "bad" {
				// Spelled as the awsQuery code; the router finds the shape.
				return nil, &Error{Code: "InvalidParameterValue", Message: "Dashboard name bad is reserved."}
			}
			return nil, Errorf(KindNotFound, "Dashboard %s does not exist.", in.DashboardName)
		}),
	)
	return svc, st
}

func (st *cwStore) put(ctx context.Context, req *Request, in *cwPutInput) (*struct{}, error) {
	if strings.HasPrefix(in.Namespace, "AWS/") {
		// Spelled as the shape is named.
		return nil, &Error{Code: "InvalidParameterValueException", Message: fmt.Sprintf("The value %s for parameter Namespace is invalid.", in.Namespace)}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.puts = append(st.puts, *in)
	for _, d := range in.MetricData {
		at := req.Time
		if d.Timestamp != nil {
			at = d.Timestamp.Time
		}
		s := cwSample{key: metricKey(in.Namespace, d.MetricName, d.Dimensions),
			metric: cwMetric{Namespace: in.Namespace, MetricName: d.MetricName, Dimensions: d.Dimensions},
			at:     at, unit: d.Unit}
		switch {
		case d.StatisticValues != nil:
			s.set = *d.StatisticValues
		case d.Value != nil:
			s.values = []float64{*d.Value}
		default:
			if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
				return nil, &Error{Code: "InvalidParameterCombination", Message: "Values and Counts must have the same length."}
			}
			for i, v := range d.Values {
				n := 1
				if len(d.Counts) > 0 {
					n = int(d.Counts[i])
				}
				if n < 0 || n > 1000 {
					return nil, &Error{Code: "InvalidParameterValue", Message: "Counts must be between 0 and 1000 here."}
				}
				for range n {
					s.values = append(s.values, v)
				}
			}
		}
		if s.values != nil {
			s.set = cwStatisticSet{Minimum: math.Inf(1), Maximum: math.Inf(-1)}
			for _, v := range s.values {
				s.set.SampleCount++
				s.set.Sum += v
				s.set.Minimum = min(s.set.Minimum, v)
				s.set.Maximum = max(s.set.Maximum, v)
			}
		}
		st.samples = append(st.samples, s)
	}
	return nil, nil
}

// bucket aggregates the samples of one metric in [start, end) per period.
type bucket struct {
	at     time.Time
	set    cwStatisticSet
	values []float64
	unit   string
}

func (st *cwStore) buckets(key string, start, end time.Time, period time.Duration) []bucket {
	st.mu.Lock()
	defer st.mu.Unlock()
	byStart := map[int64]*bucket{}
	for _, s := range st.samples {
		if s.key != key || s.at.Before(start) || !s.at.Before(end) {
			continue
		}
		i := int64(s.at.Sub(start) / period)
		b := byStart[i]
		if b == nil {
			b = &bucket{at: start.Add(time.Duration(i) * period), set: cwStatisticSet{Minimum: math.Inf(1), Maximum: math.Inf(-1)}, unit: s.unit}
			byStart[i] = b
		}
		b.set.SampleCount += s.set.SampleCount
		b.set.Sum += s.set.Sum
		b.set.Minimum = min(b.set.Minimum, s.set.Minimum)
		b.set.Maximum = max(b.set.Maximum, s.set.Maximum)
		b.values = append(b.values, s.values...)
	}
	out := make([]bucket, 0, len(byStart))
	for _, b := range byStart {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

func stat(b bucket, name string) (float64, bool) {
	switch name {
	case "SampleCount":
		return b.set.SampleCount, true
	case "Sum":
		return b.set.Sum, true
	case "Average":
		return b.set.Sum / b.set.SampleCount, true
	case "Minimum":
		return b.set.Minimum, true
	case "Maximum":
		return b.set.Maximum, true
	}
	var p float64
	if _, err := fmt.Sscanf(name, "p%g", &p); err != nil || len(b.values) == 0 {
		return 0, false
	}
	vs := append([]float64(nil), b.values...)
	sort.Float64s(vs)
	rank := int(math.Ceil(p / 100 * float64(len(vs)))) // nearest rank
	return vs[max(rank, 1)-1], true
}

func (st *cwStore) statistics(ctx context.Context, req *Request, in *cwStatsInput) (*cwStatsOutput, error) {
	if !in.EndTime.After(in.StartTime.Time) {
		return nil, &Error{Code: "InvalidParameterValue", Message: "The parameter StartTime must be less than the parameter EndTime."}
	}
	if len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0 {
		return nil, &Error{Code: "MissingParameter", Message: "Statistics or ExtendedStatistics must be specified."}
	}
	out := &cwStatsOutput{Label: in.MetricName, Datapoints: []cwDatapoint{}}
	for _, b := range st.buckets(metricKey(in.Namespace, in.MetricName, in.Dimensions), in.StartTime.Time, in.EndTime.Time, time.Duration(in.Period)*time.Second) {
		dp := cwDatapoint{Timestamp: Timestamp{Time: b.at}, Unit: b.unit}
		for _, s := range in.Statistics {
			v, _ := stat(b, s)
			switch s {
			case "SampleCount":
				dp.SampleCount = &v
			case "Average":
				dp.Average = &v
			case "Sum":
				dp.Sum = &v
			case "Minimum":
				dp.Minimum = &v
			case "Maximum":
				dp.Maximum = &v
			}
		}
		for _, s := range in.ExtendedStatistics {
			if v, ok := stat(b, s); ok {
				if dp.ExtendedStatistics == nil {
					dp.ExtendedStatistics = map[string]float64{}
				}
				dp.ExtendedStatistics[s] = v
			}
		}
		out.Datapoints = append(out.Datapoints, dp)
	}
	return out, nil
}

func (st *cwStore) data(ctx context.Context, req *Request, in *cwDataInput) (*cwDataOutput, error) {
	out := &cwDataOutput{MetricDataResults: []cwDataResult{}}
	for _, q := range in.MetricDataQueries {
		if q.MetricStat == nil {
			return nil, Errorf(KindInvalid, "Query %s: only MetricStat queries are supported.", q.ID)
		}
		m := q.MetricStat.Metric
		r := cwDataResult{ID: q.ID, Label: q.Label, StatusCode: "Complete", Timestamps: []Timestamp{}, Values: []float64{}}
		if r.Label == "" {
			r.Label = m.MetricName
		}
		bs := st.buckets(metricKey(m.Namespace, m.MetricName, m.Dimensions), in.StartTime.Time, in.EndTime.Time, time.Duration(q.MetricStat.Period)*time.Second)
		if in.ScanBy != "TimestampAscending" {
			slicesReverse(bs)
		}
		for _, b := range bs {
			if v, ok := stat(b, q.MetricStat.Stat); ok {
				r.Timestamps = append(r.Timestamps, Timestamp{Time: b.at})
				r.Values = append(r.Values, v)
			}
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	return out, nil
}

func slicesReverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func (st *cwStore) list(ctx context.Context, req *Request, in *cwListInput) (*cwListOutput, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	seen := map[string]bool{}
	out := &cwListOutput{Metrics: []cwMetric{}}
	for _, s := range st.samples {
		m := s.metric
		if seen[s.key] || in.Namespace != "" && m.Namespace != in.Namespace || in.MetricName != "" && m.MetricName != in.MetricName {
			continue
		}
		match := true
		for _, f := range in.Dimensions {
			found := false
			for _, d := range m.Dimensions {
				found = found || d.Name == f.Name && (f.Value == nil || *f.Value == d.Value)
			}
			match = match && found
		}
		if match {
			seen[s.key] = true
			out.Metrics = append(out.Metrics, m)
		}
	}
	sort.Slice(out.Metrics, func(i, j int) bool {
		return metricKey(out.Metrics[i].Namespace, out.Metrics[i].MetricName, out.Metrics[i].Dimensions) <
			metricKey(out.Metrics[j].Namespace, out.Metrics[j].MetricName, out.Metrics[j].Dimensions)
	})
	return out, nil
}
