package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/recommend"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestPrintReportGolden(t *testing.T) {
	cat, _ := catalog.Default()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	in := recommend.JobInput{JobName: "golden", JobType: recommend.JobTypeDefault}
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	plan := func(idx int, typ string) recommend.StepPlan {
		t, _ := cat.Lookup(typ)
		return recommend.StepPlan{Index: idx, InstanceType: t}
	}
	steps := []recommend.StepResult{
		{Plan: plan(0, "ml.m5.large"), Index: 0, InstanceType: "ml.m5.large", Status: recommend.StatusCompleted, InstanceCount: 1, Start: start, End: start.Add(30 * time.Second),
			Metrics:  &recommend.Metrics{MaxInvocations: 120000, ModelLatency: 1840, CpuUtilization: f(181.2), MemoryUtilization: f(0.31), ModelSetupTime: i(1), CostPerHour: f(0.115), CostPerInference: f(0.115 / (120000 * 60))},
			Verdict:  "throughput levelled off",
			Warnings: []string{"host has 2 CPUs; shared"}},
		{Plan: plan(1, "ml.t2.medium"), Index: 1, InstanceType: "ml.t2.medium", Status: recommend.StatusCompleted, InstanceCount: 1, Start: start, End: start.Add(60 * time.Second),
			Metrics: &recommend.Metrics{MaxInvocations: 118000, ModelLatency: 1900, CpuUtilization: f(180), MemoryUtilization: f(0.6), ModelSetupTime: i(1)},
			NoPrice: "the catalog has no price"},
		{Plan: plan(2, "ml.c5.xlarge"), Index: 2, InstanceType: "ml.c5.xlarge", Status: recommend.StatusFailed, FailureReason: "launch: exited"},
	}
	rep := &recommend.Report{Status: recommend.StatusCompleted, Start: start, End: start.Add(95 * time.Second), Steps: steps}
	desc := recommend.Describe(in, rep, "us-east-1", defaultAccount, recommend.Goals{})
	var buf bytes.Buffer
	printReport(&buf, in, rep, desc, cat, "us-east-1")
	golden(t, "report.golden", buf.Bytes())
}

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in   string
		p    string
		ms   int
		fail string
	}{
		{"P95=100ms", "P95", 100, ""},
		{"p99=1s", "P99", 1000, ""},
		{"P95", "", 0, "want PERCENTILE=DURATION"},
		{"P42=10ms", "", 0, "percentile must be"},
		{"P95=fast", "", 0, "invalid duration"},
		{"P95=500us", "", 0, "whole number of milliseconds"},
	}
	for _, tt := range tests {
		th, err := parseThreshold(tt.in)
		if tt.fail != "" {
			if err == nil || !strings.Contains(err.Error(), tt.fail) {
				t.Errorf("%s: err %v, want %q", tt.in, err, tt.fail)
			}
			continue
		}
		if err != nil || th.Percentile != tt.p || th.ValueInMilliseconds != tt.ms {
			t.Errorf("%s: %+v %v", tt.in, th, err)
		}
	}
}

func TestParseGoals(t *testing.T) {
	g, err := parseGoals("cost=5, latency=2,throughput=0")
	if err != nil || g != (recommend.Goals{Cost: 5, Latency: 2}) {
		t.Errorf("%+v %v", g, err)
	}
	for _, bad := range []string{"cost=6", "speed=1", "cost"} {
		if _, err := parseGoals(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestRecommendCommand runs `inferscale recommend` as a real process on the
// reference model and checks the JSON it prints is the
// DescribeInferenceRecommendationsJob response.
func TestRecommendCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real job")
	}
	bin := buildInferscale(t)
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(cat, []byte(`{"instanceTypes": [{"name": "test.1cpu", "vcpu": 1, "memoryGiB": 1, "pricePerHour": {"us-east-1": 0.05}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "recommend", "--sample-model", "reference",
		"--model-env", "INFERSCALE_REFERENCE_SLOTS=4", "--model-env", "INFERSCALE_REFERENCE_SERVICE_TIME=10ms",
		"--catalog", cat, "--instance-types", "test.1cpu", "--job-name", "cli-test",
		"--warmup", "1s", "--level-duration", "2s", "--confirm-duration", "3s",
		"--latency-threshold", "P95=200ms", "--scaling", "--output", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("recommend: %v\n%s", err, stderr.String())
	}
	var out struct {
		JobName, JobType, JobArn, Status string
		CreationTime                     float64
		InferenceRecommendations         []struct {
			RecommendationId      string
			Metrics               map[string]float64
			EndpointConfiguration struct {
				InstanceType         string
				InitialInstanceCount int
			}
		}
		ScalingConfiguration struct {
			Metric struct{ InvocationsPerInstance int }
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if out.JobName != "cli-test" || out.Status != "COMPLETED" || out.JobArn != "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/cli-test" || out.CreationTime < 1.7e9 {
		t.Errorf("job fields: %+v", out)
	}
	if len(out.InferenceRecommendations) != 1 {
		t.Fatalf("recommendations: %s", stdout.String())
	}
	r := out.InferenceRecommendations[0]
	m := r.Metrics
	for _, k := range []string{"CostPerHour", "CostPerInference", "MaxInvocations", "ModelLatency", "CpuUtilization", "MemoryUtilization", "ModelSetupTime"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metric %s missing: %v", k, m)
		}
	}
	// The command's plumbing is checked here; accuracy (±3%) is
	// internal/recommend's TestDefaultJobFindsReferenceCapacity.
	if got := m["MaxInvocations"]; got < 24000*0.9 || got > 24000*1.1 {
		t.Errorf("MaxInvocations %v, want 24000 ±10%%", got)
	}
	if m["CostPerHour"] != 0.05 || r.EndpointConfiguration.InstanceType != "test.1cpu" {
		t.Errorf("recommendation: %+v", r)
	}
	if out.ScalingConfiguration.Metric.InvocationsPerInstance <= 0 {
		t.Errorf("no scaling configuration: %s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "step 1 test.1cpu: completed") {
		t.Errorf("progress lines missing on stderr:\n%s", stderr.String())
	}
}

func TestRecommendCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--output", "yaml"}, 2, "--output must be text or json"},
		{[]string{"--latency-threshold", "P95"}, 2, "want PERCENTILE=DURATION"},
		{[]string{"--goals", "speed=3"}, 2, "unknown goal"},
		{[]string{"--instance-types", "ml.nope.large"}, 2, `unknown instance type "ml.nope.large"`},
		{[]string{"--job-type", "Foo"}, 2, "Value 'Foo' at 'jobType' failed to satisfy constraint"},
		{[]string{"--job-name", "bad_name"}, 2, "Value 'bad_name' at 'jobName' failed to satisfy constraint"},
		{[]string{"--model-url", "ftp://x"}, 2, "must be an http:// or https:// URL"},
		{[]string{"--model-url", "http://127.0.0.1:1"}, 2, "no sample payload"},
		{[]string{"--payload", "/nonexistent"}, 1, "no such file"},
		{[]string{"--model-command", "/etc/passwd", "--payload", "/etc/hostname"}, 1, "not an executable file"},
		{[]string{"--catalog", "/nonexistent"}, 1, "load catalog"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"--target-cpu-per-core", "0"}, 2, "--target-cpu-per-core must be between 1 and 100, got 0"},
		{[]string{"--target-cpu-per-core", "150"}, 2, "--target-cpu-per-core must be between 1 and 100, got 150"},
		{[]string{"--max-parallel", "-1"}, 2, "--max-parallel must be at least 1"},
		{[]string{"--warmup", "-1s"}, 2, "--warmup must be positive"},
		{[]string{"--level-duration", "0s"}, 2, "--level-duration must be positive"},
		{[]string{"--confirm-duration", "-2s"}, 2, "--confirm-duration must be positive"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), cmdIO{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, append([]string{"recommend"}, tt.args...))
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("recommend %v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
	// demo checks the same flags before it says anything.
	code, stdout, stderr := runCLI(t, nil, "demo", "--warmup", "-1s")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "--warmup must be positive") {
		t.Errorf("demo --warmup -1s: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestRecommendCLIInputJSON runs an Advanced job from a request file written
// for `aws sagemaker create-inference-recommendations-job --cli-input-json`.
func TestRecommendCLIInputJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real job")
	}
	bin := buildInferscale(t)
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog.json")
	job := filepath.Join(dir, "job.json")
	files := map[string]string{
		cat: `{"instanceTypes": [{"name": "test.1cpu", "vcpu": 1, "memoryGiB": 1}]}`,
		job: `{
		  "JobName": "advanced-from-file",
		  "JobType": "Advanced",
		  "RoleArn": "arn:aws:iam::123456789012:role/ignored",
		  "InputConfig": {
		    "EndpointConfigurations": [{"InstanceType": "test.1cpu"}],
		    "TrafficPattern": {"TrafficType": "PHASES", "Phases": [{"InitialNumberOfUsers": 2, "SpawnRate": 60, "DurationInSeconds": 6}]},
		    "VolumeKmsKeyId": "ignored"
		  },
		  "StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 300}]}
		}`,
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "recommend", "--cli-input-json", job, "--catalog", cat,
		"--sample-model", "reference", "--model-env", "INFERSCALE_REFERENCE_SLOTS=2", "--model-env", "INFERSCALE_REFERENCE_SERVICE_TIME=10ms",
		"--warmup", "1s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("recommend: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Job advanced-from-file (Advanced): COMPLETED", "LATENCY P99 ms", "test.1cpu", "no cost figures: the catalog has no price for test.1cpu in us-east-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestProgressPlain: off a terminal, progress prints launches, the
// warm-up's start and each stage's result, not every second.
func TestProgressPlain(t *testing.T) {
	var buf strings.Builder
	p := newProgress(&buf)
	for _, pr := range []recommend.Progress{
		{Step: 1, Steps: 1, Label: "ml.c5.large", Stage: "launch"},
		{Step: 1, Steps: 1, Label: "ml.c5.large", Stage: "warmup", Users: 2, Second: 1, Throughput: 90},
		{Step: 1, Steps: 1, Label: "ml.c5.large", Stage: "warmup", Users: 2, Second: 2, Throughput: 95},
		{Step: 1, Steps: 1, Label: "ml.c5.large", Stage: "ramp", Users: 1, Second: 1, Throughput: 40},
		{Step: 1, Steps: 1, Label: "ml.c5.large", Stage: "ramp", Users: 1, Second: 2, Throughput: 50},
		{Step: 1, Steps: 1, Label: "ml.c5.large", Stage: "ramp", Users: 1, Throughput: 49.5, P95: 3 * time.Millisecond, Done: true},
		{Step: 1, Steps: 1, Label: "ml.c5.large", Stage: "confirm", Rate: 49.5, Second: 1, Throughput: 49},
		{Step: 1, Steps: 1, Label: "ml.c5.large", Stage: "confirm", Rate: 49.5, Throughput: 49.4, P95: 4 * time.Millisecond, Done: true},
	} {
		p.update(pr)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "launch") || !strings.Contains(lines[1], "warmup") ||
		!strings.Contains(lines[2], "ramp     1 users                49.5 req/s  p95    3.00 ms") ||
		!strings.Contains(lines[3], "confirm  50 req/s offered       49.4 req/s  p95    4.00 ms") {
		t.Errorf("progress:\n%s", buf.String())
	}
}

// writeJobFile writes a --cli-input-json file and returns its path.
func writeJobFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJobInputFileWins checks that the file's members win over the flags'
// defaults, that flags fill what it leaves out, and that a flag given
// explicitly must agree with the file.
func TestJobInputFileWins(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	file := writeJobFile(t, `{
	  "JobName": "from-file",
	  "InputConfig": {
	    "EndpointConfigurations": [{"InstanceType": "ml.c5.large"}, {"InstanceType": "ml.m5.large"}],
	    "ResourceLimit": {"MaxParallelOfTests": 2}
	  },
	  "StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 300}]}
	}`)
	parse := func(t *testing.T, args ...string) recommendFlags {
		fs := newFlagSet(cmdIO{stderr: io.Discard}, "recommend", "")
		var f recommendFlags
		f.register(fs)
		if err := fs.Parse(append([]string{"--cli-input-json", file}, args...)); err != nil {
			t.Fatal(err)
		}
		f.set = setFlags(fs)
		return f
	}

	f := parse(t, "--job-type", "Default", "--max-parallel", "2", "--instance-types", "ml.c5.large,ml.m5.large", "--latency-threshold", "p99=300ms")
	in, err := jobInput(&f, cat)
	if err != nil {
		t.Fatalf("agreeing flags: %v", err)
	}
	var types []string
	for _, ec := range in.InputConfig.EndpointConfigurations {
		types = append(types, ec.InstanceType)
	}
	if in.JobName != "from-file" || in.JobType != "Default" || strings.Join(types, ",") != "ml.c5.large,ml.m5.large" ||
		in.InputConfig.ResourceLimit.MaxParallelOfTests != 2 || in.StoppingConditions.ModelLatencyThresholds[0].ValueInMilliseconds != 300 {
		t.Errorf("job input: %+v", in)
	}

	for _, args := range [][]string{
		{"--instance-types", "ml.t2.medium"},
		{"--job-name", "other"},
		{"--max-parallel", "1"},
		{"--latency-threshold", "P95=300ms"},
	} {
		f := parse(t, args...)
		_, err := jobInput(&f, cat)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "disagrees with") {
			t.Errorf("%v: %v, want a usage error saying the flag disagrees with the file", args, err)
		}
	}
}

func TestRecommendCLIInputJSONErrors(t *testing.T) {
	tests := []struct {
		file string
		args []string
		want string
	}{
		{`{"InputConfig": {"ModelName": "mlp"}}`, nil, "InputConfig.ModelName and ModelPackageVersionArn name models registered with a server"},
		{`{"InputConfig": {"ModelPackageVersionArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/p/1"}}`, nil, "--model-command or --model-url"},
		{`{"InputConfig": {"Endpoints": [{"EndpointName": "e"}]}}`, nil, "InputConfig.Endpoints"},
		{`{"Bogus": 1}`, nil, `unknown member "Bogus" in the request`},
		{`{"InputConfig": {"ResourceLimit": {"Bogus": 1}}}`, nil, `unknown member "Bogus" in InputConfig.ResourceLimit`},
		{`{"jobName": "lower-case"}`, nil, `unknown member "jobName"`},
		{`{"InputConfig": {"ResourceLimit": {"MaxNumberOfTests": 0}}}`, nil,
			"Value '0' at 'inputConfig.resourceLimit.maxNumberOfTests' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{`{"InputConfig": {"ResourceLimit": {"MaxNumberOfTests": "x"}}}`, nil, "expected integer"},
		{`{"InputConfig": {"ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": "s3://b/k"}}}}`, nil, "file:// URLs only"},
		{`{"JobType": "Advanced"}`, nil, "TrafficPattern: is required"},
		{`[1]`, nil, "want a JSON object"},
		{`{"JobName": "a"} {}`, nil, "data after the JSON object"},
		{`{"InputConfig": {"EndpointConfigurations": [{"InstanceType": "ml.m5.large"}]}}`, []string{"--instance-types", "ml.c5.large"},
			"--instance-types disagrees with InputConfig.EndpointConfigurations"},
	}
	for _, tt := range tests {
		args := append([]string{"recommend", "--cli-input-json", writeJobFile(t, tt.file)}, tt.args...)
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%s %v: exit %d, stderr %q; want 2 and %q", tt.file, tt.args, code, stderr, tt.want)
		}
	}
}

// TestJSONReport: recommend --output json leaves out the empty RoleArn.
func TestJSONReport(t *testing.T) {
	desc := recommend.JobDescription{JobName: "j", InferenceRecommendations: []recommend.Recommendation{
		{Metrics: &recommend.Metrics{MaxInvocations: 120000}},
	}}
	var buf bytes.Buffer
	if err := writeJSON(&buf, jsonReport(desc, nil)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "RoleArn") || strings.Contains(out, "ScalingConfiguration") || !strings.Contains(out, `"MaxInvocations": 120000`) {
		t.Errorf("empty members in:\n%s", out)
	}
	desc.RoleArn = "arn:aws:iam::123456789012:role/r"
	buf.Reset()
	writeJSON(&buf, jsonReport(desc, &recommend.ScalingRecommendation{}))
	if !strings.Contains(buf.String(), `"RoleArn": "arn:aws:iam::123456789012:role/r"`) || !strings.Contains(buf.String(), "ScalingConfiguration") {
		t.Errorf("RoleArn or scaling missing:\n%s", buf.String())
	}
}

// TestFailureReasonOneLine: a multi-line FailureReason is shown on one line.
func TestFailureReasonOneLine(t *testing.T) {
	var buf bytes.Buffer
	printJob(&buf, recommend.JobDescription{JobName: "j", JobType: "Default", Status: recommend.StatusFailed, FailureReason: "launch failed:\nexit status 1\n  panic: boom"})
	if !strings.Contains(buf.String(), "  FailureReason: launch failed: exit status 1 panic: boom\n") {
		t.Errorf("job:\n%s", buf.String())
	}
	buf.Reset()
	printJobs(&buf, []jobSummary{{JobName: "j", JobType: "Default", Status: recommend.StatusFailed, FailureReason: "a\nb"}})
	if lines := strings.Count(buf.String(), "\n"); lines != 2 {
		t.Errorf("jobs table has %d lines:\n%s", lines, buf.String())
	}
	buf.Reset()
	in := recommend.JobInput{JobName: "j", JobType: recommend.JobTypeDefault}
	rep := &recommend.Report{Status: recommend.StatusCompleted, Steps: []recommend.StepResult{{InstanceType: "ml.m5.large", Status: recommend.StatusFailed, FailureReason: "x\ny"}}}
	printReport(&buf, in, rep, recommend.JobDescription{}, nil, "us-east-1")
	if !strings.Contains(buf.String(), "  - ml.m5.large: failed: x y\n") {
		t.Errorf("report:\n%s", buf.String())
	}
}

// TestJobInputPayloadConfig: a file:// SamplePayloadUrl and the first
// SupportedContentTypes stand for --payload and --content-type.
func TestJobInputPayloadConfig(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := writeJobFile(t, `{"InputConfig": {"EndpointConfigurations": [{"InstanceType": "ml.m5.large"}],
	  "ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": "file://`+filepath.ToSlash(dir)+`", "SupportedContentTypes": ["text/csv"]}}}}`)
	f := recommendFlags{cliInput: file, region: recommend.DefaultRegion, set: map[string]bool{}}
	if _, err := jobInput(&f, cat); err != nil {
		t.Fatal(err)
	}
	if len(f.payloads) != 1 || f.payloads[0] != dir || f.contentType != "text/csv" {
		t.Errorf("payloads %q, content type %q", f.payloads, f.contentType)
	}
	f = recommendFlags{cliInput: file, region: recommend.DefaultRegion, contentType: "application/json", set: map[string]bool{"content-type": true}}
	if _, err := jobInput(&f, cat); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--content-type disagrees") {
		t.Errorf("conflicting --content-type: %v", err)
	}
}
