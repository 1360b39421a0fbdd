package sagemaker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/hosting"
)

// TestModelRepository resolves target models under file:// and http://
// prefixes: directories in place, archives extracted once, and SageMaker's
// ValidationError for what cannot be found or read.
func TestModelRepository(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a", "model.json"), `{"w":1}`, 0o644)
	writeArchive(t, filepath.Join(root, "b.tar.gz"), true, archiveEntry{name: "model.json", body: `{"w":2}`})
	writeArchive(t, filepath.Join(root, "model-c.tar.gz"), true, archiveEntry{name: "./model.json", body: `{"w":3}`})
	writeFile(t, filepath.Join(root, "junk.tar.gz"), "not an archive", 0o644)
	writeFile(t, filepath.Join(t.TempDir(), "outside", "model.json"), "{}", 0o644)
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	defer srv.Close()

	tests := []struct {
		name, prefix, target string
		weights              string // model.json in the returned directory; "" for an error
		copied               bool
		err                  string
	}{
		{name: "directory in place", prefix: "file://" + root + "/", target: "a/", weights: `{"w":1}`},
		{name: "directory without slash", prefix: "file://" + root + "/", target: "a", weights: `{"w":1}`},
		{name: "archive extracted", prefix: "file://" + root + "/", target: "b.tar.gz", weights: `{"w":2}`, copied: true},
		{name: "prefix of names", prefix: "file://" + root + "/model-", target: "c.tar.gz", weights: `{"w":3}`, copied: true},
		{name: "over http", prefix: srv.URL + "/", target: "b.tar.gz", weights: `{"w":2}`, copied: true},
		{name: "missing", prefix: "file://" + root + "/", target: "nope.tar.gz", err: "Failed to download model data(url: file://" + root + "/nope.tar.gz, target model: nope.tar.gz)"},
		{name: "missing over http", prefix: srv.URL + "/", target: "nope.tar.gz", err: "Failed to download model data(url: " + srv.URL + "/nope.tar.gz"},
		{name: "not an archive", prefix: "file://" + root + "/", target: "junk.tar.gz", err: "is not a tar.gz archive or a directory"},
		{name: "parent", prefix: "file://" + root + "/", target: "../outside/", err: `without ".."`},
		{name: "absolute", prefix: "file://" + root + "/", target: "/etc/", err: "must be a path relative to the model prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newModelRepository(tt.prefix, t.TempDir())
			path, took, err := r.Fetch(context.Background(), tt.target)
			if tt.err != "" {
				var ve *hosting.ValidationError
				if !errors.As(err, &ve) || !strings.Contains(ve.Message, tt.err) {
					t.Fatalf("error %v, want a ValidationError with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(path, "model.json"))
			if err != nil || string(b) != tt.weights {
				t.Fatalf("model.json at %s: %q %v, want %q", path, b, err, tt.weights)
			}
			if (took > 0) != tt.copied {
				t.Errorf("download time %v, want copied %v", took, tt.copied)
			}
			again, took, err := r.Fetch(context.Background(), tt.target)
			if err != nil || again != path || took != 0 {
				t.Errorf("second fetch: %s %v %v, want %s once more, with no download", again, took, err, path)
			}
		})
	}
}

// TestModelRepositoryConcurrentFetch: simultaneous fetches of one archive
// extract it once.
func TestModelRepositoryConcurrentFetch(t *testing.T) {
	root := t.TempDir()
	writeArchive(t, filepath.Join(root, "b.tar.gz"), true, archiveEntry{name: "model.json", body: strings.Repeat("x", 1<<20)})
	r := newModelRepository("file://"+root+"/", t.TempDir())
	const n = 8
	var wg sync.WaitGroup
	paths := make([]string, n)
	tooks := make([]time.Duration, n)
	for i := range n {
		wg.Go(func() {
			var err error
			if paths[i], tooks[i], err = r.Fetch(context.Background(), "b.tar.gz"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	copies := 0
	for i := range n {
		if paths[i] != paths[0] {
			t.Errorf("fetch %d: %s, fetch 0: %s", i, paths[i], paths[0])
		}
		if tooks[i] > 0 {
			copies++
		}
	}
	if copies != 1 {
		t.Errorf("%d fetches report a download, want 1", copies)
	}
}

func TestCheckModelPrefix(t *testing.T) {
	root := t.TempDir()
	file := writeFile(t, filepath.Join(root, "m.tar.gz"), "x", 0o644)
	tests := []struct {
		url, err string
	}{
		{"file://" + root + "/", ""},
		{"file://" + root + "/model-", ""}, // a prefix of names in an existing directory
		{"https://models.example.com/prefix/", ""},
		{"", "needs a ModelDataUrl"},
		{"file://" + root + "/nope/", "is not a directory on this host"},
		{"file://" + file + "/", "is not a directory on this host"},
		{"s3://bucket/models/", "no S3 endpoint"},
		{"ftp://host/models/", "must be file://"},
	}
	for _, tt := range tests {
		err := checkModelPrefix(tt.url)
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("checkModelPrefix(%q) = %v, want %q", tt.url, err, tt.err)
		}
	}
}
