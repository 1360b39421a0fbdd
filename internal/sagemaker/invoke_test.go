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

// TestInvocationMetrics checks the per-invocation metrics: which are put
// for which outcome, under which dimensions, with InvocationsPerInstance
// from the instances in service when the invocation was routed.
func TestInvocationMetrics(t *testing.T) {
	store := metrics.New(metrics.Options{})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := &invocationMetrics{store: store, now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler), m: &endpointManager{}}
	for _, inv := range []hosting.Invocation{
		{Endpoint: "ep", Variant: "v", Instance: "v-1", InstancesInService: 2, ModelLatencyMicros: 100, OverheadLatencyMicros: 10, Class: hosting.Status2XX},
		{Endpoint: "ep", Variant: "v", Instance: "v-2", InstancesInService: 4, ModelLatencyMicros: 300, OverheadLatencyMicros: 30, Class: hosting.Status2XX},
		{Endpoint: "ep", Variant: "v", Instance: "v-2", InstancesInService: 4, ModelLatencyMicros: 50, OverheadLatencyMicros: 20, Class: hosting.StatusModelError},
		// The container answered 400, then 503: model errors, and 4XX
		// and 5XX errors.
		{Endpoint: "ep", Variant: "v", Instance: "v-1", InstancesInService: 2, Class: hosting.StatusModelError, ModelStatus: 400},
		{Endpoint: "ep", Variant: "v", Instance: "v-1", InstancesInService: 2, Class: hosting.StatusModelError, ModelStatus: 503},
		{Endpoint: "ep", Variant: "v", OverheadLatencyMicros: 5, Class: hosting.Status5XX}, // no instance reached
		{Endpoint: "ep", OverheadLatencyMicros: 1, Class: hosting.Status4XX},               // no variant chosen
		{Endpoint: "mme", Variant: "m", Instance: "m-1", InstancesInService: 1, TargetModel: "a.tar.gz", ModelCacheHit: true, ModelLatencyMicros: 7, Class: hosting.Status2XX},
		{Endpoint: "mme", Variant: "m", Instance: "m-1", InstancesInService: 1, TargetModel: "b.tar.gz", ModelLoadingWaitMicros: 900, ModelLatencyMicros: 9, Class: hosting.Status2XX},
	} {
		r.RecordInvocation(inv)
	}
	variant := []metrics.Dimension{{Name: "EndpointName", Value: "ep"}, {Name: "VariantName", Value: "v"}}
	endpoint := []metrics.Dimension{{Name: "EndpointName", Value: "ep"}}
	mme := []metrics.Dimension{{Name: "EndpointName", Value: "mme"}, {Name: "VariantName", Value: "m"}}
	tests := []struct {
		name       string
		dims       []metrics.Dimension
		count, sum float64
		unit       string
	}{
		{"Invocations", variant, 5, 5, "Count"},
		{"InvocationsPerInstance", variant, 5, 0.5 + 0.25 + 0.25 + 0.5 + 0.5, "Count"},
		{"ModelLatency", variant, 5, 450, "Microseconds"},
		{"OverheadLatency", variant, 6, 65, "Microseconds"},
		{"InvocationModelErrors", variant, 6, 3, "Count"},
		{"Invocation5XXErrors", variant, 6, 2, "Count"},
		{"Invocation4XXErrors", variant, 6, 1, "Count"},
		{"Invocation4XXErrors", endpoint, 1, 1, "Count"},
		{"OverheadLatency", endpoint, 1, 1, "Microseconds"},
		{"Invocations", endpoint, 0, 0, ""},
		{"ModelCacheHit", mme, 2, 1, "None"},
		{"ModelLoadingWaitTime", mme, 1, 900, "Microseconds"},
		{"InvocationsPerInstance", mme, 2, 2, "Count"},
		{"ModelCacheHit", variant, 0, 0, ""}, // single-model: none
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.dims[len(tt.dims)-1].Value, func(t *testing.T) {
			dps, err := store.Query(metrics.Query{Namespace: "AWS/SageMaker", MetricName: tt.name, Dimensions: tt.dims,
				Start: now, End: now.Add(time.Minute), Period: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if tt.count == 0 {
				if len(dps) != 0 {
					t.Fatalf("datapoints %+v, want none", dps)
				}
				return
			}
			if len(dps) != 1 || dps[0].SampleCount != tt.count || dps[0].Sum != tt.sum || dps[0].Unit != tt.unit {
				t.Fatalf("datapoints %+v, want count %v sum %v unit %s", dps, tt.count, tt.sum, tt.unit)
			}
		})
	}
	// An invocation that reached an instance without a count (a recorder
	// fed by hand) counts as one instance: no endpoint of that name runs.
	r.RecordInvocation(hosting.Invocation{Endpoint: "ep2", Variant: "v", Instance: "v-1", Class: hosting.Status2XX})
	dps, err := store.Query(metrics.Query{Namespace: "AWS/SageMaker", MetricName: "InvocationsPerInstance",
		Dimensions: []metrics.Dimension{{Name: "EndpointName", Value: "ep2"}, {Name: "VariantName", Value: "v"}},
		Start:      now, End: now.Add(time.Minute), Period: time.Minute})
	if err != nil || len(dps) != 1 || dps[0].Sum != 1 {
		t.Fatalf("datapoints %+v, err %v", dps, err)
	}
}
