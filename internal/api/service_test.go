package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

func handlerFor[In, Out any](name string) *Operation {
	return Op(name, func(context.Context, *Request, *In) (*Out, error) { return nil, nil })
}

func TestHandleRejectsWiringMistakes(t *testing.T) {
	type typo struct {
		JobNmae string `json:"JobNmae"`
	}
	type wrongKind struct {
		JobName int `json:"JobName"`
	}
	type timeNotTimestamp struct {
		CreationTimeAfter time.Time `json:"CreationTimeAfter"`
	}
	type nestedWrong struct {
		InputConfig struct {
			JobDurationInSeconds string `json:"JobDurationInSeconds"`
		} `json:"InputConfig"`
	}
	type listWrong struct {
		Tags map[string]string `json:"Tags"`
	}
	type good struct {
		JobName string `json:"JobName"`
		Ignored string `json:"-"`
		private int
	}
	_ = good{}.private
	type outWithField struct {
		Extra string
	}
	tests := []struct {
		name string
		op   *Operation
		want string // panic message fragment; "" means no panic
	}{
		{"good", handlerFor[good, createJobOutput]("CreateInferenceRecommendationsJob"), ""},
		{"not in the model", handlerFor[good, createJobOutput]("MakeCoffee"), `has no operation "MakeCoffee"`},
		{"field not a member", handlerFor[typo, createJobOutput]("CreateInferenceRecommendationsJob"), `(JSON "JobNmae") is not a member of CreateInferenceRecommendationsJobRequest`},
		{"wrong Go kind", handlerFor[wrongKind, createJobOutput]("CreateInferenceRecommendationsJob"), "Go type int cannot hold string shape RecommendationJobName"},
		{"time.Time for a timestamp", handlerFor[timeNotTimestamp, struct{}]("ListInferenceRecommendationsJobs"), "needs api.Timestamp"},
		{"nested mismatch", handlerFor[nestedWrong, createJobOutput]("CreateInferenceRecommendationsJob"), "InputConfig.JobDurationInSeconds: Go type string cannot hold integer"},
		{"map for a list", handlerFor[listWrong, createJobOutput]("CreateInferenceRecommendationsJob"), "cannot hold list shape TagList"},
		{"output without a model shape", handlerFor[deleteComponentInput, outWithField]("DeleteInferenceComponent"), "the model has no shape, but"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := NewService(model.MustLoad("sagemaker"))
			got := func() (msg string) {
				defer func() {
					if p := recover(); p != nil {
						msg = fmt.Sprint(p)
					}
				}()
				svc.Handle(tt.op)
				return ""
			}()
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("panic %q, want %q", got, tt.want)
			}
		})
	}
	svc := NewService(model.MustLoad("sagemaker"))
	svc.Handle(handlerFor[good, createJobOutput]("CreateInferenceRecommendationsJob"), handlerFor[describeJobInput, describeJobOutput]("DescribeInferenceRecommendationsJob"))
	if got := strings.Join(svc.Operations(), ","); got != "CreateInferenceRecommendationsJob,DescribeInferenceRecommendationsJob" {
		t.Errorf("Operations() = %s", got)
	}
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "registered twice") {
				t.Errorf("duplicate Handle: panic %v", p)
			}
		}()
		svc.Handle(handlerFor[good, createJobOutput]("CreateInferenceRecommendationsJob"))
	}()
}

func TestTimestampJSON(t *testing.T) {
	tests := []struct {
		t    time.Time
		json string
	}{
		{time.Unix(1767225600, 0), "1767225600"},
		{time.Unix(1767225600, 123_000_000), "1767225600.123"},
		{time.Unix(1767225600, 500_000_000), "1767225600.5"},
		{time.Unix(1767225600, 999_999_999), "1767225600.999"}, // milliseconds, truncated
		{time.Unix(-2, 250_000_000), "-1.75"},
		{time.Unix(0, 0), "0"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Timestamp{Time: tt.t})
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.t, b, err, tt.json)
		}
	}
	parse := []struct {
		json string
		want time.Time
		err  bool
	}{
		{json: "1767225600", want: time.Unix(1767225600, 0)},
		{json: "1767225600.123456789", want: time.Unix(1767225600, 123456789)},
		{json: "1767225600.1", want: time.Unix(1767225600, 100_000_000)},
		{json: "-1.75", want: time.Unix(-2, 250_000_000)},
		{json: "1.7672256E9", want: time.Unix(1767225600, 0)},
		{json: `"2026-01-01T00:00:00Z"`, err: true},
		{json: "1e300", err: true},
	}
	for _, tt := range parse {
		var ts Timestamp
		err := json.Unmarshal([]byte(tt.json), &ts)
		if tt.err {
			if err == nil {
				t.Errorf("Unmarshal(%s) succeeded", tt.json)
			}
			continue
		}
		if err != nil || !ts.Equal(tt.want) || ts.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v UTC", tt.json, ts.Time, err, tt.want)
		}
	}
	type opt struct {
		A Timestamp  `json:"A,omitzero"`
		B *Timestamp `json:"B,omitempty"`
	}
	if b, _ := json.Marshal(opt{}); string(b) != "{}" {
		t.Errorf("zero timestamps encode as %s", b)
	}
}

func TestScopeAuth(t *testing.T) {
	auth := ScopeAuth{Account: func(k string) string {
		if k == "AKIDB" {
			return "999999999999"
		}
		return ""
	}}
	tests := []struct {
		header string
		want   Identity
		err    string
	}{
		{"", Identity{Region: "us-east-1", Account: "123456789012"}, ""},
		{"AWS4-HMAC-SHA256 Credential=AKIDA/20260101/us-west-2/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			Identity{AccessKey: "AKIDA", Region: "us-west-2", Account: "123456789012"}, ""},
		{"AWS4-HMAC-SHA256 Credential=AKIDB/20260101/eu-west-1/application-autoscaling/aws4_request,SignedHeaders=host,Signature=abc",
			Identity{AccessKey: "AKIDB", Region: "eu-west-1", Account: "999999999999"}, ""},
		{"AWS4-HMAC-SHA256 Credential=AKIDA/20260101/sagemaker/aws4_request, SignedHeaders=host, Signature=abc", Identity{}, "IncompleteSignatureException"},
		{"Basic dXNlcjpwYXNz", Identity{}, "IncompleteSignatureException"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		id, err := auth.Authenticate(r, nil, time.Time{})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %s", tt.header, err, tt.err)
			}
			continue
		}
		if err != nil || id != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.header, id, err, tt.want)
		}
	}
}
