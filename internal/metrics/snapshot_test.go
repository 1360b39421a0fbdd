package metrics

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inferscale/inferscale/internal/clock"
)

// fill puts a mix of raw samples, statistic sets and out-of-order data.
func fill(t *testing.T, s *Store) {
	t.Helper()
	for i := range 600 {
		at := t0.Add(time.Duration(i) * 7 * time.Second)
		if err := s.PutBatch(ns, epDims, at, []Sample{{"Invocations", 1, "Count"}, {"ModelLatency", float64(1000 + i*13%5000), "Microseconds"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutStatistics("/aws/sagemaker/Endpoints", "CPUUtilization", epDims[:1], StatisticSet{4, 10, 1, 4}, "Percent", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ns, "Invocations", epDims, 1, "Count", t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func allDatapoints(t *testing.T, s *Store) map[string][]Datapoint {
	t.Helper()
	out := map[string][]Datapoint{}
	for _, m := range s.ListMetrics(MetricFilter{}) {
		for _, p := range []time.Duration{10 * time.Second, time.Minute} {
			dps, err := s.Query(Query{Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: m.Dimensions,
				Start: t0.Add(-time.Hour), End: t0.Add(3 * time.Hour), Period: p, ExtendedStatistics: []string{"p50", "p99"}})
			if err != nil {
				t.Fatal(err)
			}
			out[m.Namespace+m.MetricName+p.String()] = dps
		}
	}
	return out
}

func TestSnapshotRoundTrip(t *testing.T) {
	src := New(Options{})
	fill(t, src)
	var buf bytes.Buffer
	if err := src.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	dst := New(Options{})
	_ = dst.Put("Other", "Gone", nil, 1, "", t0) // replaced by Restore
	if err := dst.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if dst.Len() != src.Len() || !reflect.DeepEqual(dst.ListMetrics(MetricFilter{}), src.ListMetrics(MetricFilter{})) {
		t.Fatalf("series after restore: %v, want %v", dst.ListMetrics(MetricFilter{}), src.ListMetrics(MetricFilter{}))
	}
	want, got := allDatapoints(t, src), allDatapoints(t, dst)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("datapoints differ after restore")
	}
	// The restored store keeps accepting data into restored buckets.
	if err := dst.Put(ns, "Invocations", epDims, 1, "Count", t0); err != nil {
		t.Fatal(err)
	}
	dps, _ := dst.Query(Query{Namespace: ns, MetricName: "Invocations", Dimensions: epDims, Start: t0, End: t0.Add(10 * time.Second), Period: 10 * time.Second})
	if len(dps) != 1 || dps[0].SampleCount != 3 {
		t.Errorf("after put into restored bucket: %+v, want SampleCount 3", dps)
	}

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			data []byte
			max  int
			want error
		}{
			{"empty", nil, 0, nil},
			{"bad magic", []byte("something else entirely"), 0, nil},
			{"truncated", buf.Bytes()[:buf.Len()/2], 0, nil},
			{"too many series", buf.Bytes(), 2, ErrTooManySeries},
		}
		for _, tc := range tests {
			s := New(Options{MaxSeries: tc.max})
			_ = s.Put("Keep", "Me", nil, 1, "", t0)
			err := s.Restore(bytes.NewReader(tc.data))
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%s: err = %v, want error %v", tc.name, err, tc.want)
			}
			if s.Len() != 1 || len(s.ListMetrics(MetricFilter{Namespace: "Keep"})) != 1 {
				t.Errorf("%s: failed restore changed the store", tc.name)
			}
		}
	})
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.snap")
	s := New(Options{})
	if err := s.Load(path); err != nil || s.Len() != 0 {
		t.Fatalf("Load of missing file: %v, Len %d", err, s.Len())
	}
	fill(t, s)
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(path); err != nil { // overwrite in place
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only the snapshot (no temp files)", len(entries))
	}
	// Saves that a crash interrupted left their temporary files; Load
	// removes them, and only them.
	for _, name := range []string{".metrics.snap.tmp123", ".metrics.snap.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, ".other.snap.tmp1")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := New(Options{})
	if err := s2.Load(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(other); err != nil {
		t.Errorf("Load removed another file: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %d entries after Load, want only the snapshot (no temp files of interrupted saves)", len(entries))
	}
	if !reflect.DeepEqual(allDatapoints(t, s2), allDatapoints(t, s)) {
		t.Error("datapoints differ after Save/Load")
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s2.Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of garbage: %v, want error naming the file", err)
	}
	if err := s.Save(filepath.Join(dir, "missing", "x.snap")); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

// TestRun steps fake time (synctest) through periodic saves, eviction and
// the final save on cancel.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "metrics.snap")
		s := New(Options{})
		start := clock.Real{}.Now()
		_ = s.Put(ns, "Short", nil, 1, "Count", start.Add(5*time.Hour)) // still retained at the first save
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, clock.Real{}, 6*time.Hour, path) }()

		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if _, err := os.Stat(path); err == nil {
			t.Fatal("saved before the first interval")
		}
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		loaded := New(Options{})
		if err := loaded.Load(path); err != nil || loaded.Len() != 1 {
			t.Fatalf("after one interval: Load %v, Len %d, want 1", err, loaded.Len())
		}
		// After 15 days and a bit, Run's eviction has dropped the series.
		time.Sleep(LowResRetention + time.Hour)
		synctest.Wait()
		if s.Len() != 0 {
			t.Errorf("Len after retention = %d, want 0", s.Len())
		}
		_ = s.Put(ns, "Final", nil, 1, "Count", clock.Real{}.Now())
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if err := loaded.Load(path); err != nil || len(loaded.ListMetrics(MetricFilter{MetricName: "Final"})) != 1 {
			t.Errorf("final save missing: %v, %v", err, loaded.ListMetrics(MetricFilter{}))
		}
		if err := s.Run(t.Context(), clock.Real{}, 0, path); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("Run with zero interval: %v", err)
		}
	})
}
