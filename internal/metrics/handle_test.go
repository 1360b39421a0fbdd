package metrics

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

// TestHandleMatchesPut checks that samples put through a handle and through
// Store.Put land in the same series with the same statistics.
func TestHandleMatchesPut(t *testing.T) {
	viaPut, viaHandle := New(Options{}), New(Options{})
	// Unsorted dimensions: the handle sorts them, as Put does.
	dims := []Dimension{{"VariantName", "AllTraffic"}, {"EndpointName", "ep"}}
	h, err := viaHandle.Handle(ns, "ModelLatency", dims, "Microseconds")
	if err != nil {
		t.Fatal(err)
	}
	if viaHandle.Len() != 0 {
		t.Fatalf("a handle created %d series before its first Put", viaHandle.Len())
	}
	values := []float64{120, 80, 95, 4000, 101, 99, 0, 130}
	for i, v := range values {
		at := t0.Add(time.Duration(i*7) * time.Second)
		if err := viaPut.Put(ns, "ModelLatency", dims, v, "Microseconds", at); err != nil {
			t.Fatal(err)
		}
		if err := h.Put(v, at); err != nil {
			t.Fatal(err)
		}
	}
	q := Query{Namespace: ns, MetricName: "ModelLatency", Dimensions: epDims, Start: t0, End: t0.Add(2 * time.Minute),
		Period: 10 * time.Second, ExtendedStatistics: []string{"p50", "p99"}}
	want, err := viaPut.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	got, err := viaHandle.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("%d datapoints, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Timestamp != w.Timestamp || g.SampleCount != w.SampleCount || g.Sum != w.Sum || g.Minimum != w.Minimum ||
			g.Maximum != w.Maximum || g.Unit != w.Unit || g.ExtendedStatistics["p50"] != w.ExtendedStatistics["p50"] ||
			g.ExtendedStatistics["p99"] != w.ExtendedStatistics["p99"] {
			t.Errorf("datapoint %d: %+v, want %+v", i, g, w)
		}
	}
}

// TestHandleAfterEvict checks that a handle whose series Evict dropped
// creates it again on the next Put, inside the store.
func TestHandleAfterEvict(t *testing.T) {
	s := New(Options{})
	h, err := s.Handle(ns, "Invocations", epDims, "Count")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Put(1, t0); err != nil {
		t.Fatal(err)
	}
	if n := s.Evict(t0.Add(LowResRetention + time.Hour)); n != 1 || s.Len() != 0 {
		t.Fatalf("Evict removed %d series, %d left; want 1, 0", n, s.Len())
	}
	later := t0.Add(LowResRetention + 2*time.Hour)
	if err := h.Put(1, later); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("%d series after the Put, want 1", s.Len())
	}
	dps, err := s.Query(Query{Namespace: ns, MetricName: "Invocations", Dimensions: epDims, Start: later, End: later.Add(time.Minute), Period: time.Minute})
	if err != nil || len(dps) != 1 || dps[0].SampleCount != 1 || dps[0].Unit != "Count" {
		t.Fatalf("datapoints %+v, err %v", dps, err)
	}
}

func TestHandleErrors(t *testing.T) {
	s := New(Options{MaxSeries: 1})
	for _, tt := range []struct {
		name, ns, metric string
		dims             []Dimension
	}{
		{"no namespace", "", "M", nil},
		{"no metric", ns, "", nil},
		{"empty dimension name", ns, "M", []Dimension{{"", "v"}}},
		{"duplicate dimension", ns, "M", []Dimension{{"A", "1"}, {"A", "2"}}},
	} {
		if _, err := s.Handle(tt.ns, tt.metric, tt.dims, ""); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%s: err = %v, want ErrInvalidParameter", tt.name, err)
		}
	}
	a, _ := s.Handle(ns, "A", epDims, "")
	b, _ := s.Handle(ns, "B", epDims, "")
	if err := a.Put(math.NaN(), t0); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("NaN: err = %v", err)
	}
	if err := a.Put(1, t0); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(1, t0); !errors.Is(err, ErrTooManySeries) {
		t.Errorf("second series over MaxSeries 1: err = %v", err)
	}
}

// TestHandleConcurrent puts through two handles and Store.Put at once,
// while Evict runs (-race checks the rest).
func TestHandleConcurrent(t *testing.T) {
	s := New(Options{})
	const writers, each = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		h, err := s.Handle(ns, "Invocations", epDims, "Count")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range each {
				var err error
				if w%2 == 0 {
					err = h.Put(1, t0)
				} else {
					err = s.Put(ns, "Invocations", epDims, 1, "Count", t0)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			s.Evict(t0) // nothing expires
		}
	})
	wg.Wait()
	dps, err := s.Query(Query{Namespace: ns, MetricName: "Invocations", Dimensions: epDims, Start: t0, End: t0.Add(time.Minute), Period: time.Minute})
	if err != nil || len(dps) != 1 || dps[0].Sum != writers*each {
		t.Fatalf("datapoints %+v, err %v; want a sum of %d", dps, err, writers*each)
	}
}

// BenchmarkHandlePut compares a handle's Put with Store.Put on an existing
// series.
func BenchmarkHandlePut(b *testing.B) {
	s := New(Options{})
	h, err := s.Handle(ns, "ModelLatency", epDims, "Microseconds")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("handle", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := h.Put(float64(100+i%50), t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := s.Put(ns, "ModelLatency", epDims, float64(100+i%50), "Microseconds", t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
