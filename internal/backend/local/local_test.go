package local

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
)

func TestLaunch(t *testing.T) {
	t.Setenv("LOCAL_TEST_SECRET", "must not reach the server")
	tests := []struct {
		name  string
		delay time.Duration
		late  bool // do not listen before the delay: connection refused, not 503
	}{
		{"ready at once", 0, false},
		{"503 while loading", 400 * time.Millisecond, false},
		{"listens late", 400 * time.Millisecond, true},
	}
	b := newBackend(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(t, "MODEL_OPTION=x=1", "PINGSERVER_SETUP_DELAY="+tt.delay.String(), "SAGEMAKER_BIND_TO_PORT=1")
			if tt.late {
				s.Env = append(s.Env, "PINGSERVER_LISTEN_LATE=1")
			}
			inst := launch(t, b, s)
			if st := inst.SetupTime(); st < tt.delay || st > tt.delay+3*time.Second {
				t.Errorf("SetupTime = %v, want ≥ %v and not much more", st, tt.delay)
			}
			u, err := url.Parse(inst.URL())
			if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "" {
				t.Fatalf("URL = %q, want http://127.0.0.1:port", inst.URL())
			}
			var info struct {
				PID  int
				Args []string
				Env  map[string]string
			}
			call(t, inst.URL(), "/info", &info)
			if info.PID != inst.PID() {
				t.Errorf("server pid %d, PID() = %d", info.PID, inst.PID())
			}
			if !slices.Equal(info.Args, []string{"serve"}) {
				t.Errorf("args %q, want [serve]", info.Args)
			}
			want := map[string]string{
				"SAGEMAKER_BIND_TO_PORT": u.Port(), "INFERSCALE_BIND_HOST": "127.0.0.1", "MODEL_OPTION": "x=1",
				"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"),
			}
			for k, v := range want {
				if info.Env[k] != v {
					t.Errorf("server env %s=%q, want %q", k, info.Env[k], v)
				}
			}
			if v, ok := info.Env["LOCAL_TEST_SECRET"]; ok {
				t.Errorf("server inherited LOCAL_TEST_SECRET=%q", v)
			}
			resp, err := http.Post(inst.URL()+"/invocations", "text/plain", strings.NewReader("hello"))
			if err != nil {
				t.Fatal(err)
			}
			body := make([]byte, 16)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if string(body[:n]) != "hello" {
				t.Errorf("invocation returned %q", body[:n])
			}
			if err := inst.Err(); err != nil {
				t.Errorf("Err() before Done = %v", err)
			}

			start := time.Now()
			if err := inst.Stop(context.Background()); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("graceful Stop took %v", d)
			}
			select {
			case <-inst.Done():
			default:
				t.Fatal("Done not closed after Stop")
			}
			if err := inst.Err(); !errors.Is(err, backend.ErrStopped) || errors.Is(err, backend.ErrExited) {
				t.Errorf("Err() = %v, want ErrStopped", err)
			}
			if err := inst.Stop(context.Background()); err != nil {
				t.Errorf("second Stop: %v", err)
			}
			if _, err := inst.Usage(context.Background()); !errors.Is(err, backend.ErrStopped) {
				t.Errorf("Usage after Stop: %v, want ErrStopped", err)
			}
			waitGone(t, 0, info.PID)
		})
	}
}

func TestPinning(t *testing.T) {
	host := hostCPUs(t)
	if len(host) < 2 {
		t.Skipf("host has %d CPU", len(host))
	}
	b := newBackend(t)
	t.Cleanup(func() { b.UnpinLoadGenerator() })
	all := FormatCPUList(host)

	tests := []struct {
		name      string
		cpus      int
		wantCPUs  int    // how many CPUs the instance gets
		wantAlloc string // its Cpus_allowed_list; "" = any set of wantCPUs CPUs without host[0]
		warn      bool
	}{
		{"one vCPU gets a CPU of its own", 1, 1, "", false},
		{"as many vCPUs as the host shares", len(host), len(host), all, true},
		{"no pinning", 0, len(host), all, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(t)
			s.CPUs = tt.cpus
			inst := launch(t, b, s)
			defer inst.Stop(context.Background())
			pid := strconv.Itoa(inst.PID())
			got := allowedCPUs(t, "/proc/"+pid+"/status")
			cpus, err := ParseCPUList(got)
			if err != nil {
				t.Fatal(err)
			}
			if len(cpus) != tt.wantCPUs || (tt.wantAlloc != "" && got != tt.wantAlloc) || (tt.wantAlloc == "" && slices.Contains(cpus, host[0])) {
				t.Errorf("server Cpus_allowed_list = %s, want %d CPUs %s (host %s)", got, tt.wantCPUs, tt.wantAlloc, all)
			}
			if tt.cpus > 0 && got != FormatCPUList(inst.CPUs()) {
				t.Errorf("server runs on %s, CPUs() = %v", got, inst.CPUs())
			}
			if sets := threadCPUSets(t, pid); len(sets) != 1 || sets[0] != got {
				t.Errorf("server threads run on %v, want all on %s", sets, got)
			}
			// The server's runtime saw its affinity from the start.
			var info struct{ GOMAXPROCS int }
			call(t, inst.URL(), "/info", &info)
			if info.GOMAXPROCS != tt.wantCPUs {
				t.Errorf("server GOMAXPROCS = %d, want %d", info.GOMAXPROCS, tt.wantCPUs)
			}
			w := inst.Warnings()
			if tt.warn != (len(w) == 1) {
				t.Fatalf("warnings %q, want warning: %v", w, tt.warn)
			}
			if tt.warn {
				for _, part := range []string{strconv.Itoa(len(host)) + " usable CPUs", "needs " + strconv.Itoa(tt.cpus) + " vCPUs", "shared", "pessimistic"} {
					if !strings.Contains(w[0], part) {
						t.Errorf("warning %q lacks %q", w[0], part)
					}
				}
			}
			if tt.cpus == 1 && b.Fits(len(host)-1) {
				t.Errorf("Fits(%d) with one CPU taken on a %d-CPU host", len(host)-1, len(host))
			}
		})
	}
	if !b.Fits(len(host) - 1) {
		t.Errorf("Fits(%d) false after every instance stopped", len(host)-1)
	}

	t.Run("load generator", func(t *testing.T) {
		s := spec(t)
		s.CPUs = 1
		inst := launch(t, b, s)
		if err := b.PinLoadGenerator(); err != nil {
			t.Fatal(err)
		}
		rest := slices.DeleteFunc(slices.Clone(host), func(c int) bool { return slices.Contains(inst.CPUs(), c) })
		if sets := threadCPUSets(t, "self"); !slices.Equal(sets, []string{FormatCPUList(rest)}) {
			t.Errorf("with an instance on %v, this process runs on %v, want %s", inst.CPUs(), sets, FormatCPUList(rest))
		}
		// A second instance while pinned: it gets its CPUs, this process follows.
		if len(host) >= 3 {
			second := launch(t, b, s)
			defer second.Stop(context.Background())
			if got := allowedCPUs(t, "/proc/"+strconv.Itoa(second.PID())+"/status"); got != FormatCPUList(second.CPUs()) {
				t.Errorf("second instance runs on %s, want %v", got, second.CPUs())
			}
			rest = slices.DeleteFunc(rest, func(c int) bool { return slices.Contains(second.CPUs(), c) })
			if sets := threadCPUSets(t, "self"); !slices.Equal(sets, []string{FormatCPUList(rest)}) {
				t.Errorf("this process runs on %v, want %s", sets, FormatCPUList(rest))
			}
			second.Stop(context.Background())
		}
		inst.Stop(context.Background())
		if sets := threadCPUSets(t, "self"); !slices.Equal(sets, []string{all}) {
			t.Errorf("with no instance, this process runs on %v, want %s", sets, all)
		}
		if err := b.UnpinLoadGenerator(); err != nil {
			t.Fatal(err)
		}
		if sets := threadCPUSets(t, "self"); !slices.Equal(sets, []string{all}) {
			t.Errorf("after UnpinLoadGenerator this process runs on %v, want %s", sets, all)
		}
	})
}

func TestUsage(t *testing.T) {
	host := hostCPUs(t)
	b := newBackend(t)
	s := spec(t)
	if len(host) >= 2 {
		s.CPUs = 1
	}
	inst := launch(t, b, s)
	defer inst.Stop(context.Background())
	ctx := context.Background()
	sample := func() backend.Usage {
		t.Helper()
		u, err := inst.Usage(ctx)
		if err != nil {
			t.Fatalf("Usage: %v", err)
		}
		return u
	}

	u0 := sample()
	if u0.MemoryBytes <= 0 || time.Since(u0.At) > time.Second {
		t.Errorf("first sample %+v: want memory > 0 and a recent time", u0)
	}

	t.Run("CPU time equals what the server used", func(t *testing.T) {
		before := sample()
		var r struct {
			CPUMs float64 `json:"cpu_ms"`
		}
		call(t, inst.URL(), "/burncpu?ms=300", &r)
		after := sample()
		got := after.CPU - before.CPU
		burned := time.Duration(r.CPUMs * float64(time.Millisecond))
		// /proc counts in 10 ms ticks; the HTTP exchange costs a little more.
		if got < burned-20*time.Millisecond || got > burned+100*time.Millisecond {
			t.Errorf("CPU went up %v while the server burned %v", got, burned)
		}
	})

	if s.CPUs == 1 {
		t.Run("two spinning threads on one pinned CPU", func(t *testing.T) {
			before := sample()
			var r struct {
				CPUMs float64 `json:"cpu_ms"`
			}
			call(t, inst.URL(), "/burn?ms=600&threads=2", &r)
			after := sample()
			cpu, _ := backend.Utilization(before, after, s.MemoryBytes)
			// What the server says it got of the CPU over the same interval.
			own := r.CPUMs / float64(after.At.Sub(before.At).Milliseconds()) * 100
			t.Logf("CPUUtilization %.1f%% over %v; the server counted %.1f%%", cpu, after.At.Sub(before.At), own)
			// One core's worth at most, however many threads spin. Other
			// processes on the host may take some of it: then both see less.
			if cpu > 105 || own > 105 {
				t.Errorf("CPUUtilization = %.1f%% (server: %.1f%%) on one pinned CPU", cpu, own)
			}
			if own < 20 || cpu < own-10 || cpu > own+10 {
				t.Errorf("CPUUtilization = %.1f%%, the server counted %.1f%%", cpu, own)
			}
		})
	}

	t.Run("memory", func(t *testing.T) {
		before := sample()
		call(t, inst.URL(), "/alloc?mb=64", nil)
		after := sample()
		if grew := after.MemoryBytes - before.MemoryBytes; grew < 60<<20 || grew > 80<<20 {
			t.Errorf("memory grew %d MiB after allocating 64 MiB", grew>>20)
		}
		// Shared pages are divided, never added: not more than the RSS.
		if rss := vmRSS(t, inst.PID()); after.MemoryBytes > rss {
			t.Errorf("memory %d > VmRSS %d", after.MemoryBytes, rss)
		}
		_, mem := backend.Utilization(before, after, s.MemoryBytes)
		if want := float64(after.MemoryBytes) / float64(1<<30) * 100; mem != want || mem < 6 {
			t.Errorf("MemoryUtilization = %.2f%%, want %.2f%%", mem, want)
		}
	})

	t.Run("process tree", func(t *testing.T) {
		before := sample()
		inGroup := spawn(t, inst.URL(), false, 300*time.Millisecond)
		escaped := spawn(t, inst.URL(), true, 0)
		after := sample()
		if got := after.CPU - before.CPU; got < 280*time.Millisecond {
			t.Errorf("CPU went up %v while a child burned 300ms", got)
		}
		if after.MemoryBytes <= before.MemoryBytes {
			t.Errorf("memory %d with two children, %d without", after.MemoryBytes, before.MemoryBytes)
		}
		if err := inst.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		waitGone(t, 0, inst.PID(), inGroup, escaped)
	})
}

// vmRSS reads VmRSS of pid in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestStop(t *testing.T) {
	tests := []struct {
		name       string
		ignoreTerm bool
		grace      time.Duration
		min, max   time.Duration // how long Stop may take
	}{
		{"graceful", false, 5 * time.Second, 0, 2 * time.Second},
		{"SIGTERM ignored: SIGKILL after grace", true, 300 * time.Millisecond, 300 * time.Millisecond, 3 * time.Second},
	}
	b := newBackend(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(t)
			s.StopGrace = tt.grace
			if tt.ignoreTerm {
				s.Env = append(s.Env, "PINGSERVER_IGNORE_TERM=1")
			}
			inst := launch(t, b, s)
			inGroup := spawn(t, inst.URL(), false, 0)
			escaped := spawn(t, inst.URL(), true, 0) // left the process group
			start := time.Now()
			if err := inst.Stop(context.Background()); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if d := time.Since(start); d < tt.min || d > tt.max {
				t.Errorf("Stop took %v, want %v to %v", d, tt.min, tt.max)
			}
			// Stop returns once everything is gone: no waiting here.
			waitGone(t, 0, inst.PID(), inGroup, escaped)
			if !errors.Is(inst.Err(), backend.ErrStopped) {
				t.Errorf("Err() = %v, want ErrStopped", inst.Err())
			}
		})
	}

	t.Run("ctx ends the grace period", func(t *testing.T) {
		s := spec(t, "PINGSERVER_IGNORE_TERM=1")
		s.StopGrace = time.Minute
		inst := launch(t, b, s)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := inst.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Stop took %v with a 200ms ctx", d)
		}
		waitGone(t, 0, inst.PID())
	})
}

func TestCrash(t *testing.T) {
	b := newBackend(t)
	s := spec(t)
	s.CPUs = 1
	inst := launch(t, b, s)
	inGroup := spawn(t, inst.URL(), false, 0)
	escaped := spawn(t, inst.URL(), true, 0)
	if _, err := inst.Usage(context.Background()); err != nil { // notes the tree
		t.Fatal(err)
	}
	call(t, inst.URL(), "/exit?code=2", nil)
	select {
	case <-inst.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the server exited")
	}
	err := inst.Err()
	if !errors.Is(err, backend.ErrExited) || errors.Is(err, backend.ErrStopped) {
		t.Errorf("Err() = %v, want ErrExited", err)
	}
	for _, want := range []string{"exit status 2", "exiting with 2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Err() = %v, want it to say %q", err, want)
		}
	}
	// Its process group goes with it; a child that left the group is
	// found by Stop from the last known tree.
	waitGone(t, 2*time.Second, inGroup)
	if !running(escaped) {
		t.Errorf("child %d outside the group gone before Stop", escaped)
	}
	if _, err := inst.Usage(context.Background()); !errors.Is(err, backend.ErrExited) {
		t.Errorf("Usage after crash: %v, want ErrExited", err)
	}
	if err := inst.Stop(context.Background()); err != nil {
		t.Fatalf("Stop after crash: %v", err)
	}
	waitGone(t, 0, escaped)
	if !errors.Is(inst.Err(), backend.ErrExited) {
		t.Errorf("Err() after Stop = %v, want still ErrExited", inst.Err())
	}
}

func TestLaunchFails(t *testing.T) {
	host := hostCPUs(t)
	tests := []struct {
		name     string
		env      []string
		command  string
		timeout  time.Duration
		cancel   time.Duration // cancel ctx after this
		maxTime  time.Duration
		is       error
		contains []string
		lacks    []string
	}{
		{
			name: "exits during setup", env: []string{"PINGSERVER_SETUP_DELAY=400ms", "PINGSERVER_EXIT_DURING_SETUP=3"},
			maxTime: 3 * time.Second, is: backend.ErrExited, contains: []string{"exit status 3", "fatal: model not found", "listening on"},
		},
		{
			name: "long output is cut to its tail", env: []string{"PINGSERVER_SETUP_DELAY=400ms", "PINGSERVER_EXIT_DURING_SETUP=4", "PINGSERVER_NOISE=2000"},
			maxTime: 3 * time.Second, is: backend.ErrExited, contains: []string{"exit status 4", "noise line 1999", "fatal: model not found"}, lacks: []string{"noise line 1000\n"},
		},
		{
			name: "setup timeout", env: []string{"PINGSERVER_SETUP_DELAY=1h", "PINGSERVER_IGNORE_TERM=1"}, timeout: 400 * time.Millisecond,
			maxTime: 3 * time.Second, is: backend.ErrSetupTimeout, contains: []string{"status 503", "400ms"},
		},
		{
			name: "ctx cancelled during setup", env: []string{"PINGSERVER_SETUP_DELAY=1h", "PINGSERVER_LISTEN_LATE=1"}, cancel: 300 * time.Millisecond,
			maxTime: 3 * time.Second, is: context.Canceled, contains: []string{"connection refused"},
		},
		{
			name: "no such command", command: "/nonexistent/server", maxTime: time.Second, contains: []string{"/nonexistent/server"},
		},
	}
	b := newBackend(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			s := spec(t, append(tt.env, "PINGSERVER_PIDFILE="+pidFile)...)
			s.StopGrace = 200 * time.Millisecond
			if len(host) >= 2 {
				s.CPUs = 1
			}
			if tt.command != "" {
				s.Command = tt.command
			}
			if tt.timeout > 0 {
				s.SetupTimeout = tt.timeout
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			start := time.Now()
			inst, err := b.Launch(ctx, s)
			if err == nil {
				inst.Stop(context.Background())
				t.Fatal("Launch succeeded")
			}
			t.Logf("error: %v", err)
			if d := time.Since(start); d > tt.maxTime {
				t.Errorf("Launch took %v", d)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error does not wrap %v", tt.is)
			}
			if !strings.HasPrefix(err.Error(), "launch "+t.Name()+": ") {
				t.Errorf("error does not start with the launch and instance name")
			}
			for _, want := range tt.contains {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q", want)
				}
			}
			for _, bad := range tt.lacks {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("error contains %q", bad)
				}
			}
			if len(err.Error()) > tailSize+500 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
			if tt.command == "" {
				waitGone(t, 0, readPIDFile(t, pidFile))
			}
			if s.CPUs > 0 && !b.Fits(len(host)-1) {
				t.Errorf("CPUs not released")
			}
			b.mu.Lock()
			n := len(b.instances)
			b.mu.Unlock()
			if n != 0 {
				t.Errorf("%d instances still registered", n)
			}
		})
	}
}

func TestAlreadyRunning(t *testing.T) {
	b := newBackend(t)

	t.Run("server process on this host", func(t *testing.T) {
		port := strconv.Itoa(freeTestPort(t))
		srv := exec.Command(pingserver, "serve")
		srv.Env = []string{"SAGEMAKER_BIND_TO_PORT=" + port, "INFERSCALE_BIND_HOST=127.0.0.1", "PINGSERVER_SETUP_DELAY=300ms"}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { srv.Process.Kill(); srv.Wait() }()
		inst := launch(t, b, backend.Spec{Name: "running", URL: "http://localhost:" + port + "/", CPUs: 1, SetupTimeout: 5 * time.Second})
		if inst.URL() != "http://localhost:"+port {
			t.Errorf("URL() = %q", inst.URL())
		}
		if st := inst.SetupTime(); st < 200*time.Millisecond || st > 3*time.Second {
			t.Errorf("SetupTime = %v for a server ready about 300ms after start", st)
		}
		if inst.PID() != srv.Process.Pid {
			t.Errorf("found pid %d, server is %d", inst.PID(), srv.Process.Pid)
		}
		if w := inst.Warnings(); len(w) != 1 || !strings.Contains(w[0], "not pinned") {
			t.Errorf("warnings %q, want one about pinning", w)
		}
		u0, err := inst.Usage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			CPUMs float64 `json:"cpu_ms"`
		}
		call(t, inst.URL(), "/burncpu?ms=200", &r)
		u1, err := inst.Usage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := u1.CPU - u0.CPU; got < 180*time.Millisecond || u1.MemoryBytes <= 0 {
			t.Errorf("CPU +%v, memory %d after burning %vms", got, u1.MemoryBytes, r.CPUMs)
		}
		srv.Process.Kill()
		srv.Wait()
		if _, err := inst.Usage(context.Background()); !errors.Is(err, backend.ErrUsageUnavailable) {
			t.Errorf("Usage after the server died: %v, want ErrUsageUnavailable", err)
		}
		if err := inst.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(inst.Err(), backend.ErrStopped) {
			t.Errorf("Err() = %v", inst.Err())
		}
	})

	t.Run("server inside this process", func(t *testing.T) {
		var ready time.Time
		ready = time.Now().Add(300 * time.Millisecond)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ping" || time.Now().Before(ready) {
				http.Error(w, "not yet", http.StatusServiceUnavailable)
			}
		}))
		defer srv.Close()
		inst := launch(t, b, backend.Spec{URL: srv.URL})
		defer inst.Stop(context.Background())
		if st := inst.SetupTime(); st < 200*time.Millisecond {
			t.Errorf("SetupTime = %v, want about 300ms", st)
		}
		// Ready at the first ping: set up before anyone looked.
		again := launch(t, b, backend.Spec{URL: srv.URL})
		defer again.Stop(context.Background())
		if st := again.SetupTime(); st != 0 {
			t.Errorf("SetupTime = %v for a server ready at the first ping, want 0 (unknown)", st)
		}
		if w := inst.Warnings(); len(w) != 1 || !strings.Contains(w[0], "unavailable") || !strings.Contains(w[0], "own process") {
			t.Errorf("warnings %q", w)
		}
		if _, err := inst.Usage(context.Background()); !errors.Is(err, backend.ErrUsageUnavailable) {
			t.Errorf("Usage: %v, want ErrUsageUnavailable", err)
		}
		if inst.PID() != 0 {
			t.Errorf("PID() = %d", inst.PID())
		}
	})

	t.Run("errors", func(t *testing.T) {
		port := freeTestPort(t)
		for _, s := range []backend.Spec{
			{URL: "http://127.0.0.1:" + strconv.Itoa(port), SetupTimeout: 300 * time.Millisecond},
			{URL: "ftp://127.0.0.1/"},
			{URL: "http://127.0.0.1:1", Command: pingserver},
			{},
		} {
			if inst, err := b.Launch(context.Background(), s); err == nil {
				inst.Stop(context.Background())
				t.Errorf("Launch(%+v) succeeded", s)
			}
		}
		if _, err := b.Launch(context.Background(), backend.Spec{URL: "http://127.0.0.1:" + strconv.Itoa(port), SetupTimeout: 300 * time.Millisecond}); !errors.Is(err, backend.ErrSetupTimeout) {
			t.Errorf("Launch with nothing listening: %v, want ErrSetupTimeout", err)
		}
	})
}

func freeTestPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestParentDeath kills a process that launched an instance and checks that
// the instance dies with it.
func TestParentDeath(t *testing.T) {
	parent, lines := startLauncher(t, false)
	pid := launcherSays(t, lines, "pid")
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	waitGone(t, 3*time.Second, pid)
}

// TestReapOrphans checks that a backend kills what the instances of a
// launcher that died by SIGKILL left behind: here a child of the instance
// in a session of its own, which the parent-death signal does not reach.
// Processes of live launchers are left alone.
func TestReapOrphans(t *testing.T) {
	// A live launcher's instance and its child, in this process.
	b := newBackend(t)
	inst, err := b.Launch(context.Background(), spec(t))
	if err != nil {
		t.Fatal(err)
	}
	livePID := spawn(t, inst.URL(), true, 0)

	parent, lines := startLauncher(t, true)
	pid := launcherSays(t, lines, "pid")
	child := launcherSays(t, lines, "child")
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	waitGone(t, 3*time.Second, pid)
	if !running(child) {
		t.Fatal("the instance's child died with the launcher: nothing to reap")
	}

	killed := ReapOrphans(slog.New(slog.DiscardHandler))
	waitGone(t, 3*time.Second, child)
	if !slices.Contains(killed, child) {
		t.Errorf("ReapOrphans says it killed %v, want %d among them", killed, child)
	}
	for _, p := range []int{inst.(*Instance).PID(), livePID} {
		if !running(p) || slices.Contains(killed, p) {
			t.Errorf("process %d of a live launcher was killed", p)
		}
	}
}

// startLauncher runs this test binary as a launcher (launcherRole) and
// returns it and its output's lines.
func startLauncher(t *testing.T, spawn bool) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(self, "-test.run=^$")
	parent.Env = append(os.Environ(), "LOCAL_TEST_ROLE=launcher", "LOCAL_TEST_PINGSERVER="+pingserver)
	if spawn {
		parent.Env = append(parent.Env, "LOCAL_TEST_SPAWN=1")
	}
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parent.Process.Kill(); parent.Wait() })
	return parent, bufio.NewReader(out)
}

// launcherSays reads the launcher's next line, "WHAT PID", and returns PID,
// a running process.
func launcherSays(t *testing.T, lines *bufio.Reader, what string) int {
	t.Helper()
	line, err := lines.ReadString('\n')
	pid, convErr := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), what+" "))
	if err != nil || convErr != nil || !running(pid) {
		t.Fatalf("launcher said %q (%v), want %q and a pid", line, err, what)
	}
	return pid
}

// TestThreadExits checks that an instance survives the end of the OS thread
// its Launch was called on: the parent-death signal fires when the thread
// that forked the process ends, and Go ends a thread when a goroutine exits
// locked to it.
func TestThreadExits(t *testing.T) {
	b := newBackend(t)
	var inst backend.Instance
	tid := onEndingThread(func() {
		var err error
		if inst, err = b.Launch(context.Background(), spec(t)); err != nil {
			t.Error(err)
		}
	})
	if inst == nil {
		t.FailNow()
	}
	if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid)); err == nil {
		t.Fatalf("thread %d did not end", tid)
	}
	time.Sleep(100 * time.Millisecond)
	if !running(inst.(*Instance).PID()) {
		t.Fatal("instance died with the thread Launch was called on")
	}
	call(t, inst.URL(), "/ping", nil)
}

// onEndingThread runs f on an OS thread that ends when f returns, and returns
// the thread's id. The main thread never ends (Go parks it instead), so it
// is held by another goroutine meanwhile.
func onEndingThread(f func()) int {
	var release []chan struct{}
	defer func() {
		for _, r := range release {
			close(r)
		}
	}()
	for {
		tid, done := make(chan int), make(chan struct{})
		r := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if syscall.Gettid() == os.Getpid() {
				tid <- 0
				<-r
				runtime.UnlockOSThread()
				return
			}
			tid <- syscall.Gettid()
			f()
			close(done) // and exit still locked: the thread ends
		}()
		if id := <-tid; id != 0 {
			<-done
			time.Sleep(50 * time.Millisecond) // let the thread finish ending
			return id
		}
		release = append(release, r)
	}
}

func TestClose(t *testing.T) {
	b, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := launch(t, b, spec(t))
	s := spec(t, "PINGSERVER_IGNORE_TERM=1")
	s.StopGrace = 300 * time.Millisecond
	c := launch(t, b, s)
	// A launch still in setup when Close comes.
	pidFile := filepath.Join(t.TempDir(), "pid")
	slow := spec(t, "PINGSERVER_SETUP_DELAY=1h", "PINGSERVER_PIDFILE="+pidFile)
	launched := make(chan error, 1)
	go func() {
		_, err := b.Launch(context.Background(), slow)
		launched <- err
	}()
	slowPID := readPIDFile(t, pidFile)

	if err := b.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-launched:
		if err == nil {
			t.Error("launch in progress succeeded despite Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("launch in progress did not end with Close")
	}
	waitGone(t, 0, a.PID(), c.PID(), slowPID)
	if _, err := b.Launch(context.Background(), spec(t)); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Launch after Close: %v, want ErrClosed", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
