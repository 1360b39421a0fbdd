package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	cwmetrics "github.com/inferscale/inferscale/internal/metrics"
)

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]api.Credential
		err      string
	}{
		{name: "keys with and without account", in: "# comment\n\nAKIDA  secret-a\t111122223333\n  AKIDB secret-b  \n",
			want: map[string]api.Credential{"AKIDA": {SecretKey: "secret-a", Account: "111122223333"}, "AKIDB": {SecretKey: "secret-b"}}},
		{name: "byte-order mark", in: "\ufeffAKIDX sx 111122223333\r\n",
			want: map[string]api.Credential{"AKIDX": {SecretKey: "sx", Account: "111122223333"}}},
		{name: "missing secret", in: "AKIDA\n", err: "line 1: want ACCESS_KEY SECRET_KEY [ACCOUNT], got 1 fields"},
		{name: "too many fields", in: "# x\nA s 111122223333 extra\n", err: "line 2: want"},
		{name: "bad account", in: "A s 1234\n", err: `line 1: account "1234" is not 12 digits`},
		{name: "duplicate key", in: "A s\nA t\n", err: "line 2: access key A listed twice"},
		{name: "empty", in: "# nothing\n", err: "no access keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: %+v, want %+v", k, got[k], v)
				}
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
		err  bool
	}{
		{addr: "127.0.0.1:8686", want: true},
		{addr: "127.3.2.1:0", want: true},
		{addr: "[::1]:80", want: true},
		{addr: "localhost:1", want: true},
		{addr: ":8686"},
		{addr: "0.0.0.0:8686"},
		{addr: "[::]:8686"},
		{addr: "10.0.0.5:8686"},
		{addr: "example.com:80"},
		{addr: "127.0.0.1", err: true},
	}
	for _, tt := range tests {
		got, err := Loopback(tt.addr)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Loopback(%q) = %v, %v; want %v (error %v)", tt.addr, got, err, tt.want, tt.err)
		}
	}
}

// start runs a Server on a loopback listener until the test ends.
func start(t *testing.T) (base string, stop func() error) {
	t.Helper()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex // handlers on several connections read the clock
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	srv, err := New(context.Background(), Config{DataDir: t.TempDir(), Version: "v9.9.9", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-served:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("Serve did not return after cancel")
			return nil
		}
	}
	t.Cleanup(func() {
		stop()
		srv.Close()
	})
	return "http://" + ln.Addr().String(), stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func call(t *testing.T, base, target, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestHealthAndMetrics(t *testing.T) {
	base, _ := start(t)
	code, body := get(t, base+"/healthz")
	var h health
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != 200 || h.Status != "ok" || h.Version != "v9.9.9" || h.UptimeSeconds <= 0 {
		t.Errorf("/healthz = %d %s (%v)", code, body, err)
	}

	resp, err := http.Post(base+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz = %d, Allow %q; want 405 and GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}

	for range 3 {
		if c := call(t, base, "SageMaker.ListModels", `{}`); c != 200 {
			t.Fatalf("ListModels: %d", c)
		}
	}
	if c := call(t, base, "SageMaker.DescribeModel", `{"ModelName":"nope"}`); c != 400 {
		t.Fatalf("DescribeModel: %d", c)
	}
	if c := call(t, base, "SageMaker.MadeUp", `{}`); c != 400 {
		t.Fatalf("MadeUp: %d", c)
	}
	code, metrics := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`inferscale_api_requests_total{code="OK",operation="ListModels",service="SageMaker"} 3`,
		`inferscale_api_requests_total{code="ValidationException",operation="DescribeModel",service="SageMaker"} 1`,
		`inferscale_api_requests_total{code="UnknownOperationException",operation="unknown",service="SageMaker"} 1`,
		`inferscale_api_request_duration_seconds_count{operation="ListModels",service="SageMaker"} 3`,
		`go_goroutines `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "MadeUp") {
		t.Error("/metrics has a label value a client made up")
	}
}

// TestGracefulShutdown cancels Serve while a request is in flight: the
// request completes, and Serve returns without error afterwards.
func TestGracefulShutdown(t *testing.T) {
	base, stop := start(t)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/", pr)
	req.Header.Set("X-Amz-Target", "SageMaker.ListModels")
	req.ContentLength = 2
	resp := make(chan *http.Response, 1)
	go func() {
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		resp <- r
	}()
	pw.Write([]byte("{")) // the server is now reading the body
	time.Sleep(50 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	pw.Write([]byte("}"))
	pw.Close()
	if r := <-resp; r == nil || r.StatusCode != 200 {
		t.Fatalf("in-flight request: %+v", r)
	} else {
		r.Body.Close()
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

// TestMetricsSurviveRestart: what the metrics store holds is exported on
// /metrics, saved when Serve returns, and loaded by the next server on the
// same data directory.
func TestMetricsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	at := time.Now().Truncate(time.Minute).Add(-2 * time.Minute)
	dims := []cwmetrics.Dimension{{Name: "EndpointName", Value: "e1"}, {Name: "VariantName", Value: "v1"}}
	serve := func(put bool) (*Server, string) {
		srv, err := New(context.Background(), Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if put {
			for _, v := range []float64{100, 200, 300} {
				if err := srv.Metrics.Put("AWS/SageMaker", "ModelLatency", dims, v, "Microseconds", at); err != nil {
					t.Fatal(err)
				}
			}
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, ln) }()
		_, body := get(t, "http://"+ln.Addr().String()+"/metrics")
		cancel()
		if err := <-served; err != nil {
			t.Fatalf("Serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		return srv, body
	}
	_, body := serve(true)
	want := `aws_sagemaker_model_latency_count{endpoint_name="e1",variant_name="v1"} 3`
	if !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	srv, body := serve(false)
	if !strings.Contains(body, want) {
		t.Errorf("after a restart /metrics lacks %q", want)
	}
	dps, err := srv.Metrics.Query(cwmetrics.Query{Namespace: "AWS/SageMaker", MetricName: "ModelLatency", Dimensions: dims,
		Start: at, End: at.Add(time.Minute), Period: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(dps) != 1 || dps[0].SampleCount != 3 || dps[0].Average != 200 || dps[0].Maximum != 300 {
		t.Errorf("after a restart: %+v, want 3 samples averaging 200", dps)
	}
}

// TestUnreadableMetricsSnapshot: a damaged metrics snapshot does not keep
// the server from starting; it is moved aside, byte for byte, and the
// server starts without metrics history.
func TestUnreadableMetricsSnapshot(t *testing.T) {
	dir := t.TempDir()
	damaged := []byte("inferscale-metrics\x00 not what Save wrote")
	if err := os.WriteFile(filepath.Join(dir, MetricsFile), damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatalf("New with a damaged snapshot: %v", err)
	}
	defer srv.Close()
	if _, err := os.Stat(filepath.Join(dir, MetricsFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the damaged snapshot is still in place: %v", err)
	}
	aside, _ := filepath.Glob(filepath.Join(dir, MetricsFile+".unreadable-*"))
	if len(aside) != 1 {
		t.Fatalf("moved aside: %v, want one file", aside)
	}
	if b, err := os.ReadFile(aside[0]); err != nil || !bytes.Equal(b, damaged) {
		t.Errorf("the file moved aside holds %q, %v", b, err)
	}
}

// TestDataDirLocked: while a server has the data directory open, another
// cannot open it (it would run the same jobs and endpoints); once the
// first is closed, it can.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	first, err := New(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(context.Background(), Config{DataDir: dir})
	if !errors.Is(err, ErrDataDirInUse) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second server on %s: err %v, want ErrDataDirInUse", dir, err)
	}
	if want := fmt.Sprintf("(pid %d)", os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the directory and %s", err, want)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := New(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatalf("after the first server closed: %v", err)
	}
	if err := third.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsExportSurvivesUserData: metrics a client puts never make
// /metrics fail, whatever their names, and the server's own metrics keep
// theirs.
func TestMetricsExportSurvivesUserData(t *testing.T) {
	base, _ := start(t)
	for _, body := range []string{
		`{"Namespace":"QD","MetricData":[{"MetricName":"Q","Value":1,"Dimensions":[{"Name":"quantile","Value":"x"}]}]}`,
		`{"Namespace":"QT","MetricData":[{"MetricName":"t","Value":2},{"MetricName":"t_count","Value":3}]}`,
		`{"Namespace":"inferscale","MetricData":[{"MetricName":"api_requests_total","Value":4}]}`,
		`{"Namespace":"go","MetricData":[{"MetricName":"goroutines","Value":5}]}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PutMetricData %s: %d %s", body, resp.StatusCode, b)
		}
	}
	code, metrics := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, metrics)
	}
	for _, want := range []string{
		`qd_q_sum{exported_quantile="x"} 1`,
		"qt_t_sum 2",
		"qt_t_count_2_sum 3",
		"exported_inferscale_api_requests_total_sum 4",
		"exported_go_goroutines_sum 5",
		"# TYPE go_goroutines gauge",
		"# TYPE inferscale_api_requests_total counter",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestMetricsLoopbackOnly: with credentials, /metrics answers loopback
// clients only, unless PublicMetrics; the API is unaffected.
func TestMetricsLoopbackOnly(t *testing.T) {
	creds := map[string]api.Credential{"AKID": {SecretKey: "s"}}
	for _, tt := range []struct {
		name   string
		cfg    Config
		remote string
		want   int
	}{
		{"no credentials, remote client", Config{}, "10.1.2.3:4567", http.StatusOK},
		{"credentials, loopback client", Config{Credentials: creds}, "127.0.0.1:4567", http.StatusOK},
		{"credentials, IPv6 loopback", Config{Credentials: creds}, "[::1]:4567", http.StatusOK},
		{"credentials, remote client", Config{Credentials: creds}, "10.1.2.3:4567", http.StatusForbidden},
		{"credentials, public metrics", Config{Credentials: creds, PublicMetrics: true}, "10.1.2.3:4567", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.DataDir = t.TempDir()
			srv, err := New(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			r.RemoteAddr = tt.remote
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("GET /metrics from %s: %d, want %d", tt.remote, w.Code, tt.want)
			}
		})
	}
}
