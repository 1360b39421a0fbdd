package modelserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/modelserver/mlp"
)

// smallMLP is a quick-to-load MLP configuration with an empty model
// directory.
func smallMLP(t *testing.T) Config {
	c := DefaultConfig()
	c.ModelDir = t.TempDir()
	c.MLP = MLPConfig{Input: 4, Hidden: []int{16, 8}, Classes: 3, Seed: 5}
	return c
}

// served is a Server running Serve on a loopback listener.
type served struct {
	url  string
	stop context.CancelFunc
	done chan error // receives Serve's result
}

func serve(t *testing.T, s *Server) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sv := &served{url: "http://" + ln.Addr().String(), stop: cancel, done: make(chan error, 1)}
	go func() { sv.done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-sv.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of cancel")
		}
	})
	return sv
}

// waitReady polls /ping until it answers 200, returning the statuses seen.
func waitReady(t *testing.T, url string, within time.Duration) []int {
	t.Helper()
	var seen []int
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/ping")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			seen = append(seen, resp.StatusCode)
			if resp.StatusCode == http.StatusOK {
				return seen
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("/ping not 200 within %v; statuses %v", within, seen)
	return nil
}

func post(t testing.TB, client *http.Client, url, contentType, body string) (int, []byte) {
	t.Helper()
	resp, err := client.Post(url+"/invocations", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestPingBeforeAndAfterLoad(t *testing.T) {
	s := New(smallMLP(t), nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	get := func() (int, string) {
		resp, err := http.Get(ts.URL + "/ping")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 503 || !strings.Contains(body, "loading") {
		t.Errorf("before load: /ping = %d %s, want 503 loading", code, body)
	}
	if code, body := post(t, http.DefaultClient, ts.URL, ContentTypeJSON, `[1,2,3,4]`); code != 503 || !strings.Contains(string(body), "not loaded") {
		t.Errorf("before load: /invocations = %d %s, want 503", code, body)
	}
	if s.Ready() {
		t.Error("Ready before Load")
	}
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Errorf("after load: /ping = %d %s, want 200 ready", code, body)
	}
	if code, body := post(t, http.DefaultClient, ts.URL, ContentTypeJSON, `[1,2,3,4]`); code != 200 {
		t.Errorf("after load: /invocations = %d %s, want 200", code, body)
	}
}

func TestServeSetupDelay(t *testing.T) {
	cfg := smallMLP(t)
	cfg.SetupDelay = 300 * time.Millisecond
	s := New(cfg, nil)
	start := time.Now()
	sv := serve(t, s)
	seen := waitReady(t, sv.url, 5*time.Second)
	if took := time.Since(start); took < cfg.SetupDelay {
		t.Errorf("ready after %v, before the setup delay %v", took, cfg.SetupDelay)
	}
	if seen[0] != http.StatusServiceUnavailable {
		t.Errorf("first /ping = %d, want 503 while loading", seen[0])
	}
}

func TestInvocations(t *testing.T) {
	s := New(smallMLP(t), nil)
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	tests := []struct {
		name, method, path, contentType, body string
		status                                int
		instances                             int    // predictions expected on success
		want                                  string // substring of an error body
	}{
		{"json instances", "POST", "/invocations", "application/json", `{"instances":[[1,2,3,4],[0,0,0,0]]}`, 200, 2, ""},
		{"json flat", "POST", "/invocations", "application/json", `[1,2,3,4]`, 200, 1, ""},
		{"csv", "POST", "/invocations", "text/csv", "1,2,3,4\n5,6,7,8\n-1,0,1,0\n", 200, 3, ""},
		{"wrong width", "POST", "/invocations", "application/json", `[[1,2,3,4],[1,2,3]]`, 400, 0, "instance 1 has 3 values; the mlp model takes 4"},
		{"wrong width csv", "POST", "/invocations", "text/csv", "1,2,3,4,5", 400, 0, "instance 0 has 5 values"},
		{"malformed", "POST", "/invocations", "application/json", `{"instances":`, 400, 0, "malformed JSON"},
		{"empty", "POST", "/invocations", "application/json", ``, 400, 0, "empty body"},
		{"unsupported type", "POST", "/invocations", "text/plain", `1,2,3,4`, 415, 0, "unsupported Content-Type"},
		{"too large", "POST", "/invocations", "text/csv", strings.Repeat("1,2,3,4\n", MaxPayloadBytes/8+1), 413, 0, "larger than"},
		{"unknown path", "GET", "/models", "", "", 404, 0, ""},
		{"get invocations", "GET", "/invocations", "", "", 405, 0, ""},
		{"post ping", "POST", "/ping", "application/json", "[1]", 405, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				if !strings.Contains(string(body), tt.want) {
					t.Errorf("body %s does not contain %q", body, tt.want)
				}
				if tt.want != "" && resp.Header.Get("Content-Type") != ContentTypeJSON {
					t.Errorf("error Content-Type %q, want JSON", resp.Header.Get("Content-Type"))
				}
				return
			}
			var r Response
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if len(r.Predictions) != tt.instances {
				t.Fatalf("%d predictions, want %d", len(r.Predictions), tt.instances)
			}
			for _, p := range r.Predictions {
				if len(p.Probabilities) != 3 || p.Label < 0 || p.Label > 2 {
					t.Errorf("prediction %+v, want a label in [0,3) and 3 probabilities", p)
				}
				sum := 0.0
				for _, v := range p.Probabilities {
					sum += v
				}
				if math.Abs(sum-1) > 1e-9 {
					t.Errorf("probabilities %v sum to %v", p.Probabilities, sum)
				}
			}
		})
	}
}

// TestWeightsFile serves the hand-computable network of package mlp's tests
// from a model.json and checks the answers over HTTP.
func TestWeightsFile(t *testing.T) {
	cfg := smallMLP(t) // its generated sizes (4 inputs) must be ignored
	n, err := mlp.New([]mlp.Layer{
		{In: 2, Out: 2, Weights: []float32{1, 2, -1, 1}, Biases: []float32{0.5, -1}},
		{In: 2, Out: 2, Weights: []float32{1, 0, 0.5, -1}, Biases: []float32{0, 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	writeWeights(t, cfg.ModelDir, n)
	s := New(cfg, nil)
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	code, body := post(t, http.DefaultClient, ts.URL, ContentTypeCSV, "1,2\n3,-1\n")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	// Logits by hand: [1,2] -> [5.5, 3.75]; [3,-1] -> [1.5, 1.75].
	want := []struct {
		label int
		p0    float64
	}{{0, 1 / (1 + math.Exp(3.75-5.5))}, {1, 1 / (1 + math.Exp(1.75-1.5))}}
	for i, w := range want {
		p := r.Predictions[i]
		if p.Label != w.label || math.Abs(p.Probabilities[0]-w.p0) > 1e-6 {
			t.Errorf("prediction %d = %+v, want label %d and p0 %.6f", i, p, w.label, w.p0)
		}
	}
	if code, body := post(t, http.DefaultClient, ts.URL, ContentTypeJSON, `[1,2,3,4]`); code != 400 || !strings.Contains(string(body), "takes 2") {
		t.Errorf("4 values to a 2-input file model: %d %s, want 400", code, body)
	}
}

func TestLoadFailure(t *testing.T) {
	tests := []struct {
		name    string
		weights string // contents of model.json
		want    string
	}{
		{"malformed weights", `{"format":`, "read mlp weights"},
		{"wrong format", `{"format":"onnx","layers":[]}`, `format "onnx"`},
		{"overflowing weights", `{"format":"inferscale-mlp/v1","layers":[{"weights":[[3e38]],"biases":[3e38]},{"weights":[[3e38],[-3e38]],"biases":[0,0]}]}`, "overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := smallMLP(t)
			if err := os.WriteFile(filepath.Join(cfg.ModelDir, WeightsFile), []byte(tt.weights), 0o644); err != nil {
				t.Fatal(err)
			}
			s := New(cfg, nil)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = s.Serve(ctx, ln)
			if err == nil || !strings.Contains(err.Error(), tt.want) || ctx.Err() != nil {
				t.Fatalf("Serve = %v, want an early error containing %q", err, tt.want)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/ping", nil))
			var status struct{ Status, Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil {
				t.Fatal(err)
			}
			if rec.Code != 503 || status.Status != "failed" || !strings.Contains(status.Error, tt.want) {
				t.Errorf("/ping after failure = %d %s, want 503 failed naming %q", rec.Code, rec.Body, tt.want)
			}
		})
	}
}

func TestInvalidConfigFailsLoad(t *testing.T) {
	cfg := smallMLP(t)
	cfg.MLP.Classes = 1
	err := New(cfg, nil).Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), EnvMLPClasses) {
		t.Fatalf("Load = %v, want an error naming %s", err, EnvMLPClasses)
	}
}

// TestDeterministicAcrossServers checks that two servers with the same seed
// answer the same payloads identically, and a third with another seed does
// not.
func TestDeterministicAcrossServers(t *testing.T) {
	answers := func(seed int64) [][]byte {
		cfg := smallMLP(t)
		cfg.MLP.Seed = seed
		s := New(cfg, nil)
		if err := s.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for _, p := range SamplePayloads(cfg, 6) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/invocations", bytes.NewReader(p.Body))
			req.Header.Set("Content-Type", p.ContentType)
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			out = append(out, rec.Body.Bytes())
		}
		return out
	}
	a, b, c := answers(11), answers(11), answers(12)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("payload %d: same seed, different answers:\n%s\n%s", i, a[i], b[i])
		}
	}
	same := 0
	for i := range a {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same == len(a) {
		t.Error("seeds 11 and 12 answer every payload identically")
	}
}

// gaugeModel is a stand-in model that records how many predict calls run at
// once, to test the server's worker limit apart from CPU speed.
type gaugeModel struct {
	cpu     bool
	hold    time.Duration
	running atomic.Int32
	peak    atomic.Int32
}

func (g *gaugeModel) inputSize() int { return 0 }
func (g *gaugeModel) cpuBound() bool { return g.cpu }
func (g *gaugeModel) predict(ctx context.Context, instances [][]float64) ([]Prediction, error) {
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(g.hold)
	return make([]Prediction, len(instances)), nil
}

func TestWorkersLimit(t *testing.T) {
	tests := []struct {
		name     string
		workers  int
		cpu      bool
		requests int
		wantPeak int32
	}{
		{"one worker", 1, true, 6, 1},
		{"three workers", 3, true, 8, 3},
		{"more workers than requests", 10, true, 4, 4},
		{"limit applies to cpu-bound models only", 1, false, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := smallMLP(t)
			cfg.Workers = tt.workers
			s := New(cfg, nil)
			if s.Workers() != tt.workers {
				t.Fatalf("Workers() = %d, want %d", s.Workers(), tt.workers)
			}
			g := &gaugeModel{cpu: tt.cpu, hold: 50 * time.Millisecond}
			s.state.Store(&loadState{model: g})
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			var wg sync.WaitGroup
			for range tt.requests {
				wg.Go(func() {
					if code, body := post(t, http.DefaultClient, ts.URL, ContentTypeCSV, "1"); code != 200 {
						t.Errorf("status %d: %s", code, body)
					}
				})
			}
			wg.Wait()
			if got := g.peak.Load(); got != tt.wantPeak {
				t.Errorf("peak concurrency %d, want %d", got, tt.wantPeak)
			}
		})
	}
}

func TestWorkersDefaultToGOMAXPROCS(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	for _, procs := range []int{1, 3} {
		runtime.GOMAXPROCS(procs)
		if got := New(smallMLP(t), nil).Workers(); got != procs {
			t.Errorf("GOMAXPROCS %d: Workers() = %d, want %d", procs, got, procs)
		}
	}
}

// TestReferenceSchedule checks the reference model's slot arithmetic
// directly: requests that arrive together on a saturated model start exactly
// one service time apart per slot, however late the timers fire.
func TestReferenceSchedule(t *testing.T) {
	const st = 10 * time.Millisecond
	m := newReferenceModel(ReferenceConfig{ServiceTime: st, Slots: 2})
	arrival := time.Now()
	starts := make(chan time.Time, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			start, err := m.hold(context.Background(), arrival)
			if err != nil {
				t.Error(err)
			}
			starts <- start
		})
	}
	wg.Wait()
	close(starts)
	count := map[time.Duration]int{}
	for s := range starts {
		count[s.Sub(arrival)]++
	}
	for k := range 4 {
		if off := time.Duration(k) * st; count[off] != 2 {
			t.Errorf("%d requests started at +%v, want 2 (one per slot); all: %v", count[off], off, count)
		}
	}
}

// TestReferenceCapacity drives a reference server over HTTP with a closed
// loop of more users than slots and checks that the measured throughput is
// slots / service time within 2%.
func TestReferenceCapacity(t *testing.T) {
	const (
		slots       = 4
		serviceTime = 10 * time.Millisecond
		users       = 12
		warmup      = 200 * time.Millisecond
		window      = 1600 * time.Millisecond
	)
	cfg := DefaultConfig()
	cfg.Model = ModelReference
	cfg.ModelDir = t.TempDir()
	cfg.Reference = ReferenceConfig{ServiceTime: serviceTime, Slots: slots}
	sv := serve(t, New(cfg, nil))
	waitReady(t, sv.url, 5*time.Second)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	begin := time.Now()
	from, to := begin.Add(warmup), begin.Add(warmup+window)
	var inWindow atomic.Int64
	var wg sync.WaitGroup
	for range users {
		wg.Go(func() {
			for time.Now().Before(to) {
				code, body := post(t, client, sv.url, ContentTypeJSON, `[[1,5,2]]`)
				if code != 200 || !strings.Contains(string(body), `"label":1`) {
					t.Errorf("status %d: %s", code, body)
					return
				}
				if now := time.Now(); now.After(from) && !now.After(to) {
					inWindow.Add(1)
				}
			}
		})
	}
	wg.Wait()
	got := float64(inWindow.Load()) / window.Seconds()
	want := slots / serviceTime.Seconds()
	t.Logf("throughput %.1f/s, capacity %.1f/s (%+.2f%%)", got, want, 100*(got-want)/want)
	if math.Abs(got-want)/want > 0.02 {
		t.Errorf("throughput %.1f/s, want %.1f/s ± 2%%", got, want)
	}
}

func TestReferenceLatency(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Model = ModelReference
	cfg.Reference = ReferenceConfig{ServiceTime: 30 * time.Millisecond, Slots: 1}
	s := New(cfg, nil)
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for i := range 3 {
		start := time.Now()
		if code, body := post(t, http.DefaultClient, ts.URL, ContentTypeCSV, "1,2\n"); code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		if took := time.Since(start); took < 30*time.Millisecond || took > 60*time.Millisecond {
			t.Errorf("request %d took %v, want the 30ms service time", i, took)
		}
	}
	// Any well-formed width is accepted.
	if code, body := post(t, http.DefaultClient, ts.URL, ContentTypeJSON, `[[1],[1,2,3,4,5,6,7]]`); code != 200 {
		t.Errorf("status %d: %s", code, body)
	}
}

// TestGracefulShutdown cancels Serve while a request is in flight: the
// request completes, Serve returns nil, and new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Model = ModelReference
	cfg.Reference = ReferenceConfig{ServiceTime: 300 * time.Millisecond, Slots: 1}
	sv := serve(t, New(cfg, nil))
	waitReady(t, sv.url, 5*time.Second)

	result := make(chan error, 1)
	go func() {
		resp, err := http.Post(sv.url+"/invocations", ContentTypeCSV, strings.NewReader("1"))
		if err != nil {
			result <- err
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		result <- err
	}()
	time.Sleep(100 * time.Millisecond) // the request now holds the slot
	sv.stop()
	select {
	case err := <-sv.done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	sv.done <- nil // for the cleanup
	if err := <-result; err != nil {
		t.Errorf("in-flight request: %v", err)
	}
	if _, err := http.Get(sv.url + "/ping"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

func TestShutdownTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Model = ModelReference
	cfg.Reference = ReferenceConfig{ServiceTime: 10 * time.Second, Slots: 1}
	s := New(cfg, nil)
	s.ShutdownTimeout = 100 * time.Millisecond
	sv := serve(t, s)
	waitReady(t, sv.url, 5*time.Second)
	go func() {
		if resp, err := http.Post(sv.url+"/invocations", ContentTypeCSV, strings.NewReader("1")); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	sv.stop()
	select {
	case <-sv.done:
		sv.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the shutdown timeout")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("shutdown took %v with a 100ms timeout", took)
	}
}

func TestServeStopsWhileLoading(t *testing.T) {
	cfg := smallMLP(t)
	cfg.SetupDelay = time.Hour
	sv := serve(t, New(cfg, nil))
	resp, err := http.Get(sv.url + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("/ping while loading = %d, want 503", resp.StatusCode)
	}
	sv.stop()
	select {
	case err := <-sv.done:
		if err != nil {
			t.Errorf("Serve = %v, want nil when stopped during setup", err)
		}
		sv.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return while the model was loading")
	}
}

func TestServeListenerFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = New(smallMLP(t), nil).Serve(context.Background(), ln)
	if err == nil || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed listener = %v, want net.ErrClosed", err)
	}
}

// BenchmarkInvocation measures one invocation of the default MLP through
// the handler: parsing a JSON payload, the forward pass and encoding.
func BenchmarkInvocation(b *testing.B) {
	cfg := DefaultConfig()
	cfg.ModelDir = b.TempDir()
	s := New(cfg, nil)
	if err := s.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	p := SamplePayloads(cfg, 1)[0]
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/invocations", bytes.NewReader(p.Body))
		req.Header.Set("Content-Type", p.ContentType)
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkInvocationParallel runs invocations from GOMAXPROCS goroutines;
// compare ns/op with -cpu 1,2 to see throughput grow with CPUs.
func BenchmarkInvocationParallel(b *testing.B) {
	cfg := DefaultConfig()
	cfg.ModelDir = b.TempDir()
	s := New(cfg, nil)
	if err := s.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	p := SamplePayloads(cfg, 1)[0]
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/invocations", bytes.NewReader(p.Body))
			req.Header.Set("Content-Type", p.ContentType)
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Errorf("status %d", rec.Code)
			}
		}
	})
}
