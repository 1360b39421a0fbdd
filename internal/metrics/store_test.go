package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var epDims = []Dimension{{"EndpointName", "ep"}, {"VariantName", "AllTraffic"}}

const ns = "AWS/SageMaker"

// exactPercentile is the nearest-rank percentile: the value of rank
// ceil(q*n), 1-based.
func exactPercentile(sorted []float64, q float64) float64 {
	n := float64(len(sorted))
	return sorted[max(int(math.Ceil(q*n-1e-9*n))-1, 0)]
}

func TestStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	uniform := make([]float64, 5000)
	for i := range uniform {
		uniform[i] = 1000 + rng.Float64()*99000
	}
	lognormal := make([]float64, 3000)
	for i := range lognormal {
		lognormal[i] = math.Exp(8 + 1.5*rng.NormFloat64())
	}
	withZeros := []float64{0, 0, 0, 5, 7, 9, 11, 0, 13, 1e6}
	tests := []struct {
		name    string
		values  []float64
		pcts    []string
		wantSum float64 // checked when nonzero (exact, small sets)
	}{
		{"single", []float64{42}, []string{"p50", "p99"}, 42},
		{"ones", slices.Repeat([]float64{1}, 100), []string{"p0", "p50", "p100"}, 100},
		{"small", []float64{3, 1, 4, 1, 5, 9, 2, 6}, []string{"p25", "p50", "p75", "p90"}, 31},
		{"zeros", withZeros, []string{"p10", "p40", "p50", "p90", "p100"}, 1000045},
		{"uniform", uniform, []string{"p50", "p90", "p99", "p99.9"}, 0},
		{"lognormal", lognormal, []string{"p1", "p50", "p90", "p99", "p99.99"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			// Spread over one minute so that the 1-min bucket merges six 10-s buckets.
			for i, v := range tc.values {
				at := t0.Add(time.Duration(i%60) * time.Second)
				if err := s.Put(ns, "ModelLatency", epDims, v, "Microseconds", at); err != nil {
					t.Fatal(err)
				}
			}
			for _, period := range []time.Duration{time.Minute, 10 * time.Minute} {
				dps, err := s.Query(Query{Namespace: ns, MetricName: "ModelLatency", Dimensions: epDims,
					Start: t0, End: t0.Add(period), Period: period, ExtendedStatistics: tc.pcts})
				if err != nil {
					t.Fatal(err)
				}
				if len(dps) != 1 {
					t.Fatalf("period %v: %d datapoints, want 1", period, len(dps))
				}
				dp := dps[0]
				sorted := slices.Sorted(slices.Values(tc.values))
				var sum float64
				for _, v := range tc.values {
					sum += v
				}
				if tc.wantSum != 0 && dp.Sum != tc.wantSum {
					t.Errorf("Sum = %v, want %v", dp.Sum, tc.wantSum)
				}
				if math.Abs(dp.Sum-sum) > 1e-9*math.Abs(sum) {
					t.Errorf("Sum = %v, want %v", dp.Sum, sum)
				}
				if dp.SampleCount != float64(len(tc.values)) || dp.Minimum != sorted[0] || dp.Maximum != sorted[len(sorted)-1] {
					t.Errorf("count/min/max = %v/%v/%v, want %v/%v/%v", dp.SampleCount, dp.Minimum, dp.Maximum, len(sorted), sorted[0], sorted[len(sorted)-1])
				}
				if math.Abs(dp.Average-sum/float64(len(sorted))) > 1e-9*math.Abs(dp.Average) {
					t.Errorf("Average = %v, want %v", dp.Average, sum/float64(len(sorted)))
				}
				if !dp.Timestamp.Equal(t0) || dp.Unit != "Microseconds" {
					t.Errorf("Timestamp, Unit = %v, %v", dp.Timestamp, dp.Unit)
				}
				for _, p := range tc.pcts {
					q, _ := ParsePercentile(p)
					want := exactPercentile(sorted, q)
					got, ok := dp.ExtendedStatistics[p]
					if !ok || math.Abs(got-want) > SketchRelativeAccuracy*want+1e-12 {
						t.Errorf("%s = %v (present %v), want %v ±1%%", p, got, ok, want)
					}
				}
			}
		})
	}
}

func TestStatisticSets(t *testing.T) {
	tests := []struct {
		name    string
		sets    []StatisticSet
		raw     []float64
		want    StatisticSet
		wantP50 float64 // NaN: unavailable
	}{
		{"uniform set", []StatisticSet{{10, 50, 5, 5}}, nil, StatisticSet{10, 50, 5, 5}, 5},
		{"uniform set and raw", []StatisticSet{{3, 300, 100, 100}}, []float64{1, 2}, StatisticSet{5, 303, 1, 100}, 100},
		{"spread set", []StatisticSet{{4, 10, 1, 4}}, []float64{2}, StatisticSet{5, 12, 1, 4}, math.NaN()},
		{"negative raw", nil, []float64{-1, 3}, StatisticSet{2, 2, -1, 3}, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			for _, set := range tc.sets {
				if err := s.PutStatistics(ns, "M", nil, set, "Count", t0); err != nil {
					t.Fatal(err)
				}
			}
			for _, v := range tc.raw {
				if err := s.Put(ns, "M", nil, v, "Count", t0.Add(5*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			dps, err := s.Query(Query{Namespace: ns, MetricName: "M", Start: t0, End: t0.Add(time.Minute), Period: time.Minute, ExtendedStatistics: []string{"p50"}})
			if err != nil || len(dps) != 1 {
				t.Fatalf("query: %v, %d datapoints", err, len(dps))
			}
			dp := dps[0]
			if got := (StatisticSet{dp.SampleCount, dp.Sum, dp.Minimum, dp.Maximum}); got != tc.want {
				t.Errorf("stats = %+v, want %+v", got, tc.want)
			}
			p50, ok := dp.ExtendedStatistics["p50"]
			if math.IsNaN(tc.wantP50) {
				if ok {
					t.Errorf("p50 = %v, want unavailable", p50)
				}
			} else if !ok || math.Abs(p50-tc.wantP50) > 0.01*tc.wantP50 {
				t.Errorf("p50 = %v (present %v), want %v", p50, ok, tc.wantP50)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	s := New(Options{})
	tests := []struct {
		name string
		err  error
	}{
		{"NaN", s.Put(ns, "M", nil, math.NaN(), "", t0)},
		{"Inf", s.Put(ns, "M", nil, math.Inf(1), "", t0)},
		{"no namespace", s.Put("", "M", nil, 1, "", t0)},
		{"no name", s.Put(ns, "", nil, 1, "", t0)},
		{"duplicate dim", s.Put(ns, "M", []Dimension{{"A", "1"}, {"A", "2"}}, 1, "", t0)},
		{"empty dim name", s.Put(ns, "M", []Dimension{{"", "1"}}, 1, "", t0)},
		{"zero count set", s.PutStatistics(ns, "M", nil, StatisticSet{0, 0, 0, 0}, "", t0)},
		{"min > max set", s.PutStatistics(ns, "M", nil, StatisticSet{2, 3, 2, 1}, "", t0)},
		{"period 15s", queryErr(s, Query{Namespace: ns, MetricName: "M", Start: t0, End: t0.Add(time.Hour), Period: 15 * time.Second})},
		{"period 0", queryErr(s, Query{Namespace: ns, MetricName: "M", Start: t0, End: t0.Add(time.Hour)})},
		{"end before start", queryErr(s, Query{Namespace: ns, MetricName: "M", Start: t0, End: t0, Period: time.Minute})},
		{"bad stat", queryErr(s, Query{Namespace: ns, MetricName: "M", Start: t0, End: t0.Add(time.Hour), Period: time.Minute, ExtendedStatistics: []string{"TM(10%:90%)"}})},
		{"p101", queryErr(s, Query{Namespace: ns, MetricName: "M", Start: t0, End: t0.Add(time.Hour), Period: time.Minute, ExtendedStatistics: []string{"p101"}})},
		{"p99.999", queryErr(s, Query{Namespace: ns, MetricName: "M", Start: t0, End: t0.Add(time.Hour), Period: time.Minute, ExtendedStatistics: []string{"p99.999"}})},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, ErrInvalidParameter) {
			t.Errorf("%s: err = %v, want ErrInvalidParameter", tc.name, tc.err)
		}
	}
	if s.Len() != 0 {
		t.Errorf("invalid puts created %d series", s.Len())
	}
}

func queryErr(s *Store, q Query) error { _, err := s.Query(q); return err }

func TestBucketBoundaries(t *testing.T) {
	s := New(Options{})
	// Samples just before and at each 10-s and 1-min boundary.
	at := []time.Duration{0, 9999 * time.Millisecond, 10 * time.Second, 59999 * time.Millisecond, time.Minute, 61 * time.Second}
	for i, d := range at {
		if err := s.Put(ns, "M", nil, float64(i+1), "Count", t0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		start, end time.Duration
		period     time.Duration
		want       map[time.Duration]float64 // timestamp offset -> Sum
	}{
		{"10s", 0, 2 * time.Minute, 10 * time.Second, map[time.Duration]float64{0: 1 + 2, 10 * time.Second: 3, 50 * time.Second: 4, time.Minute: 5 + 6}},
		{"20s from 10s buckets", 0, 2 * time.Minute, 20 * time.Second, map[time.Duration]float64{0: 1 + 2 + 3, 40 * time.Second: 4, time.Minute: 5 + 6}},
		{"1min", 0, 2 * time.Minute, time.Minute, map[time.Duration]float64{0: 1 + 2 + 3 + 4, time.Minute: 5 + 6}},
		{"end exclusive", 0, time.Minute, time.Minute, map[time.Duration]float64{0: 1 + 2 + 3 + 4}},
		{"start rounded down to 10s", 5 * time.Second, 20 * time.Second, 10 * time.Second, map[time.Duration]float64{0: 1 + 2, 10 * time.Second: 3}},
		{"start rounded down to 1min", 30 * time.Second, 90 * time.Second, time.Minute, map[time.Duration]float64{0: 1 + 2 + 3 + 4, time.Minute: 5 + 6}},
		{"unaligned period origin", 10 * time.Second, 2 * time.Minute, 30 * time.Second, map[time.Duration]float64{10 * time.Second: 3, 40 * time.Second: 4 + 5 + 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dps, err := s.Query(Query{Namespace: ns, MetricName: "M", Start: t0.Add(tc.start), End: t0.Add(tc.end), Period: tc.period})
			if err != nil {
				t.Fatal(err)
			}
			got := map[time.Duration]float64{}
			for _, dp := range dps {
				got[dp.Timestamp.Sub(t0)] = dp.Sum
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("sums by offset = %v, want %v", got, tc.want)
			}
			if !slices.IsSortedFunc(dps, func(a, b Datapoint) int { return a.Timestamp.Compare(b.Timestamp) }) {
				t.Error("datapoints not ascending")
			}
		})
	}
}

// TestRollups checks that longer periods equal the merge of shorter ones:
// 60 s against six 10-s datapoints, 300 s against five 60-s datapoints.
func TestRollups(t *testing.T) {
	s := New(Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	type sample struct {
		at time.Time
		v  float64
	}
	var samples []sample
	for range 20000 {
		at := t0.Add(time.Duration(rng.IntN(int(time.Hour/time.Millisecond))) * time.Millisecond)
		samples = append(samples, sample{at, 100 + rng.ExpFloat64()*5000})
		v := samples[len(samples)-1].v
		if err := s.Put(ns, "ModelLatency", epDims, v, "Microseconds", at); err != nil {
			t.Fatal(err)
		}
	}
	pcts := []string{"p50", "p90", "p99"}
	tests := []struct{ small, large time.Duration }{
		{10 * time.Second, time.Minute},
		{time.Minute, 5 * time.Minute},
		{10 * time.Second, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.large), func(t *testing.T) {
			q := Query{Namespace: ns, MetricName: "ModelLatency", Dimensions: epDims, Start: t0, End: t0.Add(time.Hour), ExtendedStatistics: pcts}
			q.Period = tc.small
			small, err := s.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			q.Period = tc.large
			large, err := s.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			if want := int(time.Hour / tc.large); len(large) != want {
				t.Fatalf("%d datapoints, want %d", len(large), want)
			}
			per := int(tc.large / tc.small)
			if len(small) != len(large)*per {
				t.Fatalf("%d small datapoints, want %d", len(small), len(large)*per)
			}
			for i, dp := range large {
				group := small[i*per : (i+1)*per]
				var want Datapoint
				want.Minimum, want.Maximum = math.Inf(1), math.Inf(-1)
				for _, g := range group {
					want.SampleCount += g.SampleCount
					want.Sum += g.Sum
					want.Minimum = math.Min(want.Minimum, g.Minimum)
					want.Maximum = math.Max(want.Maximum, g.Maximum)
				}
				if !group[0].Timestamp.Equal(dp.Timestamp) || dp.SampleCount != want.SampleCount ||
					math.Abs(dp.Sum-want.Sum) > 1e-9*want.Sum || dp.Minimum != want.Minimum || dp.Maximum != want.Maximum {
					t.Fatalf("datapoint %d = %+v, want merge of %+v", i, dp, group)
				}
				// Percentiles of the merged sketches match the exact ones
				// of the period's raw samples.
				var raw []float64
				for _, smp := range samples {
					if !smp.at.Before(dp.Timestamp) && smp.at.Before(dp.Timestamp.Add(tc.large)) {
						raw = append(raw, smp.v)
					}
				}
				slices.Sort(raw)
				for _, p := range pcts {
					q, _ := ParsePercentile(p)
					if want, got := exactPercentile(raw, q), dp.ExtendedStatistics[p]; math.Abs(got-want) > SketchRelativeAccuracy*want {
						t.Errorf("datapoint %d %s = %v, want %v ±1%%", i, p, got, want)
					}
				}
			}
		})
	}
}

func TestRetention(t *testing.T) {
	s := New(Options{})
	// One sample a minute for 20 days into series "M"; series "Old" only on day 0.
	end := t0.Add(20 * 24 * time.Hour)
	_ = s.Put(ns, "Old", nil, 1, "Count", t0)
	for now := t0; now.Before(end); now = now.Add(time.Minute) {
		if err := s.Put(ns, "M", nil, 1, "Count", now); err != nil {
			t.Fatal(err)
		}
		if now.Sub(t0)%(24*time.Hour) == 0 {
			s.Evict(now)
		}
	}
	now := end.Add(-time.Minute)
	tests := []struct {
		name      string
		start     time.Time
		period    time.Duration
		wantCount float64
	}{
		{"1-min data of 15 days", t0, time.Hour, float64(LowResRetention / time.Minute)},
		{"10-s data of 3 hours", t0, 10 * time.Second, float64(HighResRetention / time.Minute)},
	}
	s.Evict(now.Add(time.Minute))
	for _, tc := range tests {
		dps, err := s.Query(Query{Namespace: ns, MetricName: "M", Start: tc.start, End: end, Period: tc.period})
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, dp := range dps {
			n += dp.SampleCount
		}
		if n != tc.wantCount {
			t.Errorf("%s: %v samples retained, want %v", tc.name, n, tc.wantCount)
		}
	}
	if ms := s.ListMetrics(MetricFilter{}); len(ms) != 1 || ms[0].MetricName != "M" || s.Len() != 1 {
		t.Errorf("series after eviction = %v (Len %d), want only M", ms, s.Len())
	}
	// Put's own eviction bounds memory without Evict calls.
	sr := s.lookup(ns, "M", nil)
	maxHi := int((HighResRetention + 2*time.Hour) / HighResPeriod)
	maxLo := int((LowResRetention + 2*time.Hour) / LowResPeriod)
	s2 := New(Options{})
	for now := t0; now.Before(end); now = now.Add(10 * time.Second) {
		_ = s2.Put(ns, "M", nil, 1, "Count", now)
	}
	sr2 := s2.lookup(ns, "M", nil)
	if len(sr2.units[0].hi) > maxHi || len(sr2.units[0].lo) > maxLo || len(sr.units[0].hi) > maxHi {
		t.Errorf("buckets without Evict: hi %d lo %d, want <= %d, %d", len(sr2.units[0].hi), len(sr2.units[0].lo), maxHi, maxLo)
	}
	// Samples older than retention are dropped rather than stored.
	_ = s2.Put(ns, "M", nil, 1, "Count", t0)
	if sr2.units[0].lo[0].start == t0.Unix() {
		t.Error("sample older than retention was stored")
	}
	// All data gone: the series goes too.
	if n := s.Evict(end.Add(LowResRetention + time.Minute)); n != 1 || s.Len() != 0 {
		t.Errorf("final Evict removed %d, Len %d", n, s.Len())
	}
}

func TestOutOfOrder(t *testing.T) {
	s := New(Options{})
	for _, d := range []time.Duration{5 * time.Minute, time.Minute, 3 * time.Minute, time.Minute, 0} {
		if err := s.Put(ns, "M", nil, float64(d/time.Minute)+1, "Count", t0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	dps, err := s.Query(Query{Namespace: ns, MetricName: "M", Start: t0, End: t0.Add(time.Hour), Period: time.Minute, ExtendedStatistics: []string{"p50"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, dp := range dps {
		got = append(got, fmt.Sprintf("%v:%v:%v", dp.Timestamp.Sub(t0), dp.SampleCount, math.Round(dp.ExtendedStatistics["p50"])))
	}
	want := []string{"0s:1:1", "1m0s:2:2", "3m0s:1:4", "5m0s:1:6"}
	if !slices.Equal(got, want) {
		t.Errorf("datapoints = %v, want %v", got, want)
	}
}

func TestSeriesLimit(t *testing.T) {
	s := New(Options{MaxSeries: 3})
	for i := range 3 {
		if err := s.Put(ns, "M", []Dimension{{"I", fmt.Sprint(i)}}, 1, "", t0); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Put(ns, "M", []Dimension{{"I", "3"}}, 1, "", t0)
	if !errors.Is(err, ErrTooManySeries) {
		t.Fatalf("4th series: err = %v, want ErrTooManySeries", err)
	}
	if err := s.Put(ns, "M", []Dimension{{"I", "0"}}, 1, "", t0.Add(time.Minute)); err != nil {
		t.Errorf("existing series at limit: %v", err)
	}
	s.Evict(t0.Add(LowResRetention + 30*time.Second)) // drops the three t0-only... except I=0
	if s.Len() != 1 {
		t.Fatalf("Len after eviction = %d, want 1", s.Len())
	}
	if err := s.Put(ns, "M", []Dimension{{"I", "3"}}, 1, "", t0); err != nil {
		t.Errorf("new series after eviction: %v", err)
	}
}

func TestDimensionOrderAndListMetrics(t *testing.T) {
	s := New(Options{})
	put := func(ns, name string, at time.Time, dims ...Dimension) {
		t.Helper()
		if err := s.Put(ns, name, dims, 1, "Count", at); err != nil {
			t.Fatal(err)
		}
	}
	put(ns, "Invocations", t0, Dimension{"VariantName", "v1"}, Dimension{"EndpointName", "a"})
	put(ns, "Invocations", t0, Dimension{"EndpointName", "a"}, Dimension{"VariantName", "v1"}) // same series
	put(ns, "Invocations", t0.Add(4*time.Hour), Dimension{"EndpointName", "b"}, Dimension{"VariantName", "v1"})
	put(ns, "ModelLatency", t0, Dimension{"EndpointName", "a"}, Dimension{"VariantName", "v1"})
	put("/aws/sagemaker/Endpoints", "CPUUtilization", t0, Dimension{"EndpointName", "a"}, Dimension{"VariantName", "v1"})
	put(ns, "Invocations", t0)
	if s.Len() != 5 {
		t.Fatalf("Len = %d, want 5", s.Len())
	}
	str := func(ms []Metric) []string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s %s %v", m.Namespace, m.MetricName, m.Dimensions))
		}
		return out
	}
	tests := []struct {
		name string
		f    MetricFilter
		want []string
	}{
		{"all", MetricFilter{}, []string{
			"/aws/sagemaker/Endpoints CPUUtilization [{EndpointName a} {VariantName v1}]",
			"AWS/SageMaker Invocations []",
			"AWS/SageMaker Invocations [{EndpointName a} {VariantName v1}]",
			"AWS/SageMaker Invocations [{EndpointName b} {VariantName v1}]",
			"AWS/SageMaker ModelLatency [{EndpointName a} {VariantName v1}]",
		}},
		{"namespace+name", MetricFilter{Namespace: ns, MetricName: "Invocations"}, []string{
			"AWS/SageMaker Invocations []",
			"AWS/SageMaker Invocations [{EndpointName a} {VariantName v1}]",
			"AWS/SageMaker Invocations [{EndpointName b} {VariantName v1}]",
		}},
		{"dimension value", MetricFilter{Namespace: ns, Dimensions: []DimensionFilter{{"EndpointName", "b"}}}, []string{
			"AWS/SageMaker Invocations [{EndpointName b} {VariantName v1}]",
		}},
		{"dimension name only", MetricFilter{MetricName: "CPUUtilization", Dimensions: []DimensionFilter{{Name: "VariantName"}}}, []string{
			"/aws/sagemaker/Endpoints CPUUtilization [{EndpointName a} {VariantName v1}]",
		}},
		{"missing dimension", MetricFilter{Dimensions: []DimensionFilter{{Name: "Nope"}}}, nil},
		{"recently active", MetricFilter{ActiveSince: t0.Add(time.Hour)}, []string{
			"AWS/SageMaker Invocations [{EndpointName b} {VariantName v1}]",
		}},
	}
	for _, tc := range tests {
		if got := str(s.ListMetrics(tc.f)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
	dps, _ := s.Query(Query{Namespace: ns, MetricName: "Invocations", Dimensions: []Dimension{{"VariantName", "v1"}, {"EndpointName", "a"}},
		Start: t0, End: t0.Add(time.Minute), Period: time.Minute})
	if len(dps) != 1 || dps[0].Sum != 2 {
		t.Errorf("query with unsorted dims = %+v, want one datapoint of Sum 2", dps)
	}
	if dps, _ := s.Query(Query{Namespace: ns, MetricName: "Invocations", Dimensions: epDims[:1], Start: t0, End: t0.Add(time.Minute), Period: time.Minute}); len(dps) != 0 {
		t.Errorf("query with a subset of dimensions = %+v, want none (exact match)", dps)
	}
	if dps, _ := s.Query(Query{Namespace: ns, MetricName: "Invocations", Start: t0, End: t0.Add(time.Minute), Period: time.Minute, Unit: "Seconds"}); len(dps) != 0 {
		t.Errorf("query with another unit = %+v, want none", dps)
	}
}

func TestPutBatch(t *testing.T) {
	s := New(Options{})
	for i := range 10 {
		err := s.PutBatch(ns, epDims, t0.Add(time.Duration(i)*time.Second), []Sample{
			{"Invocations", 1, "Count"}, {"ModelLatency", float64(1000 + i), "Microseconds"}, {"OverheadLatency", 50, "Microseconds"},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]float64{"Invocations": 10, "ModelLatency": 10045, "OverheadLatency": 500} {
		dps, err := s.Query(Query{Namespace: ns, MetricName: name, Dimensions: epDims, Start: t0, End: t0.Add(time.Minute), Period: time.Minute})
		if err != nil || len(dps) != 1 || dps[0].Sum != want {
			t.Errorf("%s: %+v, %v; want Sum %v", name, dps, err, want)
		}
	}
	if err := s.PutBatch(ns, epDims, t0, []Sample{{"A", 1, ""}, {"B", math.NaN(), ""}}); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("batch with NaN: %v", err)
	}
}

func TestConcurrentPut(t *testing.T) {
	s := New(Options{})
	const workers, perWorker = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			dims := []Dimension{{"EndpointName", fmt.Sprint("ep", w%3)}, {"VariantName", "v"}}
			for i := range perWorker {
				at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
				if err := s.PutBatch(ns, dims, at, []Sample{{"Invocations", 1, "Count"}, {"ModelLatency", float64(i), "Microseconds"}}); err != nil {
					t.Error(err)
					return
				}
				if i%500 == 0 {
					_, _ = s.Query(Query{Namespace: ns, MetricName: "Invocations", Dimensions: dims, Start: t0, End: t0.Add(time.Minute), Period: 10 * time.Second, ExtendedStatistics: []string{"p50"}})
					s.ListMetrics(MetricFilter{})
					s.Evict(t0)
				}
			}
		})
	}
	wg.Wait()
	var total float64
	for _, m := range s.ListMetrics(MetricFilter{MetricName: "Invocations"}) {
		dps, err := s.Query(Query{Namespace: ns, MetricName: "Invocations", Dimensions: m.Dimensions, Start: t0, End: t0.Add(time.Hour), Period: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for _, dp := range dps {
			total += dp.Sum
		}
	}
	if total != workers*perWorker || s.Len() != 6 {
		t.Errorf("total invocations %v over %d series, want %d over 6", total, s.Len(), workers*perWorker)
	}
}

// TestByteBudget: past its byte budget the store gives up the oldest days of
// 1-minute data of all series, never the newest data.
func TestByteBudget(t *testing.T) {
	const budget = 2 << 20
	s := New(Options{MaxBytes: budget})
	end := t0.Add(6 * 24 * time.Hour)
	for now := t0; now.Before(end); now = now.Add(time.Minute) {
		for i := range 3 {
			if err := s.Put(ns, "M", []Dimension{{"I", fmt.Sprint(i)}}, float64(i), "Count", now); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := s.Bytes()
	if before <= budget {
		t.Fatalf("test data takes %d bytes, not over the %d budget", before, budget)
	}
	s.Evict(end)
	if got := s.Bytes(); got > budget {
		t.Errorf("after Evict: %d bytes, budget %d", got, budget)
	}
	for i := range 3 {
		dims := []Dimension{{"I", fmt.Sprint(i)}}
		newest, err := s.Query(Query{Namespace: ns, MetricName: "M", Dimensions: dims, Start: end.Add(-24 * time.Hour), End: end, Period: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, dp := range newest {
			n += dp.SampleCount
		}
		if n != 24*60 {
			t.Errorf("series %d: %v samples in the last day, want all %d", i, n, 24*60)
		}
		oldest, err := s.Query(Query{Namespace: ns, MetricName: "M", Dimensions: dims, Start: t0, End: t0.Add(24 * time.Hour), Period: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if len(oldest) != 0 {
			t.Errorf("series %d: the first day survived the budget (%d datapoints)", i, len(oldest))
		}
	}
}
