package modelserver

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/modelserver/mlp"
)

// multiConfig is a multi-model server's configuration with the given
// budget.
func multiConfig(t *testing.T, maxModels int, maxBytes int64) Config {
	c := smallMLP(t)
	c.MultiModel, c.MaxModels, c.MaxModelBytes = true, maxModels, maxBytes
	return c
}

// artifactDir writes n's weights into a new directory and returns it.
func artifactDir(t *testing.T, n *mlp.Network) string {
	t.Helper()
	dir := t.TempDir()
	writeWeights(t, dir, n)
	return dir
}

// artifactTarGz packs n's weights as model.tar.gz, with model.json at the
// root next to another file, and returns its path.
func artifactTarGz(t *testing.T, n *mlp.Network) string {
	t.Helper()
	var weights bytes.Buffer
	if err := n.WriteJSON(&weights); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		data []byte
	}{{"./code/inference.py", []byte("# unused")}, {"./" + WeightsFile, weights.Bytes()}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "model.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// call sends one request and returns the status and body.
func call(t *testing.T, method, url, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func loadBody(name, url string) string {
	b, _ := json.Marshal(loadRequest{ModelName: name, URL: url})
	return string(b)
}

// TestMultiModelContract walks SageMaker's multi-model container contract
// over real HTTP: load, conflict, describe, list, invoke, unload, and the
// errors of each.
func TestMultiModelContract(t *testing.T) {
	s := New(multiConfig(t, 0, 0), nil)
	sv := serve(t, s)
	waitReady(t, sv.url, 5*time.Second)

	netA := mustGenerate(t, 1, []int{2, 8, 3})
	netB := mustGenerate(t, 2, []int{3, 8, 4})
	dirA, tarB := artifactDir(t, netA), artifactTarGz(t, netB)
	empty := t.TempDir()
	notArchive := filepath.Join(empty, "notes.txt")
	if err := os.WriteFile(notArchive, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string // substring of the body
	}{
		{"ping", "GET", "/ping", "", 200, `"multi-model"`},
		{"invocations without a model", "POST", "/invocations", "[1,2]", 404, "POST /models/{name}/invoke"},
		{"list empty", "GET", "/models", "", 200, `{"models":[]}`},
		{"load a from a directory", "POST", "/models", loadBody("a", dirA), 200, `"loaded"`},
		{"load a again", "POST", "/models", loadBody("a", dirA), 409, "already loaded"},
		{"load b from model.tar.gz", "POST", "/models", loadBody("b", tarB), 200, `"loaded"`},
		{"load from a directory without weights", "POST", "/models", loadBody("c", empty), 400, "holds no model.json"},
		{"load from a file that is no archive", "POST", "/models", loadBody("c", notArchive), 400, "not a directory or a tar archive"},
		{"load from nowhere", "POST", "/models", loadBody("c", filepath.Join(empty, "nope")), 400, "no such file"},
		{"load without url", "POST", "/models", `{"model_name":"c"}`, 400, "url is empty"},
		{"load with a slash in the name", "POST", "/models", loadBody("c/d", dirA), 400, "without /"},
		{"load malformed", "POST", "/models", `{"model_name":`, 400, "malformed body"},
		{"describe a", "GET", "/models/a", "", 200, fmt.Sprintf(`{"modelName":"a","modelUrl":%q}`, dirA)},
		{"describe c", "GET", "/models/c", "", 404, "not loaded"},
		{"list", "GET", "/models", "", 200, fmt.Sprintf(`{"models":[{"modelName":"a","modelUrl":%q},{"modelName":"b","modelUrl":%q}]}`, dirA, tarB)},
		{"invoke a", "POST", "/models/a/invoke", "[0.5,-1]", 200, `"predictions"`},
		{"invoke b", "POST", "/models/b/invoke", "[[0.5,-1,2],[1,1,1]]", 200, `"predictions"`},
		{"invoke a with b's width", "POST", "/models/a/invoke", "[0.5,-1,2]", 400, `instance 0 has 3 values; model \"a\" takes 2`},
		{"invoke c", "POST", "/models/c/invoke", "[1]", 404, "not loaded"},
		{"unload c", "DELETE", "/models/c", "", 404, "not loaded"},
		{"unload a", "DELETE", "/models/a", "", 200, `"unloaded"`},
		{"invoke a after unload", "POST", "/models/a/invoke", "[0.5,-1]", 404, "not loaded"},
		{"list after unload", "GET", "/models", "", 200, fmt.Sprintf(`{"models":[{"modelName":"b","modelUrl":%q}]}`, tarB)},
		{"load a again after unload", "POST", "/models", loadBody("a", dirA), 200, `"loaded"`},
	}
	for _, st := range steps {
		status, body := call(t, st.method, sv.url+st.path, st.body, "Content-Type", ContentTypeJSON, HeaderTargetModel, "model-a.tar.gz")
		if status != st.status || !strings.Contains(string(body), st.want) {
			t.Errorf("%s: %s %s = %d %s, want %d with %s", st.name, st.method, st.path, status, body, st.status, st.want)
		}
	}

	// Each model answers with its own weights: the server's predictions are
	// those of the network read from the artifact.
	for _, tt := range []struct {
		name string
		net  *mlp.Network
		x    []float64
	}{{"a", netA, []float64{0.25, -0.75}}, {"b", netB, []float64{1, -2, 0.5}}} {
		b, _ := json.Marshal([][]float64{tt.x})
		status, body := call(t, "POST", sv.url+"/models/"+tt.name+"/invoke", string(b), "Content-Type", ContentTypeJSON)
		var r Response
		if status != 200 || json.Unmarshal(body, &r) != nil || len(r.Predictions) != 1 {
			t.Fatalf("invoke %s: %d %s", tt.name, status, body)
		}
		label, p, err := tt.net.Predict(tt.x)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Predictions[0]
		if got.Label != label || len(got.Probabilities) != len(p) {
			t.Fatalf("model %s answered %+v, want label %d of %d classes", tt.name, got, label, len(p))
		}
		for i := range p {
			if math.Abs(got.Probabilities[i]-p[i]) > 1e-12 {
				t.Errorf("model %s: probability %d is %v, want %v", tt.name, i, got.Probabilities[i], p[i])
			}
		}
	}
}

func TestMultiModelListPages(t *testing.T) {
	s := New(multiConfig(t, 0, 0), nil)
	sv := serve(t, s)
	waitReady(t, sv.url, 5*time.Second)
	dir := artifactDir(t, mustGenerate(t, 3, []int{2, 4, 2}))
	names := []string{"m3", "m1", "m5", "m2", "m4"}
	for _, n := range names {
		if status, body := call(t, "POST", sv.url+"/models", loadBody(n, dir)); status != 200 {
			t.Fatalf("load %s: %d %s", n, status, body)
		}
	}
	tests := []struct {
		limit   string
		pages   []string // names of each page, joined by commas
		wantErr bool
	}{
		{limit: "2", pages: []string{"m1,m2", "m3,m4", "m5"}},
		{limit: "5", pages: []string{"m1,m2,m3,m4,m5"}},
		{limit: "", pages: []string{"m1,m2,m3,m4,m5"}},
		{limit: "0", wantErr: true},
		{limit: "1001", wantErr: true},
	}
	for _, tt := range tests {
		t.Run("limit="+tt.limit, func(t *testing.T) {
			token := ""
			var pages []string
			for range 10 {
				url := sv.url + "/models?next_page_token=" + token
				if tt.limit != "" {
					url += "&limit=" + tt.limit
				}
				status, body := call(t, "GET", url, "")
				if tt.wantErr {
					if status != 400 {
						t.Errorf("status %d %s, want 400", status, body)
					}
					return
				}
				var l modelList
				if status != 200 || json.Unmarshal(body, &l) != nil {
					t.Fatalf("list: %d %s", status, body)
				}
				var ns []string
				for _, m := range l.Models {
					ns = append(ns, m.ModelName)
				}
				pages = append(pages, strings.Join(ns, ","))
				if token = l.NextPageToken; token == "" {
					break
				}
			}
			if fmt.Sprint(pages) != fmt.Sprint(tt.pages) {
				t.Errorf("pages %v, want %v", pages, tt.pages)
			}
		})
	}
}

// TestMultiModelBudget: loads beyond the model count or the byte budget
// answer 507, and fit again once a model is unloaded.
func TestMultiModelBudget(t *testing.T) {
	small := mustGenerate(t, 4, []int{4, 16, 2}) // 114 parameters: 456 bytes
	big := mustGenerate(t, 5, []int{4, 64, 2})   // 450 parameters: 1800 bytes
	smallDir, bigDir := artifactDir(t, small), artifactDir(t, big)
	tests := []struct {
		name      string
		maxModels int
		maxBytes  int64
		loads     []string // "name=small" or "name=big" in order
		want      []int    // status of each load
		unload    string   // then unloaded
		retry     string   // then loaded again
	}{
		{"model count", 2, 0, []string{"a=small", "b=small", "c=small"}, []int{200, 200, 507}, "a", "c=small"},
		{"byte budget", 0, 2 * 456, []string{"a=small", "b=big", "c=small", "d=small"}, []int{200, 507, 200, 507}, "a", "d=small"},
		{"count and bytes", 3, 3000, []string{"a=big", "b=small", "c=small", "d=small"}, []int{200, 200, 200, 507}, "b", "d=small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(multiConfig(t, tt.maxModels, tt.maxBytes), nil)
			sv := serve(t, s)
			waitReady(t, sv.url, 5*time.Second)
			load := func(spec string) (int, []byte) {
				name, kind, _ := strings.Cut(spec, "=")
				dir := smallDir
				if kind == "big" {
					dir = bigDir
				}
				return call(t, "POST", sv.url+"/models", loadBody(name, dir))
			}
			for i, spec := range tt.loads {
				status, body := load(spec)
				if status != tt.want[i] {
					t.Errorf("load %s: %d %s, want %d", spec, status, body, tt.want[i])
				}
				if status == 507 && !strings.Contains(string(body), "cannot load") {
					t.Errorf("507 body %s does not explain", body)
				}
			}
			if status, body := call(t, "DELETE", sv.url+"/models/"+tt.unload, ""); status != 200 {
				t.Fatalf("unload %s: %d %s", tt.unload, status, body)
			}
			if status, body := load(tt.retry); status != 200 {
				t.Errorf("load %s after unloading %s: %d %s", tt.retry, tt.unload, status, body)
			}
		})
	}
}

// TestMultiModelConcurrentLoads: of simultaneous loads of one name, exactly
// one succeeds and the others conflict; a slow load (setup delay) holds its
// place in the model count meanwhile.
func TestMultiModelConcurrentLoads(t *testing.T) {
	cfg := multiConfig(t, 1, 0)
	cfg.SetupDelay = 150 * time.Millisecond
	s := New(cfg, nil)
	sv := serve(t, s)
	waitReady(t, sv.url, 5*time.Second)
	dir := artifactDir(t, mustGenerate(t, 6, []int{2, 4, 2}))
	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i], _ = call(t, "POST", sv.url+"/models", loadBody("same", dir)) })
	}
	wg.Wait()
	counts := map[int]int{}
	for _, st := range statuses {
		counts[st]++
	}
	if counts[200] != 1 || counts[409] != n-1 {
		t.Errorf("statuses %v, want one 200 and %d 409", statuses, n-1)
	}
	if status, body := call(t, "POST", sv.url+"/models", loadBody("other", dir)); status != 507 {
		t.Errorf("second model beyond a budget of one: %d %s, want 507", status, body)
	}
}
