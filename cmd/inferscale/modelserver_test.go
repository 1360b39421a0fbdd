package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/modelserver"
	"github.com/inferscale/inferscale/internal/testbin"
)

func TestModelServerArguments(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		want     []string // substrings of stderr (stdout for help)
	}{
		{"no argument", []string{"model-server"}, nil, 2, []string{"usage: inferscale model-server serve", "missing the serve argument"}},
		{"unknown argument", []string{"model-server", "start"}, nil, 2, []string{`unknown argument "start"`}},
		{"extra argument", []string{"model-server", "serve", "now"}, nil, 2, []string{"unexpected arguments"}},
		{"unknown flag", []string{"model-server", "serve", "-x"}, nil, 2, []string{"-x"}},
		{"help", []string{"model-server", "-h"}, nil, 0, []string{"INFERSCALE_MODEL", "SAGEMAKER_MODEL_SERVER_WORKERS"}},
		{"bad model", []string{"model-server", "serve"}, map[string]string{"INFERSCALE_MODEL": "bert"}, 1, []string{"INFERSCALE_MODEL", `"bert"`}},
		{"bad port", []string{"model-server", "serve"}, map[string]string{"SAGEMAKER_BIND_TO_PORT": "http"}, 1, []string{"SAGEMAKER_BIND_TO_PORT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cio := cmdIO{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return tt.env[k] }}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if code := run(ctx, cio, tt.args); code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			out := &stderr
			if tt.name == "help" {
				out = &stdout
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not contain %q:\n%s", w, out.String())
				}
			}
		})
	}
}

var (
	buildOnce   sync.Once
	builtBin    string
	removeBuild func()
	buildErr    error
)

// buildInferscale builds this command once per test binary, into a
// directory removed when the tests end (see TestMain).
func buildInferscale(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		builtBin, removeBuild, buildErr = testbin.Build(".", "inferscale")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if removeBuild != nil {
		removeBuild()
	}
	os.Exit(code)
}

// modelServerProcess is `inferscale model-server serve` running as a child.
type modelServerProcess struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer  // everything the process wrote to stderr
	eof    chan struct{} // closed when stderr is fully read
}

var listeningRE = regexp.MustCompile(`listening on (\S+)`)

func startModelServer(t *testing.T, bin string, env ...string) *modelServerProcess {
	t.Helper()
	cmd := exec.Command(bin, "model-server", "serve")
	cmd.Env = append(os.Environ(), "INFERSCALE_BIND_HOST=127.0.0.1", "SAGEMAKER_BIND_TO_PORT=0", "SM_MODEL_DIR="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &modelServerProcess{cmd: cmd, eof: make(chan struct{})}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.eof
			cmd.Wait()
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.eof:
		t.Fatalf("model server exited before listening:\n%s", p.output())
	case <-time.After(10 * time.Second):
		t.Fatalf("model server did not listen within 10s:\n%s", p.output())
	}
	return p
}

func (p *modelServerProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitReady polls /ping until 200 and returns the statuses it saw.
func (p *modelServerProcess) waitReady(t *testing.T) []int {
	t.Helper()
	var seen []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(p.url + "/ping")
		if err != nil {
			continue
		}
		resp.Body.Close()
		seen = append(seen, resp.StatusCode)
		if resp.StatusCode == http.StatusOK {
			return seen
		}
	}
	t.Fatalf("/ping not 200 within 10s (saw %v):\n%s", seen, p.output())
	return nil
}

// terminate sends SIGTERM and checks that the process exits with status 0.
func (p *modelServerProcess) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		<-p.eof
		exited <- p.cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, p.output())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit within 10s of SIGTERM:\n%s", p.output())
	}
}

// TestModelServerProcess runs the built binary as real processes.
func TestModelServerProcess(t *testing.T) {
	bin := buildInferscale(t)
	t.Run("mlp", func(t *testing.T) { testProcessMLP(t, bin) })
	t.Run("graceful stop", func(t *testing.T) { testProcessGracefulStop(t, bin) })
	t.Run("load failure", func(t *testing.T) { testProcessLoadFailure(t, bin) })
}

func testProcessMLP(t *testing.T, bin string) {
	env := []string{"INFERSCALE_MODEL=mlp", "INFERSCALE_MLP_INPUT=6", "INFERSCALE_MLP_HIDDEN=32,16", "INFERSCALE_MLP_CLASSES=4", "INFERSCALE_SETUP_DELAY=300ms"}
	p := startModelServer(t, bin, env...)
	if seen := p.waitReady(t); seen[0] != http.StatusServiceUnavailable {
		t.Errorf("first /ping = %d, want 503 during the 300ms setup delay", seen[0])
	}
	cfg, err := modelserver.ConfigFromEnv(func(k string) string {
		for _, kv := range env {
			if key, v, _ := strings.Cut(kv, "="); key == k {
				return v
			}
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, pl := range modelserver.SamplePayloads(cfg, 4) {
		resp, err := http.Post(p.url+"/invocations", pl.ContentType, bytes.NewReader(pl.Body))
		if err != nil {
			t.Fatal(err)
		}
		var r modelserver.Response
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || len(r.Predictions) != 1 || len(r.Predictions[0].Probabilities) != 4 {
			t.Errorf("payload %d: status %d, %+v, %v", i, resp.StatusCode, r, err)
		}
	}
	p.terminate(t)
	if out := p.output(); !strings.Contains(out, "model loaded") || !strings.Contains(out, "shutting down") {
		t.Errorf("stderr lacks the load and shutdown log lines:\n%s", out)
	}
}

// testProcessGracefulStop sends SIGTERM while a request to the reference
// model holds its slot: the request still succeeds and the process exits 0.
func testProcessGracefulStop(t *testing.T, bin string) {
	p := startModelServer(t, bin, "INFERSCALE_MODEL=reference", "INFERSCALE_REFERENCE_SERVICE_TIME=500ms", "INFERSCALE_REFERENCE_SLOTS=1")
	p.waitReady(t)
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Post(p.url+"/invocations", "text/csv", strings.NewReader("1,2,3\n"))
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	time.Sleep(150 * time.Millisecond) // the request now holds the only slot
	p.terminate(t)
	r := <-done
	if r.err != nil || r.status != 200 {
		t.Errorf("in-flight request during SIGTERM: status %d, %v", r.status, r.err)
	}
}

// testProcessLoadFailure gives the server an unreadable weights file: the
// process must exit 1 with the reason, not linger with /ping at 503.
func testProcessLoadFailure(t *testing.T, bin string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, modelserver.WeightsFile), []byte(`{"format": "onnx"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startModelServer(t, bin, "INFERSCALE_MODEL=mlp", "SM_MODEL_DIR="+dir)
	exited := make(chan error, 1)
	go func() {
		<-p.eof
		exited <- p.cmd.Wait()
	}()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit = %v, want status 1", err)
		}
		if out := p.output(); !strings.Contains(out, `weights format \"onnx\"`) && !strings.Contains(out, `weights format "onnx"`) {
			t.Errorf("stderr does not give the reason:\n%s", out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("process still running 10s after a failed load:\n%s", p.output())
	}
}
