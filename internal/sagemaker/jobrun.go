package sagemaker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/backend"
	"github.com/inferscale/inferscale/internal/backend/local"
	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/recommend"
	"github.com/inferscale/inferscale/internal/store"
)

// The job runner: RunJobs starts queued jobs, at most
// JobOptions.MaxConcurrentJobs at once, in creation order, and records
// their progress in the store as it happens (IN_PROGRESS, each step as it
// starts and finishes, the final status). Jobs found IN_PROGRESS when it
// starts were interrupted by a crash or a shutdown: they are resumed,
// keeping their finished steps and running the others again. Jobs found
// STOPPING become STOPPED.

// JobOptions configures how a Service runs recommendation jobs. The zero
// value works.
type JobOptions struct {
	// Backend runs the model servers. Nil means a local backend
	// (local.New), created by RunJobs and closed when it returns.
	Backend backend.Launcher
	// Catalog knows the instance types and their prices; nil means
	// catalog.Default().
	Catalog *catalog.Catalog
	// Tuning sets how long each part of a benchmark runs.
	Tuning recommend.Tuning
	// MaxConcurrentJobs is how many jobs run at once (default
	// DefaultMaxConcurrentJobs); the others wait, PENDING.
	MaxConcurrentJobs int
	// SampleModelCommand runs the built-in sample model server
	// (SampleModelImage): an executable and the arguments before "serve".
	// Nil means this executable with "model-server", which is right for the
	// inferscale binary (a test binary must name a built one).
	SampleModelCommand []string
	// WorkDir holds each running job's files (extracted model data,
	// downloaded payloads), removed when the job ends. Empty means a
	// directory under os.TempDir().
	WorkDir string
	// Now is the clock of job timestamps; nil means time.Now.
	Now func() time.Time
}

// DefaultMaxConcurrentJobs is how many jobs run at once unless JobOptions
// say otherwise: one per 8 CPUs of this host, at least one. A job can run
// several benchmarks at once itself (ResourceLimit.MaxParallelOfTests).
func DefaultMaxConcurrentJobs() int { return max(1, runtime.NumCPU()/8) }

func (o *JobOptions) catalog() (*catalog.Catalog, error) {
	if o.Catalog != nil {
		return o.Catalog, nil
	}
	return catalog.Default()
}

// jobManager is the state the job operations share with RunJobs.
type jobManager struct {
	initOnce sync.Once
	wake     chan struct{} // a job was queued or ended

	mu      sync.Mutex
	running bool                                  // RunJobs is running
	active  map[store.Key]context.CancelCauseFunc // jobs started, by key
	broken  map[store.Key]bool                    // jobs whose end could not be stored: not restarted
}

func (s *Service) jobManager() *jobManager {
	m := &s.jobs
	m.initOnce.Do(func() {
		m.wake = make(chan struct{}, 1)
		m.active = map[store.Key]context.CancelCauseFunc{}
		m.broken = map[store.Key]bool{}
	})
	return m
}

// wakeJobs tells RunJobs to look for jobs to start.
func (s *Service) wakeJobs() {
	select {
	case s.jobManager().wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

var errStopRequested = errors.New("stopped by request")

// jobRuntime is what running jobs share.
type jobRuntime struct {
	backend *sharedBackend
	catalog *catalog.Catalog
	tuning  recommend.Tuning
	max     int
	sample  []string
	workDir string
	now     func() time.Time
	log     *slog.Logger
}

// stamp is the time of a status change, to the millisecond that the API
// shows, so that time filters agree with it.
func (rt *jobRuntime) stamp() time.Time { return rt.now().Truncate(time.Millisecond).UTC() }

// RunJobs runs recommendation jobs until ctx ends, then stops the running
// ones (their instances are stopped) and returns when they have. Jobs it
// interrupts that way stay IN_PROGRESS and are resumed by the next RunJobs,
// in this process or after a restart. Only one RunJobs may run at a time.
func (s *Service) RunJobs(ctx context.Context) error {
	m := s.jobManager()
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("run jobs: already running")
	}
	m.running = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
	}()

	rt, closeRuntime, err := s.newJobRuntime()
	if err != nil {
		return err
	}
	defer closeRuntime()

	if err := s.finishStopping(ctx, rt); err != nil {
		rt.log.Error("stop jobs left STOPPING", "err", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait() // before closeRuntime: jobs stop their instances first
	for {
		s.startJobs(ctx, rt, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		}
	}
}

func (s *Service) newJobRuntime() (*jobRuntime, func(), error) {
	o := s.Jobs
	rt := &jobRuntime{tuning: o.Tuning, max: o.MaxConcurrentJobs, sample: o.SampleModelCommand, workDir: o.WorkDir, now: o.Now, log: s.Logger}
	if rt.log == nil {
		rt.log = slog.New(slog.DiscardHandler)
	}
	if rt.max <= 0 {
		rt.max = DefaultMaxConcurrentJobs()
	}
	if rt.now == nil {
		rt.now = time.Now
	}
	if rt.workDir == "" {
		rt.workDir = filepath.Join(os.TempDir(), "inferscale-jobs")
	}
	if rt.sample == nil {
		self, err := os.Executable()
		if err != nil {
			return nil, nil, fmt.Errorf("run jobs: find the sample model server: %w", err)
		}
		rt.sample = []string{self, "model-server"}
	}
	var err error
	if rt.catalog, err = o.catalog(); err != nil {
		return nil, nil, fmt.Errorf("run jobs: %w", err)
	}
	be := o.Backend
	closeBackend := func() {}
	if be == nil {
		lb, err := local.New(rt.log)
		if err != nil {
			return nil, nil, fmt.Errorf("run jobs: %w", err)
		}
		be = lb
		closeBackend = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := lb.Close(ctx); err != nil {
				rt.log.Error("close local backend", "err", err)
			}
		}
	}
	rt.backend = &sharedBackend{Launcher: be}
	return rt, closeBackend, nil
}

// finishStopping ends jobs that were being stopped when the server stopped.
func (s *Service) finishStopping(ctx context.Context, rt *jobRuntime) error {
	rs, err := s.Store.ListByStatus(ctx, kindJob.name, recommend.StatusStopping)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		t := rt.stamp()
		_, err := s.mutateJob(ctx, r.Key, func(d *jobDoc) error {
			if d.Status == recommend.StatusStopping {
				d.Status, d.CompletionTime, d.LastModifiedTime = recommend.StatusStopped, awstime.At(t), awstime.Timestamp{Time: t}
			}
			return nil
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startJobs starts queued jobs while fewer than rt.max run: first those a
// restart interrupted, then the others in creation order.
func (s *Service) startJobs(ctx context.Context, rt *jobRuntime, wg *sync.WaitGroup) {
	if ctx.Err() != nil {
		return
	}
	rs, err := s.Store.ListByStatus(ctx, kindJob.name, recommend.StatusInProgress, recommend.StatusPending)
	if err != nil {
		rt.log.Error("list jobs to run", "err", err)
		return
	}
	sort.SliceStable(rs, func(i, j int) bool {
		return rs[i].Status == recommend.StatusInProgress && rs[j].Status != recommend.StatusInProgress
	})
	m := s.jobManager()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		if len(m.active) >= rt.max {
			return
		}
		if _, ok := m.active[r.Key]; ok || m.broken[r.Key] {
			continue
		}
		jobCtx, cancel := context.WithCancelCause(ctx)
		m.active[r.Key] = cancel
		wg.Add(1)
		go func(key store.Key) {
			defer wg.Done()
			s.runJob(ctx, jobCtx, rt, key)
			cancel(nil)
			m.mu.Lock()
			delete(m.active, key)
			m.mu.Unlock()
			s.wakeJobs()
		}(r.Key)
	}
}

// runJob runs one job to its end and stores the outcome. ctx is RunJobs's;
// jobCtx is cancelled with errStopRequested by StopInferenceRecommendationsJob.
func (s *Service) runJob(ctx, jobCtx context.Context, rt *jobRuntime, key store.Key) {
	log := rt.log.With("job", key.Name, "account", key.Account, "region", key.Region)
	runnable := true
	d, err := s.mutateJob(ctx, key, func(d *jobDoc) error {
		t := rt.stamp()
		switch d.Status {
		case recommend.StatusPending:
			d.Status, d.LastModifiedTime = recommend.StatusInProgress, awstime.Timestamp{Time: t}
		case recommend.StatusInProgress: // resumed after a restart
		case recommend.StatusStopping: // stopped before it started
			d.Status, d.CompletionTime, d.LastModifiedTime = recommend.StatusStopped, awstime.At(t), awstime.Timestamp{Time: t}
			runnable = false
		default: // stopped while queued
			runnable = false
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			log.Error("start job", "err", err)
			s.markBroken(key)
		}
		return
	}
	if !runnable {
		return
	}
	log.Info("job started")

	in := d.runInput()
	steps, err := s.jobSteps(ctx, d.JobArn)
	if err != nil {
		s.endJob(ctx, jobCtx, rt, key, recommend.StatusFailed, fmt.Sprintf("read the job's steps: %v", err))
		return
	}
	done := map[int]recommend.StepResult{}
	for _, st := range steps {
		if st.Status == recommend.StatusCompleted || st.Status == recommend.StatusFailed {
			done[st.Index] = st
		}
	}
	plans, err := recommend.Plan(&in, rt.catalog)
	if err != nil {
		s.endJob(ctx, jobCtx, rt, key, recommend.StatusFailed, err.Error())
		return
	}
	// Every step to run is listed from the start, PENDING.
	for _, p := range plans {
		if _, ok := done[p.Index]; !ok {
			if err := s.putStep(ctx, d.JobArn, planned(p, recommend.StatusPending, time.Time{})); err != nil {
				log.Error("store step", "step", p.Index, "err", err)
			}
		}
	}

	prepared, err := d.Container.prepare(jobCtx, filepath.Join(rt.workDir, jobDir(key)), rt.sample)
	if err != nil {
		s.endJob(ctx, jobCtx, rt, key, recommend.StatusFailed, fmt.Sprintf("prepare the model: %v", err))
		return
	}
	defer func() {
		if err := prepared.cleanup(); err != nil {
			log.Warn("remove job files", "err", err)
		}
	}()

	runner := &recommend.Runner{Backend: rt.backend, Catalog: rt.catalog, Region: key.Region, Logger: log, Tuning: rt.tuning, Now: rt.now}
	progress := func(p recommend.Progress) {
		if p.Stage != "launch" || p.Step < 1 || p.Step > len(plans) {
			return
		}
		if err := s.putStep(ctx, d.JobArn, planned(plans[p.Step-1], recommend.StatusInProgress, rt.now())); err != nil {
			log.Error("store step", "step", p.Step-1, "err", err)
		}
	}
	stepDone := func(st recommend.StepResult) {
		if st.Status == recommend.StatusStopped && ctx.Err() != nil && !errors.Is(context.Cause(jobCtx), errStopRequested) {
			return // shutting down: the step runs again when the job resumes
		}
		if err := s.putStep(ctx, d.JobArn, st); err != nil {
			log.Error("store step", "step", st.Index, "err", err)
		}
	}
	rep, err := runner.Run(jobCtx, recommend.Job{Input: in, Model: prepared.model, Done: done}, progress, stepDone)
	switch {
	case err != nil:
		s.endJob(ctx, jobCtx, rt, key, recommend.StatusFailed, err.Error())
	default:
		s.endJob(ctx, jobCtx, rt, key, rep.Status, rep.FailureReason)
	}
}

// planned is the stored form of a step that has not finished.
func planned(p recommend.StepPlan, status string, start time.Time) recommend.StepResult {
	return recommend.StepResult{Index: p.Index, InstanceType: p.InstanceType.Name, Environment: p.Environment, Status: status, Start: start}
}

// jobDir names a job's directory under the work directory.
func jobDir(k store.Key) string {
	h := sha256.Sum256([]byte(k.Account + "/" + k.Region + "/" + k.Name))
	return k.Name + "-" + hex.EncodeToString(h[:6])
}

// endJob stores a job's final status. A job stopped by request is STOPPED
// whatever it reached; a job interrupted by shutdown is left IN_PROGRESS, to
// be resumed.
func (s *Service) endJob(ctx, jobCtx context.Context, rt *jobRuntime, key store.Key, status, reason string) {
	log := rt.log.With("job", key.Name, "account", key.Account, "region", key.Region)
	stopped := errors.Is(context.Cause(jobCtx), errStopRequested)
	if !stopped && ctx.Err() != nil {
		log.Info("job interrupted by shutdown; it resumes when the server starts again")
		return
	}
	if stopped {
		status, reason = recommend.StatusStopped, ""
	}
	reason = recommend.FailureReason(reason)
	t := rt.stamp()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := s.mutateJob(wctx, key, func(d *jobDoc) error {
		if d.Status == recommend.StatusStopping {
			status, reason = recommend.StatusStopped, ""
		}
		d.Status, d.FailureReason = status, reason
		d.CompletionTime, d.LastModifiedTime = awstime.At(t), awstime.Timestamp{Time: t}
		return nil
	})
	if err != nil {
		log.Error("store the job's end", "status", status, "err", err)
		s.markBroken(key)
		return
	}
	log.Info("job ended", "status", status, "reason", reason)
}

// markBroken keeps RunJobs from restarting a job whose state it cannot
// store, over and over; it is tried again after a restart.
func (s *Service) markBroken(key store.Key) {
	m := s.jobManager()
	m.mu.Lock()
	m.broken[key] = true
	m.mu.Unlock()
}

// sharedBackend lets jobs that run at once share one backend: the load
// generator stays pinned while any job wants it pinned.
type sharedBackend struct {
	backend.Launcher
	mu   sync.Mutex
	pins int
}

type loadGeneratorPinner interface {
	PinLoadGenerator() error
	UnpinLoadGenerator() error
}

// PinLoadGenerator pins the load generator for the first job that asks.
func (b *sharedBackend) PinLoadGenerator() error {
	p, ok := b.Launcher.(loadGeneratorPinner)
	if !ok {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pins++
	if b.pins > 1 {
		return nil
	}
	if err := p.PinLoadGenerator(); err != nil {
		b.pins--
		return err
	}
	return nil
}

// UnpinLoadGenerator unpins it when the last job that asked is done.
func (b *sharedBackend) UnpinLoadGenerator() error {
	p, ok := b.Launcher.(loadGeneratorPinner)
	if !ok {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pins--; b.pins > 0 {
		return nil
	}
	return p.UnpinLoadGenerator()
}

// Fits reports whether an instance of cpus vCPUs gets CPUs of its own.
func (b *sharedBackend) Fits(cpus int) bool {
	f, ok := b.Launcher.(interface{ Fits(int) bool })
	return ok && f.Fits(cpus)
}
