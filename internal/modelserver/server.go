package modelserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultShutdownTimeout is how long Serve lets in-flight requests finish
// after its context is done, unless Server.ShutdownTimeout says otherwise.
const DefaultShutdownTimeout = 30 * time.Second

// Server is a model server honouring the SageMaker container contract:
// GET /ping and POST /invocations. Create one with New.
type Server struct {
	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// once its context is done; zero means DefaultShutdownTimeout. Set it
	// before calling Serve.
	ShutdownTimeout time.Duration

	cfg     Config
	log     *slog.Logger
	workers chan struct{} // a token per CPU-bound request allowed to run
	handler http.Handler

	loadMu sync.Mutex // serialises Load
	state  atomic.Pointer[loadState]

	// multi holds the models loaded by name in multi-model mode; nil
	// otherwise.
	multi *modelSet
}

// loadState is the outcome of loading: a model, or the error that stopped it.
type loadState struct {
	model model
	multi bool // multi-model mode: ready without a model of its own
	err   error
}

// New returns a server for the model cfg describes. The model is not loaded
// until Load or Serve; until then /ping answers 503. A nil logger discards.
func New(cfg Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	s := &Server{cfg: cfg, log: logger, workers: make(chan struct{}, workers)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", s.ping)
	mux.HandleFunc("POST /invocations", s.invoke)
	if cfg.MultiModel {
		s.multi = newModelSet(cfg.MaxModels, cfg.MaxModelBytes)
		mux.HandleFunc("POST /models", s.loadNamed)
		mux.HandleFunc("GET /models", s.listNamed)
		mux.HandleFunc("GET /models/{name}", s.getNamed)
		mux.HandleFunc("DELETE /models/{name}", s.unloadNamed)
		mux.HandleFunc("POST /models/{name}/invoke", s.invokeNamed)
	}
	s.handler = mux
	return s
}

// Workers is how many CPU-bound requests may run at once.
func (s *Server) Workers() int { return cap(s.workers) }

// Handler returns the HTTP handler: GET /ping, POST /invocations, and in
// multi-model mode the /models routes; other paths answer 404 and other
// methods 405.
func (s *Server) Handler() http.Handler { return s.handler }

// Ready reports whether the model is loaded and invocations are served; in
// multi-model mode, whether the server takes /models requests.
func (s *Server) Ready() bool {
	st := s.state.Load()
	return st != nil && (st.model != nil || st.multi)
}

// Load loads the model, taking the configured setup delay and then the real
// setup work. It returns at once if the model is already loaded. A failure
// is kept and reported by /ping. In multi-model mode there is no model to
// load at start: Load checks the configuration and makes the server ready
// for POST /models.
func (s *Server) Load(ctx context.Context) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.Ready() {
		return nil
	}
	if s.multi != nil {
		if err := s.cfg.Validate(); err != nil {
			s.state.Store(&loadState{err: err})
			return err
		}
		s.state.Store(&loadState{multi: true})
		s.log.Info("multi-model mode: ready to load models", "max_models", s.cfg.MaxModels, "max_model_bytes", s.cfg.MaxModelBytes, "workers", s.Workers())
		return nil
	}
	start := time.Now()
	s.log.Info("loading model", "model", s.cfg.Model)
	m, err := loadModel(ctx, s.cfg, s.log)
	if err != nil {
		err = fmt.Errorf("load %s model: %w", s.cfg.Model, err)
		if ctx.Err() == nil { // a cancelled load is not a failure of the model
			s.state.Store(&loadState{err: err})
		}
		return err
	}
	s.state.Store(&loadState{model: m})
	s.log.Info("model loaded", "model", s.cfg.Model, "setup", time.Since(start), "workers", s.Workers())
	return nil
}

// Serve answers requests on ln while the model loads in the background,
// until ctx is done; then it stops accepting connections, lets in-flight
// requests finish (up to ShutdownTimeout) and returns nil. It returns an
// error if the model fails to load (after shutting down, so that a launcher
// sees the process fail instead of waiting for /ping) or if ln fails. Serve
// closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	loaded := make(chan error, 1)
	go func() { loaded <- s.Load(loadCtx) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var failure error
	for failure == nil && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case err := <-loaded:
			if err != nil && ctx.Err() == nil {
				failure = err
			}
			loaded = nil // received; wait for the other events
		case err := <-served:
			served = nil
			failure = fmt.Errorf("serve http: %w", err)
		}
	}
	cancelLoad()
	if loaded != nil {
		<-loaded
	}
	if served != nil {
		s.shutdown(srv)
		if err := <-served; !errors.Is(err, http.ErrServerClosed) && failure == nil {
			failure = fmt.Errorf("serve http: %w", err)
		}
	}
	return failure
}

// shutdown stops srv gracefully, and abruptly once the timeout passes.
func (s *Server) shutdown(srv *http.Server) {
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.log.Info("shutting down", "timeout", timeout)
	if err := srv.Shutdown(ctx); err != nil {
		s.log.Warn("requests still running at the shutdown timeout; closing their connections", "timeout", timeout)
		srv.Close()
	}
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	switch {
	case st == nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading", "model": string(s.cfg.Model)})
	case st.err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failed", "model": string(s.cfg.Model), "error": st.err.Error()})
	case st.multi:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "mode": "multi-model"})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "model": string(s.cfg.Model)})
	}
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	if s.multi != nil {
		writeError(w, http.StatusNotFound, "multi-model mode: load a model with POST /models and invoke it with POST /models/{name}/invoke")
		return
	}
	st := s.state.Load()
	if st == nil || st.model == nil {
		writeError(w, http.StatusServiceUnavailable, "model not loaded yet: wait for GET /ping to answer 200")
		return
	}
	s.serve(w, r, st.model, "the "+string(s.cfg.Model)+" model")
}

// serve answers one invocation of m, which desc names in errors.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, m model, desc string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooLarge.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	instances, err := parseInstances(r.Header.Get("Content-Type"), body)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			writeError(w, re.status, re.msg)
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if n := m.inputSize(); n > 0 {
		for i, x := range instances {
			if len(x) != n {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("instance %d has %d values; %s takes %d", i, len(x), desc, n))
				return
			}
		}
	}
	if m.cpuBound() {
		select {
		case s.workers <- struct{}{}:
			defer func() { <-s.workers }()
		case <-r.Context().Done():
			return // the client left while queued
		}
	}
	preds, err := m.predict(r.Context(), instances)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client left; nobody reads the answer
		}
		s.log.Error("predict", "err", err)
		writeError(w, http.StatusInternalServerError, "predict: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, Response{Predictions: preds})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
