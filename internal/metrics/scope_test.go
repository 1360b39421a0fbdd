package metrics

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestScopes checks that the series of two scopes, and of the zero Scope,
// with the same namespace, name and dimensions are apart: in puts,
// handles, queries, listings, a snapshot, and the Prometheus export.
func TestScopes(t *testing.T) {
	s := New(Options{})
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	dims := []Dimension{{"EndpointName", "e"}}
	east := s.In(Scope{"111111111111", "us-east-1"})
	west := s.In(Scope{"111111111111", "eu-west-1"})
	for i, put := range []func() error{
		func() error { return s.Put("AWS/SageMaker", "Invocations", dims, 1, "Count", t0) },
		func() error { return east.Put("AWS/SageMaker", "Invocations", dims, 2, "Count", t0) },
		func() error { return east.PutBatch("AWS/SageMaker", dims, t0, []Sample{{"Invocations", 3, "Count"}}) },
		func() error {
			return west.PutStatistics("AWS/SageMaker", "Invocations", dims, StatisticSet{4, 40, 10, 10}, "Count", t0)
		},
		func() error {
			h, err := west.Handle("AWS/SageMaker", "Invocations", dims, "Count")
			if err != nil {
				return err
			}
			return h.Put(10, t0)
		},
	} {
		if err := put(); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	sum := func(q func(Query) ([]Datapoint, error)) float64 {
		t.Helper()
		dps, err := q(Query{Namespace: "AWS/SageMaker", MetricName: "Invocations", Dimensions: dims,
			Start: t0, End: t0.Add(time.Minute), Period: time.Minute})
		if err != nil || len(dps) != 1 {
			t.Fatalf("query: %v %v", dps, err)
		}
		return dps[0].Sum
	}
	if got := []float64{sum(s.Query), sum(east.Query), sum(west.Query)}; got[0] != 1 || got[1] != 5 || got[2] != 50 {
		t.Errorf("sums of the zero Scope, east and west = %v, want [1 5 50]", got)
	}
	for _, v := range []*View{s.In(Scope{}), east, west} {
		ms := v.ListMetrics(MetricFilter{Namespace: "AWS/SageMaker"})
		if len(ms) != 1 || ms[0].Namespace != "AWS/SageMaker" || ms[0].MetricName != "Invocations" {
			t.Errorf("%v lists %+v, want its one series", v.Scope(), ms)
		}
	}
	if ms := s.In(Scope{"222222222222", "us-east-1"}).ListMetrics(MetricFilter{}); len(ms) != 0 {
		t.Errorf("another account lists %+v", ms)
	}

	// A namespace cannot name another scope's series.
	forged := "\x00111111111111\x00us-east-1\x00AWS/SageMaker"
	if err := s.Put(forged, "Invocations", dims, 1, "Count", t0); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("put to a forged namespace: %v, want ErrInvalidParameter", err)
	}
	if _, err := s.Query(Query{Namespace: forged, MetricName: "Invocations", Dimensions: dims,
		Start: t0, End: t0.Add(time.Minute), Period: time.Minute}); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("query of a forged namespace: %v, want ErrInvalidParameter", err)
	}
	if err := s.In(Scope{"1\x00", "r"}).Put("N", "M", nil, 1, "", t0); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("put in a scope with a NUL: %v", err)
	}

	// A snapshot keeps the scopes.
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	r := New(Options{})
	if err := r.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got := []float64{sum(r.Query), sum(r.In(east.Scope()).Query), sum(r.In(west.Scope()).Query)}; got[0] != 1 || got[1] != 5 || got[2] != 50 {
		t.Errorf("after a snapshot: sums %v, want [1 5 50]", got)
	}

	// Prometheus: one family, the scoped series labelled.
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			seen = append(seen, mf.GetName()+" "+labels["aws_account"]+" "+labels["aws_region"]+" "+labels["endpoint_name"])
		}
	}
	want := []string{
		"aws_sagemaker_invocations   e",
		"aws_sagemaker_invocations 111111111111 eu-west-1 e",
		"aws_sagemaker_invocations 111111111111 us-east-1 e",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("exported:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
