package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/inferscale/inferscale/internal/api/model"
)

// FuzzJSON11 feeds arbitrary targets and bodies to the JSON 1.1 adapter. The
// seeds run in every plain `go test`; CI fuzzes with -fuzztime=10s.
//
// Properties: the router never panics and never answers 5xx for these
// handlers (CheckOutput is on, so a response that does not fit the model
// would be a 500); every answer is a JSON object with a request ID; errors
// carry a known code; a 200 to CreateInferenceRecommendationsJob means the
// body really satisfies the model, and the handler saw exactly its JobName.
func FuzzJSON11(f *testing.F) {
	seeds := []struct{ op, body string }{
		{"CreateInferenceRecommendationsJob", createBody},
		{"CreateInferenceRecommendationsJob", `{}`},
		{"CreateInferenceRecommendationsJob", ``},
		{"CreateInferenceRecommendationsJob", `{"JobName":"a","JobType":"Advanced","RoleArn":"arn:aws:iam::123456789012:role/x","InputConfig":{"EndpointConfigurations":[{"InstanceType":"ml.m5.large"}],"JobDurationInSeconds":7200},"Tags":[{"Key":"k","Value":"v"}]}`},
		{"CreateInferenceRecommendationsJob", `{"JobName":"a","jobname":"b","JobType":"Default","RoleArn":"arn:aws:iam::123456789012:role/x","InputConfig":{}}`},
		{"CreateInferenceRecommendationsJob", `{"JobName":1e999}`},
		{"CreateInferenceRecommendationsJob", `{"InputConfig":{"JobDurationInSeconds":-0.0}}`},
		{"CreateInferenceRecommendationsJob", `{"Tags":[null,{"Key":"\u0000"}]}`},
		{"CreateInferenceRecommendationsJob", `[`},
		{"CreateInferenceRecommendationsJob", `{"JobName":"\xff\xfe"}`},
		{"DescribeInferenceRecommendationsJob", `{"JobName":"job-1"}`},
		{"DescribeInferenceRecommendationsJob", `{"JobName":"` + string(bytes.Repeat([]byte("a"), 100)) + `"}`},
		{"DeleteInferenceComponent", `{"InferenceComponentName":"limit"}`},
		{"ListModels", `{}`},
		{"", `{}`},
	}
	for _, s := range seeds {
		f.Add(s.op, []byte(s.body))
	}
	createShape := model.MustLoad("sagemaker").Operations["CreateInferenceRecommendationsJob"].Input
	known := map[string]bool{
		"ValidationException": true, "SerializationException": true, "UnknownOperationException": true,
		"RequestEntityTooLargeException": true, "ResourceInUse": true, "ResourceNotFound": true,
		"ResourceLimitExceeded": true,
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if op == "DeleteInferenceComponent" {
			op = "" // its "boom" path answers 500 on purpose
		}
		rt, j := newTestRouter(t)
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "SageMaker."+op)
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)

		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Fatal("no request ID")
		}
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("status %d, body %q is not a JSON object: %v", rec.Code, rec.Body.String(), err)
		}
		switch {
		case rec.Code == http.StatusOK:
			if op != "CreateInferenceRecommendationsJob" {
				return
			}
			tree, err := decodeJSON(body)
			if err != nil {
				t.Fatalf("200 for an undecodable body: %v", err)
			}
			vs, err := createShape.Validate(tree)
			if err != nil || len(vs) > 0 {
				t.Fatalf("200 for an invalid body: %v %v", vs, err)
			}
			if want := tree.(map[string]any)["JobName"]; j.seen.JobName != want {
				t.Fatalf("handler saw JobName %q, body has %q", j.seen.JobName, want)
			}
		case rec.Code == http.StatusBadRequest || rec.Code == http.StatusRequestEntityTooLarge:
			code, _ := resp["__type"].(string)
			if !known[code] {
				t.Fatalf("unexpected error code %q: %s", code, rec.Body.String())
			}
			if msg, _ := resp["message"].(string); msg == "" {
				t.Fatalf("error without a message: %s", rec.Body.String())
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	})
}

// BenchmarkDescribeJob measures one whole JSON 1.1 call through the router:
// parse and validate the input, decode, call, encode a nested output with
// timestamps.
func BenchmarkDescribeJob(b *testing.B) {
	rt, _ := newTestRouter(b)
	rt.byPrefix["SageMaker"].CheckOutput = false // as in production
	r := do(b, rt, http.MethodPost, "/", target("CreateInferenceRecommendationsJob"), createBody)
	if r.status != http.StatusOK {
		b.Fatalf("create: %s", r.raw)
	}
	body := []byte(`{"JobName":"job-1"}`)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "SageMaker.DescribeInferenceRecommendationsJob")
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
