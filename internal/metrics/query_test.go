package metrics

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestUnits: data put with different units is kept apart, as CloudWatch
// keeps it; no unit is None.
func TestUnits(t *testing.T) {
	s := New(Options{})
	for _, smp := range []Sample{{"U", 1, "Seconds"}, {"U", 1000, "Milliseconds"}, {"U", 7, ""}, {"U", 3, "None"}} {
		if err := s.Put("QA/U", smp.Name, nil, smp.Value, smp.Unit, t0); err != nil {
			t.Fatal(err)
		}
	}
	show := func(dps []Datapoint) string {
		var b bytes.Buffer
		for _, dp := range dps {
			fmt.Fprintf(&b, "%v %v %q p100=%v;", dp.Timestamp.Sub(t0), dp.Sum, dp.Unit, dp.ExtendedStatistics["p100"])
		}
		return b.String()
	}
	tests := []struct {
		unit  string
		split bool
		want  string
	}{
		{"", false, `0s 1011 "" p100=1000;`},
		{"", true, `0s 1 "Seconds" p100=1;0s 1000 "Milliseconds" p100=1000;0s 10 "None" p100=7;`},
		{"Seconds", false, `0s 1 "Seconds" p100=1;`},
		{"Milliseconds", true, `0s 1000 "Milliseconds" p100=1000;`},
		{"None", false, `0s 10 "None" p100=7;`},
		{"Percent", false, ``},
	}
	check := func(s *Store, when string) {
		for _, tt := range tests {
			dps, err := s.Query(Query{Namespace: "QA/U", MetricName: "U", Start: t0, End: t0.Add(time.Minute), Period: time.Minute,
				ExtendedStatistics: []string{"p100"}, Unit: tt.unit, SplitUnits: tt.split})
			if err != nil {
				t.Fatal(err)
			}
			if got := show(dps); got != tt.want {
				t.Errorf("%s: unit %q split %v: %s, want %s", when, tt.unit, tt.split, got, tt.want)
			}
		}
	}
	check(s, "")
	// Prometheus: one series, every unit named in its help.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collector())
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 ||
		mfs[0].GetHelp() != "CloudWatch metric QA/U U (units Milliseconds, None, Seconds)" || mfs[0].GetMetric()[0].GetSummary().GetSampleSum() != 1011 {
		t.Errorf("gathered %v, %v", mfs, err)
	}
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	r := New(Options{})
	if err := r.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	check(r, "after a snapshot")
	if ms := r.ListMetrics(MetricFilter{}); len(ms) != 1 {
		t.Errorf("ListMetrics = %v, want one metric", ms)
	}
}

// TestRestoreVersion1: a snapshot of the format with one unit per series
// is read, its data under that unit.
func TestRestoreVersion1(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString(snapshotMagicV1)
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(snapHeader{1}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(&snapSeries{Namespace: "QA/U", Name: "U", Unit: "Count", TotalCount: 2, TotalSum: 5, Last: t0.Unix(),
		LowRes: []snapBucket{{Start: t0.Unix(), Count: 2, Sum: 5, Min: 2, Max: 3}}}); err != nil {
		t.Fatal(err)
	}
	s := New(Options{})
	if err := s.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	dps, err := s.Query(Query{Namespace: "QA/U", MetricName: "U", Start: t0, End: t0.Add(time.Minute), Period: time.Minute, Unit: "Count"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dps) != 1 || dps[0].Sum != 5 || dps[0].Unit != "Count" {
		t.Errorf("restored version 1: %+v, want Sum 5 in Count", dps)
	}
}

// TestSmallSamplePercentiles: percentiles of a few values are their
// nearest ranks; p0 is the Minimum and p100 the Maximum, exactly.
func TestSmallSamplePercentiles(t *testing.T) {
	tests := []struct {
		values []float64
		want   map[string]float64 // exact, or within the sketch's accuracy for "~" ones
	}{
		{[]float64{3, 4, 5, 6, 7, 8, 9}, map[string]float64{"p0": 3, "p50": 6, "p90": 9, "p99": 9, "p100": 9}},
		{[]float64{1, 2, 100}, map[string]float64{"p0": 1, "p33": 1, "p34": 2, "p50": 2, "p99": 100, "p100": 100}},
		{[]float64{0.001234, 5678.9}, map[string]float64{"p0": 0.001234, "p50": 0.001234, "p51": 5678.9, "p100": 5678.9}},
		{[]float64{7}, map[string]float64{"p0": 7, "p50": 7, "p100": 7}},
	}
	for _, tt := range tests {
		s := New(Options{})
		for _, v := range tt.values {
			if err := s.Put("QP", "P", nil, v, "", t0); err != nil {
				t.Fatal(err)
			}
		}
		var stats []string
		for st := range tt.want {
			stats = append(stats, st)
		}
		dps, err := s.Query(Query{Namespace: "QP", MetricName: "P", Start: t0, End: t0.Add(time.Minute), Period: time.Minute, ExtendedStatistics: stats})
		if err != nil || len(dps) != 1 {
			t.Fatalf("%v: %v, %v", tt.values, dps, err)
		}
		for st, want := range tt.want {
			got := dps[0].ExtendedStatistics[st]
			exact := st == "p0" || st == "p100" || want == dps[0].Minimum || want == dps[0].Maximum
			if exact && got != want || !exact && math.Abs(got-want) > SketchRelativeAccuracy*want {
				t.Errorf("%v %s = %v, want %v", tt.values, st, got, want)
			}
		}
	}
}
