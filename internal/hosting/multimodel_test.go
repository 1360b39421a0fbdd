package hosting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
)

// dirSource is a ModelSource over a directory: a target model is a path
// under it. Targets ending in .tar.gz report a download, as an archive
// would be extracted.
type dirSource struct {
	root string

	mu      sync.Mutex
	fetches map[string]int
}

func newDirSource(t *testing.T, targets ...string) *dirSource {
	t.Helper()
	s := &dirSource{root: t.TempDir(), fetches: map[string]int{}}
	for _, tg := range targets {
		p := filepath.Join(s.root, tg)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(tg, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte("weights"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *dirSource) Fetch(ctx context.Context, target string) (string, time.Duration, error) {
	p := filepath.Join(s.root, target)
	if _, err := os.Stat(p); err != nil {
		return "", 0, &ValidationError{Message: fmt.Sprintf("Failed to download model data for target model %s", target)}
	}
	s.mu.Lock()
	s.fetches[target]++
	s.mu.Unlock()
	var download time.Duration
	if strings.HasSuffix(target, ".tar.gz") {
		download = time.Millisecond
	}
	return p, download, nil
}

func (s *dirSource) fetchCount(target string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches[target]
}

// multiSpec is a variant of test models in multi-model mode.
func multiSpec(tg string, env ...string) backend.Spec {
	return modelSpec(tg, append(env, "TESTMODEL_MULTI_MODEL=1")...)
}

// attrs parses the test model's custom attributes.
func attrs(r *InvokeResponse) map[string]string {
	m := map[string]string{}
	for kv := range strings.SplitSeq(r.CustomAttributes, ",") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// loadedOn lists the models an instance's container has loaded, by GET
// /models, independently of the gateway's bookkeeping.
func loadedOn(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Models []struct {
			ModelName string `json:"modelName"`
		} `json:"models"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range l.Models {
		names = append(names, m.ModelName)
	}
	slices.Sort(names)
	return names
}

// names returns the container names of targets, sorted.
func names(targets ...string) []string {
	var out []string
	for _, tg := range targets {
		out = append(out, containerModelName(tg))
	}
	slices.Sort(out)
	return out
}

func invokeTarget(ctx context.Context, g *Gateway, ep *Endpoint, target, custom string) (*InvokeResponse, error) {
	return g.Invoke(ctx, ep, &InvokeRequest{Body: []byte(`{"x":1}`), ContentType: "application/json", TargetModel: target, CustomAttributes: custom})
}

func TestMultiModelRouting(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	src := newDirSource(t, "a/", "models/b.tar.gz")
	ep := startEndpoint(t, []VariantConfig{{
		Name: "mm", Spec: multiSpec(tg, "TESTMODEL_LOAD_DELAY=200ms"), InstanceCount: 2, Weight: 1,
		MultiModel: &MultiModelConfig{Models: src},
	}})
	v := ep.Variant("mm")
	waitInService(t, ep, v, tg, 2)
	rec := &recorder{}
	g := NewGateway(GatewayConfig{Recorder: rec})
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The first request loads the model and waits for it; later ones hit
	// the instance that has it.
	first, err := invokeTarget(ctx, g, ep, "a/", "")
	if err != nil {
		t.Fatal(err)
	}
	inv := rec.last()
	if inv.ModelCacheHit || inv.ModelLoadingWaitMicros < 200_000 || inv.TargetModel != "a/" || inv.Instance == "" {
		t.Errorf("first invocation %+v, want a miss that waited at least 200ms", inv)
	}
	a := attrs(first)
	if a["model"] != containerModelName("a/") || a["loads"] != "1" || a["target"] != "a/" {
		t.Errorf("first answer %v", a)
	}
	for i := range 5 {
		r, err := invokeTarget(ctx, g, ep, "a/", "")
		if err != nil {
			t.Fatal(err)
		}
		if inv := rec.last(); !inv.ModelCacheHit || inv.ModelLoadingWaitMicros != 0 || attrs(r)["pid"] != a["pid"] {
			t.Errorf("request %d: %+v from pid %s, want a hit on pid %s", i, inv, attrs(r)["pid"], a["pid"])
		}
	}

	// Concurrent first requests for one model wait on one load.
	const n = 8
	pids := make([]string, n)
	loads := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := invokeTarget(ctx, g, ep, "models/b.tar.gz", "")
			if err != nil {
				t.Error(err)
				return
			}
			pids[i], loads[i] = attrs(r)["pid"], attrs(r)["loads"]
		})
	}
	wg.Wait()
	if len(slices.Compact(slices.Sorted(slices.Values(pids)))) != 1 || slices.ContainsFunc(loads, func(l string) bool { return l != "1" }) {
		t.Errorf("concurrent first requests answered by pids %v with loads %v, want one pid and one load", pids, loads)
	}
	if got := src.fetchCount("models/b.tar.gz"); got != 1 {
		t.Errorf("b fetched %d times, want 1", got)
	}
	if got, want := rec.modelEvents(), []string{"loaded a/", "downloaded models/b.tar.gz", "loaded models/b.tar.gz"}; !slices.Equal(got, want) {
		t.Errorf("model events %v, want %v", got, want)
	}

	errTests := []struct {
		name, target, want string
	}{
		{"no target model", "", "is missing a target model header"},
		{"unknown target model", "nope.tar.gz", "Failed to download model data for target model nope.tar.gz"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := invokeTarget(ctx, g, ep, tt.target, "")
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Message, tt.want) {
				t.Fatalf("error %v, want a ValidationError with %q", err, tt.want)
			}
			if inv := rec.last(); inv.Class != Status4XX || inv.Instance != "" {
				t.Errorf("recorded %+v, want a 4XX that reached no instance", inv)
			}
		})
	}

	// An instance that replaces another has no model loaded: the next
	// request loads a again.
	var victim int
	fmt.Sscan(a["pid"], &victim)
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the killed instance replaced", func() bool {
		p := inServicePIDs(v)
		return len(p) == 2 && !slices.Contains(p, victim)
	})
	r, err := invokeTarget(ctx, g, ep, "a/", "")
	if err != nil {
		t.Fatal(err)
	}
	if inv := rec.last(); inv.ModelCacheHit || attrs(r)["pid"] == a["pid"] {
		t.Errorf("after replacement: %+v from pid %s, want a miss", inv, attrs(r)["pid"])
	}
	if evs := rec.modelEvents(); evs[len(evs)-1] != "loaded a/" {
		t.Errorf("model events %v, want a reload of a/ last", evs)
	}
}

// TestMultiModelEviction: an instance with room for two models unloads the
// least recently used one that no request holds when a third needs room.
func TestMultiModelEviction(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	src := newDirSource(t, "a/", "b/", "c/", "d/")
	ep := startEndpoint(t, []VariantConfig{{
		Name: "mm", Spec: multiSpec(tg, "TESTMODEL_MAX_MODELS=2"), InstanceCount: 1, Weight: 1,
		MultiModel: &MultiModelConfig{Models: src},
	}})
	v := ep.Variant("mm")
	waitInService(t, ep, v, tg, 1)
	url := v.Instances()[0].URL
	rec := &recorder{}
	g := NewGateway(GatewayConfig{Recorder: rec})
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	steps := []struct {
		target string
		hit    bool
		events []string // new model events
		loaded []string // targets loaded on the instance afterwards
	}{
		{"a/", false, []string{"loaded a/"}, []string{"a/"}},
		{"b/", false, []string{"loaded b/"}, []string{"a/", "b/"}},
		{"a/", true, nil, []string{"a/", "b/"}},
		{"c/", false, []string{"unloaded b/", "loaded c/"}, []string{"a/", "c/"}}, // b is the least recently used
		{"b/", false, []string{"unloaded a/", "loaded b/"}, []string{"b/", "c/"}},
		{"c/", true, nil, []string{"b/", "c/"}},
	}
	seen := 0
	for i, st := range steps {
		if _, err := invokeTarget(ctx, g, ep, st.target, ""); err != nil {
			t.Fatalf("step %d (%s): %v", i, st.target, err)
		}
		if inv := rec.last(); inv.ModelCacheHit != st.hit {
			t.Errorf("step %d (%s): hit %v, want %v", i, st.target, inv.ModelCacheHit, st.hit)
		}
		evs := rec.modelEvents()
		if got := evs[seen:]; !slices.Equal(got, st.events) && !(len(got) == 0 && len(st.events) == 0) {
			t.Errorf("step %d (%s): events %v, want %v", i, st.target, got, st.events)
		}
		seen = len(evs)
		if got, want := loadedOn(t, url), names(st.loaded...); !slices.Equal(got, want) {
			t.Errorf("step %d (%s): instance has %v, want %v", i, st.target, got, want)
		}
	}

	// While requests hold both loaded models, a third cannot be loaded.
	var wg sync.WaitGroup
	for _, target := range []string{"b/", "c/"} {
		wg.Go(func() {
			if _, err := invokeTarget(ctx, g, ep, target, "delay=700ms"); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, 5*time.Second, "both models busy", func() bool { return v.Instances()[0].Outstanding == 2 })
	_, err := invokeTarget(ctx, g, ep, "d/", "")
	var me *ModelError
	if !errors.As(err, &me) || me.OriginalStatusCode != http.StatusInsufficientStorage || !strings.Contains(me.OriginalMessage, "no other model there can be unloaded") {
		t.Errorf("loading a third model while two are busy: %v, want a ModelError 507", err)
	}
	wg.Wait()
	if _, err := invokeTarget(ctx, g, ep, "d/", ""); err != nil {
		t.Fatalf("d once the others are idle: %v", err)
	}

	// A model unloaded behind the gateway's back is loaded again.
	req, _ := http.NewRequest(http.MethodDelete, url+"/models/"+containerModelName("d/"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE d: %v %v", resp, err)
	}
	resp.Body.Close()
	r, err := invokeTarget(ctx, g, ep, "d/", "")
	if err != nil {
		t.Fatal(err)
	}
	if inv := rec.last(); inv.ModelCacheHit || attrs(r)["loads"] != "2" {
		t.Errorf("after an unload behind its back: %+v, answer %v; want a miss and a second load", inv, attrs(r))
	}
}

func TestTargetModelOnSingleModelEndpoint(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg), InstanceCount: 1, Weight: 1}})
	waitInService(t, ep, ep.Variant("main"), tg, 1)
	g := NewGateway(GatewayConfig{})
	defer g.Close()
	_, err := invokeTarget(context.Background(), g, ep, "a.tar.gz", "")
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Message != "Endpoint ep is not a multi-model endpoint and does not support target model header." {
		t.Fatalf("error %v", err)
	}
}

// TestModelCache checks the per-instance bookkeeping: one leader per load,
// hits once loaded, failed loads forgotten, and eviction of the least
// recently used idle model only.
func TestModelCache(t *testing.T) {
	c := newModelCache()
	a, hit, leader := c.acquire("a")
	if hit || !leader {
		t.Fatalf("first acquire: hit %v leader %v", hit, leader)
	}
	a2, hit, leader := c.acquire("a")
	if a2 != a || hit || leader {
		t.Fatalf("second acquire while loading: same %v hit %v leader %v", a2 == a, hit, leader)
	}
	c.finish(a, nil)
	<-a2.ready
	c.release(a)
	c.release(a2)
	if _, hit, leader := c.acquire("a"); !hit || leader {
		t.Fatalf("acquire once loaded: hit %v leader %v", hit, leader)
	}
	c.release(a)

	b, _, _ := c.acquire("b")
	c.finish(b, errors.New("boom"))
	c.release(b)
	if c.has("b") || b.err == nil {
		t.Fatalf("failed load kept: has %v err %v", c.has("b"), b.err)
	}

	for _, tg := range []string{"b", "c", "d"} {
		m, _, _ := c.acquire(tg)
		c.finish(m, nil)
		c.release(m)
	}
	// Order of use: a, b, c, d. a is held by a request.
	held, _, _ := c.acquire("a")
	if got := c.loadedCount(); got != 4 {
		t.Fatalf("%d loaded, want 4", got)
	}
	keep, _, _ := c.acquire("e") // loading: never evicted
	var evicted []string
	for {
		m := c.evict(keep)
		if m == nil {
			break
		}
		evicted = append(evicted, m.target)
	}
	if want := []string{"b", "c", "d"}; !slices.Equal(evicted, want) {
		t.Errorf("evicted %v, want %v (a is held, e loading)", evicted, want)
	}
	c.release(held)
	if m := c.evict(keep); m == nil || m.target != "a" {
		t.Errorf("after release, evict = %v, want a", m)
	}
}
