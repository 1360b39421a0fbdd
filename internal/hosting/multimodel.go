package hosting

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Multi-model variants. Their containers serve SageMaker's multi-model
// contract (POST /models to load, DELETE /models/{name} to unload, POST
// /models/{name}/invoke to invoke) and every invocation names a
// TargetModel. The gateway sends it to an instance that has the model
// loaded, or is loading it, with the fewest requests in flight; failing
// that, to the instance the variant's routing picks, where it loads the
// model first: the ModelSource makes the artifact local, POST /models loads
// it, and when the container answers 507 (no room) the least recently used
// model that no request is using is unloaded and the load tried again.
// Requests that arrive while a model loads on an instance wait for that one
// load. What each instance has loaded is tracked per instance, so an
// instance that replaces another starts empty and loads models anew.

// HeaderTargetModel is InvokeEndpoint's TargetModel header, also passed to
// the container on its /models requests.
const HeaderTargetModel = "X-Amzn-SageMaker-Target-Model"

// DefaultModelLoadTimeout bounds the download and load of one model.
const DefaultModelLoadTimeout = 5 * time.Minute

// maxEvictions bounds the models unloaded to make room for one load.
const maxEvictions = 64

// MultiModelConfig configures a multi-model variant.
type MultiModelConfig struct {
	// Models makes the artifacts of target models available to the
	// instances.
	Models ModelSource
}

// ModelSource finds the artifacts of a multi-model variant's models.
type ModelSource interface {
	// Fetch returns the path of targetModel's artifact on the instances'
	// file system, to pass to POST /models, downloading or extracting it
	// if needed. download is how long that took, zero if the artifact was
	// there already. Concurrent calls for one model download it once. Fetch
	// returns a *ValidationError if there is no such model.
	Fetch(ctx context.Context, targetModel string) (path string, download time.Duration, err error)
}

// ModelEventKind is what happened to a model on an instance.
type ModelEventKind uint8

// Model events.
const (
	// ModelDownloaded: the artifact was downloaded or extracted.
	ModelDownloaded ModelEventKind = iota
	// ModelLoaded: the container loaded the model (POST /models).
	ModelLoaded
	// ModelUnloaded: the container unloaded the model to make room
	// (DELETE /models/{name}).
	ModelUnloaded
)

// String returns the kind's name.
func (k ModelEventKind) String() string {
	switch k {
	case ModelDownloaded:
		return "downloaded"
	case ModelLoaded:
		return "loaded"
	case ModelUnloaded:
		return "unloaded"
	}
	return "unknown"
}

// ModelEvent is a download, load or unload of a model for an instance of a
// multi-model variant.
type ModelEvent struct {
	Endpoint    string
	Owner       string // the endpoint's Options.Owner
	Variant     string
	Instance    string
	TargetModel string
	Kind        ModelEventKind
	// Duration is how long it took.
	Duration time.Duration
}

// ModelRecorder receives the model events of multi-model variants. A
// gateway's Recorder that also implements ModelRecorder receives them.
// Calls are concurrent and must be quick.
type ModelRecorder interface {
	RecordModelEvent(ModelEvent)
}

// containerModelName is the name under which a target model is loaded in a
// container: an opaque, path-safe digest, as SageMaker uses.
func containerModelName(target string) string {
	sum := sha256.Sum256([]byte(target))
	return hex.EncodeToString(sum[:16])
}

// modelCache is what one instance of a multi-model variant has loaded, or
// is loading, by target model.
type modelCache struct {
	mu     sync.Mutex
	models map[string]*cachedModel
	tick   uint64 // orders uses, for least recently used
}

// cachedModel is a model loaded or loading on an instance.
type cachedModel struct {
	target string
	name   string        // in the container
	ready  chan struct{} // closed when the load has ended
	err    error         // why the load failed; set before ready closes

	// Guarded by the cache's mu.
	loaded  bool
	inUse   int    // requests holding it
	lastUse uint64 // tick of the latest acquire
}

func newModelCache() *modelCache { return &modelCache{models: map[string]*cachedModel{}} }

// has reports whether target is loaded or loading.
func (c *modelCache) has(target string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.models[target] != nil
}

// loadedCount returns the number of models loaded.
func (c *modelCache) loadedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.models {
		if m.loaded {
			n++
		}
	}
	return n
}

// acquire holds target for one request: hit if it is loaded; leader if it
// was neither loaded nor loading, in which case the caller must load it and
// call finish. Every acquire must be followed by release.
func (c *modelCache) acquire(target string) (m *cachedModel, hit, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	m = c.models[target]
	if m == nil {
		m = &cachedModel{target: target, name: containerModelName(target), ready: make(chan struct{})}
		c.models[target] = m
		leader = true
	}
	m.inUse++
	m.lastUse = c.tick
	return m, m.loaded, leader
}

// release ends a request's hold on m.
func (c *modelCache) release(m *cachedModel) {
	c.mu.Lock()
	m.inUse--
	c.mu.Unlock()
}

// finish ends the load of m: loaded if err is nil, else forgotten so that
// the next request loads it again.
func (c *modelCache) finish(m *cachedModel, err error) {
	c.mu.Lock()
	if err == nil {
		m.loaded = true
	} else if c.models[m.target] == m {
		delete(c.models, m.target)
	}
	m.err = err
	c.mu.Unlock()
	close(m.ready)
}

// forget drops m, found unloaded in the container.
func (c *modelCache) forget(m *cachedModel) {
	c.mu.Lock()
	if c.models[m.target] == m {
		delete(c.models, m.target)
	}
	c.mu.Unlock()
}

// evict picks the least recently used loaded model that no request holds,
// other than keep, and forgets it, for the caller to unload. It returns nil
// if there is none.
func (c *modelCache) evict(keep *cachedModel) *cachedModel {
	c.mu.Lock()
	defer c.mu.Unlock()
	var victim *cachedModel
	for _, m := range c.models {
		if m == keep || !m.loaded || m.inUse > 0 {
			continue
		}
		if victim == nil || m.lastUse < victim.lastUse {
			victim = m
		}
	}
	if victim != nil {
		delete(c.models, victim.target)
	}
	return victim
}

// acquireFor chooses an instance in service, not in skip and not ended,
// for a request of target, and holds target there for the request (see
// modelCache.acquire) and counts the request on the instance. It prefers,
// among the instances that have target loaded or loading, the one with the
// fewest requests in flight; if none has, it takes the one the routing
// strategy picks. Choosing and holding happen under one lock, so that
// simultaneous first requests for a model wait on one load rather than
// start one each. It returns a nil replica if no instance is available.
func (v *Variant) acquireFor(target string, skip []*replica) (r *replica, m *cachedModel, hit, leader bool) {
	v.modelsMu.Lock()
	defer v.modelsMu.Unlock()
	ready := *v.ready.Load()
	n := len(ready)
	if n == 0 {
		return nil, nil, false, false
	}
	off := randIntN(n)
	bestOut := int64(0)
	for k := range n {
		c := ready[(off+k)%n]
		if contains(skip, c) || ended(c) || !c.models.has(target) {
			continue
		}
		if o := c.outstanding.Load(); r == nil || o < bestOut {
			r, bestOut = c, o
		}
	}
	if r == nil {
		if r = v.pick(skip); r == nil {
			return nil, nil, false, false
		}
	}
	r.outstanding.Add(1)
	m, hit, leader = r.models.acquire(target)
	return r, m, hit, leader
}

// invokeModel sends a multi-model request to r, which acquireFor chose: it
// loads the model if the request leads its load, or waits for the load,
// then sends POST /models/{name}/invoke. If the container says the model
// is not loaded after all (unloaded behind the gateway's back), it loads it
// again once.
func (g *Gateway) invokeModel(ctx context.Context, v *Variant, r *replica, m *cachedModel, hit, leader bool, req *InvokeRequest, inv *Invocation) (*InvokeResponse, error) {
	defer r.outstanding.Add(-1)
	for attempt := 0; ; attempt++ {
		waitStart := time.Now()
		if leader {
			g.loadModel(ctx, v, r, m)
		}
		if !hit {
			select {
			case <-m.ready:
			case <-ctx.Done():
				r.models.release(m)
				return nil, fmt.Errorf("wait for model %s on %s: %w", req.TargetModel, r.id, ctx.Err())
			}
			inv.ModelLoadingWaitMicros += time.Since(waitStart).Microseconds()
			if m.err != nil {
				r.models.release(m)
				return nil, m.err
			}
		}
		inv.Instance = r.id
		inv.ModelCacheHit = hit && attempt == 0
		resp, err := g.send(ctx, v, r, "/models/"+m.name+"/invoke", req, inv)
		r.models.release(m)
		var me *ModelError
		if attempt > 0 || !errors.As(err, &me) || me.OriginalStatusCode != http.StatusNotFound {
			return resp, err
		}
		r.models.forget(m)
		v.modelsMu.Lock()
		m, hit, leader = r.models.acquire(req.TargetModel)
		v.modelsMu.Unlock()
	}
}

// loadModel loads m on r, on behalf of every request waiting for it, and
// ends the load with finish. The load goes on if the request that started
// it gives up, so that the others waiting for it are not failed.
func (g *Gateway) loadModel(ctx context.Context, v *Variant, r *replica, m *cachedModel) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.loadTimeout)
	defer cancel()
	r.models.finish(m, g.load(ctx, v, r, m))
}

func (g *Gateway) load(ctx context.Context, v *Variant, r *replica, m *cachedModel) error {
	path, download, err := v.multi.Models.Fetch(ctx, m.target)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return err
		}
		return fmt.Errorf("fetch model %s: %w", m.target, err)
	}
	if download > 0 {
		g.modelEvent(v, r, m.target, ModelDownloaded, download)
	}
	body, err := json.Marshal(map[string]string{"model_name": m.name, "url": path})
	if err != nil {
		return err
	}
	for range maxEvictions {
		start := time.Now()
		status, msg, err := g.manage(ctx, r, http.MethodPost, r.url+"/models", body, m.target)
		if err != nil {
			return g.failure(ctx, v, r, err)
		}
		switch status {
		case http.StatusOK, http.StatusCreated, http.StatusNoContent:
			g.modelEvent(v, r, m.target, ModelLoaded, time.Since(start))
			return nil
		case http.StatusConflict: // loaded already
			return nil
		case http.StatusInsufficientStorage:
			victim := r.models.evict(m)
			if victim == nil {
				return &ModelError{Variant: v.name, Instance: r.id, OriginalStatusCode: status,
					OriginalMessage: fmt.Sprintf("model %s does not fit on instance %s, and no other model there can be unloaded: %s", m.target, r.id, msg)}
			}
			start := time.Now()
			if _, _, err := g.manage(ctx, r, http.MethodDelete, r.url+"/models/"+victim.name, nil, victim.target); err != nil {
				return g.failure(ctx, v, r, err)
			}
			// 200, or 404 if it was gone already: either way it is not
			// loaded now.
			g.modelEvent(v, r, victim.target, ModelUnloaded, time.Since(start))
		default:
			return &ModelError{Variant: v.name, Instance: r.id, OriginalStatusCode: status, OriginalMessage: msg}
		}
	}
	return &ModelError{Variant: v.name, Instance: r.id, OriginalStatusCode: http.StatusInsufficientStorage,
		OriginalMessage: fmt.Sprintf("model %s does not fit on instance %s after unloading %d models", m.target, r.id, maxEvictions)}
}

// manage sends one request of the multi-model contract and returns the
// status and body.
func (g *Gateway) manage(ctx context.Context, r *replica, method, url string, body []byte, target string) (int, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, url, err)
	}
	if body != nil {
		req.Header["Content-Type"] = []string{"application/json"}
	}
	req.Header[HeaderTargetModel] = []string{target}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s on %s: %w", method, url, r.id, err)
	}
	b, err := readBody(resp)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s on %s: %w", method, url, r.id, err)
	}
	return resp.StatusCode, string(b), nil
}

func (g *Gateway) modelEvent(v *Variant, r *replica, target string, kind ModelEventKind, d time.Duration) {
	if g.models != nil {
		g.models.RecordModelEvent(ModelEvent{Endpoint: v.endpoint, Owner: v.opts.Owner, Variant: v.name, Instance: r.id, TargetModel: target, Kind: kind, Duration: d})
	}
}
