package hosting

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
	"github.com/inferscale/inferscale/internal/backend/local"
	"github.com/inferscale/inferscale/internal/testbin"
)

// testmodel is the path of the model server built by TestMain.
var testmodel string

func TestMain(m *testing.M) {
	bin, remove, err := testbin.Build("./testdata/testmodel", "testmodel")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testmodel = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// fastOptions make health checks and backoff quick enough for tests.
var fastOptions = Options{
	HealthInterval:   100 * time.Millisecond,
	HealthTimeout:    200 * time.Millisecond,
	HealthFailures:   2,
	LaunchBackoff:    50 * time.Millisecond,
	MaxLaunchBackoff: 200 * time.Millisecond,
	FailAfter:        2,
	DrainTimeout:     time.Second,
	StopTimeout:      5 * time.Second,
}

// modelSpec runs the test model, tagged so that its processes can be found
// in /proc.
func modelSpec(tag string, env ...string) backend.Spec {
	return backend.Spec{
		Command:      testmodel,
		Env:          append(env, "TESTMODEL_TAG="+tag),
		SetupTimeout: 10 * time.Second,
		StopGrace:    2 * time.Second,
	}
}

// tag is a /proc-visible name unique to the test.
func tag(t testing.TB) string {
	return strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "_" + strconv.Itoa(os.Getpid())
}

// startEndpoint runs an endpoint on a real local backend until the test
// ends, then deletes it and checks that no process is left.
func startEndpoint(t testing.TB, variants []VariantConfig) *Endpoint {
	t.Helper()
	b, err := local.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := NewEndpoint("ep", b, variants, fastOptions)
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- ep.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := ep.Delete(ctx); err != nil {
			t.Errorf("Delete: %v", err)
		}
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		for _, v := range variants {
			if tg := envTag(v.Spec.Env); tg != "" {
				if pids := procs(tg); len(pids) > 0 {
					t.Errorf("processes %v left after Delete", pids)
				}
			}
		}
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ep
}

func envTag(env []string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "TESTMODEL_TAG="); ok {
			return v
		}
	}
	return ""
}

// procs returns the live processes whose environment carries the tag, read
// from /proc independently of the code under test.
func procs(tag string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !running(pid) {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		if slices.Contains(strings.Split(string(env), "\x00"), "TESTMODEL_TAG="+tag) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// inServicePIDs returns the pids of a variant's instances in service.
func inServicePIDs(v *Variant) []int {
	var pids []int
	for _, i := range v.Instances() {
		if i.InService {
			pids = append(pids, i.Instance.(*local.Instance).PID())
		}
	}
	slices.Sort(pids)
	return pids
}

// waitFor polls cond every 10 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitInService waits until the variant has n instances in service, the
// endpoint is InService and exactly those processes run.
func waitInService(t *testing.T, ep *Endpoint, v *Variant, tg string, n int) {
	t.Helper()
	waitFor(t, 15*time.Second, fmt.Sprintf("%d instances in service", n), func() bool {
		d := v.Describe()
		return d.CurrentInstanceCount == n && ep.Describe().Status == StatusInService &&
			slices.Equal(procs(tg), inServicePIDs(v)) && len(procs(tg)) == n
	})
}

// pidOf returns the pid the test model put in its custom attributes.
func pidOf(t *testing.T, r *InvokeResponse) int {
	t.Helper()
	for kv := range strings.SplitSeq(r.CustomAttributes, ",") {
		if v, ok := strings.CutPrefix(kv, "pid="); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("no pid in custom attributes %q", r.CustomAttributes)
	return 0
}

// recorder is a Recorder and ModelRecorder that keeps every invocation
// and model event.
type recorder struct {
	mu     sync.Mutex
	all    []Invocation
	events []ModelEvent
}

func (r *recorder) RecordInvocation(i Invocation) {
	r.mu.Lock()
	r.all = append(r.all, i)
	r.mu.Unlock()
}

func (r *recorder) RecordModelEvent(e ModelEvent) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// modelEvents returns the events so far as "kind target" strings, in order.
func (r *recorder) modelEvents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		out[i] = e.Kind.String() + " " + e.TargetModel
	}
	return out
}

func (r *recorder) last() Invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all[len(r.all)-1]
}
