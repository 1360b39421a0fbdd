package sagemaker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/archive"
	"github.com/inferscale/inferscale/internal/loadgen"
	"github.com/inferscale/inferscale/internal/modelserver"
	"github.com/inferscale/inferscale/internal/payload"
	"github.com/inferscale/inferscale/internal/recommend"
)

// How a SageMaker container runs on this host. There is no container
// runtime: an Image names
//
//   - an executable, as an absolute path or a file:// URL, started like a
//     SageMaker container with the argument "serve" and the container's
//     Environment;
//   - a model server that already runs, as an http:// or https:// URL;
//   - the built-in sample model server, SampleModelImage (with any :tag).
//
// ModelDataUrl and SamplePayloadUrl take file:// (a tar.gz archive as
// SageMaker packs it, or a directory) and http(s):// (an archive to
// download). s3:// is refused with a clear error: this server has no S3.

// SampleModelImage is the image name of the built-in sample model server
// (`inferscale model-server serve`), optionally with a :tag.
const SampleModelImage = "inferscale/sample-model"

// Limits on what a job reads.
const (
	// maxModelDataBytes bounds a downloaded or extracted model archive.
	maxModelDataBytes = 16 << 30
)

// containerSpec is the container a job benchmarks, resolved from its model
// package or model when the job is created, so that later changes to those
// do not change a job that is resumed after a restart.
type containerSpec struct {
	Image string `json:"Image"`
	// Mode is the container's Mode: empty or SingleModel, or MultiModel,
	// for which ModelDataURL is the prefix of the models' artifacts.
	Mode         string            `json:"Mode,omitempty"`
	ModelDataURL string            `json:"ModelDataUrl,omitempty"`
	Environment  map[string]string `json:"Environment,omitempty"`
	// PayloadURL is where the sample payloads are; empty for the sample
	// model, which has its own.
	PayloadURL  string `json:"SamplePayloadUrl,omitempty"`
	ContentType string `json:"ContentType,omitempty"`
	// noPayloads: prepare only the model, as endpoints need no payloads.
	noPayloads bool
}

// imageForm is how an Image runs here.
type imageForm int

const (
	imageSample  imageForm = iota // the built-in sample model server
	imageCommand                  // an executable on this host
	imageURL                      // a server that already runs
)

// parseImage tells how image runs on this host and returns the executable's
// path or the server's base URL. field names the member in errors.
func parseImage(field, image string) (imageForm, string, error) {
	name, tag, _ := strings.Cut(image, ":")
	if name == SampleModelImage && !strings.Contains(tag, "/") {
		return imageSample, "", nil
	}
	switch {
	case strings.HasPrefix(image, "http://") || strings.HasPrefix(image, "https://"):
		u, err := url.Parse(image)
		if err != nil || u.Host == "" {
			return 0, "", api.Errorf(api.KindInvalid, "%s %q is not a valid URL of a running model server.", field, image)
		}
		return imageURL, strings.TrimSuffix(image, "/"), nil
	case strings.HasPrefix(image, "file://"):
		p, err := fileURLPath(image)
		if err != nil {
			return 0, "", api.Errorf(api.KindInvalid, "%s %q: %v", field, image, err)
		}
		return imageCommand, p, checkExecutable(field, image, p)
	case filepath.IsAbs(image):
		return imageCommand, filepath.Clean(image), checkExecutable(field, image, image)
	}
	return 0, "", api.Errorf(api.KindInvalid,
		"%s %q cannot run on this host, which has no container runtime. Name an executable (an absolute path or a file:// URL; "+
			"it is started with the argument \"serve\" and the container's Environment), a model server that already runs "+
			"(an http:// or https:// URL), or the built-in sample model server %q.", field, image, SampleModelImage)
}

func checkExecutable(field, image, p string) error {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return api.Errorf(api.KindInvalid, "%s %q: %v", field, image, errors.Unwrap(err))
	case !st.Mode().IsRegular() || st.Mode()&0o111 == 0:
		return api.Errorf(api.KindInvalid, "%s %q is not an executable file.", field, image)
	}
	return nil
}

// fileURLPath returns the absolute path of a file:// URL.
func fileURLPath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a valid URL: %w", err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("a file:// URL must name this host (file:///path), not %q", u.Host)
	}
	if u.Path == "" || !path.IsAbs(u.Path) {
		return "", errors.New("a file:// URL needs an absolute path, as in file:///data/payloads.tar.gz")
	}
	return filepath.FromSlash(u.Path), nil
}

// checkDataURL checks a ModelDataUrl or SamplePayloadUrl when a job is
// created: a scheme this host reads, and for file:// a path that exists.
func checkDataURL(field, raw string) error {
	scheme, _, _ := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "file":
		p, err := fileURLPath(raw)
		if err != nil {
			return api.Errorf(api.KindInvalid, "%s %q: %v", field, raw, err)
		}
		if _, err := os.Stat(p); err != nil {
			return api.Errorf(api.KindInvalid, "%s %q: %v", field, raw, errors.Unwrap(err))
		}
		return nil
	case "http", "https":
		if u, err := url.Parse(raw); err != nil || u.Host == "" {
			return api.Errorf(api.KindInvalid, "%s %q is not a valid URL.", field, raw)
		}
		return nil
	case "s3":
		return api.Errorf(api.KindInvalid, "%s %q: this server has no S3 endpoint to read s3:// URLs from; "+
			"give a file:// URL (a tar.gz archive or a directory on this host) or an http(s):// URL.", field, raw)
	}
	return api.Errorf(api.KindInvalid, "%s %q: the URL must be file:// (a tar.gz archive or a directory on this host) or http(s)://.", field, raw)
}

// preparedModel is a container made ready to run: what the runner
// launches, and the per-job directory to remove afterwards.
type preparedModel struct {
	model recommend.Model
	dir   string
}

func (p *preparedModel) cleanup() error {
	if p.dir == "" {
		return nil
	}
	return os.RemoveAll(p.dir)
}

// prepare fetches what the container needs into dir (created, and emptied
// first): the model data, extracted, passed as SM_MODEL_DIR; and the sample
// payloads. sample is the command of the sample model server, without its
// "serve" argument.
func (c containerSpec) prepare(ctx context.Context, dir string, sample []string) (*preparedModel, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("prepare %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("prepare %s: %w", dir, err)
	}
	p := &preparedModel{dir: dir}
	fail := func(err error) (*preparedModel, error) {
		p.cleanup()
		return nil, err
	}

	env := map[string]string{}
	for k, v := range c.Environment {
		env[k] = v
	}
	if c.multiModel() {
		// The models are fetched one by one as invocations name them.
		env[modelserver.EnvMultiModel] = "true"
	} else if c.ModelDataURL != "" {
		modelDir, err := fetchModelData(ctx, c.ModelDataURL, dir)
		if err != nil {
			return fail(fmt.Errorf("ModelDataUrl %s: %w", c.ModelDataURL, err))
		}
		env[modelserver.EnvModelDir] = modelDir
	}

	form, target, err := parseImage("Image", c.Image)
	if err != nil {
		return fail(err)
	}
	m := &p.model
	switch form {
	case imageSample:
		if len(sample) == 0 {
			return fail(errors.New("no command for the sample model server"))
		}
		m.Command, m.Args = sample[0], append(append([]string(nil), sample[1:]...), "serve")
	case imageCommand:
		m.Command = target
	case imageURL:
		m.URL = target
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.Env = append(m.Env, k+"="+env[k])
	}

	if c.noPayloads {
		return p, nil
	}
	if c.PayloadURL == "" {
		if form != imageSample {
			return fail(errors.New("no sample payloads: name a SamplePayloadUrl"))
		}
		cfg, err := modelserver.ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			return fail(fmt.Errorf("sample model: %w", err))
		}
		for _, pl := range modelserver.SamplePayloads(cfg, 8) {
			m.Payloads = append(m.Payloads, loadgen.Payload{Body: pl.Body, ContentType: pl.ContentType})
		}
		return p, nil
	}
	local, err := fetch(ctx, c.PayloadURL, filepath.Join(dir, "payloads-"+urlBase(c.PayloadURL)), payload.MaxTotalBytes)
	if err != nil {
		return fail(fmt.Errorf("SamplePayloadUrl %s: %w", c.PayloadURL, err))
	}
	if m.Payloads, err = payload.Read(local, c.ContentType); err != nil {
		return fail(fmt.Errorf("SamplePayloadUrl %s: %w", c.PayloadURL, err))
	}
	return p, nil
}

// fetch returns a local path for a file:// or http(s):// URL, downloading
// the latter to dst (at most limit bytes).
func fetch(ctx context.Context, raw, dst string, limit int64) (string, error) {
	if strings.HasPrefix(strings.ToLower(raw), "file://") {
		return fileURLPath(raw)
	}
	if err := checkDataURL("URL", raw); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return "", err
	}
	resp, err := downloads.Do(req)
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download: %s", resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	if n > limit {
		return "", fmt.Errorf("download: larger than %d MiB", limit>>20)
	}
	return dst, nil
}

// urlBase is the last element of a URL's path, to name a download after
// (its extension tells a single payload's content type).
func urlBase(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if b := path.Base(u.Path); b != "." && b != "/" && !strings.HasPrefix(b, ".") {
			return b
		}
	}
	return "download"
}

// multiModel reports whether the container hosts multiple models.
func (c containerSpec) multiModel() bool { return c.Mode == modeMultiModel }

// Container modes, as SageMaker names them.
const (
	modeSingleModel = "SingleModel"
	modeMultiModel  = "MultiModel"
)

// fetchModelData makes the model data available under dir and returns the
// directory to pass as SM_MODEL_DIR: a directory URL is used in place; an
// archive is extracted into dir/model.
func fetchModelData(ctx context.Context, raw, dir string) (string, error) {
	local, err := fetch(ctx, raw, filepath.Join(dir, "model-"+urlBase(raw)), maxModelDataBytes)
	if err != nil {
		return "", err
	}
	return modelDataDir(local, dir)
}

// modelDataDir returns the directory of the model data at local: local
// itself if it is a directory, else the archive extracted into dir/model.
func modelDataDir(local, dir string) (string, error) {
	st, err := os.Stat(local)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return local, nil
	}
	out := filepath.Join(dir, "model")
	if err := os.MkdirAll(out, 0o700); err != nil {
		return "", err
	}
	var total int64
	err = archive.Walk(local, func(name string, h *tar.Header, r io.Reader) error {
		target := filepath.Join(out, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			return os.MkdirAll(target, 0o700)
		case tar.TypeReg:
			if total += h.Size; total > maxModelDataBytes {
				return fmt.Errorf("the archive is larger than %d GiB", maxModelDataBytes>>30)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600|fs.FileMode(h.Mode)&0o700)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, r)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		}
		return nil // links and devices are not extracted
	})
	if errors.Is(err, archive.ErrNotArchive) {
		return "", errNotModelData
	}
	if err != nil {
		return "", fmt.Errorf("extract: %w", err)
	}
	return out, nil
}

// errNotModelData: model data that is neither a directory nor an archive.
var errNotModelData = errors.New("not a tar.gz archive or a directory")

// downloads fetches http(s) URLs; a server that does not start answering
// within a minute is given up on (the body may take as long as it takes).
var downloads = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	ResponseHeaderTimeout: time.Minute,
	TLSHandshakeTimeout:   30 * time.Second,
}}
