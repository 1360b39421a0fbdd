package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestObserve checks the per-request hook: known names are passed through,
// names a client made up are not.
func TestObserve(t *testing.T) {
	rt, _ := newTestRouter(t)
	type obs struct {
		service, op, code string
		status            int
	}
	var got []obs
	rt.Observe = func(service, operation, code string, status int, elapsed time.Duration) {
		if elapsed < 0 {
			t.Errorf("negative elapsed %v", elapsed)
		}
		got = append(got, obs{service, operation, code, status})
	}
	tests := []struct {
		name, target, body string
		want               obs
	}{
		{"success", "SageMaker.CreateInferenceRecommendationsJob", createBody, obs{"SageMaker", "CreateInferenceRecommendationsJob", "", 200}},
		{"handler error", "SageMaker.DescribeInferenceRecommendationsJob", `{"JobName":"nope"}`, obs{"SageMaker", "DescribeInferenceRecommendationsJob", "ResourceNotFound", 400}},
		{"validation error", "SageMaker.CreateInferenceRecommendationsJob", `{}`, obs{"SageMaker", "CreateInferenceRecommendationsJob", "ValidationException", 400}},
		{"unknown operation", "SageMaker.MadeUpOperation", `{}`, obs{"SageMaker", "", "UnknownOperationException", 400}},
		{"unimplemented operation", "SageMaker.ListModels", `{}`, obs{"SageMaker", "", "UnknownOperationException", 400}},
		{"unknown service", "Nope.Op", `{}`, obs{"", "", "UnknownOperationException", 400}},
		// Query-compatible services report the awsQuery code on every protocol.
		{"query-compatible code", "GraniteServiceVersion20100801.DescribeAlarms", `{"MaxRecords":101}`, obs{"CloudWatch", "DescribeAlarms", "ValidationError", 400}},
	}
	for _, tt := range tests {
		got = nil
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
		req.Header.Set("X-Amz-Target", tt.target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		rt.ServeHTTP(httptest.NewRecorder(), req)
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: observed %+v, want [%+v]", tt.name, got, tt.want)
		}
	}
}
