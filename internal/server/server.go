// Package server assembles `inferscale serve`: the store, the API services
// on one api.Router, /healthz and Prometheus /metrics, and the HTTP
// server's lifecycle. The serve command and the API tests build the same
// handler through New, so the tests exercise what is deployed.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/autoscale"
	"github.com/inferscale/inferscale/internal/backend/local"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/httpwire"
	cwmetrics "github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/sagemaker"
	"github.com/inferscale/inferscale/internal/store"

	"github.com/inferscale/inferscale/internal/clock"
)

// Files in the data directory.
const (
	// DatabaseFile is the SQLite database.
	DatabaseFile = "inferscale.db"
	// MetricsFile is the snapshot of the metrics store, written every
	// MetricsSaveInterval while serving and when Serve returns.
	MetricsFile = "metrics.snapshot"
)

// MetricsSaveInterval is how often Serve evicts expired metrics and saves
// the metrics store.
const MetricsSaveInterval = time.Minute

// Config configures a Server.
type Config struct {
	// DataDir holds the database; it is created if missing.
	DataDir string
	// Credentials are the access keys whose SigV4 signatures are verified.
	// Nil means signatures are not verified: any request is accepted, in the
	// account its access key maps to (api.DefaultAccount).
	Credentials map[string]api.Credential
	// Logger receives request and server logs; nil discards.
	Logger *slog.Logger
	// Version is reported by /healthz.
	Version string
	// CheckOutput validates every response against the service models
	// (see api.Service.CheckOutput); for tests.
	CheckOutput bool
	// Now is the clock; nil means Clock.Now, else time.Now.
	Now func() time.Time
	// Clock times the alarm evaluation, the autoscaler and the metrics
	// store's saves, and (through Now) the metrics' timestamps; nil means
	// the real clock. An accelerated clock (clock.Accelerated) makes
	// minutes of alarms and cooldowns pass in seconds; the endpoints'
	// health checks and launches keep real time.
	Clock clock.Clock
	// Jobs configures how recommendation jobs run; the zero value works.
	// WorkDir defaults to DataDir/jobs, Now to the server's clock.
	Jobs sagemaker.JobOptions
	// Hosting configures how endpoints run; the zero value works. WorkDir
	// defaults to DataDir/endpoints, Now to the server's clock, Metrics to
	// the server's metrics store.
	Hosting sagemaker.HostingOptions
	// PublicMetrics serves /metrics to any client. Without it, a server
	// with Credentials serves /metrics to loopback clients only: the
	// export is not signed, and shows every account's series.
	PublicMetrics bool
	// MetricsMaxBytes is the metrics store's memory budget
	// (metrics.Options.MaxBytes; 0 = metrics.DefaultMaxBytes).
	MetricsMaxBytes int64
}

// Server is a configured `inferscale serve`.
type Server struct {
	Store     *store.Store
	SageMaker *sagemaker.Service
	// CloudWatch serves the metrics and the alarms.
	CloudWatch *cloudwatch.Service
	// AutoScaling scales the endpoints' variants (Application Auto
	// Scaling).
	AutoScaling *autoscale.Service
	Router      *api.Router
	// Metrics holds the AWS/SageMaker invocation metrics of the endpoints.
	Metrics *cwmetrics.Store

	cfg     Config
	log     *slog.Logger
	handler http.Handler
	started time.Time
	lock    *os.File // the data directory's (LockFile)
}

// New opens the store in cfg.DataDir and builds the services. Close the
// Server to close the store.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("new server: no data directory")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Clock.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, DatabaseFile))
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("new server: %w", err)
	}
	// A damaged database still serves what is sound (a damaged resource
	// answers an internal error when read), but whoever runs the server
	// is told at once, not by the first 500.
	if problems, err := st.Check(ctx); err != nil || len(problems) > 0 {
		log.Error("the database is damaged: what is in its damaged pages cannot be read; restore it from a copy, or export what can be read",
			"file", st.Path(), "problems", problems, "err", err)
	}
	s := &Server{Store: st, cfg: cfg, log: log, started: cfg.Now(), lock: lock}
	jobs := cfg.Jobs
	if jobs.WorkDir == "" {
		jobs.WorkDir = filepath.Join(cfg.DataDir, "jobs")
	}
	if jobs.Now == nil {
		jobs.Now = cfg.Now
	}
	hosting := cfg.Hosting
	if hosting.WorkDir == "" {
		hosting.WorkDir = filepath.Join(cfg.DataDir, "endpoints")
	}
	if hosting.Now == nil {
		hosting.Now = cfg.Now
	}
	if hosting.Metrics == nil {
		hosting.Metrics = cwmetrics.New(cwmetrics.Options{Logger: log, MaxBytes: cfg.MetricsMaxBytes})
		// What the last Serve saved: aggregated metrics survive restarts.
		if err := loadMetrics(hosting.Metrics, filepath.Join(cfg.DataDir, MetricsFile), log); err != nil {
			s.Close()
			return nil, fmt.Errorf("new server: %w", err)
		}
	}
	s.Metrics = hosting.Metrics
	s.SageMaker = &sagemaker.Service{Store: st, Logger: log, Jobs: jobs, Hosting: hosting}
	s.CloudWatch = &cloudwatch.Service{Store: st, Metrics: s.Metrics, Logger: log, Now: cfg.Now}
	s.AutoScaling = &autoscale.Service{Store: st, Metrics: s.Metrics, Logger: log, Alarms: s.CloudWatch,
		Capacity: variantCapacity{sm: s.SageMaker, now: cfg.Now}}
	// Alarms whose actions name scaling policies run them.
	s.CloudWatch.AddActionHandler(s.AutoScaling)

	var auth api.Authenticator = api.ScopeAuth{}
	if cfg.Credentials != nil {
		auth = api.SigV4Auth{Lookup: api.StaticCredentials(cfg.Credentials)}
	}
	s.Router = &api.Router{Auth: auth, Logger: log, Now: cfg.Now}
	for _, svc := range []*api.Service{s.SageMaker.NewAPI(), s.SageMaker.NewRuntimeAPI(), s.CloudWatch.NewAPI(), s.AutoScaling.NewAPI()} {
		svc.CheckOutput = cfg.CheckOutput
		if err := s.Router.Add(svc); err != nil {
			s.Close()
			return nil, fmt.Errorf("new server: %w", err)
		}
	}

	reg := prometheus.NewRegistry()
	// CloudWatch metrics whose Prometheus names would be the Go and process
	// collectors' or the server's own are exported under other names.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.Metrics.Collector("go_", "process_", "promhttp_", apiMetricsPrefix))
	m := newMetrics(reg)
	s.Router.Observe = m.observe

	rs := &routes{
		healthz: http.HandlerFunc(s.healthz),
		// A metric that cannot be gathered is logged and left out, rather
		// than failing the whole scrape.
		metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			ErrorHandling: promhttp.ContinueOnError}),
		api: s.Router,
	}
	if cfg.Credentials != nil && !cfg.PublicMetrics {
		rs.metrics = loopbackOnly(rs.metrics)
	}
	s.handler = rs
	return s, nil
}

// loopbackOnly serves h to clients on loopback addresses and answers 403 to
// others. /metrics is not signed: with credentials, which let a server
// listen beyond loopback, it would show anyone every account's endpoint
// names and traffic.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "/metrics answers loopback clients only on a server with credentials (inferscale serve --public-metrics opens it)",
				http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// routes sends GET /healthz and GET /metrics to their handlers and every
// other request to the API router, without ServeMux's matching on the path
// every API request takes.
type routes struct {
	healthz, metrics, api http.Handler
}

func (rs *routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var h http.Handler
	switch r.URL.Path {
	case "/healthz":
		h = rs.healthz
	case "/metrics":
		h = rs.metrics
	default:
		rs.api.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h.ServeHTTP(w, r)
}

// Handler serves the APIs, /healthz and /metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// IdleTimeout is how long a client's connection may wait for its next
// request before the server closes it.
const IdleTimeout = 2 * time.Minute

// Serve serves on ln, and runs recommendation jobs (resuming those a
// previous run left unfinished), endpoints (relaunching those in the
// store), the alarms' evaluation and the autoscaler, until ctx is done. Then it shuts down
// gracefully: it stops accepting, waits up to 10 s for requests in flight,
// stops the running jobs (they resume on the next Serve) and the endpoints'
// instances, and returns. It
// does not close the store.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// The lean HTTP/1.1 server answers the plain requests API clients
	// send; net/http takes any other connection.
	hs := &httpwire.Server{
		HTTP: &http.Server{
			Handler:           s.handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       IdleTimeout,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		},
		Logger: s.log,
	}
	// Jobs and endpoints share one local backend, so that its CPU
	// allocator hands each instance CPUs no other instance holds.
	if s.SageMaker.Jobs.Backend == nil && s.SageMaker.Hosting.Backend == nil {
		lb, err := local.New(s.log)
		if err != nil {
			return fmt.Errorf("start local backend: %w", err)
		}
		s.SageMaker.Jobs.Backend, s.SageMaker.Hosting.Backend = lb, lb
		defer func() { // after the jobs and endpoints have stopped
			s.SageMaker.Jobs.Backend, s.SageMaker.Hosting.Backend = nil, nil
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := lb.Close(cctx); err != nil {
				s.log.Error("close local backend", "err", err)
			}
		}()
	}
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	jobsDone := make(chan error, 1)
	go func() { jobsDone <- s.SageMaker.RunJobs(jobsCtx) }()
	// The other loops stop with the jobs; Serve waits for them all.
	bg := s.startLoops(jobsCtx)
	// The metrics store evicts and saves itself until the endpoints have
	// stopped, then saves once more (Run's final save).
	metricsCtx, stopMetrics := context.WithCancel(context.Background())
	metricsDone := make(chan error, 1)
	go func() {
		metricsDone <- s.Metrics.Run(metricsCtx, s.cfg.Clock, MetricsSaveInterval, filepath.Join(s.cfg.DataDir, MetricsFile))
	}()
	defer func() {
		stopMetrics()
		if err := <-metricsDone; err != nil {
			s.log.Error("save metrics", "err", err)
		}
	}()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	var err error
	select {
	case serr := <-served:
		stopJobs()
		return errors.Join(fmt.Errorf("serve %s: %w", ln.Addr(), serr), <-jobsDone, bg.wait())
	case jerr := <-jobsDone:
		// The job runner could not start (no backend): fail rather than
		// accept jobs that never run.
		err = jerr
		jobsDone <- nil
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "addr", ln.Addr().String())
	stopJobs()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := hs.Shutdown(sctx); serr != nil {
		err = errors.Join(err, fmt.Errorf("shut down %s: %w", ln.Addr(), serr))
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("shut down %s: %w", ln.Addr(), serr))
	}
	if jerr := <-jobsDone; jerr != nil {
		err = errors.Join(err, fmt.Errorf("stop jobs: %w", jerr))
	}
	return errors.Join(err, bg.wait())
}

// loops are the server's background loops besides the jobs: each runs
// until the context startLoops was given ends.
type loops struct {
	names []string
	done  []chan error
}

// startLoops starts the endpoints, the alarm evaluation and the
// autoscaler.
func (s *Server) startLoops(ctx context.Context) *loops {
	l := &loops{}
	l.start("endpoints", func() error { return s.SageMaker.RunEndpoints(ctx) })
	l.start("alarms", func() error { return s.CloudWatch.RunAlarms(ctx, s.cfg.Clock) })
	l.start("autoscaling", func() error { return s.AutoScaling.Run(ctx, s.cfg.Clock) })
	return l
}

func (l *loops) start(name string, run func() error) {
	done := make(chan error, 1)
	go func() { done <- run() }()
	l.names, l.done = append(l.names, name), append(l.done, done)
}

// wait waits for every loop to return and joins their errors.
func (l *loops) wait() error {
	var err error
	for i, done := range l.done {
		if e := <-done; e != nil {
			err = errors.Join(err, fmt.Errorf("stop %s: %w", l.names[i], e))
		}
	}
	return err
}

// Close closes the store.
func (s *Server) Close() error {
	return errors.Join(s.Store.Close(), s.lock.Close())
}

type health struct {
	Status        string  `json:"status"`
	Version       string  `json:"version"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(health{Status: "ok", Version: s.cfg.Version, UptimeSeconds: s.cfg.Now().Sub(s.started).Seconds()})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}

// metrics are the server's own Prometheus metrics.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// series caches the counter and histogram of each label set, which
	// the vectors would otherwise look up by hashing the labels on every
	// request. The router passes only names it knows, so it stays small.
	series sync.Map // apiLabels → apiSeries
}

type apiLabels struct{ service, operation, code string }

type apiSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// apiMetricsPrefix starts the names of the server's own metrics.
const apiMetricsPrefix = "inferscale_api_"

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: apiMetricsPrefix + "requests_total",
			Help: "API requests by service, operation and AWS error code (OK for success).",
		}, []string{"service", "operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    apiMetricsPrefix + "request_duration_seconds",
			Help:    "Time from the arrival of an API request to the end of its response.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"service", "operation"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *metrics) observe(service, operation, code string, _ int, elapsed time.Duration) {
	if service == "" {
		service = "unknown"
	}
	if operation == "" {
		operation = "unknown"
	}
	if code == "" {
		code = "OK"
	}
	k := apiLabels{service, operation, code}
	v, ok := m.series.Load(k)
	if !ok {
		v, _ = m.series.LoadOrStore(k, apiSeries{
			requests: m.requests.WithLabelValues(service, operation, code),
			latency:  m.latency.WithLabelValues(service, operation),
		})
	}
	as := v.(apiSeries)
	as.requests.Inc()
	as.latency.Observe(elapsed.Seconds())
}

// loadMetrics loads the metrics snapshot at path into m. A snapshot that
// cannot be read (damaged, truncated) does not keep the server, and the
// endpoints it runs, from starting: it is moved aside, kept for whoever
// wants to look at it, and the server starts without metrics history.
func loadMetrics(m *cwmetrics.Store, path string, log *slog.Logger) error {
	err := m.Load(path)
	if !errors.Is(err, cwmetrics.ErrUnreadableSnapshot) {
		return err
	}
	aside := path + ".unreadable-" + time.Now().UTC().Format("20060102T150405Z")
	if rerr := os.Rename(path, aside); rerr != nil {
		return fmt.Errorf("%w (and moving it aside: %w)", err, rerr)
	}
	log.Error("metrics snapshot unreadable: moved aside, starting without metrics history", "file", aside, "err", err)
	return nil
}
