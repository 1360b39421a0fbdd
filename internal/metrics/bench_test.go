package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPut is the gateway's hot path: an existing series, a value in a
// sketch bin already seen, time advancing across buckets.
func BenchmarkPut(b *testing.B) {
	s := New(Options{})
	vals := make([]float64, 1024)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range vals {
		vals[i] = 2000 + rng.ExpFloat64()*3000
	}
	for i, v := range vals { // warm the bins
		_ = s.Put(ns, "ModelLatency", epDims, v, "Microseconds", t0.Add(time.Duration(i)*time.Millisecond))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		if err := s.Put(ns, "ModelLatency", epDims, vals[i%len(vals)], "Microseconds", at); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPutBatch is one request's three samples.
func BenchmarkPutBatch(b *testing.B) {
	s := New(Options{})
	samples := []Sample{{"Invocations", 1, "Count"}, {"ModelLatency", 2500, "Microseconds"}, {"OverheadLatency", 120, "Microseconds"}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.PutBatch(ns, epDims, t0.Add(time.Duration(i)*time.Millisecond), samples); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPutParallel: many goroutines, 16 endpoints.
func BenchmarkPutParallel(b *testing.B) {
	s := New(Options{})
	b.ReportAllocs()
	var id atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		dims := []Dimension{{"EndpointName", fmt.Sprint("ep", id.Add(1)%16)}, {"VariantName", "v"}}
		i := 0
		for pb.Next() {
			_ = s.Put(ns, "Invocations", dims, 1, "Count", t0.Add(time.Duration(i)*time.Millisecond))
			i++
		}
	})
}

// BenchmarkQuery: one hour of 1-minute p99 over a series with 3 hours of
// latency data, and 15 days at 1-hour periods.
func BenchmarkQuery(b *testing.B) {
	s := New(Options{})
	rng := rand.New(rand.NewPCG(2, 2))
	for at := t0; at.Before(t0.Add(3 * time.Hour)); at = at.Add(100 * time.Millisecond) {
		_ = s.Put(ns, "ModelLatency", epDims, math.Exp(8+rng.NormFloat64()), "Microseconds", at)
	}
	for _, tc := range []struct {
		name   string
		start  time.Time
		period time.Duration
	}{
		{"1h_at_60s_p99", t0.Add(time.Hour), time.Minute},
		{"1h_at_10s_p99", t0.Add(time.Hour), 10 * time.Second},
		{"3h_at_3600s_p99", t0, time.Hour},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dps, err := s.Query(Query{Namespace: ns, MetricName: "ModelLatency", Dimensions: epDims,
					Start: tc.start, End: tc.start.Add(time.Hour), Period: tc.period, ExtendedStatistics: []string{"p50", "p99"}})
				if err != nil || len(dps) == 0 {
					b.Fatal(err, len(dps))
				}
			}
		})
	}
}

// BenchmarkMemoryPerSeries reports the heap of a series with full retention
// (a sample every 10 s for 15 days: 1,080 10-s and 21,600 1-min buckets),
// for a constant value (Invocations) and for spread latencies.
func BenchmarkMemoryPerSeries(b *testing.B) {
	for _, tc := range []struct {
		name  string
		value func(*rand.Rand) float64
	}{
		{"constant", func(*rand.Rand) float64 { return 1 }},
		{"latency_lognormal", func(r *rand.Rand) float64 { return math.Exp(8 + r.NormFloat64()) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const nSeries = 4
			var perSeries float64
			for b.Loop() {
				rng := rand.New(rand.NewPCG(3, 3))
				before := heap()
				s := New(Options{})
				end := t0.Add(LowResRetention)
				for at := t0; at.Before(end); at = at.Add(10 * time.Second) {
					for i := range nSeries {
						// Six samples per 10 s, so each bucket's sketch holds a spread.
						for range 6 {
							_ = s.Put(ns, "M", []Dimension{{"I", fmt.Sprint(i)}}, tc.value(rng), "Microseconds", at)
						}
					}
				}
				s.Evict(end)
				perSeries = float64(heap()-before) / nSeries
				runtime.KeepAlive(s)
			}
			b.ReportMetric(perSeries, "B/series")
		})
	}
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
