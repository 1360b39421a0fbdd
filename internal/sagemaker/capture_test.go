package sagemaker_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// captureLine is a line of a data capture file, as Model Monitor reads it.
type captureLine struct {
	CaptureData struct {
		EndpointInput, EndpointOutput *struct {
			ObservedContentType, Mode, Data, Encoding string
		}
	}
	EventMetadata struct {
		EventID, InferenceID, InferenceTime string
	}
	EventVersion string
}

// capturedLines reads every capture file of endpoint's variant under dir.
func capturedLines(t *testing.T, dir, endpoint, variant string) []captureLine {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, endpoint, variant, "*", "*", "*", "*", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []captureLine
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var l captureLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %v in %s", name, err, sc.Text())
			}
			lines = append(lines, l)
		}
		f.Close()
	}
	return lines
}

// TestDataCapture captures an endpoint's invocations into a file://
// destination in SageMaker's layout and line format: JSON payloads as
// text, other content types in base64, InferenceId and the request ID in
// the event's metadata; a 0% sample captures nothing; destinations this
// host cannot write are refused.
func TestDataCapture(t *testing.T) {
	e := newHostEnv(t)
	ctx := e.ctx
	dest := t.TempDir()
	e.createModel("cap-model", map[string]string{"INFERSCALE_MODEL": "reference", "INFERSCALE_REFERENCE_SERVICE_TIME": "1ms"})
	capture := func(percent int32, uri string) *types.DataCaptureConfig {
		return &types.DataCaptureConfig{
			InitialSamplingPercentage: aws.Int32(percent), DestinationS3Uri: aws.String(uri),
			CaptureOptions:           []types.CaptureOption{{CaptureMode: types.CaptureModeInputAndOutput}},
			CaptureContentTypeHeader: &types.CaptureContentTypeHeader{JsonContentTypes: []string{"application/json"}},
		}
	}
	for _, tt := range []struct {
		name, uri string
		percent   int32
		msg       string
	}{
		{name: "s3", uri: "s3://bucket/capture", percent: 100, msg: "has no S3 endpoint"},
		{name: "relative", uri: "file://relative/dir", percent: 100, msg: "file:///absolute/directory"},
		{name: "percent", uri: "file://" + dest, percent: 101, msg: "dataCaptureConfig.initialSamplingPercentage"},
	} {
		_, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String("bad-" + tt.name), ProductionVariants: []types.ProductionVariant{variant("main", "cap-model", 1, 1)},
			DataCaptureConfig: capture(tt.percent, tt.uri),
		})
		wantErrContaining(t, err, "ValidationException", tt.msg)
	}
	for name, percent := range map[string]int32{"all": 100, "none": 0} {
		if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String(name), ProductionVariants: []types.ProductionVariant{variant("main", "cap-model", 1, 1)},
			DataCaptureConfig: capture(percent, "file://"+dest),
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ep-" + name), EndpointConfigName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitInService("ep-all")
	e.waitInService("ep-none")
	d, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ep-all")})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.DataCaptureConfig; c == nil || c.CaptureStatus != types.CaptureStatusStarted || aws.ToInt32(c.CurrentSamplingPercentage) != 100 ||
		aws.ToString(c.DestinationS3Uri) != "file://"+dest || !aws.ToBool(c.EnableCapture) {
		t.Errorf("DataCaptureConfig %+v", d.DataCaptureConfig)
	}

	body := []byte(`{"instances":[[1,2]]}`)
	ids := map[string]string{} // request ID → InferenceId
	for i := range 6 {
		for _, ep := range []string{"ep-all", "ep-none"} {
			in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(ep), Body: body, ContentType: aws.String("application/json")}
			if i < 5 {
				in.InferenceId = aws.String("inference-" + strconv.Itoa(i))
			}
			out, err := e.rt.InvokeEndpoint(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if ep == "ep-all" {
				id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
				if !ok {
					t.Fatal("no request ID")
				}
				ids[id] = aws.ToString(in.InferenceId)
			}
		}
	}
	csv := []byte("1,2\n")
	if _, err := e.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("ep-all"), Body: csv, ContentType: aws.String("text/csv")}); err != nil {
		t.Fatal(err)
	}

	var lines []captureLine
	waitFor(t, 10*time.Second, func() bool {
		lines = capturedLines(t, dest, "ep-all", "main")
		return len(lines) == 7
	})
	for i, l := range lines {
		in, out, m := l.CaptureData.EndpointInput, l.CaptureData.EndpointOutput, l.EventMetadata
		if in == nil || out == nil || in.Mode != "INPUT" || out.Mode != "OUTPUT" || out.Data == "" || l.EventVersion != "0" {
			t.Fatalf("line %d: %+v", i, l)
		}
		if _, err := time.Parse(time.RFC3339, m.InferenceTime); err != nil {
			t.Errorf("line %d: inferenceTime %q: %v", i, m.InferenceTime, err)
		}
		switch in.ObservedContentType {
		case "application/json":
			want, ok := ids[m.EventID]
			if !ok || m.InferenceID != want || in.Encoding != "JSON" || in.Data != string(body) {
				t.Errorf("line %d: event %s inference %q (want %q, known %v), input %+v", i, m.EventID, m.InferenceID, want, ok, *in)
			}
			delete(ids, m.EventID)
		case "text/csv":
			if in.Encoding != "BASE64" || in.Data != base64.StdEncoding.EncodeToString(csv) {
				t.Errorf("line %d: CSV input %+v, want base64 (CSV is not listed)", i, *in)
			}
		default:
			t.Errorf("line %d: input %+v", i, *in)
		}
	}
	if len(ids) != 0 {
		t.Errorf("invocations not captured: %v", ids)
	}
	// The field names, exactly (json.Unmarshal above ignores case).
	files, _ := filepath.Glob(filepath.Join(dest, "ep-all", "main", "*", "*", "*", "*", "*.jsonl"))
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw[:bytes.IndexByte(raw, '\n')], &top); err != nil {
		t.Fatal(err)
	}
	var data map[string]map[string]any
	var meta map[string]any
	if err := json.Unmarshal(top["captureData"], &data); err != nil || top["eventVersion"] == nil {
		t.Fatalf("captureData %v, eventVersion %s: %s", err, top["eventVersion"], raw)
	}
	if err := json.Unmarshal(top["eventMetadata"], &meta); err != nil {
		t.Fatalf("eventMetadata: %v: %s", err, raw)
	}
	for _, k := range []string{"observedContentType", "mode", "data", "encoding"} {
		if _, ok := data["endpointInput"][k]; !ok {
			t.Errorf("captureData.endpointInput has no %s: %s", k, raw)
		}
		if _, ok := data["endpointOutput"][k]; !ok {
			t.Errorf("captureData.endpointOutput has no %s: %s", k, raw)
		}
	}
	for _, k := range []string{"eventId", "inferenceTime"} {
		if _, ok := meta[k]; !ok {
			t.Errorf("eventMetadata has no %s: %s", k, raw)
		}
	}
	if l := capturedLines(t, dest, "ep-none", "main"); len(l) != 0 {
		t.Errorf("a 0%% sample captured %d invocations", len(l))
	}
}
