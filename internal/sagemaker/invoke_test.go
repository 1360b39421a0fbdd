package sagemaker

import (
	"log/slog"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/hosting"
	"github.com/inferscale/inferscale/internal/metrics"
)

// TestInstanceMetrics checks how per-instance statistics and model events
// become CloudWatch metrics: names, namespaces, units, one value per
// instance and period, and LoadedModelCount once a minute.
func TestInstanceMetrics(t *testing.T) {
	store := metrics.New(metrics.Options{})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := &invocationMetrics{store: store, now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler), m: &endpointManager{}}
	f := func(v float64) *float64 { return &v }
	for i := range 6 { // one minute of 10-second periods, two instances
		start := now.Add(time.Duration(i) * 10 * time.Second)
		r.RecordInstanceStats([]hosting.InstanceStats{
			{Endpoint: "ep", Variant: "v", Instance: "v-1", Start: start, Period: 10 * time.Second, ConcurrentRequests: 2,
				CPUUtilization: f(150), MemoryUtilization: f(20), DiskUtilization: f(40), MultiModel: true, LoadedModels: 3},
			{Endpoint: "ep", Variant: "v", Instance: "v-2", Start: start, Period: 10 * time.Second, ConcurrentRequests: 0,
				MemoryUtilization: f(10), MultiModel: true, LoadedModels: 1}, // CPU and disk not measured
		})
	}
	r.RecordModelEvent(hosting.ModelEvent{Endpoint: "ep", Variant: "v", Instance: "v-1", TargetModel: "a.tar.gz", Kind: hosting.ModelLoaded, Duration: 1500 * time.Microsecond})
	r.RecordModelEvent(hosting.ModelEvent{Endpoint: "ep", Variant: "v", Instance: "v-1", TargetModel: "a.tar.gz", Kind: hosting.ModelDownloaded, Duration: 300 * time.Microsecond})
	r.RecordModelEvent(hosting.ModelEvent{Endpoint: "ep", Variant: "v", Instance: "v-1", TargetModel: "b/", Kind: hosting.ModelUnloaded, Duration: 20 * time.Microsecond})

	dims := []metrics.Dimension{{Name: "EndpointName", Value: "ep"}, {Name: "VariantName", Value: "v"}}
	tests := []struct {
		ns, name, unit          string
		period                  time.Duration
		count, sum, avg, mx, mn float64
		points                  int // datapoints in the minute
	}{
		{"AWS/SageMaker", "ConcurrentRequestsPerModel", "None", 10 * time.Second, 2, 2, 1, 2, 0, 6},
		{"AWS/SageMaker", "LoadedModelCount", "None", time.Minute, 2, 4, 2, 3, 1, 1}, // Sum: the variant's models
		{"/aws/sagemaker/Endpoints", "CPUUtilization", "Percent", time.Minute, 6, 900, 150, 150, 150, 1},
		{"/aws/sagemaker/Endpoints", "MemoryUtilization", "Percent", time.Minute, 12, 180, 15, 20, 10, 1},
		{"/aws/sagemaker/Endpoints", "DiskUtilization", "Percent", 10 * time.Second, 1, 40, 40, 40, 40, 6},
		{"AWS/SageMaker", "ModelLoadingTime", "Microseconds", time.Minute, 1, 1500, 1500, 1500, 1500, 1},
		{"AWS/SageMaker", "ModelDownloadingTime", "Microseconds", time.Minute, 1, 300, 300, 300, 300, 1},
		{"AWS/SageMaker", "ModelUnloadingTime", "Microseconds", time.Minute, 1, 20, 20, 20, 20, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dps, err := store.Query(metrics.Query{Namespace: tt.ns, MetricName: tt.name, Dimensions: dims,
				Start: now, End: now.Add(time.Minute), Period: tt.period})
			if err != nil {
				t.Fatal(err)
			}
			if len(dps) != tt.points {
				t.Fatalf("%d datapoints, want %d: %+v", len(dps), tt.points, dps)
			}
			d := dps[0]
			if d.SampleCount != tt.count || d.Sum != tt.sum || d.Average != tt.avg || d.Maximum != tt.mx || d.Minimum != tt.mn || d.Unit != tt.unit {
				t.Errorf("first datapoint %+v, want count %v sum %v avg %v max %v min %v unit %s", d, tt.count, tt.sum, tt.avg, tt.mx, tt.mn, tt.unit)
			}
		})
	}
}
