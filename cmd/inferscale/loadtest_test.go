package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func runLoadtestCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cio := cmdIO{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), cio, append([]string{"loadtest"}, args...))
	return code, out.String(), errb.String()
}

func TestLoadtestFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{name: "no url", args: []string{"--users", "1", "--duration", "1s"}, want: "--url is required"},
		{name: "no loop", args: []string{"--url", "http://127.0.0.1:1/"}, want: "exactly one of --rate"},
		{name: "both loops", args: []string{"--url", "http://127.0.0.1:1/", "--rate", "5", "--users", "2", "--duration", "1s"}, want: "exactly one of --rate"},
		{name: "rate without duration", args: []string{"--url", "http://127.0.0.1:1/", "--rate", "5"}, want: "--rate needs --duration"},
		{name: "users unbounded", args: []string{"--url", "http://127.0.0.1:1/", "--users", "2"}, want: "--duration or --requests"},
		{name: "bad output", args: []string{"--url", "http://127.0.0.1:1/", "--users", "2", "--requests", "1", "--output", "xml"}, want: "--output must be"},
		{name: "bad header", args: []string{"--url", "http://127.0.0.1:1/", "--users", "2", "--requests", "1", "--header", "nocolon"}, want: "Name: value"},
		{name: "bad url", args: []string{"--url", "ftp://127.0.0.1:1/", "--users", "2", "--requests", "1"}, want: "scheme must be http or https"},
		{name: "missing cacert", args: []string{"--url", "https://127.0.0.1:1/", "--users", "1", "--requests", "1", "--cacert", "/nonexistent.pem"}, want: "--cacert"},
		{name: "cacert not PEM", args: []string{"--url", "https://127.0.0.1:1/", "--users", "1", "--requests", "1", "--cacert", "loadtest_test.go"}, want: "no PEM certificate"},
		{name: "unknown flag", args: []string{"--bogus"}, want: "flag provided but not defined"},
		{name: "negative users", args: []string{"--url", "http://127.0.0.1:1/", "--users", "-1", "--requests", "1"}, want: "--users must be positive, got -1"},
		{name: "negative rate", args: []string{"--url", "http://127.0.0.1:1/", "--rate", "-5", "--duration", "1s"}, want: "--rate must be positive, got -5"},
		{name: "zero users", args: []string{"--url", "http://127.0.0.1:1/", "--users", "0", "--requests", "1"}, want: "--users must be positive, got 0"},
		{name: "negative requests", args: []string{"--url", "http://127.0.0.1:1/", "--users", "1", "--requests", "-1"}, want: "--requests must not be negative"},
		{name: "zero timeout", args: []string{"--url", "http://127.0.0.1:1/", "--users", "1", "--requests", "1", "--timeout", "0s"}, want: "--timeout must be positive"},
		{name: "stray argument", args: []string{"--url", "http://127.0.0.1:1/", "--users", "1", "--requests", "1", "extra"}, want: "unexpected arguments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runLoadtestCmd(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// TestLoadtestNothingSucceeded: a run in which no request succeeded
// (here: connection refused) prints its summary and exits 1.
func TestLoadtestNothingSucceeded(t *testing.T) {
	code, stdout, stderr := runLoadtestCmd(t, "--url", "http://127.0.0.1:1/", "--users", "2", "--requests", "5", "--quiet")
	if code != 1 || !strings.Contains(stderr, "no request succeeded (5 sent); first error: ") || !strings.Contains(stderr, "connection refused") {
		t.Errorf("exit %d, stderr %q; want 1 and no request succeeded", code, stderr)
	}
	if !strings.Contains(stdout, "5 sent, 0 succeeded") {
		t.Errorf("summary missing:\n%s", stdout)
	}
}

func TestLoadtestJSON(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[r.Header.Get("Content-Type")+" "+r.Header.Get("X-Test")+" "+string(b)]++
		mu.Unlock()
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.csv")
	os.WriteFile(a, []byte(`{"x":1}`), 0o644)
	os.WriteFile(b, []byte("1,2"), 0o644)

	code, stdout, stderr := runLoadtestCmd(t, "--url", srv.URL+"/invocations", "--users", "2", "--requests", "40",
		"--payload", a, "--payload", b, "--header", "X-Test: yes", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Sent      int64 `json:"sent"`
		Succeeded int64 `json:"succeeded"`
		Latency   struct {
			P99Ms float64 `json:"p99_ms"`
		} `json:"latency"`
		Series []struct {
			Second int `json:"second"`
			Users  int `json:"users"`
		} `json:"series"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if got.Sent != 40 || got.Succeeded != 40 || got.Latency.P99Ms <= 0 || len(got.Series) == 0 || got.Series[0].Users != 2 {
		t.Errorf("JSON output %s", stdout)
	}
	// Content types from the extensions, both payloads used.
	mu.Lock()
	defer mu.Unlock()
	if bodies[`application/json yes {"x":1}`] != 20 || bodies["text/csv yes 1,2"] != 20 {
		t.Errorf("server saw %v", bodies)
	}
	if !strings.Contains(stderr, "s  sent ") {
		t.Errorf("no per-second line on stderr: %q", stderr)
	}
}

func TestLoadtestText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "nope", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	// Not one request succeeded: the summary, and exit status 1.
	code, stdout, stderr := runLoadtestCmd(t, "--url", srv.URL+"/bad", "--rate", "50", "--duration", "1s", "--quiet")
	if code != 1 || stderr != "inferscale loadtest: no request succeeded (50 sent); first error: HTTP 503: \"nope\\n\"\n" {
		t.Errorf("exit %d, stderr %q; want 1 and no request succeeded", code, stderr)
	}
	for _, want := range []string{"50 sent, 0 succeeded", "5xx=50", "(100.00%)", `first error HTTP 503: "nope\n"`, "throughput  0.0 req/s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runLoadtestCmd(t, "--url", srv.URL+"/", "--users", "1", "--requests", "10", "--method", "GET")
	if code != 0 || !strings.Contains(stdout, "10 sent, 10 succeeded") || !strings.Contains(stdout, "p99.9") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// TestLoadtestHTTPS load-tests a TLS server from the command line: its
// certificate trusted with --cacert, refused without, unchecked with
// --insecure.
func TestLoadtestHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		flags []string
		want  string
		code  int
	}{
		{name: "--cacert", flags: []string{"--cacert", ca}, want: "20 sent, 20 succeeded"},
		{name: "--insecure", flags: []string{"--insecure"}, want: "20 sent, 20 succeeded"},
		{name: "untrusted", want: "certificate signed by unknown authority", code: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--url", srv.URL + "/invocations", "--users", "2", "--requests", "20", "--quiet"}, tt.flags...)
			code, stdout, stderr := runLoadtestCmd(t, args...)
			if code != tt.code || !strings.Contains(stdout, tt.want) {
				t.Errorf("exit %d, want %q in:\n%s%s", code, tt.want, stdout, stderr)
			}
		})
	}
}
