package sagemaker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferscale/inferscale/internal/payload"
)

type archiveEntry struct {
	name, body string
	typ        byte
}

func writeArchive(t *testing.T, path string, gz bool, entries ...archiveEntry) string {
	t.Helper()
	var buf bytes.Buffer
	var zw *gzip.Writer
	tw := tar.NewWriter(&buf)
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typ}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Typeflag == tar.TypeSymlink {
			h.Linkname = e.body
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, path, body string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseImage(t *testing.T) {
	dir := t.TempDir()
	exe := writeFile(t, filepath.Join(dir, "server"), "#!/bin/sh\n", 0o755)
	plain := writeFile(t, filepath.Join(dir, "plain"), "x", 0o644)
	tests := []struct {
		image  string
		form   imageForm
		target string
		err    string
	}{
		{image: "inferscale/sample-model", form: imageSample},
		{image: "inferscale/sample-model:1.2", form: imageSample},
		{image: exe, form: imageCommand, target: exe},
		{image: "file://" + exe, form: imageCommand, target: exe},
		{image: "file://localhost" + exe, form: imageCommand, target: exe},
		{image: "http://127.0.0.1:8080/", form: imageURL, target: "http://127.0.0.1:8080"},
		{image: "https://models.example.com/bert", form: imageURL, target: "https://models.example.com/bert"},
		{image: "inferscale/sample-model-2", err: "cannot run on this host"},
		{image: "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1", err: "no container runtime"},
		{image: "bin/server", err: "cannot run on this host"},
		{image: filepath.Join(dir, "missing"), err: "no such file"},
		{image: plain, err: "is not an executable file"},
		{image: dir, err: "is not an executable file"},
		{image: "file://host/srv/server", err: "must name this host"},
		{image: "file://server", err: "must name this host"},
		{image: "http://", err: "not a valid URL"},
	}
	for _, tt := range tests {
		form, target, err := parseImage("Image", tt.image)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "Image") {
				t.Errorf("parseImage(%q) error %v, want %q", tt.image, err, tt.err)
			}
			continue
		}
		if err != nil || form != tt.form || target != tt.target {
			t.Errorf("parseImage(%q) = %v, %q, %v; want %v, %q", tt.image, form, target, err, tt.form, tt.target)
		}
	}
}

func TestCheckDataURL(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, filepath.Join(dir, "p.tar.gz"), "x", 0o644)
	tests := []struct{ url, err string }{
		{url: "file://" + f},
		{url: "file://" + dir},
		{url: "http://127.0.0.1:9/p.tar.gz"},
		{url: "https://example.com/p.tar.gz"},
		{url: "file://" + dir + "/missing.tar.gz", err: "no such file"},
		{url: "file://relative/p.tar.gz", err: "must name this host"},
		{url: "s3://bucket/p.tar.gz", err: "no S3 endpoint"},
		{url: "ftp://host/p.tar.gz", err: "must be file://"},
		{url: "https:///p", err: "not a valid URL"},
	}
	for _, tt := range tests {
		err := checkDataURL("SamplePayloadUrl", tt.url)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "SamplePayloadUrl")) {
			t.Errorf("checkDataURL(%q) = %v, want %q", tt.url, err, tt.err)
		}
	}
}

func TestReadPayloads(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(tree, "b.csv"), "1,2\n", 0o644)
	writeFile(t, filepath.Join(tree, "a.json"), `[1]`, 0o644)
	writeFile(t, filepath.Join(tree, "sub", "c.bin"), "\x00\x01", 0o644)
	writeFile(t, filepath.Join(tree, ".DS_Store"), "junk", 0o644)
	writeFile(t, filepath.Join(tree, ".hidden", "d.json"), "{}", 0o644)
	entries := []archiveEntry{{name: "./", typ: tar.TypeDir}, {name: "./b.csv", body: "1,2\n"}, {name: "a.json", body: `[1]`},
		{name: "sub/c.bin", body: "\x00\x01"}, {name: "._a.json", body: "mac"}, {name: "link", body: "a.json", typ: tar.TypeSymlink}}
	tgz := writeArchive(t, filepath.Join(dir, "p.tar.gz"), true, entries...)
	plainTar := writeArchive(t, filepath.Join(dir, "p.tar"), false, entries...)
	single := writeFile(t, filepath.Join(dir, "one.csv"), "3,4\n", 0o644)
	empty := writeFile(t, filepath.Join(dir, "empty", "e.json"), "", 0o644)
	big := writeFile(t, filepath.Join(dir, "big", "b.json"), strings.Repeat("x", payload.MaxBytes+1), 0o644)
	onlyHidden := writeFile(t, filepath.Join(dir, "hidden", ".DS_Store"), "junk", 0o644)
	escape := writeArchive(t, filepath.Join(dir, "escape.tar.gz"), true, archiveEntry{name: "../evil.json", body: "{}"})

	want := []struct{ body, ct string }{{`[1]`, "application/json"}, {"1,2\n", "text/csv"}, {"\x00\x01", "application/octet-stream"}}
	tests := []struct {
		name, path, ct string
		want           []struct{ body, ct string }
		err            string
	}{
		{name: "directory", path: tree, want: want},
		{name: "tar.gz", path: tgz, want: want},
		{name: "tar", path: plainTar, want: want},
		{name: "given content type", path: tgz, ct: "application/x-npy",
			want: []struct{ body, ct string }{{`[1]`, "application/x-npy"}, {"1,2\n", "application/x-npy"}, {"\x00\x01", "application/x-npy"}}},
		{name: "single file", path: single, want: []struct{ body, ct string }{{"3,4\n", "text/csv"}}},
		{name: "empty payload", path: filepath.Dir(empty), err: "payload e.json is empty"},
		{name: "too large", path: filepath.Dir(big), err: "more than an invocation takes"},
		{name: "leaves the archive", path: escape, err: "leaves the archive"},
		{name: "no payloads", path: filepath.Dir(onlyHidden), err: "no payload files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := payload.Read(tt.path, tt.ct)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d payloads, want %d: %q", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if string(got[i].Body) != w.body || got[i].ContentType != w.ct {
					t.Errorf("payload %d = %q %s, want %q %s", i, got[i].Body, got[i].ContentType, w.body, w.ct)
				}
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	model := writeArchive(t, filepath.Join(dir, "model.tar.gz"), true,
		archiveEntry{name: "model.json", body: `{"w":1}`}, archiveEntry{name: "code/", typ: tar.TypeDir}, archiveEntry{name: "code/x.py", body: "pass"})
	payloads := writeArchive(t, filepath.Join(dir, "payloads.tar.gz"), true, archiveEntry{name: "a.json", body: `[1]`})
	evil := writeArchive(t, filepath.Join(dir, "evil.tar.gz"), true, archiveEntry{name: "/etc/evil", body: "x"})
	notArchive := writeFile(t, filepath.Join(dir, "model.bin"), "weights", 0o644)
	modelDir := filepath.Join(dir, "modeldir")
	writeFile(t, filepath.Join(modelDir, "model.json"), `{}`, 0o644)
	exe := writeFile(t, filepath.Join(dir, "server"), "#!/bin/sh\n", 0o755)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /model.tar.gz", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, model) })
	mux.HandleFunc("GET /payloads/one.json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"instances":[[1]]}`)) })
	files := httptest.NewServer(mux)
	defer files.Close()

	sample := []string{"/opt/inferscale", "model-server"}
	ctx := context.Background()
	tests := []struct {
		name    string
		c       containerSpec
		check   func(t *testing.T, p *preparedModel)
		wantErr string
	}{
		{name: "sample model with model data from a file", c: containerSpec{Image: SampleModelImage, ModelDataURL: "file://" + model, PayloadURL: "file://" + payloads,
			Environment: map[string]string{"B": "2", "A": "1"}},
			check: func(t *testing.T, p *preparedModel) {
				m := p.model
				if m.Command != "/opt/inferscale" || strings.Join(m.Args, " ") != "model-server serve" || m.URL != "" {
					t.Errorf("command %q %q", m.Command, m.Args)
				}
				md := filepath.Join(p.dir, "model")
				if want := []string{"A=1", "B=2", "SM_MODEL_DIR=" + md}; strings.Join(m.Env, " ") != strings.Join(want, " ") {
					t.Errorf("env %q, want %q", m.Env, want)
				}
				if b, err := os.ReadFile(filepath.Join(md, "code", "x.py")); err != nil || string(b) != "pass" {
					t.Errorf("extracted code/x.py: %q, %v", b, err)
				}
				if len(m.Payloads) != 1 || string(m.Payloads[0].Body) != `[1]` {
					t.Errorf("payloads %q", m.Payloads)
				}
			}},
		{name: "model data over http, one payload over http", c: containerSpec{Image: exe, ModelDataURL: files.URL + "/model.tar.gz", PayloadURL: files.URL + "/payloads/one.json"},
			check: func(t *testing.T, p *preparedModel) {
				if p.model.Command != exe || len(p.model.Args) != 0 {
					t.Errorf("command %q %q", p.model.Command, p.model.Args)
				}
				if b, err := os.ReadFile(filepath.Join(p.dir, "model", "model.json")); err != nil || string(b) != `{"w":1}` {
					t.Errorf("model.json %q, %v", b, err)
				}
				if len(p.model.Payloads) != 1 || p.model.Payloads[0].ContentType != "application/json" {
					t.Errorf("payloads %+v", p.model.Payloads)
				}
			}},
		{name: "model directory in place, running server", c: containerSpec{Image: "http://127.0.0.1:8080", ModelDataURL: "file://" + modelDir, PayloadURL: "file://" + payloads},
			check: func(t *testing.T, p *preparedModel) {
				if p.model.URL != "http://127.0.0.1:8080" || p.model.Command != "" || strings.Join(p.model.Env, " ") != "SM_MODEL_DIR="+modelDir {
					t.Errorf("model %+v", p.model)
				}
			}},
		{name: "sample model's own payloads", c: containerSpec{Image: SampleModelImage, Environment: map[string]string{"INFERSCALE_MLP_INPUT": "5"}},
			check: func(t *testing.T, p *preparedModel) {
				if len(p.model.Payloads) != 8 || !strings.HasPrefix(string(p.model.Payloads[0].Body), `{"instances":[[`) ||
					strings.Count(string(p.model.Payloads[0].Body), ",") != 4 {
					t.Errorf("payloads %q", p.model.Payloads)
				}
			}},
		{name: "archive escaping its directory", c: containerSpec{Image: SampleModelImage, ModelDataURL: "file://" + evil}, wantErr: "leaves the archive"},
		{name: "model data not an archive", c: containerSpec{Image: SampleModelImage, ModelDataURL: "file://" + notArchive}, wantErr: "not a tar.gz archive or a directory"},
		{name: "download fails", c: containerSpec{Image: SampleModelImage, PayloadURL: files.URL + "/missing.tar.gz"}, wantErr: "404 Not Found"},
		{name: "no payloads", c: containerSpec{Image: exe}, wantErr: "no sample payloads"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobDir := filepath.Join(dir, "jobs", strings.Repeat("j", i+1))
			p, err := tt.c.prepare(ctx, jobDir, sample)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if _, err := os.Stat(jobDir); !os.IsNotExist(err) {
					t.Errorf("job directory left behind after a failure: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
			if err := p.cleanup(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(jobDir); !os.IsNotExist(err) {
				t.Errorf("job directory left behind: %v", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(modelDir, "model.json")); err != nil {
		t.Errorf("a model directory used in place was removed: %v", err)
	}
}
