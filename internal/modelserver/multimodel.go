package modelserver

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/archive"
	"github.com/inferscale/inferscale/internal/modelserver/mlp"
)

// Multi-model mode implements SageMaker's contract for multi-model
// containers (SAGEMAKER_MULTI_MODEL=true):
//
//   - POST /models {"model_name": N, "url": U} loads the model whose artifact
//     is at U and serves it as N: 200 once loaded, 409 if N is loaded (or
//     loading) already, 507 if it does not fit (INFERSCALE_MAX_MODELS or
//     INFERSCALE_MODEL_MEMORY), 400 if the artifact cannot be read.
//   - GET /models[?limit=L&next_page_token=T] lists the loaded models,
//     {"models": [{"modelName": N, "modelUrl": U}, ...]}, sorted by name,
//     with "nextPageToken" when more remain (limit: default 100, at most
//     1000).
//   - GET /models/{name} describes one, {"modelName", "modelUrl"}; 404 if
//     it is not loaded.
//   - DELETE /models/{name} unloads it; 404 if it is not loaded. Requests
//     in flight on it finish.
//   - POST /models/{name}/invoke answers as POST /invocations does, with
//     that model; 404 if it is not loaded.
//
// An artifact U is a directory holding model.json (MLP weights, the format
// of mlp.WriteJSON), or a tar archive, gzipped or not (model.tar.gz as
// SageMaker packs it), with model.json at its root. INFERSCALE_SETUP_DELAY
// is slept before each load, simulating a slow download.

// HeaderTargetModel carries InvokeEndpoint's TargetModel to the container on
// the /models requests, for its logs.
const HeaderTargetModel = "X-Amzn-SageMaker-Target-Model"

// Page sizes of GET /models.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// modelBytesPerParameter is the memory of one MLP weight or bias (float32),
// the unit of the memory budget.
const modelBytesPerParameter = 4

// namedModel is a model loaded in multi-model mode.
type namedModel struct {
	name  string
	url   string
	model model
	bytes int64
}

// modelSet holds the models loaded in multi-model mode, within a budget of
// models and bytes.
type modelSet struct {
	maxModels int
	maxBytes  int64

	mu      sync.Mutex
	models  map[string]*namedModel
	loading map[string]bool // names being loaded: reserved, counted against maxModels
	bytes   int64           // of the loaded models
}

func newModelSet(maxModels int, maxBytes int64) *modelSet {
	return &modelSet{maxModels: maxModels, maxBytes: maxBytes, models: map[string]*namedModel{}, loading: map[string]bool{}}
}

// get returns the loaded model called name, or nil.
func (ms *modelSet) get(name string) *namedModel {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.models[name]
}

// reserve claims name for a load. It fails with a *requestError: 409 if
// the name is loaded or loading, 507 if no more models fit.
func (ms *modelSet) reserve(name string) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.models[name] != nil || ms.loading[name] {
		return &requestError{http.StatusConflict, fmt.Sprintf("model %s is already loaded", name)}
	}
	if n := len(ms.models) + len(ms.loading); ms.maxModels > 0 && n >= ms.maxModels {
		return &requestError{http.StatusInsufficientStorage, fmt.Sprintf("cannot load model %s: %d models loaded or loading, at most %d fit (%s)", name, n, ms.maxModels, EnvMaxModels)}
	}
	ms.loading[name] = true
	return nil
}

// commit adds a model loaded under a reservation, or returns a 507
// *requestError if its weights do not fit the byte budget.
func (ms *modelSet) commit(m *namedModel) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	delete(ms.loading, m.name)
	if ms.maxBytes > 0 && ms.bytes+m.bytes > ms.maxBytes {
		return &requestError{http.StatusInsufficientStorage, fmt.Sprintf("cannot load model %s: its %d bytes of weights do not fit; %d of %d bytes in use (%s)", m.name, m.bytes, ms.bytes, ms.maxBytes, EnvModelMemory)}
	}
	ms.models[m.name] = m
	ms.bytes += m.bytes
	return nil
}

// release drops a reservation whose load failed.
func (ms *modelSet) release(name string) {
	ms.mu.Lock()
	delete(ms.loading, name)
	ms.mu.Unlock()
}

// remove unloads name and reports whether it was loaded.
func (ms *modelSet) remove(name string) bool {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m := ms.models[name]
	if m == nil {
		return false
	}
	delete(ms.models, name)
	ms.bytes -= m.bytes
	return true
}

// list returns up to limit loaded models whose names sort after token, and
// whether more follow.
func (ms *modelSet) list(token string, limit int) ([]*namedModel, bool) {
	ms.mu.Lock()
	all := make([]*namedModel, 0, len(ms.models))
	for _, m := range ms.models {
		if m.name > token {
			all = append(all, m)
		}
	}
	ms.mu.Unlock()
	slices.SortFunc(all, func(a, b *namedModel) int { return strings.Compare(a.name, b.name) })
	if len(all) > limit {
		return all[:limit], true
	}
	return all, false
}

// modelDescription is one model of GET /models, as the contract names its
// fields.
type modelDescription struct {
	ModelName string `json:"modelName"`
	ModelURL  string `json:"modelUrl"`
}

type modelList struct {
	Models        []modelDescription `json:"models"`
	NextPageToken string             `json:"nextPageToken,omitempty"`
}

type loadRequest struct {
	ModelName string `json:"model_name"`
	URL       string `json:"url"`
}

func (s *Server) loadNamed(w http.ResponseWriter, r *http.Request) {
	var req loadRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, `malformed body: want {"model_name": "...", "url": "..."}: `+err.Error())
		return
	}
	switch {
	case req.ModelName == "" || strings.Contains(req.ModelName, "/"):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("model_name %q: want a non-empty name without /", req.ModelName))
		return
	case req.URL == "":
		writeError(w, http.StatusBadRequest, "url is empty: want the path of the model's artifact")
		return
	}
	if !s.Ready() {
		writeError(w, http.StatusServiceUnavailable, "server not ready: wait for GET /ping to answer 200")
		return
	}
	ms := s.multi
	if err := ms.reserve(req.ModelName); err != nil {
		writeRequestError(w, err)
		return
	}
	start := time.Now()
	m, err := s.loadArtifact(r.Context(), req.ModelName, req.URL)
	if err == nil {
		err = ms.commit(m)
	} else {
		ms.release(req.ModelName)
	}
	if err != nil {
		s.log.Warn("load model", "model", req.ModelName, "url", req.URL, "target_model", r.Header.Get(HeaderTargetModel), "err", err)
		writeRequestError(w, err)
		return
	}
	s.log.Info("model loaded", "model", req.ModelName, "url", req.URL, "target_model", r.Header.Get(HeaderTargetModel),
		"bytes", m.bytes, "took", time.Since(start))
	writeJSON(w, http.StatusOK, map[string]string{"status": "loaded", "modelName": m.name, "modelUrl": m.url})
}

// loadArtifact reads and warms up the MLP whose artifact is at url. Errors
// are *requestError: the artifact is the client's to fix.
func (s *Server) loadArtifact(ctx context.Context, name, url string) (*namedModel, error) {
	if s.cfg.SetupDelay > 0 {
		if err := sleepUntil(ctx, time.Now().Add(s.cfg.SetupDelay)); err != nil {
			return nil, &requestError{http.StatusServiceUnavailable, "load cancelled: " + err.Error()}
		}
	}
	net, err := readArtifact(url)
	if err != nil {
		return nil, badRequest("load model %s from %s: %v", name, url, err)
	}
	mm := &mlpModel{net: net}
	if err := mm.warmUp(ctx); err != nil {
		return nil, badRequest("load model %s from %s: %v", name, url, err)
	}
	return &namedModel{name: name, url: url, model: mm, bytes: int64(net.Parameters()) * modelBytesPerParameter}, nil
}

// readArtifact reads the MLP weights of an artifact: a directory holding
// model.json, or a tar archive (gzipped or not) with model.json at its
// root.
func readArtifact(path string) (*mlp.Network, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		f, err := os.Open(filepath.Join(path, WeightsFile))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the directory holds no %s", WeightsFile)
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return mlp.ReadJSON(f)
	}
	var net *mlp.Network
	var names []string
	err = archive.Walk(path, func(name string, h *tar.Header, r io.Reader) error {
		if name != WeightsFile || h.Typeflag != tar.TypeReg {
			names = append(names, name)
			return nil
		}
		var err error
		net, err = mlp.ReadJSON(r)
		return err
	})
	switch {
	case errors.Is(err, archive.ErrNotArchive):
		return nil, fmt.Errorf("not a directory or a tar archive")
	case err != nil:
		return nil, err
	case net == nil:
		return nil, fmt.Errorf("the archive has no %s at its root (it holds %s)", WeightsFile, strings.Join(names, ", "))
	}
	return net, nil
}

func (s *Server) listNamed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultListLimit
	if v := q.Get("limit"); v != "" {
		if err := parseInt(v, 1, maxListLimit, &limit); err != nil {
			writeError(w, http.StatusBadRequest, "limit: "+err.Error())
			return
		}
	}
	page, more := s.multi.list(q.Get("next_page_token"), limit)
	out := modelList{Models: make([]modelDescription, len(page))}
	for i, m := range page {
		out.Models[i] = modelDescription{ModelName: m.name, ModelURL: m.url}
	}
	if more {
		out.NextPageToken = page[len(page)-1].name
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getNamed(w http.ResponseWriter, r *http.Request) {
	m := s.multi.get(r.PathValue("name"))
	if m == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %s is not loaded", r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, modelDescription{ModelName: m.name, ModelURL: m.url})
}

func (s *Server) unloadNamed(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.multi.remove(name) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %s is not loaded", name))
		return
	}
	s.log.Info("model unloaded", "model", name, "target_model", r.Header.Get(HeaderTargetModel))
	writeJSON(w, http.StatusOK, map[string]string{"status": "unloaded", "modelName": name})
}

func (s *Server) invokeNamed(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	m := s.multi.get(name)
	if m == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %s is not loaded: load it with POST /models", name))
		return
	}
	s.serve(w, r, m.model, "model "+strconv.Quote(name))
}

// writeRequestError answers err: its status if it is a *requestError, 500
// otherwise.
func writeRequestError(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, re.status, re.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}
