package hosting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
)

// RoutingStrategy is how a variant spreads invocations over its instances,
// named as SageMaker's RoutingStrategy values.
type RoutingStrategy string

// Routing strategies.
const (
	LeastOutstandingRequests RoutingStrategy = "LEAST_OUTSTANDING_REQUESTS"
	RandomRouting            RoutingStrategy = "RANDOM"
)

// Defaults applied to zero Options fields.
const (
	DefaultHealthInterval   = 5 * time.Second
	DefaultHealthTimeout    = 2 * time.Second
	DefaultHealthFailures   = 3
	DefaultLaunchBackoff    = time.Second
	DefaultMaxLaunchBackoff = time.Minute
	DefaultFailAfter        = 3
	DefaultDrainTimeout     = 10 * time.Second
	DefaultStopTimeout      = 30 * time.Second
	// DefaultStatsPeriod is CloudWatch's high resolution: every instance's
	// statistics are reported once per period, aligned to its multiples.
	DefaultStatsPeriod = 10 * time.Second
	// DefaultConcurrencySampleInterval is how often the requests in flight
	// on each instance are counted.
	DefaultConcurrencySampleInterval = 250 * time.Millisecond
)

// Clock is the time source of the reconcile loop.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options tune the reconcile loop. The zero value works.
type Options struct {
	// Logger receives the loop's events; nil discards.
	Logger *slog.Logger
	// Clock times health checks and backoff; nil means the real clock.
	Clock Clock
	// HealthInterval is the pause between GET /ping of an instance in
	// service; HealthTimeout bounds one; HealthFailures failures in a row
	// (errors, timeouts or statuses other than 200) make the instance
	// unhealthy: it is taken out of service, stopped and replaced.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	HealthFailures int
	// LaunchBackoff is the pause after a failed launch, doubling with each
	// failure in a row up to MaxLaunchBackoff.
	LaunchBackoff    time.Duration
	MaxLaunchBackoff time.Duration
	// FailAfter failed launches in a row make a variant that lacks
	// instances Failed.
	FailAfter int
	// DrainTimeout bounds the wait for requests in flight on an instance
	// taken out of service because it is extra, before it is stopped.
	DrainTimeout time.Duration
	// StopTimeout bounds the stop of one instance when the loop ends.
	StopTimeout time.Duration
	// Stats, if set, receives the statistics of every instance in service
	// once per StatsPeriod (see InstanceStats), from a sampler that
	// Endpoint.Run runs. The requests in flight on each instance are
	// counted every ConcurrencySampleInterval.
	Stats                     StatsRecorder
	StatsPeriod               time.Duration
	ConcurrencySampleInterval time.Duration
	// Owner goes to the recorders with each Invocation, ModelEvent and
	// InstanceStats of the endpoint, so that they can tell apart
	// endpoints of the same name: SageMaker's are per account and region.
	Owner string
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HealthInterval, DefaultHealthInterval)
	def(&o.HealthTimeout, DefaultHealthTimeout)
	def(&o.LaunchBackoff, DefaultLaunchBackoff)
	def(&o.MaxLaunchBackoff, DefaultMaxLaunchBackoff)
	def(&o.DrainTimeout, DefaultDrainTimeout)
	def(&o.StopTimeout, DefaultStopTimeout)
	def(&o.StatsPeriod, DefaultStatsPeriod)
	def(&o.ConcurrencySampleInterval, DefaultConcurrencySampleInterval)
	if o.HealthFailures <= 0 {
		o.HealthFailures = DefaultHealthFailures
	}
	if o.FailAfter <= 0 {
		o.FailAfter = DefaultFailAfter
	}
	return o
}

// VariantConfig describes a production variant.
type VariantConfig struct {
	// Name is the variant name, unique in its endpoint.
	Name string
	// Spec is the template of every instance: command or URL, CPUs and
	// memory of the instance type. Its Name is set per instance.
	Spec backend.Spec
	// InstanceCount is the initial desired instance count.
	InstanceCount int
	// Weight is the initial routing weight relative to the endpoint's other
	// variants.
	Weight float64
	// Routing picks an instance per request; empty means
	// LeastOutstandingRequests.
	Routing RoutingStrategy
	// MultiModel, if set, makes this a multi-model variant: its container
	// serves SageMaker's multi-model contract, and every invocation names a
	// TargetModel that the gateway loads on an instance on demand.
	MultiModel *MultiModelConfig
	// WorkDir is where the instances keep their data: DiskUtilization is
	// the use of the file system it is on. Empty means the current
	// directory.
	WorkDir string
	// InService says that the variant was in service before: a restarted
	// server relaunches its instances. It is InService from the start,
	// not Creating, and CurrentInstanceCount tells how many instances are
	// ready, as when instances are replaced.
	InService bool
}

func (c VariantConfig) validate() error {
	switch {
	case c.Name == "":
		return &ValidationError{Message: "variant name is empty"}
	case c.InstanceCount < 0:
		return &ValidationError{Message: fmt.Sprintf("variant %s: negative instance count %d", c.Name, c.InstanceCount)}
	case c.Weight < 0:
		return &ValidationError{Message: fmt.Sprintf("variant %s: negative weight %v", c.Name, c.Weight)}
	case c.Routing != "" && c.Routing != LeastOutstandingRequests && c.Routing != RandomRouting:
		return &ValidationError{Message: fmt.Sprintf("variant %s: unknown routing strategy %q", c.Name, c.Routing)}
	case c.MultiModel != nil && c.MultiModel.Models == nil:
		return &ValidationError{Message: fmt.Sprintf("variant %s: a multi-model variant needs a model source", c.Name)}
	}
	return nil
}

// replica is one instance of a variant. The loop owns every field but
// outstanding, which the gateway updates.
type replica struct {
	seq         int64
	id          string
	inst        backend.Instance
	url         string // inst.URL()
	pingURL     string
	up          *upstream // carries invocations
	done        <-chan struct{}
	started     time.Time
	outstanding atomic.Int64
	// models tracks the models loaded in a multi-model container; nil for
	// a single-model variant.
	models *modelCache

	healthy  bool
	checking bool
	failures int // health checks failed in a row
}

// InstanceInfo describes one instance of a variant.
type InstanceInfo struct {
	ID       string
	URL      string
	Started  time.Time
	Instance backend.Instance
	// InService is true while the instance takes traffic.
	InService bool
	// Outstanding is the number of requests in flight on it.
	Outstanding int64
}

// VariantDescription is a snapshot of a variant, in the terms of SageMaker's
// ProductionVariantSummary.
type VariantDescription struct {
	Name                 string
	Status               Status
	FailureReason        string
	CurrentInstanceCount int
	DesiredInstanceCount int
	Weight               float64
	Routing              RoutingStrategy
}

// Variant runs the instances of one production variant: its reconcile loop
// (Run) keeps as many instances in service as desired, replacing those that
// crash or stop answering GET /ping. Its methods are safe for concurrent use.
type Variant struct {
	name     string
	endpoint string
	spec     backend.Spec
	routing  RoutingStrategy
	multi    *MultiModelConfig
	workDir  string
	launcher backend.Launcher
	opts     Options
	log      *slog.Logger
	pinger   *http.Client

	// ready is the set of instances in service, read lock-free by the
	// gateway and replaced by the loop.
	ready atomic.Pointer[[]*replica]
	// modelsMu makes choosing an instance for a multi-model request and
	// holding its model there one step (see acquireFor).
	modelsMu sync.Mutex

	wake chan struct{} // the desired count changed

	mu        sync.Mutex
	desired   int
	weight    float64
	converged bool
	pending   bool
	failures  int // launches failed in a row
	lastErr   error
	current   int
	all       []InstanceInfo
	running   bool
}

// NewVariant returns a variant that launches instances on l once Run runs.
func NewVariant(endpoint string, c VariantConfig, l backend.Launcher, opts Options) (*Variant, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Routing == "" {
		c.Routing = LeastOutstandingRequests
	}
	opts = opts.withDefaults()
	v := &Variant{
		name: c.Name, endpoint: endpoint, spec: c.Spec, routing: c.Routing, multi: c.MultiModel, workDir: c.WorkDir,
		launcher: l, opts: opts,
		log:     opts.Logger.With("endpoint", endpoint, "variant", c.Name),
		pinger:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}},
		wake:    make(chan struct{}, 1),
		desired: c.InstanceCount, weight: c.Weight, converged: c.InService,
	}
	v.ready.Store(new([]*replica))
	return v, nil
}

// Name returns the variant name.
func (v *Variant) Name() string { return v.name }

// MultiModel reports whether the variant serves multi-model invocations.
func (v *Variant) MultiModel() bool { return v.multi != nil }

// SetDesiredInstanceCount changes the number of instances the loop keeps in
// service.
func (v *Variant) SetDesiredInstanceCount(n int) error {
	if n < 0 {
		return &ValidationError{Message: fmt.Sprintf("variant %s: negative instance count %d", v.name, n)}
	}
	v.mu.Lock()
	if n != v.desired {
		v.desired = n
		v.pending = true
	}
	v.mu.Unlock()
	select {
	case v.wake <- struct{}{}:
	default:
	}
	return nil
}

func (v *Variant) setWeight(w float64) {
	v.mu.Lock()
	v.weight = w
	v.mu.Unlock()
}

// Describe returns the variant's counts and status. CurrentInstanceCount
// counts the instances in service: healthy and taking traffic.
func (v *Variant) Describe() VariantDescription {
	v.mu.Lock()
	defer v.mu.Unlock()
	d := VariantDescription{
		Name: v.name, CurrentInstanceCount: v.current, DesiredInstanceCount: v.desired,
		Weight: v.weight, Routing: v.routing,
		Status: variantStatus(v.converged, v.pending, v.failures, v.opts.FailAfter, v.current, v.desired),
	}
	if d.Status == StatusFailed && v.lastErr != nil {
		d.FailureReason = fmt.Sprintf("%d launches failed in a row; last: %v", v.failures, v.lastErr)
	}
	return d
}

// Instances returns the variant's instances, in service or on their way
// out.
func (v *Variant) Instances() []InstanceInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]InstanceInfo, len(v.all))
	copy(out, v.all)
	return out
}

type launchResult struct {
	seq  int64
	inst backend.Instance
	err  error
}

type healthResult struct {
	r   *replica
	err error
}

// Run is the reconcile loop: it launches and stops instances until the
// count in service equals the desired count, health-checks them and
// replaces those that end or hang. It blocks until ctx ends and then stops
// every instance it launched before returning. It may run only once.
func (v *Variant) Run(ctx context.Context) error {
	v.mu.Lock()
	if v.running {
		v.mu.Unlock()
		return fmt.Errorf("variant %s: already running", v.name)
	}
	v.running = true
	v.mu.Unlock()

	var wg sync.WaitGroup
	quit := make(chan struct{}) // closed when the loop ends: goroutines stop sending
	launched := make(chan launchResult)
	ended := make(chan *replica)
	checked := make(chan healthResult)
	clock := v.opts.Clock

	replicas := map[int64]*replica{}
	var seq int64
	launching := 0
	var retryAt time.Time
	var retryTimer <-chan time.Time
	tick := clock.After(v.opts.HealthInterval)

	stop := func(r *replica, drain bool) {
		delete(replicas, r.seq)
		wg.Go(func() { v.stopReplica(ctx, r, drain) })
	}

	for {
		// Decide and act.
		v.mu.Lock()
		desired := v.desired
		v.mu.Unlock()
		views := make([]ReplicaView, 0, len(replicas))
		for _, r := range replicas {
			views = append(views, ReplicaView{Seq: r.seq, Healthy: r.healthy})
		}
		now := clock.Now()
		plan := Decide(desired, launching, views, now, retryAt)
		for _, s := range plan.Stop {
			r := replicas[s]
			stop(r, r.healthy)
		}
		for range plan.Launch {
			seq++
			launching++
			n := seq
			spec := v.spec
			spec.Name = fmt.Sprintf("%s-%s-%d", v.endpoint, v.name, n)
			wg.Go(func() {
				inst, err := v.launcher.Launch(ctx, spec)
				launched <- launchResult{seq: n, inst: inst, err: err}
			})
		}
		if retryTimer == nil && now.Before(retryAt) && desired > len(replicas)+launching {
			retryTimer = clock.After(retryAt.Sub(now))
		}
		v.publish(replicas, desired, launching)

		select {
		case <-ctx.Done():
			close(quit)
			// Launches see ctx end and return; collect what they started.
			for ; launching > 0; launching-- {
				if res := <-launched; res.err == nil {
					stop(&replica{seq: res.seq, inst: res.inst, done: res.inst.Done()}, false)
				}
			}
			for _, r := range replicas {
				stop(r, false)
			}
			v.publish(replicas, desired, 0)
			wg.Wait()
			v.pinger.CloseIdleConnections()
			v.mu.Lock()
			v.all = nil
			v.mu.Unlock()
			return nil

		case res := <-launched:
			launching--
			now := clock.Now()
			v.mu.Lock()
			if res.err != nil {
				v.failures++
				v.lastErr = res.err
				retryAt = now.Add(LaunchBackoff(v.failures, v.opts.LaunchBackoff, v.opts.MaxLaunchBackoff))
				v.log.Warn("launch failed", "failures", v.failures, "retry_in", retryAt.Sub(now), "err", res.err)
			} else {
				v.failures = 0
				v.lastErr = nil
				retryAt = time.Time{}
			}
			v.mu.Unlock()
			if res.err != nil {
				continue
			}
			u := res.inst.URL()
			r := &replica{
				seq: res.seq, id: fmt.Sprintf("%s-%d", v.name, res.seq), inst: res.inst,
				url: u, pingURL: u + "/ping", up: newUpstream(u), done: res.inst.Done(),
				started: now, healthy: true,
			}
			if v.multi != nil {
				r.models = newModelCache()
			}
			replicas[r.seq] = r
			v.log.Info("instance in service", "instance", r.id, "url", u, "setup", res.inst.SetupTime())
			wg.Go(func() {
				select {
				case <-r.done:
					select {
					case ended <- r:
					case <-quit:
					}
				case <-quit:
				}
			})

		case r := <-ended:
			if replicas[r.seq] == r && r.healthy {
				r.healthy = false
				v.log.Warn("instance ended", "instance", r.id, "err", r.inst.Err())
			}

		case <-tick:
			tick = clock.After(v.opts.HealthInterval)
			wall := time.Now() // of the connections' use, not the loop's clock
			for _, r := range replicas {
				r.up.closeIdle(wall)
				if r.healthy && !r.checking {
					r.checking = true
					wg.Go(func() {
						err := v.ping(ctx, r)
						select {
						case checked <- healthResult{r: r, err: err}:
						case <-quit:
						}
					})
				}
			}

		case h := <-checked:
			r := h.r
			r.checking = false
			if replicas[r.seq] != r || !r.healthy {
				continue
			}
			if h.err == nil {
				r.failures = 0
				continue
			}
			r.failures++
			v.log.Warn("health check failed", "instance", r.id, "failures", r.failures, "err", h.err)
			if r.failures >= v.opts.HealthFailures {
				r.healthy = false
			}

		case <-retryTimer:
			retryTimer = nil

		case <-v.wake:
		}
	}
}

// ping sends one GET /ping to r.
func (v *Variant) ping(ctx context.Context, r *replica) error {
	ctx, cancel := context.WithTimeout(ctx, v.opts.HealthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.pingURL, nil)
	if err != nil {
		return err
	}
	resp, err := v.pinger.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("GET /ping: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /ping: status %d", resp.StatusCode)
	}
	return nil
}

// stopReplica stops an instance taken out of service, after letting its
// requests in flight finish if drain is set.
func (v *Variant) stopReplica(ctx context.Context, r *replica, drain bool) {
	if drain && ctx.Err() == nil {
		deadline := time.Now().Add(v.opts.DrainTimeout)
		for r.outstanding.Load() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if r.up != nil {
		r.up.close()
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.opts.StopTimeout)
	defer cancel()
	if err := r.inst.Stop(sctx); err != nil {
		v.log.Error("stop instance", "instance", r.id, "err", err)
		return
	}
	v.log.Info("instance stopped", "instance", r.id)
}

// publish makes the healthy replicas the set in service and updates the
// counts that Describe reports.
func (v *Variant) publish(replicas map[int64]*replica, desired, launching int) {
	ready := make([]*replica, 0, len(replicas))
	info := make([]InstanceInfo, 0, len(replicas))
	for _, r := range replicas {
		if r.healthy {
			ready = append(ready, r)
		}
		info = append(info, InstanceInfo{
			ID: r.id, URL: r.inst.URL(), Started: r.started, Instance: r.inst,
			InService: r.healthy, Outstanding: r.outstanding.Load(),
		})
	}
	v.ready.Store(&ready)
	v.mu.Lock()
	v.current = len(ready)
	v.all = info
	if v.current == v.desired && launching == 0 {
		v.converged = true
		v.pending = false
	}
	v.mu.Unlock()
}
