package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
	"golang.org/x/sys/unix"
)

const (
	// pingTimeout bounds one GET /ping during setup.
	pingTimeout = 2 * time.Second
	// maxPingInterval is the longest pause between pings during setup, and
	// so the resolution of the measured setup time.
	maxPingInterval = 100 * time.Millisecond
	// killTimeout bounds the wait for processes to vanish after SIGKILL.
	killTimeout = 5 * time.Second
	// outputDrain is how long the output may trail the exit of the server.
	outputDrain = 200 * time.Millisecond
)

// Instance is a server process started by the backend, or an
// already-running server it attached to.
type Instance struct {
	b        *Backend
	logger   *slog.Logger
	name     string
	url      string
	grace    time.Duration
	cpus     []int
	warnings []string
	setup    time.Duration

	// Process instances only.
	cmd        *exec.Cmd
	pid        int // also the process group id
	out        tail
	outR       *os.File
	outputDone chan struct{}

	// Already-running servers only: the process found listening, if any.
	measured proc

	done     chan struct{}
	err      error // set before done is closed
	stopping atomic.Bool

	// reapMu guards reaped. While the exited leader is not reaped, the
	// group id cannot be reused, so signalling -pid reaches only the group.
	reapMu sync.Mutex
	reaped bool

	treeMu   sync.Mutex
	lastTree []proc // the process tree at the last Usage or Stop

	stopOnce sync.Once
	stopErr  error
}

var _ backend.Instance = (*Instance)(nil)

func newInstance(b *Backend, name string, s backend.Spec, url string, cpus []int) *Instance {
	grace := s.StopGrace
	if grace <= 0 {
		grace = backend.DefaultStopGrace
	}
	return &Instance{
		b: b, logger: b.logger.With("instance", name), name: name, url: url, grace: grace, cpus: cpus,
		outputDone: make(chan struct{}), done: make(chan struct{}),
	}
}

// URL returns the base URL, e.g. http://127.0.0.1:41234.
func (i *Instance) URL() string { return i.url }

// SetupTime returns the time from process start (or from Launch, for an
// already-running server) to the first 200 on GET /ping.
func (i *Instance) SetupTime() time.Duration { return i.setup }

// Warnings says what makes measurements of this instance less faithful.
func (i *Instance) Warnings() []string { return slices.Clone(i.warnings) }

// CPUs returns the CPUs the instance is pinned to; nil when not pinned.
func (i *Instance) CPUs() []int { return slices.Clone(i.cpus) }

// PID returns the process id of the server (the process group leader), or of
// the process found serving an already-running URL; 0 if none.
func (i *Instance) PID() int {
	if i.cmd != nil {
		return i.pid
	}
	return i.measured.pid
}

// Done is closed when the server process has exited (and been reaped), or,
// for an already-running server, when Stop was called.
func (i *Instance) Done() <-chan struct{} { return i.done }

// Err is nil until Done is closed. Then it wraps backend.ErrStopped if Stop
// ended the instance, or backend.ErrExited with the exit status and the last
// output if the server exited on its own.
func (i *Instance) Err() error {
	select {
	case <-i.done:
		return i.err
	default:
		return nil
	}
}

// readOutput copies the server's output into the tail and Spec.Output until
// every writer has closed the pipe or closeOutput closes it.
func (i *Instance) readOutput(r *os.File, w io.Writer) {
	defer close(i.outputDone)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			i.out.Write(buf[:n])
			if w != nil {
				w.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

// closeOutput ends readOutput, giving the output a moment to drain first
// (an escaped grandchild may hold the pipe open forever).
func (i *Instance) closeOutput() {
	if i.outR == nil {
		return
	}
	t := time.NewTimer(outputDrain)
	select {
	case <-i.outputDone:
	case <-t.C:
	}
	t.Stop()
	i.outR.Close()
	<-i.outputDone
}

// wait waits for the server process to exit, kills what is left of its
// process group, reaps it and closes done.
func (i *Instance) wait() {
	var info unix.Siginfo
	for {
		// WNOWAIT: leave the exited leader unreaped, holding the group id.
		if err := unix.Waitid(unix.P_PID, i.pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			break
		}
	}
	i.reapMu.Lock()
	unix.Kill(-i.pid, unix.SIGKILL) // the leader is gone; its group must not outlive it
	i.cmd.Wait()
	i.reaped = true
	i.reapMu.Unlock()

	t := time.NewTimer(outputDrain)
	select {
	case <-i.outputDone:
	case <-t.C:
	}
	t.Stop()
	state := i.cmd.ProcessState.String()
	if i.stopping.Load() {
		i.err = fmt.Errorf("%s: %w (%s)", i.name, backend.ErrStopped, state)
	} else {
		i.err = fmt.Errorf("%s: %w: %s%s", i.name, backend.ErrExited, state, i.out.quote())
		i.logger.Warn("instance exited", "pid", i.pid, "state", state, "output", i.out.String())
	}
	close(i.done)
}

// waitReady pings until a 200, the process exits, the setup timeout passes
// or ctx ends; it sets the setup time. An already-running server (no
// process of ours) that answers the first ping was set up before anyone
// looked: its setup time is 0, unknown, rather than one ping's.
func (i *Instance) waitReady(ctx context.Context, started time.Time, timeout time.Duration) error {
	sctx, cancel := context.WithTimeoutCause(ctx, timeout-time.Since(started), backend.ErrSetupTimeout)
	defer cancel()
	last := "no answer yet"
	interval := 5 * time.Millisecond
	for first := true; ; first = false {
		code, err := i.ping(sctx)
		if err == nil && code == http.StatusOK {
			i.setup = time.Since(started)
			if first && i.cmd == nil {
				i.setup = 0
			}
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("status %d", code)
		}
		t := time.NewTimer(interval)
		select {
		case <-i.done:
			t.Stop()
			if i.stopping.Load() {
				return fmt.Errorf("setup: %w", backend.ErrStopped)
			}
			return fmt.Errorf("%w during setup: %s%s", backend.ErrExited, i.cmd.ProcessState, i.out.quote())
		case <-sctx.Done():
			t.Stop()
			if ctx.Err() == nil && errors.Is(context.Cause(sctx), backend.ErrSetupTimeout) {
				return fmt.Errorf("%w: no 200 from GET /ping within %v (last: %s)%s", backend.ErrSetupTimeout, timeout, last, i.out.quote())
			}
			return fmt.Errorf("setup interrupted after %v (last /ping: %s): %w", time.Since(started).Round(time.Millisecond), last, ctx.Err())
		case <-t.C:
		}
		interval = min(2*interval, maxPingInterval)
	}
}

// ping sends one GET /ping and returns the status code.
func (i *Instance) ping(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, i.url+"/ping", nil)
	if err != nil {
		return 0, err
	}
	resp, err := i.b.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Usage returns the cumulative CPU time and current memory of the server's
// process tree: the server, its descendants and any process left in its
// process group. For an already-running server it measures the tree of the
// process found listening on its port, or wraps backend.ErrUsageUnavailable.
func (i *Instance) Usage(ctx context.Context) (backend.Usage, error) {
	if err := ctx.Err(); err != nil {
		return backend.Usage{}, fmt.Errorf("usage of %s: %w", i.name, err)
	}
	root, pgid := i.pid, i.pid
	if i.cmd == nil {
		if i.measured.pid == 0 {
			return backend.Usage{}, fmt.Errorf("usage of %s: %w", i.name, backend.ErrUsageUnavailable)
		}
		root, pgid = i.measured.pid, 0
	}
	before := time.Now()
	all, err := allProcs()
	if err != nil {
		return backend.Usage{}, fmt.Errorf("usage of %s: %w", i.name, err)
	}
	after := time.Now()
	t := tree(all, []int{root}, pgid)
	found := slices.ContainsFunc(t, func(p proc) bool {
		return p.pid == root && p.state != 'Z' && (i.cmd != nil || p.start == i.measured.start)
	})
	if !found {
		if i.cmd == nil {
			return backend.Usage{}, fmt.Errorf("usage of %s: process %d (%s) has gone: %w", i.name, root, i.measured.comm, backend.ErrUsageUnavailable)
		}
		// The leader has exited: wait for the reason.
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-i.done:
			return backend.Usage{}, fmt.Errorf("usage: %w", i.err)
		case <-ctx.Done():
			return backend.Usage{}, fmt.Errorf("usage of %s: %w", i.name, ctx.Err())
		case <-t.C:
			return backend.Usage{}, fmt.Errorf("usage of %s: process %d not found in /proc", i.name, root)
		}
	}
	if i.cmd != nil {
		i.treeMu.Lock()
		i.lastTree = t
		i.treeMu.Unlock()
	}
	cpu, mem := treeUsage(t)
	return backend.Usage{At: before.Add(after.Sub(before) / 2), CPU: cpu, MemoryBytes: mem}, nil
}

// Stop ends the instance and waits until none of its processes is left:
// SIGTERM to the process group and every descendant, up to the grace period
// (shorter if ctx ends), then SIGKILL. It releases the instance's CPUs. It
// is idempotent; for an already-running server it only forgets it.
func (i *Instance) Stop(ctx context.Context) error {
	i.stopOnce.Do(func() { i.stopErr = i.stop(ctx) })
	return i.stopErr
}

func (i *Instance) stop(ctx context.Context) error {
	defer i.b.release(i)
	i.stopping.Store(true)
	if i.cmd == nil {
		i.err = fmt.Errorf("%s: %w", i.name, backend.ErrStopped)
		close(i.done)
		return nil
	}
	select {
	case <-i.done:
	default:
		i.terminate()
		t := time.NewTimer(i.grace)
		select {
		case <-i.done:
		case <-t.C:
			i.logger.Warn("instance ignored SIGTERM; killing", "grace", i.grace)
		case <-ctx.Done():
			i.logger.Warn("stop cancelled; killing", "err", ctx.Err())
		}
		t.Stop()
	}
	killed := i.sweep()

	var errs []error
	t := time.NewTimer(killTimeout)
	defer t.Stop()
	select {
	case <-i.done:
	case <-t.C:
		errs = append(errs, fmt.Errorf("process %d still there %v after SIGKILL", i.pid, killTimeout))
	}
	deadline := time.Now().Add(killTimeout)
	for _, p := range killed {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if alive(p) {
			errs = append(errs, fmt.Errorf("process %d (%s) still there after SIGKILL", p.pid, p.comm))
		}
	}
	i.closeOutput()
	if len(errs) > 0 {
		return fmt.Errorf("stop %s: %w", i.name, errors.Join(errs...))
	}
	i.logger.Info("instance stopped", "pid", i.pid)
	return nil
}

// terminate sends SIGTERM to the process group and to descendants that left
// it, once each.
func (i *Instance) terminate() {
	all, _ := allProcs()
	i.reapMu.Lock()
	defer i.reapMu.Unlock()
	if i.reaped {
		return
	}
	unix.Kill(-i.pid, unix.SIGTERM)
	t := tree(all, []int{i.pid}, i.pid)
	for _, p := range t {
		if p.pgid != i.pid {
			unix.Kill(p.pid, unix.SIGTERM)
		}
	}
	// sweep finds what is left of them even once the leader is reaped:
	// a descendant still dying of the SIGTERM when the leader has exited
	// is killed and waited for, not left for the caller to find.
	i.treeMu.Lock()
	i.lastTree = t
	i.treeMu.Unlock()
}

// sweep kills the whole process tree and returns the processes it killed.
// It first freezes the tree with SIGSTOP, round by round until no new
// process appears, so that nothing can fork away and escape between the scan
// and the kill; then SIGKILL. Processes that left the group are found as
// descendants of the leader or of processes seen in the last scan (the only
// way to find them once the leader has died).
func (i *Instance) sweep() []proc {
	known := map[int]proc{}
	i.treeMu.Lock()
	for _, p := range i.lastTree {
		if p.pid != i.pid && alive(p) {
			known[p.pid] = p
		}
	}
	i.treeMu.Unlock()

	i.reapMu.Lock() // keep the leader unreaped, and so the group id ours, until the end
	defer i.reapMu.Unlock()
	pgid := 0
	roots := []int{}
	if !i.reaped {
		pgid = i.pid
		roots = append(roots, i.pid)
	}
	for range 10 {
		if pgid != 0 {
			unix.Kill(-pgid, unix.SIGSTOP)
		}
		all, err := allProcs()
		if err != nil {
			break
		}
		for pid := range known {
			roots = append(roots, pid)
		}
		fresh := 0
		for _, p := range tree(all, roots, pgid) {
			if _, ok := known[p.pid]; !ok {
				known[p.pid] = p
				unix.Kill(p.pid, unix.SIGSTOP)
				fresh++
			}
		}
		if fresh == 0 {
			break
		}
	}
	if pgid != 0 {
		unix.Kill(-pgid, unix.SIGKILL)
	}
	out := make([]proc, 0, len(known))
	for _, p := range known {
		unix.Kill(p.pid, unix.SIGKILL)
		if p.pid != i.pid {
			out = append(out, p)
		}
	}
	return out
}

// stopAfterFailure stops an instance whose launch failed, with the grace
// period even if ctx was cancelled.
func (i *Instance) stopAfterFailure(ctx context.Context) {
	if err := i.Stop(context.WithoutCancel(ctx)); err != nil {
		i.logger.Error("stop after failed launch", "err", err)
	}
}
