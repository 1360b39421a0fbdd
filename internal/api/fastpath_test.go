package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

// TestFastInputAgreesWithValidateREST checks that the fast validator of
// InvokeEndpoint's input says "valid" exactly when validateREST finds
// nothing wrong, twice per input so that remembered values are checked too.
func TestFastInputAgreesWithValidateREST(t *testing.T) {
	op := model.MustLoad("sagemaker-runtime").Operations["InvokeEndpoint"]
	f := newFastInput(op.Input)
	if f == nil {
		t.Fatal("InvokeEndpoint's input has no fast validator")
	}
	tests := []struct {
		name     string
		endpoint string
		header   http.Header
		body     []byte
		valid    bool
	}{
		{"plain", "ep-1", nil, []byte("x"), true},
		{"empty body", "ep-1", nil, []byte{}, true},
		{"headers", "ep-1", http.Header{"Content-Type": {"application/json"}, "Accept": {"text/csv"},
			"X-Amzn-Sagemaker-Target-Variant": {"blue"}, "X-Amzn-Sagemaker-Custom-Attributes": {"a=1"}}, []byte("{}"), true},
		{"endpoint fails its pattern", "bad_name", nil, []byte("x"), false},
		{"endpoint too long", strings.Repeat("a", 64), nil, []byte("x"), false},
		{"no endpoint", "", nil, []byte("x"), false},
		{"variant fails its pattern", "ep-1", http.Header{"X-Amzn-Sagemaker-Target-Variant": {"no_underscores"}}, []byte("x"), false},
		{"empty target model under its minimum", "ep-1", http.Header{"X-Amzn-Sagemaker-Target-Model": {""}}, []byte("x"), false},
		{"non-ASCII custom attributes (sensitive)", "ep-1", http.Header{"X-Amzn-Sagemaker-Custom-Attributes": {"é"}}, []byte("x"), false},
		{"repeated header joined", "ep-1", http.Header{"Accept": {"a/b", "c/d"}}, []byte("x"), true},
		{"repeated variant joined fails", "ep-1", http.Header{"X-Amzn-Sagemaker-Target-Variant": {"a", "b"}}, []byte("x"), false},
		{"payload over the model's maximum", "ep-1", nil, make([]byte, 6291457), false},
		{"payload at the maximum", "ep-1", nil, make([]byte, 6291456), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/endpoints/x/invocations", nil)
			l := labels{n: 1, names: [maxFastLabels]string{"EndpointName"}, vals: [maxFastLabels]string{tt.endpoint}}
			for k, v := range tt.header {
				r.Header[k] = v
			}
			slow := validateREST(op.Input, r, &l, tt.body) == nil
			if slow != tt.valid {
				t.Fatalf("validateREST says valid=%v, want %v", slow, tt.valid)
			}
			for i := range 2 {
				if got := f.valid(r, &l, tt.body); got != tt.valid {
					t.Fatalf("call %d: fast validator says %v, want %v", i, got, tt.valid)
				}
			}
		})
	}
	remembered := 0
	for i := range f.members {
		fm := &f.members[i]
		for v := range *fm.seen.Load() {
			remembered++
			if fm.m.Shape.Sensitive {
				t.Errorf("remembered %q of sensitive member %s", v, fm.m.Name)
			}
		}
	}
	if remembered == 0 || int(f.count.Load()) != remembered {
		t.Errorf("remembered %d values, count says %d", remembered, f.count.Load())
	}
}

func TestFastInputUnsupported(t *testing.T) {
	m := model.MustLoad("sagemaker")
	// JSON-bodied inputs have body members: the generic path validates
	// them.
	if f := newFastInput(m.Operations["CreateModel"].Input); f != nil {
		t.Errorf("CreateModel's input got a fast validator")
	}
	if f := newFastInput(nil); f.valid(httptest.NewRequest(http.MethodPost, "/", nil), &labels{}, nil) {
		t.Errorf("a nil validator says valid")
	}
}

// TestRESTPathBindAgreesWithServeMux checks that bind matches a path only
// if ServeMux matches it to the same pattern, with the same values.
func TestRESTPathBindAgreesWithServeMux(t *testing.T) {
	patterns := []string{
		"POST /endpoints/{EndpointName}/invocations",
		"POST /a/{X}/b/{Y}",
		"GET /list",
	}
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {})
	}
	tests := []struct {
		method, path string
		pattern      string // bound, or "" for none
		values       map[string]string
	}{
		{"POST", "/endpoints/ep-1/invocations", patterns[0], map[string]string{"EndpointName": "ep-1"}},
		{"POST", "/a/1/b/2", patterns[1], map[string]string{"X": "1", "Y": "2"}},
		{"GET", "/list", patterns[2], nil},
		{"GET", "/endpoints/ep-1/invocations", "", nil},    // method
		{"POST", "/endpoints/ep-1/invocations/", "", nil},  // trailing slash
		{"POST", "/endpoints//invocations", "", nil},       // empty label
		{"POST", "/endpoints/./invocations", "", nil},      // dot segment: ServeMux redirects
		{"POST", "/endpoints/a%2Fb/invocations", "", nil},  // escapes go to ServeMux
		{"POST", "/endpoints/ep-1/invocations/x", "", nil}, // longer
		{"POST", "/endpoints/ep-1", "", nil},               // shorter
		{"POST", "/endpoints/ep-1/invocation", "", nil},    // literal
		{"POST", "//endpoints/ep-1/invocations", "", nil},  // empty first segment
		{"POST", "/a/1/b/2/", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var bound string
			var l labels
			r := httptest.NewRequest(tt.method, "http://h"+tt.path, nil)
			for _, p := range patterns {
				if newRESTPath(p).bind(r.Method, r.URL.EscapedPath(), &l) {
					if bound != "" {
						t.Fatalf("bound by %q and %q", bound, p)
					}
					bound = p
				}
			}
			if bound != tt.pattern {
				t.Fatalf("bound by %q, want %q", bound, tt.pattern)
			}
			for k, v := range tt.values {
				if got := l.get(r, k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if bound == "" {
				return
			}
			// ServeMux agrees.
			mr := httptest.NewRequest(tt.method, "http://h"+tt.path, nil)
			if _, p := mux.Handler(mr); p != bound {
				t.Errorf("ServeMux matches %q", p)
			}
			mux.ServeHTTP(httptest.NewRecorder(), mr)
			for k, v := range tt.values {
				if got := mr.PathValue(k); got != v {
					t.Errorf("ServeMux: %s = %q, want %q", k, got, v)
				}
			}
		})
	}
	for _, p := range []string{"POST /files/{path...}", "POST /x/", "POST /a{b}c", "GET h.example/x"} {
		if newRESTPath(p) != nil {
			t.Errorf("%q got a matcher", p)
		}
	}
}

// TestRESTSlowPathStillServes checks that a path ServeMux matches but bind
// does not (an escaped label) is still served, with ServeMux's values.
func TestRESTSlowPathStillServes(t *testing.T) {
	rt := newRuntimeRouter(t)
	r := do(t, rt, http.MethodPost, "/endpoints/ep%2D1/invocations", nil, "raw")
	if r.status != http.StatusOK || r.raw != "us-east-1/ep-1/AllTraffic:raw" {
		t.Fatalf("status %d body %q", r.status, r.raw)
	}
}

func TestRequestIDs(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newUUID()
		if !uuid.MatchString(id) {
			t.Fatalf("%q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("%q twice", id)
		}
		seen[id] = true
	}
}

// TestRequestLogLevels checks that a request is logged at Debug when the
// logger takes Debug, and not at all (but still observed) when it does not.
func TestRequestLogLevels(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			rt := newRuntimeRouter(t)
			var buf bytes.Buffer
			rt.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
			observed := 0
			rt.Observe = func(service, operation, code string, status int, _ time.Duration) {
				observed++
				if operation != "InvokeEndpoint" || status != http.StatusOK {
					t.Errorf("observed %s %s %s %d", service, operation, code, status)
				}
			}
			r := do(t, rt, http.MethodPost, "/endpoints/ep-1/invocations", nil, "raw")
			if r.status != http.StatusOK || observed != 1 {
				t.Fatalf("status %d, observed %d times", r.status, observed)
			}
			logged := strings.Contains(buf.String(), "api request") && strings.Contains(buf.String(), "request_id="+r.header.Get("x-amzn-RequestId"))
			if logged != (level == slog.LevelDebug) {
				t.Errorf("at %s: logged %v: %q", level, logged, buf.String())
			}
		})
	}
}

// BenchmarkInvokeEndpointRouting serves InvokeEndpoint requests through the
// router with an echo handler: the API's cost per invocation.
func BenchmarkInvokeEndpointRouting(b *testing.B) {
	rts := NewService(model.MustLoad("sagemaker-runtime"))
	rts.Route("InvokeEndpoint", func(ctx context.Context, req *Request, w http.ResponseWriter, body []byte) error {
		w.Header()["Content-Type"] = []string{"application/json"}
		_, err := w.Write(body)
		return err
	})
	rt := &Router{}
	if err := rt.Add(rts); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"instances":[[1.0,2.0,3.0,4.0]]}`)
	w := &discardWriter{h: http.Header{}}
	// One request, its body rewound each time: what is measured is the
	// router, not building requests.
	r := httptest.NewRequest(http.MethodPost, "/endpoints/bench-gateway/invocations", nil)
	r.Header["Content-Type"] = []string{"application/json"}
	r.ContentLength = int64(len(body))
	src := bytes.NewReader(body)
	r.Body = io.NopCloser(src)
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body)
		clear(w.h)
		w.status = 0
		rt.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }

func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
