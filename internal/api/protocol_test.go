package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

const createBody = `{"JobName":"job-1","JobType":"Default","RoleArn":"arn:aws:iam::123456789012:role/r","InputConfig":{"ModelName":"m"}}`

// cwAlarmsInput/Output are a minimal DescribeAlarms for the JSON 1.0 test.
type cwAlarmsInput struct {
	AlarmNames []string `json:"AlarmNames,omitempty"`
	MaxRecords *int32   `json:"MaxRecords,omitempty"`
}

type cwAlarm struct {
	AlarmName                  string     `json:"AlarmName"`
	StateValue                 string     `json:"StateValue"`
	StateUpdatedTimestamp      *Timestamp `json:"StateUpdatedTimestamp,omitempty"`
	AlarmConfigurationUpdatedT *Timestamp `json:"AlarmConfigurationUpdatedTimestamp,omitempty"`
}

type cwAlarmsOutput struct {
	MetricAlarms []cwAlarm `json:"MetricAlarms"`
}

// newTestRouter serves the SageMaker test service and a CloudWatch
// DescribeAlarms (JSON 1.0) on one router.
func newTestRouter(t testing.TB) (*Router, *jobs) {
	t.Helper()
	svc, j := newJobsService()
	svc.MaxBodyBytes = 4096
	cw := NewService(model.MustLoad("cloudwatch"))
	cw.Handle(Op("DescribeAlarms", func(ctx context.Context, req *Request, in *cwAlarmsInput) (*cwAlarmsOutput, error) {
		out := &cwAlarmsOutput{}
		for _, n := range in.AlarmNames {
			out.MetricAlarms = append(out.MetricAlarms, cwAlarm{AlarmName: n, StateValue: "OK", StateUpdatedTimestamp: At(req.Time)})
		}
		return out, nil
	}))
	n := 0
	rt := &Router{
		Now:          func() time.Time { return fixedNow },
		NewRequestID: func() string { n++; return "req-" + string(rune('0'+n%10)) },
	}
	for _, s := range []*Service{svc, cw} {
		if err := rt.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	return rt, j
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t testing.TB, h http.Handler, method, path string, header map[string]string, body string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/") && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("response %s is not JSON: %v", raw, err)
		}
	}
	return r
}

func target(op string) map[string]string {
	return map[string]string{"X-Amz-Target": "SageMaker." + op, "Content-Type": "application/x-amz-json-1.1"}
}

func TestJSONProtocolErrors(t *testing.T) {
	rt, _ := newTestRouter(t)
	tests := []struct {
		name        string
		method      string
		header      map[string]string
		body        string
		status      int
		code        string
		msgContains string
	}{
		{name: "malformed JSON", header: target("CreateInferenceRecommendationsJob"), body: `{"JobName":`, status: 400, code: "SerializationException", msgContains: "unexpected EOF"},
		{name: "trailing data", header: target("CreateInferenceRecommendationsJob"), body: createBody + `{}`, status: 400, code: "SerializationException", msgContains: "after the JSON value"},
		{name: "top level array", header: target("CreateInferenceRecommendationsJob"), body: `[]`, status: 400, code: "SerializationException", msgContains: "expected a JSON object"},
		{name: "wrong member type", header: target("CreateInferenceRecommendationsJob"), body: `{"JobName":["x"]}`, status: 400, code: "SerializationException", msgContains: "'jobName': expected string, found array"},
		{name: "empty body is an empty object", header: target("CreateInferenceRecommendationsJob"), body: ``, status: 400, code: "ValidationException", msgContains: "4 validation errors detected: Value null at 'jobName'"},
		{name: "validation", header: target("DescribeInferenceRecommendationsJob"), body: `{"JobName":"-x"}`, status: 400, code: "ValidationException",
			msgContains: "1 validation error detected: Value '-x' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{name: "operation not in the model", header: target("MakeCoffee"), body: `{}`, status: 400, code: "UnknownOperationException", msgContains: "Unknown operation MakeCoffee for service SageMaker."},
		{name: "operation not implemented", header: target("CreateModel"), body: `{}`, status: 400, code: "UnknownOperationException", msgContains: "SageMaker operation CreateModel is not implemented by inferscale."},
		{name: "unknown target prefix", header: map[string]string{"X-Amz-Target": "DynamoDB_20120810.ListTables"}, body: `{}`, status: 400, code: "UnknownOperationException", msgContains: `Unknown service "DynamoDB_20120810"`},
		{name: "target without operation", header: map[string]string{"X-Amz-Target": "SageMaker"}, body: `{}`, status: 400, code: "UnknownOperationException"},
		{name: "GET", method: http.MethodGet, header: target("DescribeInferenceRecommendationsJob"), status: 400, code: "UnknownOperationException", msgContains: "requires POST"},
		{name: "body over the service limit", header: target("CreateInferenceRecommendationsJob"), body: `{"JobName":"` + strings.Repeat("a", 5000) + `"}`, status: 413, code: "RequestEntityTooLargeException", msgContains: "exceeds the limit of 4096 bytes"},
		{name: "no route for the path", header: nil, body: `{}`, status: 404, code: "UnknownOperationException", msgContains: "need an X-Amz-Target header"},
		{name: "bad authorization header", header: map[string]string{"X-Amz-Target": "SageMaker.DescribeInferenceRecommendationsJob", "Authorization": "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1"}, body: `{"JobName":"x"}`,
			status: 400, code: "IncompleteSignatureException", msgContains: "Credential"},
		{name: "handler error mapped by MapError", header: target("DescribeInferenceRecommendationsJob"), body: `{"JobName":"nope"}`, status: 400, code: "ResourceNotFound", msgContains: "Could not find job."},
		{name: "explicit code", header: target("DeleteInferenceComponent"), body: `{"InferenceComponentName":"conflict"}`, status: 400, code: "ConflictException", msgContains: "busy"},
		{name: "internal errors hide their text", header: target("DeleteInferenceComponent"), body: `{"InferenceComponentName":"boom"}`, status: 500, code: "InternalFailure", msgContains: "An internal error occurred."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			r := do(t, rt, method, "/", tt.header, tt.body)
			if r.status != tt.status || r.body["__type"] != tt.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, tt.status, tt.code)
			}
			msg, _ := r.body["message"].(string)
			if !strings.Contains(msg, tt.msgContains) {
				t.Errorf("message %q does not contain %q", msg, tt.msgContains)
			}
			if strings.Contains(msg, "disk on fire") {
				t.Error("internal error text leaked to the client")
			}
			if r.header.Get("x-amzn-RequestId") == "" || r.header.Get("X-Amzn-ErrorType") != tt.code {
				t.Errorf("headers = %v", r.header)
			}
		})
	}
}

func TestJSONProtocolSuccess(t *testing.T) {
	rt, j := newTestRouter(t)
	r := do(t, rt, http.MethodPost, "/", target("CreateInferenceRecommendationsJob"), createBody)
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-amz-json-1.1" || r.header.Get("x-amzn-RequestId") != "req-1" {
		t.Fatalf("create: %d %v %s", r.status, r.header, r.raw)
	}
	if r.raw != `{"JobArn":"arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/job-1"}` {
		t.Errorf("create body = %s (unsigned requests: default region and account)", r.raw)
	}

	r = do(t, rt, http.MethodPost, "/", target("DescribeInferenceRecommendationsJob"), `{"JobName":"job-1"}`)
	if r.status != 200 {
		t.Fatalf("describe: %d %s", r.status, r.raw)
	}
	// Timestamps are epoch seconds with milliseconds, as AWS sends them.
	for _, want := range []string{`"CreationTime":1767323045.123`, `"CompletionTime":1767328445.123`, `"InvocationStartTime":1767323105.123`} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("describe body lacks %s: %s", want, r.raw)
		}
	}

	// Members are matched exactly: a differently-cased duplicate must not
	// override the real member, as encoding/json alone would let it.
	r = do(t, rt, http.MethodPost, "/", target("CreateInferenceRecommendationsJob"),
		`{"JobName":"job-2","JobType":"Default","RoleArn":"arn:aws:iam::123456789012:role/r","InputConfig":{"ModelName":"m","modelname":"evil"},"jobName":"evil"}`)
	if r.status != 200 {
		t.Fatalf("create job-2: %d %s", r.status, r.raw)
	}
	if j.seen.JobName != "job-2" || j.seen.InputConfig.ModelName != "m" {
		t.Errorf("handler saw %+v", j.seen)
	}

	// JSON 1.0 service on the same listener.
	r = do(t, rt, http.MethodPost, "/", map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.DescribeAlarms"}, `{"AlarmNames":["cpu-high"]}`)
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Fatalf("DescribeAlarms: %d %v %s", r.status, r.header, r.raw)
	}
	if r.raw != `{"MetricAlarms":[{"AlarmName":"cpu-high","StateValue":"OK","StateUpdatedTimestamp":1767323045.123}]}` {
		t.Errorf("DescribeAlarms body = %s", r.raw)
	}
	r = do(t, rt, http.MethodPost, "/", map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.DescribeAlarms"}, `{"MaxRecords":101}`)
	if r.status != 400 || r.body["__type"] != "ValidationException" || r.header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("DescribeAlarms MaxRecords 101: %d %s", r.status, r.raw)
	}
}

func TestCheckOutputCatchesNonConformingResponses(t *testing.T) {
	svc := NewService(model.MustLoad("sagemaker"))
	svc.CheckOutput = true
	svc.Handle(Op("DescribeInferenceRecommendationsJob", func(ctx context.Context, req *Request, in *describeJobInput) (*describeJobOutput, error) {
		// Status outside the enum, required timestamps missing.
		return &describeJobOutput{JobName: in.JobName, JobType: "Default", JobArn: "arn", RoleArn: "r", Status: "DONE"}, nil
	}))
	var rt Router
	if err := rt.Add(svc); err != nil {
		t.Fatal(err)
	}
	r := do(t, &rt, http.MethodPost, "/", target("DescribeInferenceRecommendationsJob"), `{"JobName":"j"}`)
	if r.status != 500 || r.body["__type"] != "InternalFailure" {
		t.Errorf("got %d %s, want InternalFailure", r.status, r.raw)
	}
}

func TestRouterAddConflicts(t *testing.T) {
	var rt Router
	if err := rt.Add(NewService(model.MustLoad("sagemaker"))); err != nil {
		t.Fatal(err)
	}
	if err := rt.Add(NewService(model.MustLoad("sagemaker"))); err == nil || !strings.Contains(err.Error(), "target prefix SageMaker is taken") {
		t.Errorf("second SageMaker: %v", err)
	}
	a := NewService(model.MustLoad("sagemaker-runtime"))
	a.Route("InvokeEndpoint", func(context.Context, *Request, http.ResponseWriter, []byte) error { return nil })
	b := NewService(model.MustLoad("sagemaker-runtime"))
	b.Name = "Runtime2"
	b.Route("InvokeEndpoint", func(context.Context, *Request, http.ResponseWriter, []byte) error { return nil })
	if err := rt.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := rt.Add(b); err == nil || !strings.Contains(err.Error(), "/endpoints/{EndpointName}/invocations") {
		t.Errorf("conflicting route: %v", err)
	}
}

func TestErrorResolution(t *testing.T) {
	svc := NewService(model.MustLoad("application-autoscaling"))
	svc.Codes = Codes{KindNotFound: {"ObjectNotFoundException", 400}, KindInternal: {"InternalServiceException", 500}}
	tests := []struct {
		err    error
		code   string
		status int
		msg    string
	}{
		{Errorf(KindNotFound, "no target"), "ObjectNotFoundException", 400, "no target"},
		{Errorf(KindConflict, "concurrent"), "ConflictException", 400, "concurrent"}, // from DefaultCodes
		{Errorf(KindUnavailable, "later"), "ServiceUnavailable", 503, "later"},
		{io.EOF, "InternalServiceException", 500, "An internal error occurred."},
		{&Error{Code: "ConcurrentUpdateException", Message: "x"}, "ConcurrentUpdateException", 400, "x"}, // status from the model's shapes or 400
		{&Error{Code: "Custom", Status: 418, Message: "teapot"}, "Custom", 418, "teapot"},
		{protocolError(CodeSerialization, "bad"), "SerializationException", 400, "bad"},
	}
	for _, tt := range tests {
		we := svc.resolve(tt.err)
		if we.Code != tt.code || we.Status != tt.status || we.Message != tt.msg {
			t.Errorf("resolve(%v) = %s %d %q, want %s %d %q", tt.err, we.Code, we.Status, we.Message, tt.code, tt.status, tt.msg)
		}
	}
}

// TestRequestIDOutlivesExchange checks that a response's request ID stays
// its own after ServeHTTP returns and the exchange serves the next
// request: net/http writes the head only after the handler returns.
func TestRequestIDOutlivesExchange(t *testing.T) {
	rt, _ := newTestRouter(t)
	rt.NewRequestID = nil // random UUIDs
	var recs []*httptest.ResponseRecorder
	seen := map[string]bool{}
	for range 50 {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"JobName":"nope"}`))
		r.Header.Set("X-Amz-Target", "SageMaker.DescribeInferenceRecommendationsJob")
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		recs = append(recs, w)
	}
	for i, w := range recs {
		id := w.Header().Get("X-Amzn-Requestid")
		if len(id) != 36 || seen[id] {
			t.Fatalf("response %d has request ID %q (seen before: %v)", i, id, seen[id])
		}
		seen[id] = true
	}
}
