// Package local is the backend that runs model servers as processes on this
// host. Each instance is pinned to as many CPUs as its instance type has
// vCPUs, away from the load generator where the host has room, and its CPU
// and memory are read from /proc for its whole process tree.
//
// Processes are started the SageMaker way (argument "serve", the port in
// SAGEMAKER_BIND_TO_PORT) in their own process group, so that Stop reaches
// the whole tree, and with a parent-death signal, so that they die with
// inferscale. The parent-death signal reaches only the server process itself,
// not processes it started: those that stay in its group are killed by Stop,
// Close, or when the server exits, but not when inferscale is killed.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
	"golang.org/x/sys/unix"
)

// BindHostEnv tells a server which address to listen on; the local backend
// sets it to the loopback address.
const BindHostEnv = "INFERSCALE_BIND_HOST"

// PortEnv is the SageMaker variable that tells a server its port.
const PortEnv = "SAGEMAKER_BIND_TO_PORT"

// Backend runs instances as processes on this host. Create it with New and
// Close it when done: Close stops every instance and a goroutine New starts.
type Backend struct {
	logger *slog.Logger
	alloc  *Allocator
	client *http.Client

	mu        sync.Mutex
	closed    bool
	instances map[*Instance]struct{}
	inflight  sync.WaitGroup // Launch calls in progress
	pinned    bool           // the load generator follows Unused CPUs

	// affinityMu serialises changes of thread affinity: a Start on the
	// launcher thread must not see its mask changed by PinLoadGenerator.
	affinityMu sync.Mutex

	starts       chan startRequest
	quit         chan struct{}
	launcherDone chan struct{}
	closeOnce    sync.Once
}

// startRequest asks the launcher thread to start a command on some CPUs.
type startRequest struct {
	cmd   *exec.Cmd
	cpus  []int
	reply chan error
}

// New returns a backend that hands out the CPUs this process may run on now.
// A nil logger discards.
func New(logger *slog.Logger) (*Backend, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Read the affinity on a locked thread, so that it is this thread's.
	runtime.LockOSThread()
	host, err := threadCPUs()
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("local backend: %w", err)
	}
	b := &Backend{
		logger:       logger,
		alloc:        NewAllocator(host),
		client:       &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true}},
		instances:    map[*Instance]struct{}{},
		starts:       make(chan startRequest),
		quit:         make(chan struct{}),
		launcherDone: make(chan struct{}),
	}
	ReapOrphans(logger)
	go b.launcher()
	logger.Debug("local backend", "cpus", FormatCPUList(host))
	return b, nil
}

// launcher starts every process, on one OS thread locked for the backend's
// lifetime. A child's parent-death signal fires when the thread that forked
// it exits, not when the process does; Go ends a thread when a goroutine
// exits while locked to it, which any library may do. A thread that only
// this goroutine ever runs on ends only with Close, after every instance.
func (b *Backend) launcher() {
	runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
	defer close(b.launcherDone)
	for {
		select {
		case req := <-b.starts:
			req.reply <- b.startPinned(req.cmd, req.cpus)
		case <-b.quit:
			return
		}
	}
}

// startPinned starts cmd with the affinity cpus. The child inherits the mask
// of the forking thread, so it has its affinity from its first instruction:
// a runtime that sizes itself from its affinity at start (Go's GOMAXPROCS,
// thread pools) sees its own CPUs. Setting it after the start would race.
func (b *Backend) startPinned(cmd *exec.Cmd, cpus []int) error {
	b.affinityMu.Lock()
	defer b.affinityMu.Unlock()
	if len(cpus) > 0 {
		var old unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err != nil {
			return fmt.Errorf("sched_getaffinity: %w", err)
		}
		if err := unix.SchedSetaffinity(0, cpuSet(cpus)); err != nil {
			return fmt.Errorf("pin to CPUs %s: %w", FormatCPUList(cpus), err)
		}
		defer func() {
			if err := unix.SchedSetaffinity(0, &old); err != nil {
				b.logger.Error("restore launcher thread affinity", "err", err)
			}
		}()
	}
	return cmd.Start()
}

// CPUs returns the host CPUs the backend hands out.
func (b *Backend) CPUs() []int { return b.alloc.Host() }

// Fits reports whether an instance with cpus vCPUs would now get CPUs of its
// own, apart from other instances and the load generator. Callers use it to
// decide how many instances to run side by side.
func (b *Backend) Fits(cpus int) bool { return b.alloc.Fits(cpus) }

// PinLoadGenerator confines every thread of this process (where the load
// generator runs) to the CPUs no instance holds, and keeps doing so as
// instances come and go, until UnpinLoadGenerator. When instances hold every
// CPU, the process keeps all of them.
func (b *Backend) PinLoadGenerator() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pinned = true
	return b.applyPinLocked()
}

// UnpinLoadGenerator gives every thread of this process all host CPUs again.
func (b *Backend) UnpinLoadGenerator() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pinned = false
	return b.setProcessCPUs(b.alloc.Host())
}

// applyPinLocked re-pins the load generator after the allocation changed.
// b.mu must be held.
func (b *Backend) applyPinLocked() error {
	if !b.pinned {
		return nil
	}
	cpus := b.alloc.Unused()
	if len(cpus) == 0 {
		cpus = b.alloc.Host()
	}
	return b.setProcessCPUs(cpus)
}

func (b *Backend) setProcessCPUs(cpus []int) error {
	b.affinityMu.Lock()
	defer b.affinityMu.Unlock()
	if err := setProcessCPUs(cpus); err != nil {
		return fmt.Errorf("pin load generator: %w", err)
	}
	b.logger.Debug("load generator CPUs", "cpus", FormatCPUList(cpus))
	return nil
}

// Launch starts an instance and blocks until it answers GET /ping with 200.
// If the process exits first, SetupTimeout passes or ctx ends, it kills the
// process tree and returns an error quoting the exit status and the last
// output. With Spec.URL set it starts nothing and waits for that server.
func (b *Backend) Launch(ctx context.Context, s backend.Spec) (backend.Instance, error) {
	name := s.Name
	if name == "" {
		name = s.Command + s.URL
	}
	switch {
	case s.URL != "" && s.Command != "":
		return nil, fmt.Errorf("launch %s: both a command and a URL given", name)
	case s.URL == "" && s.Command == "":
		return nil, fmt.Errorf("launch %s: neither a command nor a URL given", name)
	case s.CPUs < 0:
		return nil, fmt.Errorf("launch %s: negative CPUs %d", name, s.CPUs)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("launch %s: %w", name, backend.ErrClosed)
	}
	b.inflight.Add(1)
	b.mu.Unlock()
	defer b.inflight.Done()

	var i *Instance
	var err error
	if s.URL != "" {
		i, err = b.attach(ctx, name, s)
	} else {
		i, err = b.start(ctx, name, s)
	}
	if err != nil {
		return nil, err
	}
	return i, nil
}

// start launches a server process.
func (b *Backend) start(ctx context.Context, name string, s backend.Spec) (*Instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	args := s.Args
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cmd := exec.Command(s.Command, args...)
	cmd.Env = childEnv(s.Env, port)
	// One pipe for stdout and stderr, read by the instance. Passing an
	// *os.File keeps exec from copying in goroutines that Wait would wait
	// for as long as any grandchild holds the pipe.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	b.mu.Lock()
	cpus, warning := b.alloc.Allocate(s.CPUs)
	b.mu.Unlock()
	i := newInstance(b, name, s, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cpus)
	if warning != "" {
		i.warnings = append(i.warnings, warning)
		b.logger.Warn("instance shares CPUs", "instance", name, "warning", warning)
	}

	started := time.Now()
	reply := make(chan error, 1)
	select {
	case b.starts <- startRequest{cmd: cmd, cpus: cpus, reply: reply}:
		err = <-reply
	case <-b.launcherDone:
		err = backend.ErrClosed
	}
	pw.Close()
	if err != nil {
		pr.Close()
		b.release(i)
		return nil, fmt.Errorf("launch %s: start %s: %w", name, s.Command, err)
	}
	i.cmd, i.pid, i.outR = cmd, cmd.Process.Pid, pr
	go i.readOutput(pr, s.Output)
	go i.wait()
	b.logger.Info("instance started", "instance", name, "pid", i.pid, "url", i.url, "cpus", FormatCPUList(cpus))

	if err := b.register(i); err != nil {
		i.stopAfterFailure(ctx)
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	if err := i.waitReady(ctx, started, setupTimeout(s)); err != nil {
		i.stopAfterFailure(ctx)
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	b.logger.Info("instance ready", "instance", name, "setup", i.setup)
	return i, nil
}

// attach waits for an already-running server and looks for its process.
func (b *Backend) attach(ctx context.Context, name string, s backend.Spec) (*Instance, error) {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("launch %s: URL %q is not an http(s) base URL", name, s.URL)
	}
	u.Path = trimSlash(u.Path)
	i := newInstance(b, name, s, u.String(), nil)
	if err := i.waitReady(ctx, time.Now(), setupTimeout(s)); err != nil {
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	if s.CPUs > 0 {
		i.warnings = append(i.warnings, fmt.Sprintf("%s is an already-running server: not pinned to %d CPUs, so it may use more or fewer than the instance type has", s.URL, s.CPUs))
	}
	if p, why := findServer(u); why != "" {
		i.warnings = append(i.warnings, "CPU and memory utilization unavailable: "+why)
	} else {
		i.measured = p
		b.logger.Info("measuring already-running server", "instance", name, "pid", p.pid, "command", p.comm)
	}
	if err := b.register(i); err != nil {
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	return i, nil
}

// forwarders are processes that listen on behalf of a server elsewhere;
// measuring them would measure the wrong thing.
var forwarders = []string{"docker-proxy", "rootlessport", "slirp4netns", "pasta", "kubectl", "ssh", "socat"}

// findServer finds the process of an already-running server on this host,
// or says why it cannot.
func findServer(u *url.URL) (proc, string) {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return proc{}, fmt.Sprintf("bad port %q", port)
	}
	if !isLocalHost(u.Hostname()) {
		return proc{}, fmt.Sprintf("%s is not on this host", u.Hostname())
	}
	p, err := listener(n)
	switch {
	case err != nil:
		return proc{}, fmt.Sprintf("no process of this user listens on port %d in this network namespace", n)
	case p.pid == os.Getpid():
		return proc{}, fmt.Sprintf("port %d is served inside inferscale's own process", n)
	case slices.Contains(forwarders, p.comm):
		return proc{}, fmt.Sprintf("port %d is forwarded by %s (pid %d)", n, p.comm, p.pid)
	}
	return p, ""
}

// isLocalHost reports whether host names this machine.
func isLocalHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

func setupTimeout(s backend.Spec) time.Duration {
	if s.SetupTimeout > 0 {
		return s.SetupTimeout
	}
	return backend.DefaultSetupTimeout
}

// register adds a started instance, unless the backend closed meanwhile.
func (b *Backend) register(i *Instance) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backend.ErrClosed
	}
	b.instances[i] = struct{}{}
	if err := b.applyPinLocked(); err != nil {
		b.logger.Error("re-pin load generator", "err", err)
	}
	return nil
}

// release returns an instance's CPUs and forgets it.
func (b *Backend) release(i *Instance) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alloc.Release(i.cpus)
	delete(b.instances, i)
	if err := b.applyPinLocked(); err != nil {
		b.logger.Error("re-pin load generator", "err", err)
	}
}

// Close stops every instance still running, waits for launches in progress
// to end, and ends the launcher thread. Later launches fail with ErrClosed.
// A pinned load generator has all host CPUs again once no instance runs.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	running := make([]*Instance, 0, len(b.instances))
	for i := range b.instances {
		running = append(running, i)
	}
	b.mu.Unlock()

	errs := make([]error, len(running))
	var wg sync.WaitGroup
	for n, i := range running {
		wg.Go(func() { errs[n] = i.Stop(ctx) })
	}
	wg.Wait()
	b.inflight.Wait()
	b.closeOnce.Do(func() { close(b.quit) })
	<-b.launcherDone
	return errors.Join(errs...)
}

// freePort returns a TCP port on the loopback address that was free a moment
// ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// childEnv is the environment of a server: PATH and HOME from ours, the
// spec's, and the port and bind address (which win over the spec's).
func childEnv(specEnv []string, port int) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, specEnv...)
	// exec keeps the last value of a repeated key.
	return append(env, PortEnv+"="+strconv.Itoa(port), BindHostEnv+"=127.0.0.1", ownerEnvEntry())
}
