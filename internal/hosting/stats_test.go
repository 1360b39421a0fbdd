package hosting

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
)

// fakeInstance is an instance whose usage the test sets.
type fakeInstance struct {
	mu    sync.Mutex
	usage backend.Usage
	err   error
	done  chan struct{}
}

func newFakeInstance() *fakeInstance { return &fakeInstance{done: make(chan struct{})} }

func (f *fakeInstance) URL() string              { return "http://127.0.0.1:1" }
func (f *fakeInstance) SetupTime() time.Duration { return 0 }
func (f *fakeInstance) Warnings() []string       { return nil }
func (f *fakeInstance) Stop(context.Context) error {
	return nil
}
func (f *fakeInstance) Done() <-chan struct{} { return f.done }
func (f *fakeInstance) Err() error            { return nil }
func (f *fakeInstance) Usage(context.Context) (backend.Usage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.usage, f.err
}

func (f *fakeInstance) set(u backend.Usage) {
	f.mu.Lock()
	f.usage = u
	f.mu.Unlock()
}

// statsVariant is a variant whose instances in service the test sets,
// without a reconcile loop.
func statsVariant(t *testing.T, name string, multi bool, memory int64) *Variant {
	t.Helper()
	c := VariantConfig{Name: name, Spec: backend.Spec{MemoryBytes: memory}, WorkDir: t.TempDir()}
	if multi {
		c.MultiModel = &MultiModelConfig{Models: &dirSource{}}
	}
	v, err := NewVariant("ep", c, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func fakeReplica(v *Variant, id string) (*replica, *fakeInstance) {
	f := newFakeInstance()
	r := &replica{id: id, inst: f, done: f.done}
	if v.multi != nil {
		r.models = newModelCache()
	}
	return r, f
}

func setReady(v *Variant, rs ...*replica) { v.ready.Store(&rs) }

func ptrEq(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-9 }

// TestStatsSampler drives the sampler through 30 seconds of samples taken
// every second: means of requests in flight per 10-second period, CPU over
// the time between measures, memory, disk and loaded models; an instance
// leaving service is reported for its part of the period, then forgotten.
func TestStatsSampler(t *testing.T) {
	single := statsVariant(t, "single", false, 1000)
	multi := statsVariant(t, "multi", true, 0)
	r1, f1 := fakeReplica(single, "single-1")
	r2, f2 := fakeReplica(single, "single-2")
	r3, f3 := fakeReplica(multi, "multi-1")
	f3.err = fmt.Errorf("no usage: %w", backend.ErrUsageUnavailable)
	for _, tg := range []string{"a", "b"} {
		m, _, _ := r3.models.acquire(tg)
		r3.models.finish(m, nil)
		r3.models.release(m)
	}
	setReady(single, r1, r2)
	setReady(multi, r3)

	s := newStatsSampler("ep", "", 10*time.Second)
	s.disk = func(path string) (float64, error) { return 42, nil }
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var got []InstanceStats
	for sec := 3; sec <= 30; sec++ {
		now := t0.Add(time.Duration(sec) * time.Second)
		// r1 uses 1.5 CPUs and 250 of 1000 bytes; r2 leaves service at 15 s.
		f1.set(backend.Usage{At: now, CPU: time.Duration(sec) * 1500 * time.Millisecond, MemoryBytes: 250})
		f2.set(backend.Usage{At: now, CPU: time.Duration(sec) * 500 * time.Millisecond, MemoryBytes: 100})
		r1.outstanding.Store(int64(sec % 4)) // 3,0,1,2,3,0,1 in the first period
		r2.outstanding.Store(2)
		r3.outstanding.Store(0) // idle, yet reported
		if sec == 15 {
			setReady(single, r1)
		}
		got = append(got, s.sample(context.Background(), now, []*Variant{multi, single})...)
	}

	type want struct {
		start        int // seconds after t0
		instance     string
		concurrent   float64
		cpu, mem     float64 // -1: not measured
		disk         bool
		loadedModels int
	}
	wants := []want{
		{0, "multi-1", 0, -1, -1, true, 2},
		{0, "single-1", (3 + 0 + 1 + 2 + 3 + 0 + 1) / 7.0, 150, 25, true, 0},
		{0, "single-2", 2, 50, 10, true, 0},
		{10, "multi-1", 0, -1, -1, true, 2},
		{10, "single-1", (2 + 3 + 0 + 1 + 2 + 3 + 0 + 1 + 2 + 3) / 10.0, 150, 25, true, 0},
		{10, "single-2", 2, -1, -1, false, 0}, // in service for 10..14 only
		{20, "multi-1", 0, -1, -1, true, 2},
		{20, "single-1", (0 + 1 + 2 + 3 + 0 + 1 + 2 + 3 + 0 + 1) / 10.0, 150, 25, true, 0},
	}
	if len(got) != len(wants) {
		t.Fatalf("%d statistics, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		g := got[i]
		ok := g.Endpoint == "ep" && g.Instance == w.instance && g.Start.Equal(t0.Add(time.Duration(w.start)*time.Second)) &&
			g.Period == 10*time.Second && math.Abs(g.ConcurrentRequests-w.concurrent) < 1e-9 &&
			(w.cpu < 0) == (g.CPUUtilization == nil) && (w.cpu < 0 || ptrEq(g.CPUUtilization, w.cpu)) &&
			(w.mem < 0) == (g.MemoryUtilization == nil) && (w.mem < 0 || ptrEq(g.MemoryUtilization, w.mem)) &&
			w.disk == ptrEq(g.DiskUtilization, 42) && g.LoadedModels == w.loadedModels && g.MultiModel == (w.instance == "multi-1")
		if !ok {
			t.Errorf("statistics %d: %+v (cpu %v mem %v disk %v), want %+v", i, g, deref(g.CPUUtilization), deref(g.MemoryUtilization), deref(g.DiskUtilization), w)
		}
	}
	if len(s.acc) != 2 {
		t.Errorf("sampler still tracks %d instances, want 2", len(s.acc))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestEndpointRunsStats runs the sampler loop of an endpoint in a bubble of
// fake time: each 10-second period is reported once, aligned, with the
// real disk utilization of the variant's work directory.
func TestEndpointRunsStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &statsRecorder{}
		ep, err := NewEndpoint("ep", nil, []VariantConfig{{Name: "v", InstanceCount: 1, Weight: 1, WorkDir: t.TempDir()}},
			Options{Stats: rec, ConcurrencySampleInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		v := ep.Variant("v")
		r, _ := fakeReplica(v, "v-1")
		r.outstanding.Store(3)
		setReady(v, r)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { ep.runStats(ctx, rec); close(done) }()
		start := time.Now()
		time.Sleep(35 * time.Second)
		cancel()
		<-done

		rec.mu.Lock()
		defer rec.mu.Unlock()
		first := start.Truncate(10 * time.Second)
		if len(rec.all) != 3 {
			t.Fatalf("%d reports in 35 s, want 3: %+v", len(rec.all), rec.all)
		}
		for i, batch := range rec.all {
			if len(batch) != 1 {
				t.Fatalf("report %d: %+v", i, batch)
			}
			st := batch[0]
			if want := first.Add(time.Duration(i) * 10 * time.Second); !st.Start.Equal(want) || st.ConcurrentRequests != 3 {
				t.Errorf("report %d: start %v concurrency %v, want %v and 3", i, st.Start, st.ConcurrentRequests, want)
			}
			if d := st.DiskUtilization; d == nil || *d <= 0 || *d > 100 {
				t.Errorf("report %d: disk utilization %v", i, deref(d))
			}
		}
	})
}

type statsRecorder struct {
	mu  sync.Mutex
	all [][]InstanceStats
}

func (r *statsRecorder) RecordInstanceStats(s []InstanceStats) {
	r.mu.Lock()
	r.all = append(r.all, s)
	r.mu.Unlock()
}
