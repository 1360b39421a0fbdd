package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"

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

// cwFuzzOps are the CloudWatch operations FuzzCBOR calls.
var cwFuzzOps = []string{"PutMetricData", "GetMetricStatistics", "GetMetricData", "ListMetrics", "GetMetricWidgetImage", "GetDashboard"}

// FuzzCBOR feeds arbitrary rpc-v2-cbor bodies to the test CloudWatch. The
// seeds run in every plain `go test`.
//
// Properties of the transcoder: cborToJSON never panics; what it returns is
// a JSON object; when that object satisfies the input shape, converting it
// to CBOR (jsonToCBOR) and back gives the same values. Properties of the
// router: no panic, no 5xx; every answer is a CBOR map; errors carry a known
// __type and a message; a 200 to PutMetricData means the handler saw the
// body's namespace.
func FuzzCBOR(f *testing.F) {
	ts := func(sec float64) cbor.Tag { return cbor.Tag{Number: 1, Content: sec} }
	dims := []any{map[string]any{"Name": "EndpointName", "Value": "ep"}}
	seeds := []struct {
		op   int
		body any // marshalled with cborEnc unless []byte
	}{
		{0, map[string]any{"Namespace": "ns", "MetricData": []any{
			map[string]any{"MetricName": "m", "Dimensions": dims, "Timestamp": ts(1767225600.5), "Value": 1.5, "Unit": "Count"},
			map[string]any{"MetricName": "m", "Values": []any{1.0, 2.0}, "Counts": []any{1.0, 3.0}, "StorageResolution": 1},
			map[string]any{"MetricName": "m", "StatisticValues": map[string]any{"SampleCount": 2.0, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0}},
		}}},
		{0, map[string]any{"Namespace": "AWS/EC2", "MetricData": []any{map[string]any{"MetricName": "m", "Value": 1}}}},
		{0, map[string]any{"Namespace": "ns", "MetricData": []any{map[string]any{"MetricName": "m", "Values": []any{1.0}, "Counts": []any{1.0, 2.0}}}}},
		{1, map[string]any{"Namespace": "ns", "MetricName": "m", "Dimensions": dims, "StartTime": uint64(1767225600), "EndTime": ts(1767229200),
			"Period": 60, "Statistics": []any{"Sum", "Average"}, "ExtendedStatistics": []any{"p99"}}},
		{1, map[string]any{"Namespace": "ns", "MetricName": "m", "StartTime": ts(10), "EndTime": ts(5), "Period": 0}},
		{2, map[string]any{"StartTime": ts(0), "EndTime": ts(60), "ScanBy": "TimestampAscending", "MetricDataQueries": []any{
			map[string]any{"Id": "q", "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "ns", "MetricName": "m"}, "Period": 60, "Stat": "Sum"}},
		}}},
		{3, map[string]any{"Namespace": "ns", "Dimensions": []any{map[string]any{"Name": "EndpointName"}}}},
		{4, map[string]any{"MetricWidget": "{}", "OutputFormat": "png"}},
		{5, map[string]any{"DashboardName": "missing"}},
		{3, []byte{}},
		// Indefinite-length items, as aws-sdk-go-v2 writes them.
		{3, []byte{0xbf, 0x69, 'N', 'a', 'm', 'e', 's', 'p', 'a', 'c', 'e', 0x7f, 0x61, 'n', 0x61, 's', 0xff, 0xff}},
		{0, []byte{0xa1, 0x69, 'N', 'a', 'm', 'e', 's', 'p', 'a', 'c', 'e', 0x5f, 0x41, 'n', 0xff}}, // bytes for a string
		{1, []byte{0x80}},
		{1, []byte{0xa1, 0x61}},
		{0, []byte{0xc1, 0xa0}},
	}
	for _, s := range seeds {
		b, ok := s.body.([]byte)
		if !ok {
			var err error
			if b, err = cborEnc.Marshal(s.body); err != nil {
				f.Fatal(err)
			}
		}
		f.Add(uint8(s.op), b)
	}
	cw := model.MustLoad("cloudwatch")
	known := map[string]bool{
		"SerializationException": true, "ValidationException": true, "UnknownOperationException": true,
		"RequestEntityTooLargeException": true, "InvalidParameterValueException": true, "MissingRequiredParameterException": true,
		"InvalidParameterCombinationException": true, "DashboardNotFoundError": true,
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		op := cwFuzzOps[int(opIndex)%len(cwFuzzOps)]
		in := cw.Operations[op].Input

		if j, err := cborToJSON(body, in); err == nil {
			tree, err := decodeJSON(j)
			if err != nil {
				t.Fatalf("cborToJSON gave %s: %v", j, err)
			}
			if vs, err := in.Validate(tree); err == nil && len(vs) == 0 {
				c, err := jsonToCBOR(j, in)
				if err != nil {
					t.Fatalf("valid input %s does not convert back to CBOR: %v", j, err)
				}
				j2, err := cborToJSON(c, in)
				if err != nil {
					t.Fatalf("round trip of %s: %v", j, err)
				}
				var a, b any
				_ = json.Unmarshal(j, &a)
				_ = json.Unmarshal(j2, &b)
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("round trip changed values:\n%s\n%s", j, j2)
				}
			}
		}

		svc, st := newCloudWatchService()
		var rt Router
		if err := rt.Add(svc); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/service/GraniteServiceVersion20100801/operation/"+op, bytes.NewReader(body))
		req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		req.Header.Set("Content-Type", "application/cbor")
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)

		var resp map[string]any
		if err := cborDec.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("status %d, body % x is not a CBOR map: %v", rec.Code, rec.Body.Bytes(), err)
		}
		switch {
		case rec.Code == http.StatusOK:
			if op != "PutMetricData" {
				return
			}
			j, err := cborToJSON(body, in)
			if err != nil {
				t.Fatalf("200 for an untranscodable body: %v", err)
			}
			var want struct{ Namespace string }
			_ = json.Unmarshal(j, &want)
			if len(st.puts) != 1 || st.puts[0].Namespace != want.Namespace {
				t.Fatalf("handler saw %+v, body has namespace %q", st.puts, want.Namespace)
			}
		case rec.Code < 500:
			code, _ := resp["__type"].(string)
			if !known[code] || rec.Header().Get("X-Amzn-ErrorType") != code {
				t.Fatalf("unexpected error %d %q: %v", rec.Code, code, resp)
			}
			if msg, _ := resp["message"].(string); msg == "" {
				t.Fatalf("error without a message: %v", resp)
			}
		default:
			t.Fatalf("status %d: %v", rec.Code, resp)
		}
	})
}
