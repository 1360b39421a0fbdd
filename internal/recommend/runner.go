package recommend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/inferscale/inferscale/internal/backend"
	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/loadgen"
)

// Runner runs recommendation jobs: for each step it launches an instance on
// the backend, times its setup, warms it up, loads it, and stops it.
type Runner struct {
	Backend backend.Launcher
	Catalog *catalog.Catalog
	Region  string // for prices; DefaultRegion when empty
	Logger  *slog.Logger
	Tuning  Tuning
	// Now is the clock for timestamps; time.Now when nil.
	Now func() time.Time
}

// DefaultRegion prices instances when a Runner names no region.
const DefaultRegion = "us-east-1"

// Tuning sets how long each part of a benchmark runs. The zero value gives
// the defaults, which keep a Default step near half a minute.
type Tuning struct {
	Warmup          time.Duration // closed loop at 2 users before measuring (default 2s)
	Level           time.Duration // each level of the Default ramp (default 4s)
	Confirm         time.Duration // the open-loop confirmation (default 6s)
	ConfirmAttempts int           // confirmation runs before giving up (default 6)
	Window          time.Duration // Advanced jobs: the window stopping conditions look at (default 5s)
	RequestTimeout  time.Duration // per request (default 60s, SageMaker's model timeout)
}

func (t Tuning) withDefaults() Tuning {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Warmup, 2*time.Second)
	def(&t.Level, 4*time.Second)
	def(&t.Confirm, 6*time.Second)
	def(&t.Window, 5*time.Second)
	def(&t.RequestTimeout, 60*time.Second)
	if t.ConfirmAttempts <= 0 {
		t.ConfirmAttempts = 6
	}
	return t
}

// Model is what a job benchmarks: a server executable started once per
// step, or an already-running server, and the payloads to send it.
type Model struct {
	Command  string   // started with Args (default "serve") and Env
	Args     []string //
	Env      []string // KEY=VALUE, before each step's environment parameters
	URL      string   // an already-running server instead of Command
	Payloads []loadgen.Payload
}

// Job is one recommendation job to run.
type Job struct {
	Input JobInput
	Model Model
	// Done holds steps finished by an earlier run of the same job (after a
	// restart); they are kept and not run again.
	Done map[int]StepResult
}

// StepResult is the outcome of one benchmark.
type StepResult struct {
	Plan          StepPlan               `json:"-"`
	Index         int                    `json:"index"`
	InstanceType  string                 `json:"instanceType"`
	Environment   []EnvironmentParameter `json:"environment,omitempty"`
	Status        string                 `json:"status"`
	FailureReason string                 `json:"failureReason,omitempty"`
	Warnings      []string               `json:"warnings,omitempty"`
	Metrics       *Metrics               `json:"metrics,omitempty"`
	InstanceCount int                    `json:"instanceCount,omitempty"`
	Start         time.Time              `json:"start"`
	End           time.Time              `json:"end"`
	SetupTime     time.Duration          `json:"setupTimeNs"`
	Quantile      float64                `json:"quantile"`
	Points        []Point                `json:"points,omitempty"`  // the load curve: ramp levels or windows, then confirmations
	Best          *Point                 `json:"best,omitempty"`    // the load the metrics were read at
	Verdict       string                 `json:"verdict,omitempty"` // how the load search ended
	NoPrice       string                 `json:"noPrice,omitempty"` // why cost fields are absent
}

// Curve returns what the scaling recommendation reads off the step: every
// load it measured except open-loop rates the model did not sustain.
func (s StepResult) Curve(vcpus int) StepCurve {
	c := StepCurve{VCPUs: vcpus, SetupTime: s.SetupTime, Quantile: s.Quantile}
	for _, p := range s.Points {
		if p.Rejected == "" {
			c.Points = append(c.Points, p)
		}
	}
	if s.Metrics != nil {
		c.MaxInvocations = s.Metrics.MaxInvocations / max(1, s.InstanceCount)
		c.ModelLatency = s.Metrics.ModelLatency
	}
	return c
}

// Progress is a live report from a running step.
type Progress struct {
	Step, Steps int
	Label       string // instance type and environment
	Stage       string // "launch", "warmup", "ramp", "confirm", "load"
	Users       int
	Rate        float64 // open loop: offered requests/s
	Throughput  float64 // last second (Done: the stage's), successful requests/s
	P95         time.Duration
	Second      int
	// Done marks the result of a load stage as the step judges it: a
	// ramp level or confirmation less its first second, or an Advanced
	// run's window.
	Done bool
}

// Report is the outcome of a job.
type Report struct {
	Status        string
	FailureReason string
	Start, End    time.Time
	Steps         []StepResult // in plan order
}

// Run runs job to completion, calling progress with live readings (may be
// nil) and done as each step finishes (may be nil; called from one
// goroutine at a time). It returns an error only when the job cannot start
// (an invalid request); failures of steps are in the report. Cancelling ctx
// stops the job: running steps end, their instances are stopped, and the
// report says STOPPED.
func (r *Runner) Run(ctx context.Context, job Job, progress func(Progress), done func(StepResult)) (*Report, error) {
	if err := job.Input.Validate(); err != nil {
		return nil, err
	}
	plans, err := Plan(&job.Input, r.Catalog)
	if err != nil {
		return nil, err
	}
	if len(job.Model.Payloads) == 0 {
		return nil, invalid("ContainerConfig.PayloadConfig.SamplePayloadUrl", "no sample payloads: at least one is needed to load the model")
	}
	if job.Model.Command == "" && job.Model.URL == "" {
		return nil, errors.New("no model to benchmark: name a server command or a URL")
	}
	tuning := r.Tuning.withDefaults()
	now := r.now()
	rep := &Report{Start: now, Steps: make([]StepResult, len(plans))}

	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deadline time.Duration
	if s := job.Input.InputConfig.JobDurationInSeconds; s > 0 {
		deadline = time.Duration(s) * time.Second
		var c context.CancelFunc
		jobCtx, c = context.WithTimeoutCause(jobCtx, deadline, errJobDuration)
		defer c()
	}

	// Keep the load generator off the instances' CPUs where the host has
	// CPUs to spare (the local backend); it follows as instances come and go.
	if p, ok := r.Backend.(interface {
		PinLoadGenerator() error
		UnpinLoadGenerator() error
	}); ok {
		if err := p.PinLoadGenerator(); err != nil {
			r.logger().Warn("pin load generator", "err", err)
		} else {
			defer p.UnpinLoadGenerator()
		}
	}

	parallel := 1
	if rl := job.Input.InputConfig.ResourceLimit; rl != nil && rl.MaxParallelOfTests > 1 {
		parallel = rl.MaxParallelOfTests
	}
	var (
		mu  sync.Mutex // guards rep.Steps and calls to done
		wg  sync.WaitGroup
		sem = make(chan struct{}, parallel)
	)
	finish := func(s StepResult) {
		mu.Lock()
		defer mu.Unlock()
		rep.Steps[s.Index] = s
		if done != nil {
			done(s)
		}
	}
	for _, p := range plans {
		if prev, ok := job.Done[p.Index]; ok {
			prev.Plan = p
			rep.Steps[p.Index] = prev
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-jobCtx.Done():
		}
		if jobCtx.Err() != nil {
			finish(r.notRun(p, jobCtx))
			continue
		}
		// More than one step at once only where the host has room for
		// their CPUs; otherwise they would measure each other.
		if parallel > 1 && !r.fits(p.InstanceType.VCPUs) {
			wg.Wait()
		}
		wg.Add(1)
		launched := make(chan struct{})
		go func(p StepPlan) {
			defer wg.Done()
			defer func() { <-sem }()
			finish(r.runStep(jobCtx, job, p, len(plans), tuning, progress, sync.OnceFunc(func() { close(launched) })))
		}(p)
		// The next step's fit is judged once this one holds its CPUs.
		<-launched
	}
	wg.Wait()

	rep.End = r.now()
	rep.Status, rep.FailureReason = jobOutcome(ctx, jobCtx, rep.Steps)
	return rep, nil
}

var errJobDuration = errors.New("the job exceeded InputConfig.JobDurationInSeconds")

func (r *Runner) fits(cpus int) bool {
	if f, ok := r.Backend.(interface{ Fits(int) bool }); ok {
		return f.Fits(cpus)
	}
	return false
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Runner) region() string {
	if r.Region != "" {
		return r.Region
	}
	return DefaultRegion
}

// jobOutcome is the job's status: STOPPED when the caller cancelled,
// COMPLETED when at least one step completed, FAILED otherwise.
func jobOutcome(parent, job context.Context, steps []StepResult) (string, string) {
	if parent.Err() != nil {
		return StatusStopped, "stopped by request"
	}
	var reasons []string
	for _, s := range steps {
		if s.Status == StatusCompleted {
			return StatusCompleted, ""
		}
		reasons = append(reasons, fmt.Sprintf("%s: %s", s.Plan.Label(), s.FailureReason))
	}
	msg := "every benchmark failed"
	if errors.Is(context.Cause(job), errJobDuration) {
		msg = errJobDuration.Error()
	}
	for _, r := range reasons {
		msg += "; " + r
	}
	return StatusFailed, FailureReason(msg)
}

// MaxFailureReason is the most characters a job's FailureReason has (the
// API model's limit).
const MaxFailureReason = 1024

// FailureReason is msg cut to MaxFailureReason characters, ending in
// "..." when cut, and never inside a character.
func FailureReason(msg string) string {
	if utf8.RuneCountInString(msg) <= MaxFailureReason {
		return msg
	}
	n := 0
	for i := range msg {
		if n == MaxFailureReason-3 {
			return msg[:i] + "..."
		}
		n++
	}
	return msg
}

func (r *Runner) notRun(p StepPlan, ctx context.Context) StepResult {
	s := newStep(p, r.now())
	s.Status = StatusStopped
	s.FailureReason = "not run: " + context.Cause(ctx).Error()
	if errors.Is(context.Cause(ctx), errJobDuration) {
		s.Status = StatusFailed
	}
	return s
}

func newStep(p StepPlan, now time.Time) StepResult {
	return StepResult{Plan: p, Index: p.Index, InstanceType: p.InstanceType.Name, Environment: p.Environment, Start: now, End: now, InstanceCount: 1}
}

// runStep runs one benchmark; it never leaves its instance running.
// launched is called once the instance holds its CPUs, or the launch failed.
func (r *Runner) runStep(ctx context.Context, job Job, p StepPlan, steps int, t Tuning, progress func(Progress), launched func()) StepResult {
	defer launched()
	s := newStep(p, r.now())
	log := r.logger().With("step", p.Index, "instance_type", p.InstanceType.Name)
	report := func(pr Progress) {
		if progress != nil {
			pr.Step, pr.Steps, pr.Label = p.Index+1, steps, p.Label()
			progress(pr)
		}
	}
	fail := func(format string, args ...any) StepResult {
		s.Status = StatusFailed
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), errJobDuration) {
				s.FailureReason = errJobDuration.Error()
			} else {
				s.Status = StatusStopped
				s.FailureReason = "stopped by request"
			}
		} else {
			s.FailureReason = fmt.Sprintf(format, args...)
		}
		s.End = r.now()
		log.Warn("benchmark failed", "reason", s.FailureReason)
		return s
	}

	report(Progress{Stage: "launch"})
	var setupTimeout time.Duration // the backend's default: models may take long to load
	if job.Model.URL != "" {
		setupTimeout = 15 * time.Second // a server that already runs answers at once or not at all
	}
	inst, err := r.Backend.Launch(ctx, backend.Spec{
		Name:         p.Label(),
		Command:      job.Model.Command,
		Args:         job.Model.Args,
		Env:          append(append([]string(nil), job.Model.Env...), p.Env()...),
		URL:          job.Model.URL,
		CPUs:         p.InstanceType.VCPUs,
		MemoryBytes:  p.InstanceType.MemoryBytes(),
		SetupTimeout: setupTimeout,
	})
	launched()
	if err != nil {
		return fail("launch: %v", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := inst.Stop(stopCtx); err != nil {
			log.Warn("stop instance", "err", err)
		}
	}()
	s.SetupTime = inst.SetupTime()
	s.Warnings = inst.Warnings()
	log.Info("instance ready", "setup", s.SetupTime, "url", inst.URL())

	m := &meter{
		inst:    inst,
		memory:  p.InstanceType.MemoryBytes(),
		request: loadgen.Request{URL: inst.URL() + "/invocations", Payloads: job.Model.Payloads, Timeout: t.RequestTimeout},
		report:  report,
	}
	limits := LimitsFor(job.Input.StoppingConditions)
	s.Quantile = limits.Quantile

	// Warm up, and find out early if the model cannot answer at all.
	warm, err := m.run(ctx, "warmup", loadgen.Options{Users: loadgen.ConstantUsers(2, t.Warmup)}, nil)
	if err != nil {
		return fail("warm up: %v", err)
	}
	if w := warm.point(0, len(warm.samples)); w.ErrorRate > 0.5 || w.Sent == 0 {
		return fail("the model failed %.0f%% of warm-up requests: %s", 100*w.ErrorRate, firstNonEmpty(w.FirstError, "no response"))
	}

	var best Point
	var verdict string
	if job.Input.JobType == JobTypeAdvanced {
		best, verdict, err = r.advanced(ctx, m, job.Input, limits, t, &s)
	} else {
		best, verdict, err = ramp(m.measure(ctx), limits, t, &s)
	}
	s.Verdict = verdict
	if err != nil {
		return fail("%v", err)
	}
	if ctx.Err() != nil {
		return fail("interrupted")
	}

	if sc := job.Input.StoppingConditions; job.Input.JobType == JobTypeAdvanced && sc != nil && sc.MaxInvocations > 0 {
		s.InstanceCount = InstancesFor(sc.MaxInvocations, best.Throughput*60)
	}
	var price *float64
	if v, ok := p.InstanceType.Price(r.region()); ok {
		price = &v
	} else {
		s.NoPrice = r.Catalog.NoPriceReason(p.InstanceType, r.region())
	}
	metrics := MetricsFor(best, limits, price, s.InstanceCount, s.SetupTime)
	s.Metrics = &metrics
	s.Best = &best
	s.Status = StatusCompleted
	s.End = r.now()
	log.Info("benchmark done", "max_invocations", metrics.MaxInvocations, "model_latency_us", metrics.ModelLatency, "verdict", verdict)
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// measureFunc runs one load stage and returns what it measured, less the
// first second, which settles the new users or arrivals.
type measureFunc func(stage string, o loadgen.Options) (Point, error)

// measure is m's measureFunc.
func (m *meter) measure(ctx context.Context) measureFunc {
	return func(stage string, o loadgen.Options) (Point, error) {
		run, err := m.run(ctx, stage, o, nil)
		if err != nil {
			return Point{}, err
		}
		p := run.point(1, len(run.samples))
		var users int
		if o.Users != nil {
			users = o.Users.Users(0)
		}
		var rate float64
		if o.Arrivals != nil {
			rate = o.Arrivals.Rate
		}
		m.done(stage, users, rate, p)
		return p, nil
	}
}

// done reports a stage's result.
func (m *meter) done(stage string, users int, rate float64, p Point) {
	if m.report != nil {
		m.report(Progress{Stage: stage, Users: users, Rate: rate, Throughput: p.Throughput, P95: p.P95, Done: true})
	}
}

// ramp runs a Default job's search: closed-loop levels of doubling users
// until the throughput levels off, then open-loop confirmation at the best
// level's throughput, lowered until a rate is sustained.
func ramp(measure measureFunc, l Limits, t Tuning, s *StepResult) (Point, string, error) {
	var levels []Point
	users := 1
	var v RampVerdict
	for {
		lv, err := measure("ramp", loadgen.Options{Users: loadgen.ConstantUsers(users, t.Level)})
		if err != nil {
			return Point{}, "", err
		}
		lv.Users, lv.Stage = users, "ramp"
		levels = append(levels, lv)
		s.Points = append(s.Points, lv)
		if v = NextRamp(levels, l); v.Done {
			break
		}
		users = v.NextUsers
	}
	if v.Best < 0 {
		return Point{}, v.Reason, fmt.Errorf("no load level met the limits: %s", v.Reason)
	}
	rate := levels[v.Best].Throughput
	verdict := v.Reason
	for attempt := 1; ; attempt++ {
		c, err := measure("confirm", loadgen.Options{Arrivals: &loadgen.Arrivals{Rate: rate}, Duration: t.Confirm})
		if err != nil {
			return Point{}, verdict, err
		}
		c.OfferedRate, c.Stage = rate, "confirm"
		ok, next, why := ConfirmVerdict(c, levels[v.Best], l)
		c.Rejected = why
		s.Points = append(s.Points, c)
		if ok {
			return c, fmt.Sprintf("%s; confirmed open loop at %.1f req/s", verdict, rate), nil
		}
		verdict += fmt.Sprintf("; open loop at %.1f req/s not sustained (%s)", rate, why)
		if attempt == t.ConfirmAttempts || next <= 0 {
			// The closed loop's throughput is no capacity when no open
			// loop at or below it holds: nothing is reported rather than
			// a rate the server was just seen not to sustain.
			return Point{}, verdict, fmt.Errorf("no open-loop rate was sustained in %d attempts, from %.1f down to %.1f req/s: %s",
				attempt, levels[v.Best].Throughput, rate, why)
		}
		rate = NextConfirmRate(attempt, rate, next)
	}
}

// advanced runs the job's traffic pattern once, judging each window against
// the stopping conditions.
func (r *Runner) advanced(ctx context.Context, m *meter, in JobInput, l Limits, t Tuning, s *StepResult) (Point, string, error) {
	tp := in.InputConfig.TrafficPattern
	var sched loadgen.Schedule
	if tp.TrafficType == TrafficStairs {
		st := tp.Stairs
		sched = loadgen.Stairs(time.Duration(st.DurationInSeconds)*time.Second, st.NumberOfSteps, st.UsersPerStep)
	} else {
		phases := make([]loadgen.Phase, len(tp.Phases))
		for i, ph := range tp.Phases {
			phases[i] = loadgen.Phase{InitialUsers: ph.InitialNumberOfUsers, SpawnRatePerMinute: ph.SpawnRate, Duration: time.Duration(ph.DurationInSeconds) * time.Second}
		}
		sched = loadgen.Phases(phases...)
	}
	window := max(1, int(t.Window/time.Second))
	var windows []Point
	var stopReason string
	run, err := m.run(ctx, "load", loadgen.Options{Users: sched}, func(ms *measured) bool {
		n := len(ms.samples)
		if n%window != 0 {
			return false
		}
		w := ms.point(n-window, n)
		w.Users, w.Stage = ms.samples[n-1].iv.Users, "window"
		windows = append(windows, w)
		m.done("load", w.Users, 0, w)
		stop, why := AdvancedStop(windows, in.StoppingConditions, l)
		if stop {
			stopReason = why
		}
		return stop
	})
	if err != nil {
		return Point{}, "", err
	}
	if n := len(run.samples); stopReason == "" {
		if from := TailWindow(n, window); from >= 0 {
			w := run.point(from, n)
			w.Users, w.Stage = run.samples[n-1].iv.Users, "window"
			windows = append(windows, w)
			m.done("load", w.Users, 0, w)
		}
	}
	s.Points = append(s.Points, windows...)
	verdict := "ran the whole traffic pattern"
	if stopReason != "" {
		verdict = "stopped early: " + stopReason
	}
	b := BestWindow(windows, l)
	if b < 0 {
		if len(windows) == 0 {
			return Point{}, verdict, fmt.Errorf("the traffic pattern is shorter than one %s window", t.Window)
		}
		_, why := l.Meets(windows[0])
		return Point{}, verdict, fmt.Errorf("no window met the limits: %s", why)
	}
	return windows[b], verdict, nil
}

// meter runs loads against one instance and reads its usage each second.
type meter struct {
	inst    backend.Instance
	memory  int64
	request loadgen.Request
	report  func(Progress)
}

type sample struct {
	iv    loadgen.Interval
	usage backend.Usage
	ok    bool // usage was read
}

type measured struct {
	samples  []sample
	start    backend.Usage
	startOK  bool
	memory   int64
	firstErr string
}

// run runs one load. each, if set, sees the measurements so far after every
// second and may end the run early by returning true.
func (m *meter) run(ctx context.Context, stage string, o loadgen.Options, each func(*measured) bool) (*measured, error) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &measured{memory: m.memory}
	if u, err := m.inst.Usage(ctx); err == nil {
		out.start, out.startOK = u, true
	}
	o.Request = m.request
	o.OnInterval = func(iv loadgen.Interval) {
		smp := sample{iv: iv}
		if out.startOK {
			if u, err := m.inst.Usage(ctx); err == nil {
				smp.usage, smp.ok = u, true
			}
		}
		out.samples = append(out.samples, smp)
		if m.report != nil {
			thr := 0.0
			if iv.Length > 0 {
				thr = float64(iv.Succeeded) / iv.Length.Seconds()
			}
			m.report(Progress{Stage: stage, Users: iv.Users, Rate: iv.OfferedRate, Throughput: thr, P95: iv.P95, Second: iv.Second + 1})
		}
		if each != nil && each(out) {
			cancel()
		}
	}
	res, err := loadgen.Run(runCtx, o)
	if err != nil {
		return nil, fmt.Errorf("%s load: %w", stage, err)
	}
	out.firstErr = res.FirstError
	return out, nil
}

// point aggregates samples [from, to) into a Point; from is clamped so that
// at least one sample is used.
func (ms *measured) point(from, to int) Point {
	if from >= to {
		from = max(0, to-1)
	}
	p := pointOf(ms.samples, from, to, ms.memory, ms.start)
	if p.ErrorRate > 0 {
		p.FirstError = ms.firstErr
	}
	return p
}

// pointOf aggregates samples [from, to). CPU is measured between the usage
// before sample from (or start) and the usage at sample to-1.
func pointOf(samples []sample, from, to int, memory int64, start backend.Usage) Point {
	p := Point{CPU: math.NaN(), Memory: math.NaN()}
	if to <= from || to > len(samples) {
		return p
	}
	h := hdrhistogram.New(1, int64(10*time.Minute/time.Microsecond), 3)
	var ok, failed int64
	for _, smp := range samples[from:to] {
		iv := smp.iv
		p.Duration += iv.Length
		p.Sent += iv.Sent
		ok += iv.Succeeded
		for _, n := range iv.Errors {
			failed += n
		}
		if iv.Latency != nil {
			h.Merge(iv.Latency)
		}
	}
	if p.Duration > 0 {
		p.Throughput = float64(ok) / p.Duration.Seconds()
	}
	if ok+failed > 0 {
		p.ErrorRate = float64(failed) / float64(ok+failed)
	}
	q := func(q float64) time.Duration { return time.Duration(h.ValueAtQuantile(q*100)) * time.Microsecond }
	p.P50, p.P95, p.P99 = q(0.50), q(0.95), q(0.99)

	before := start
	beforeOK := start.At != (time.Time{})
	if from > 0 {
		before, beforeOK = samples[from-1].usage, samples[from-1].ok
	}
	last := samples[to-1]
	if beforeOK && last.ok {
		p.CPU, _ = backend.Utilization(before, last.usage, memory)
		p.CPU = round2(p.CPU)
		var peak float64
		for _, smp := range samples[from:to] {
			if smp.ok {
				_, mem := backend.Utilization(smp.usage, smp.usage, memory)
				peak = math.Max(peak, mem)
			}
		}
		p.Memory = round2(peak)
	}
	return p
}
