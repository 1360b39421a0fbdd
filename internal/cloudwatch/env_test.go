package cloudwatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/store"
)

// start is the time the tests begin at.
var start = time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC)

// env is a CloudWatch service on a real SQLite store in a temporary
// directory, served by an api.Router on a loopback httptest server, with a
// clock the test sets.
type env struct {
	t       *testing.T
	ctx     context.Context
	dbPath  string
	store   *store.Store
	metrics *metrics.Store
	svc     *cloudwatch.Service
	router  *api.Router
	srv     *httptest.Server

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), dbPath: filepath.Join(t.TempDir(), "cw.db"), now: start}
	st, err := store.Open(e.ctx, e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	t.Cleanup(func() { e.store.Close() })
	e.metrics = metrics.New(metrics.Options{})
	e.svc = &cloudwatch.Service{Store: st, Metrics: e.metrics, Now: e.clock, EvaluationDelay: 3 * time.Second}
	a := e.svc.NewAPI()
	a.CheckOutput = true // every response must conform to the model
	e.router = &api.Router{Now: e.clock}
	if err := e.router.Add(a); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.router)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) setNow(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = t
}

// reply is a decoded JSON response.
type reply struct {
	status int
	body   map[string]any
	raw    []byte
}

func (r reply) code() string {
	s, _ := r.body["__type"].(string)
	return s
}

func (r reply) message() string {
	s, _ := r.body["message"].(string)
	return s
}

// call sends a JSON 1.0 request for op with input in.
func (e *env) call(op string, in any) reply {
	e.t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		e.t.Fatalf("%s: response %q: %v", op, raw, err)
	}
	return r
}

// ok calls op and fails the test unless it succeeds.
func (e *env) ok(op string, in any) map[string]any {
	e.t.Helper()
	r := e.call(op, in)
	if r.status != http.StatusOK {
		e.t.Fatalf("%s: %d %s", op, r.status, r.raw)
	}
	return r.body
}

// fails calls op and checks the error code, HTTP status and that the
// message contains want.
func (e *env) fails(op string, in any, code string, status int, want string) {
	e.t.Helper()
	r := e.call(op, in)
	if r.status != status || r.code() != code || !contains(r.message(), want) {
		e.t.Errorf("%s: got %d %s %q, want %d %s with %q", op, r.status, r.code(), r.message(), status, code, want)
	}
}

func contains(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }

// epoch is a time in the JSON protocol's form.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// obj is a JSON object literal.
type obj = map[string]any

// list returns the member m of a response as a list of objects.
func list(body map[string]any, m string) []map[string]any {
	var out []map[string]any
	items, _ := body[m].([]any)
	for _, it := range items {
		o, _ := it.(map[string]any)
		out = append(out, o)
	}
	return out
}
