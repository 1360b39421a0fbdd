package recommend

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/backend/local"
	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/loadgen"
	"github.com/inferscale/inferscale/internal/modelserver"
	"github.com/inferscale/inferscale/internal/testbin"
)

// These tests run real jobs: the inferscale binary's sample model server in
// real processes on the local backend, loaded over loopback.

var inferscaleBin string

func TestMain(m *testing.M) {
	bin, remove, err := testbin.Build("../../cmd/inferscale", "inferscale")
	if err != nil {
		panic(err)
	}
	inferscaleBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// testCatalog adds small instance types, so that tests fit on a 2-core host.
func testCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	d, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Merge(strings.NewReader(`{"instanceTypes": [
		{"name": "test.1cpu", "vcpu": 1, "memoryGiB": 1, "pricePerHour": {"us-east-1": 0.1}},
		{"name": "test.unpriced", "vcpu": 1, "memoryGiB": 1}
	]}`), "test catalog")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newRunner(t *testing.T) *Runner {
	t.Helper()
	be, err := local.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := be.Close(ctx); err != nil {
			t.Error(err)
		}
		assertNoChildren(t)
	})
	return &Runner{
		Backend: be,
		Catalog: testCatalog(t),
		Tuning:  Tuning{Warmup: time.Second, Level: 2 * time.Second, Confirm: 3 * time.Second},
	}
}

// assertNoChildren fails if a process started by the test is still alive.
func assertNoChildren(t *testing.T) {
	t.Helper()
	self := os.Getpid()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var alive []string
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			s := string(stat)
			rest := s[strings.LastIndexByte(s, ')')+2:]
			fields := strings.Fields(rest)
			if len(fields) > 1 && fields[1] == itoa(self) && fields[0] != "Z" {
				alive = append(alive, e.Name())
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("child processes still alive: %v", alive)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// startServer starts a server that answers /ping with 200 and everything
// else with status, and returns its URL.
func startServer(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			return
		}
		http.Error(w, "model exploded", status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func referenceModel(t *testing.T, slots int, service time.Duration) Model {
	t.Helper()
	cfg := modelserver.DefaultConfig()
	cfg.Model = modelserver.ModelReference
	cfg.Reference = modelserver.ReferenceConfig{ServiceTime: service, Slots: slots}
	var payloads []loadgen.Payload
	for _, p := range modelserver.SamplePayloads(cfg, 2) {
		payloads = append(payloads, loadgen.Payload{Body: p.Body, ContentType: p.ContentType})
	}
	return Model{Command: inferscaleBin, Args: []string{"model-server", "serve"}, Env: cfg.Env(), Payloads: payloads}
}

func defaultJob(name string, types ...string) JobInput {
	in := JobInput{JobName: name, JobType: JobTypeDefault}
	for _, typ := range types {
		in.InputConfig.EndpointConfigurations = append(in.InputConfig.EndpointConfigurations, EndpointInputConfiguration{InstanceType: typ})
	}
	return in
}

// TestDefaultJobFindsReferenceCapacity checks MaxInvocations against the
// reference model's true capacity, slots / service time.
func TestDefaultJobFindsReferenceCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load for about a minute")
	}
	tests := []struct {
		slots   int
		service time.Duration
	}{
		{2, 20 * time.Millisecond}, // 100/s
		{3, 10 * time.Millisecond}, // 300/s
		{8, 10 * time.Millisecond}, // 800/s
	}
	r := newRunner(t)
	for _, tt := range tests {
		truth := float64(tt.slots) / tt.service.Seconds() * 60
		t.Run(strings.ReplaceAll(tt.service.String(), "ms", "ms-")+itoa(tt.slots), func(t *testing.T) {
			rep, err := r.Run(context.Background(), Job{Input: defaultJob("ref", "test.1cpu"), Model: referenceModel(t, tt.slots, tt.service)}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != StatusCompleted {
				t.Fatalf("status %s: %s", rep.Status, rep.FailureReason)
			}
			s := rep.Steps[0]
			m := s.Metrics
			errPct := 100 * (float64(m.MaxInvocations) - truth) / truth
			t.Logf("capacity %.0f/min: MaxInvocations %d (%+.2f%%), latency %d µs, CPU %v, verdict: %s", truth, m.MaxInvocations, errPct, m.ModelLatency, deref(m.CpuUtilization), s.Verdict)
			if math.Abs(errPct) > 3 {
				t.Errorf("MaxInvocations %d is %.2f%% off the true capacity %.0f", m.MaxInvocations, errPct, truth)
			}
			if m.ModelLatency < int(tt.service/time.Microsecond) {
				t.Errorf("ModelLatency %d µs is below the service time %s", m.ModelLatency, tt.service)
			}
			if m.CostPerHour == nil || *m.CostPerHour != 0.1 || *m.CostPerInference != roundCost(0.1/(float64(m.MaxInvocations)*60)) {
				t.Errorf("cost: %v %v", deref(m.CostPerHour), deref(m.CostPerInference))
			}
			if m.CpuUtilization == nil || m.MemoryUtilization == nil || *m.MemoryUtilization <= 0 || m.ModelSetupTime == nil {
				t.Errorf("readings missing: %+v", m)
			}
		})
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func TestJobBadInput(t *testing.T) {
	r := newRunner(t)
	ref := referenceModel(t, 4, 5*time.Millisecond)
	ctx := context.Background()

	// Invalid requests are refused before anything starts.
	refused := []struct {
		name string
		job  Job
		want string
	}{
		{"unknown type", Job{Input: defaultJob("j", "ml.nope.large"), Model: ref}, `unknown instance type "ml.nope.large"`},
		{"no payloads", Job{Input: defaultJob("j", "test.1cpu"), Model: Model{Command: inferscaleBin}}, "no sample payloads"},
		{"bad threshold", Job{Input: func() JobInput {
			in := defaultJob("j", "test.1cpu")
			in.StoppingConditions = &StoppingConditions{ModelLatencyThresholds: []ModelLatencyThreshold{{Percentile: "P42", ValueInMilliseconds: 10}}}
			return in
		}(), Model: ref}, "Percentile"},
	}
	for _, tt := range refused {
		if _, err := r.Run(ctx, tt.job, nil, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}

	// Failures at run time end the step with a reason, quickly.
	srv500 := startServer(t, 500)
	failing := []struct {
		name  string
		model Model
		want  string
	}{
		{"server answers 500", Model{URL: srv500, Payloads: ref.Payloads}, "500"},
		{"unreachable URL", Model{URL: "http://127.0.0.1:1", Payloads: ref.Payloads}, "launch"},
		{"server exits", Model{Command: "/bin/false", Payloads: ref.Payloads}, "launch"},
	}
	for _, tt := range failing {
		start := time.Now()
		rep, err := r.Run(ctx, Job{Input: defaultJob("j", "test.1cpu"), Model: tt.model}, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if rep.Status != StatusFailed || rep.Steps[0].Status != StatusFailed || !strings.Contains(rep.Steps[0].FailureReason, tt.want) {
			t.Errorf("%s: status %s, step %+v; want FAILED with %q", tt.name, rep.Status, rep.Steps[0].FailureReason, tt.want)
		}
		if d := time.Since(start); d > 40*time.Second {
			t.Errorf("%s: took %s", tt.name, d)
		}
	}
}

func TestJobCancelStopsInstances(t *testing.T) {
	r := newRunner(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(1500 * time.Millisecond)
		cancel()
	}()
	rep, err := r.Run(ctx, Job{Input: defaultJob("j", "test.1cpu", "test.unpriced"), Model: referenceModel(t, 2, 10*time.Millisecond)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != StatusStopped {
		t.Errorf("status %s", rep.Status)
	}
	for _, s := range rep.Steps {
		if s.Status != StatusStopped {
			t.Errorf("step %d: %s %s", s.Index, s.Status, s.FailureReason)
		}
	}
	// newRunner's cleanup checks that no process is left.
}

// TestAdvancedJob runs STAIRS with an environment-parameter range that
// changes the reference model's capacity, a latency threshold, and a
// MaxInvocations goal that needs two instances of the smaller one.
func TestAdvancedJob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load for about 20 seconds")
	}
	r := newRunner(t)
	r.Tuning.Window = 2 * time.Second
	in := JobInput{
		JobName: "adv",
		JobType: JobTypeAdvanced,
		InputConfig: InputConfig{
			EndpointConfigurations: []EndpointInputConfiguration{{
				InstanceType: "test.1cpu",
				EnvironmentParameterRanges: &EnvironmentParameterRanges{CategoricalParameterRanges: []CategoricalParameter{
					{Name: modelserver.EnvRefSlots, Value: []string{"2", "4"}},
				}},
			}},
			TrafficPattern: &TrafficPattern{TrafficType: TrafficStairs, Stairs: &Stairs{DurationInSeconds: 2, NumberOfSteps: 4, UsersPerStep: 2}},
		},
		StoppingConditions: &StoppingConditions{
			MaxInvocations:         15000,
			ModelLatencyThresholds: []ModelLatencyThreshold{{Percentile: "P95", ValueInMilliseconds: 500}},
		},
	}
	var stepsSeen int
	rep, err := r.Run(context.Background(), Job{Input: in, Model: referenceModel(t, 1, 20*time.Millisecond)}, nil, func(StepResult) { stepsSeen++ })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != StatusCompleted || stepsSeen != 2 {
		t.Fatalf("status %s (%s), %d steps reported", rep.Status, rep.FailureReason, stepsSeen)
	}
	tests := []struct {
		slots     string
		perMinute float64 // one instance's capacity
		count     int     // instances for 15000/min
	}{
		{"2", 6000, 3},
		{"4", 12000, 2},
	}
	for i, tt := range tests {
		s := rep.Steps[i]
		if s.Status != StatusCompleted || s.Environment[0].Value != tt.slots {
			t.Fatalf("step %d: %s %s env %v", i, s.Status, s.FailureReason, s.Environment)
		}
		m := s.Metrics
		perInstance := float64(m.MaxInvocations) / float64(s.InstanceCount)
		t.Logf("slots %s: MaxInvocations %d over %d instances, latency %d µs; %s", tt.slots, m.MaxInvocations, s.InstanceCount, m.ModelLatency, s.Verdict)
		if math.Abs(perInstance-tt.perMinute)/tt.perMinute > 0.03 {
			t.Errorf("slots %s: %.0f per instance per minute, want %.0f ±3%%", tt.slots, perInstance, tt.perMinute)
		}
		if s.InstanceCount != tt.count {
			t.Errorf("slots %s: InitialInstanceCount %d, want %d", tt.slots, s.InstanceCount, tt.count)
		}
		if want := roundCost(0.1 * float64(tt.count)); *m.CostPerHour != want || *m.CostPerInference != roundCost(want/(float64(m.MaxInvocations)*60)) {
			t.Errorf("slots %s: cost %v %v", tt.slots, *m.CostPerHour, *m.CostPerInference)
		}
		if s.Points[0].Stage != "window" || len(s.Points) < 2 {
			t.Errorf("slots %s: points %+v", tt.slots, s.Points)
		}
	}
	// Ranked by cost per inference: the larger capacity is cheaper per inference.
	recs := Recommendations("adv", rep.Steps, Goals{})
	if len(recs) != 2 || recs[0].ModelConfiguration.EnvironmentParameters[0].Value != "4" {
		t.Errorf("ranking: %+v", recs)
	}
}
