package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
	"github.com/inferscale/inferscale/internal/testbin"
)

// pingserver is the path of the test server binary built by TestMain.
var pingserver string

func TestMain(m *testing.M) {
	if os.Getenv("LOCAL_TEST_ROLE") == "launcher" {
		os.Exit(launcherRole())
	}
	bin, remove, err := testbin.Build("./testdata/pingserver", "pingserver")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pingserver = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// launcherRole is this test binary re-executed as a parent that launches an
// instance, reports its pid and waits to be killed (TestParentDeath).
func launcherRole() int {
	b, err := New(nil)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ctx := context.Background()
	inst, err := b.Launch(ctx, backend.Spec{Command: os.Getenv("LOCAL_TEST_PINGSERVER"), SetupTimeout: 10 * time.Second})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("pid", inst.(*Instance).PID())
	if os.Getenv("LOCAL_TEST_SPAWN") == "1" {
		// A child of the instance in a session of its own: out of reach
		// of the parent-death signal and of the instance's process group.
		resp, err := http.Post(inst.URL()+"/spawn?burn_ms=0&setsid=1", "application/json", nil)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		var got struct{ PID int }
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || got.PID == 0 {
			fmt.Println("error", resp.Status, err)
			return 1
		}
		fmt.Println("child", got.PID)
	}
	time.Sleep(30 * time.Second) // the test kills us long before
	b.Close(ctx)
	return 1
}

// newBackend returns a backend closed at the end of the test.
func newBackend(t *testing.T) *Backend {
	t.Helper()
	b, err := New(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// spec is a pingserver spec with the given extra environment.
func spec(t *testing.T, env ...string) backend.Spec {
	return backend.Spec{
		Name:         t.Name(),
		Command:      pingserver,
		Env:          env,
		SetupTimeout: 10 * time.Second,
		StopGrace:    2 * time.Second,
		MemoryBytes:  1 << 30,
	}
}

// launch launches s and fails the test on error.
func launch(t *testing.T, b *Backend, s backend.Spec) *Instance {
	t.Helper()
	inst, err := b.Launch(context.Background(), s)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	return inst.(*Instance)
}

// call POSTs (or GETs, for /info and /ping) to the instance and decodes JSON.
func call(t *testing.T, base, path string, v any) {
	t.Helper()
	method := http.MethodPost
	if strings.HasPrefix(path, "/info") || strings.HasPrefix(path, "/ping") {
		method = http.MethodGet
	}
	req, _ := http.NewRequest(method, base+path, nil)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, buf.String())
	}
	if v != nil {
		if err := json.Unmarshal(buf.Bytes(), v); err != nil {
			t.Fatalf("%s %s: %v in %q", method, path, err, buf.String())
		}
	}
}

// spawn asks the server to start a child and returns its pid.
func spawn(t *testing.T, base string, setsid bool, burn time.Duration) int {
	t.Helper()
	var r struct{ PID int }
	call(t, base, fmt.Sprintf("/spawn?setsid=%v&burn_ms=%d", map[bool]int{false: 0, true: 1}[setsid], burn.Milliseconds()), &r)
	if r.PID <= 0 {
		t.Fatalf("spawn: pid %d", r.PID)
	}
	t.Cleanup(func() { // whatever the test's outcome, leave nothing behind
		if running(r.PID) {
			syscall.Kill(r.PID, syscall.SIGKILL)
		}
	})
	return r.PID
}

// running reports whether pid exists and has not exited, read from /proc
// independently of the code under test.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// waitGone fails the test unless every pid has exited within d.
func waitGone(t *testing.T, d time.Duration, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for _, pid := range pids {
		for running(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if running(pid) {
			t.Errorf("process %d still running", pid)
			syscall.Kill(pid, syscall.SIGKILL) // do not leak it past the test
		}
	}
}

// readPIDFile waits for the pingserver's pid file.
func readPIDFile(t *testing.T, path string) int {
	t.Helper()
	for range 200 {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

// allowedCPUs returns Cpus_allowed_list from a /proc status file.
func allowedCPUs(t *testing.T, statusPath string) string {
	t.Helper()
	b, err := os.ReadFile(statusPath)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no Cpus_allowed_list in %s", statusPath)
	return ""
}

// threadCPUSets returns the distinct Cpus_allowed_list of the threads of pid.
func threadCPUSets(t *testing.T, pid string) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + pid + "/task/*/status")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %s: %v", pid, err)
	}
	var sets []string
	for _, task := range tasks {
		if s := allowedCPUs(t, task); !slices.Contains(sets, s) {
			sets = append(sets, s)
		}
	}
	return sets
}

func hostCPUs(t *testing.T) []int {
	b, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	return b.CPUs()
}
