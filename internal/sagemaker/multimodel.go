package sagemaker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/hosting"
)

// Multi-model endpoints. A model whose container has Mode MultiModel names
// in ModelDataUrl a prefix of model artifacts rather than one artifact:
// file:///data/models/ (a directory on this host) or
// https://host/models/. InvokeEndpoint's TargetModel is appended to the
// prefix, as SageMaker appends it to an S3 prefix, to find the artifact of
// the model to invoke: "model-a.tar.gz" (an archive, extracted before the
// container loads it) or "a/" (a directory, used in place). The
// container is told SAGEMAKER_MULTI_MODEL=true and is driven through
// SageMaker's multi-model contract by hosting.Gateway.

// checkModelPrefix checks the ModelDataUrl of a MultiModel container: a
// prefix this host can read. For file://, the directory the prefix names
// or ends in must exist.
func checkModelPrefix(raw string) error {
	if raw == "" {
		return api.Errorf(api.KindInvalid, "A container of Mode MultiModel needs a ModelDataUrl: the prefix of its models' artifacts, "+
			"such as file:///data/models/ (a directory on this host) or https://host/models/.")
	}
	if !strings.HasPrefix(strings.ToLower(raw), "file://") {
		return checkDataURL("ModelDataUrl", raw)
	}
	p, err := fileURLPath(raw)
	if err != nil {
		return api.Errorf(api.KindInvalid, "ModelDataUrl %q: %v", raw, err)
	}
	dir := prefixDir(p)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return api.Errorf(api.KindInvalid, "ModelDataUrl %q of a MultiModel container must be a prefix of model artifacts, "+
			"but %s is not a directory on this host.", raw, dir)
	}
	return nil
}

// prefixDir is the directory a file prefix names (ending in /) or ends in.
func prefixDir(p string) string {
	if strings.HasSuffix(p, string(filepath.Separator)) {
		return filepath.Clean(p)
	}
	return filepath.Dir(p)
}

// modelRepository is the hosting.ModelSource of a multi-model variant: it
// resolves target models under the ModelDataUrl prefix and extracts (or
// downloads and extracts) archives into dir, once per target model.
type modelRepository struct {
	prefix string // ModelDataUrl
	dir    string

	mu      sync.Mutex
	fetches map[string]*modelFetch
}

// modelFetch is the fetch of one target model, done or in progress.
type modelFetch struct {
	done chan struct{}
	path string
	err  error
}

func newModelRepository(prefix, dir string) *modelRepository {
	return &modelRepository{prefix: prefix, dir: dir, fetches: map[string]*modelFetch{}}
}

// Fetch implements hosting.ModelSource. A fetch that fails is forgotten, so
// that a later invocation tries again.
func (r *modelRepository) Fetch(ctx context.Context, target string) (string, time.Duration, error) {
	r.mu.Lock()
	f := r.fetches[target]
	if f != nil {
		r.mu.Unlock()
		select {
		case <-f.done:
			return f.path, 0, f.err
		case <-ctx.Done():
			return "", 0, ctx.Err()
		}
	}
	f = &modelFetch{done: make(chan struct{})}
	r.fetches[target] = f
	r.mu.Unlock()

	start := time.Now()
	path, copied, err := r.fetch(ctx, target)
	f.path, f.err = path, err
	if err != nil {
		r.mu.Lock()
		delete(r.fetches, target)
		r.mu.Unlock()
	}
	close(f.done)
	var took time.Duration
	if copied {
		took = max(time.Since(start), time.Microsecond)
	}
	return path, took, err
}

// fetch finds target's artifact and returns the path to load: a directory
// in place, or where an archive was extracted (copied is then true).
func (r *modelRepository) fetch(ctx context.Context, target string) (path string, copied bool, err error) {
	if err := checkTargetModel(target); err != nil {
		return "", false, err
	}
	raw := r.prefix + target
	missing := &hosting.ValidationError{Message: fmt.Sprintf(
		"Failed to download model data(url: %s, target model: %s). Please ensure that there is an object located at the URL.", raw, target)}
	// Archives are extracted, and downloads kept, in a directory of their
	// own, emptied first: a failed fetch may have left a part.
	out := filepath.Join(r.dir, targetDir(target))
	prepare := func() error {
		if err := os.RemoveAll(out); err != nil {
			return fmt.Errorf("prepare %s: %w", out, err)
		}
		if err := os.MkdirAll(out, 0o700); err != nil {
			return fmt.Errorf("prepare %s: %w", out, err)
		}
		return nil
	}
	var local string
	if strings.HasPrefix(strings.ToLower(r.prefix), "file://") {
		base, err := fileURLPath(r.prefix)
		if err != nil {
			return "", false, err
		}
		local = filepath.Clean(base + filepath.FromSlash(target))
		if root := prefixDir(base); local != root && !strings.HasPrefix(local, root+string(filepath.Separator)) {
			return "", false, &hosting.ValidationError{Message: fmt.Sprintf("TargetModel %q leaves the model prefix %s.", target, r.prefix)}
		}
		st, err := os.Stat(local)
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, missing
		}
		if err != nil {
			return "", false, err
		}
		if st.IsDir() {
			return local, false, nil
		}
		if err := prepare(); err != nil {
			return "", false, err
		}
	} else {
		if err := prepare(); err != nil {
			return "", false, err
		}
		u := r.prefix + escapePath(target)
		local, err = fetch(ctx, u, filepath.Join(out, "download-"+urlBase(u)), maxModelDataBytes)
		if err != nil {
			if strings.Contains(err.Error(), "404") {
				return "", false, missing
			}
			return "", false, err
		}
	}
	dir, err := modelDataDir(local, out)
	if err != nil {
		if errors.Is(err, errNotModelData) {
			return "", false, &hosting.ValidationError{Message: fmt.Sprintf("The model data of target model %s (%s) is not a tar.gz archive or a directory.", target, raw)}
		}
		return "", false, fmt.Errorf("extract model data %s: %w", raw, err)
	}
	return dir, true, nil
}

// checkTargetModel refuses target models that are not relative paths
// under the prefix.
func checkTargetModel(target string) error {
	for _, el := range strings.Split(target, "/") {
		if el == ".." {
			return &hosting.ValidationError{Message: fmt.Sprintf("TargetModel %q must be a path relative to the model prefix, without \"..\".", target)}
		}
	}
	if strings.HasPrefix(target, "/") {
		return &hosting.ValidationError{Message: fmt.Sprintf("TargetModel %q must be a path relative to the model prefix.", target)}
	}
	return nil
}

// targetDir names the directory a target model is extracted into.
func targetDir(target string) string {
	sum := sha256.Sum256([]byte(target))
	return hex.EncodeToString(sum[:12])
}

// escapePath escapes each element of a slash-separated path for a URL.
func escapePath(p string) string {
	els := strings.Split(p, "/")
	for i, el := range els {
		els[i] = url.PathEscape(el)
	}
	return strings.Join(els, "/")
}
