package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSimulateFlags(t *testing.T) {
	code, help, _ := runCLI(t, nil, "simulate", "-h")
	if code != 0 {
		t.Fatalf("simulate -h: exit %d", code)
	}
	for _, want := range []string{"-policy FILE", "-alarm FILE", "-plot FILE"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	for _, bad := range []string{"(default -1", "-policy value", "-alarm value"} {
		if strings.Contains(help, bad) {
			t.Errorf("help contains %q:\n%s", bad, help)
		}
	}

	dir := t.TempDir()
	trace, policy := filepath.Join(dir, "trace.csv"), filepath.Join(dir, "policy.json")
	files := map[string]string{
		trace: "100\n200\n300\n",
		policy: `{"PolicyName": "p", "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": {
		  "TargetValue": 100, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}`,
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for path, body := range map[string]string{
		filepath.Join(dir, "empty.csv"):      "# nothing\n",
		filepath.Join(dir, "bad.csv"):        "100\nmany\n",
		filepath.Join(dir, "typo.json"):      `{"PolicyNam": "p"}`,
		filepath.Join(dir, "no-target.json"): `{"PolicyName": "p", "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": {"PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}`,
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"simulate", "--trace", trace, "--policy", policy, "--max-invocations", "1000"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--min", "-1"}, "must not be negative"},
		{[]string{"--max", "0"}, "--min and --max must be at least 1"},
		{[]string{"--min", "0"}, "--min and --max must be at least 1"},
		{[]string{"--min", "3", "--max", "2"}, "--min 3 is above --max 2"},
		{[]string{"--setup-time", "-1s"}, "must not be negative"},
		{[]string{"--max-invocations", "-5"}, "--max-invocations must be positive"},
		{[]string{"--cost-per-hour", "-0.1"}, "--cost-per-hour must be a price"},
		{[]string{"--cost-per-hour", "NaN"}, "--cost-per-hour must be a price"},
		// Files that do not do are usage errors too, as recommend's
		// request files are.
		{[]string{"--trace", filepath.Join(dir, "missing.csv")}, "open trace"},
		{[]string{"--trace", filepath.Join(dir, "empty.csv")}, "no invocations in it"},
		{[]string{"--trace", filepath.Join(dir, "bad.csv")}, `line 2: invocations "many" is not a number`},
		{[]string{"--policy", filepath.Join(dir, "typo.json")}, `unknown field "PolicyNam"`},
		{[]string{"--policy", filepath.Join(dir, "no-target.json")}, "TargetValue must be a positive number"},
	} {
		code, stdout, stderr := runCLI(t, nil, append(base, tt.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	// Explicit values, zero included, are used.
	code, stdout, stderr := runCLI(t, nil, append(base, "--min", "2", "--setup-time", "0s")...)
	if code != 0 || !strings.Contains(stdout, "capacity 2..10") || !strings.Contains(stdout, "setup 0s") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestSimulateServerTarget simulates the scalable target of a real server
// (--resource-id without --policy): its bounds, its suspended state, its
// policies and the alarms of its step policies, each alarm once.
func TestSimulateServerTarget(t *testing.T) {
	isolateAWSEnv(t)
	s := startJobsServer(t, nil)
	// The endpoint's model is a server that already runs.
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	}))
	t.Cleanup(model.Close)
	client, err := newAPIClient(context.Background(), clientFlags{endpointURL: s.url, region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	call := func(svc apiService, op string, in map[string]any) map[string]any {
		t.Helper()
		var out map[string]any
		if err := client.callService(context.Background(), svc, op, in, &out); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return out
	}
	call(sagemakerAPI, "CreateModel", map[string]any{"ModelName": "m", "ExecutionRoleArn": jobsTestRole,
		"PrimaryContainer": map[string]any{"Image": model.URL}})
	call(sagemakerAPI, "CreateEndpointConfig", map[string]any{"EndpointConfigName": "ec", "ProductionVariants": []map[string]any{
		{"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.c8g.medium", "InitialInstanceCount": 1}}})
	call(sagemakerAPI, "CreateEndpoint", map[string]any{"EndpointName": "ep", "EndpointConfigName": "ec"})

	const resource = "endpoint/ep/variant/AllTraffic"
	target := map[string]any{"ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount", "ResourceId": resource}
	with := func(kv ...any) map[string]any {
		m := maps.Clone(target)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	call(autoscalingAPI, "RegisterScalableTarget", with("MinCapacity", 1, "MaxCapacity", 8))
	// Two step policies, one's name a prefix of the other's, so that
	// DescribeAlarms' ActionPrefix for up finds up2's alarm too.
	policy := func(name string, cooldown, adjustment int) string {
		out := call(autoscalingAPI, "PutScalingPolicy", with("PolicyName", name, "PolicyType", "StepScaling",
			"StepScalingPolicyConfiguration", map[string]any{"AdjustmentType": "ChangeInCapacity", "Cooldown": cooldown,
				"StepAdjustments": []map[string]any{{"MetricIntervalLowerBound": 0, "ScalingAdjustment": adjustment}}}))
		return out["PolicyARN"].(string)
	}
	up, up2 := policy("up", 600, 2), policy("up2", 0, 1)
	alarm := func(name string, threshold float64, action string) {
		call(cloudwatchAPI, "PutMetricAlarm", map[string]any{"AlarmName": name, "Namespace": "AWS/SageMaker",
			"MetricName": "InvocationsPerInstance", "Dimensions": []map[string]string{{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}},
			"Statistic": "Sum", "Period": 60, "EvaluationPeriods": 2, "Threshold": threshold,
			"ComparisonOperator": "GreaterThanThreshold", "AlarmActions": []string{action}})
	}
	alarm("high", 100000, up)
	alarm("high2", 3000, up2)

	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.csv")
	if err := os.WriteFile(trace, []byte("0\n0\n0\n5000\n5000\n5000\n5000\n5000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	simulate := func() []string {
		t.Helper()
		code, stdout, stderr := runCLI(t, nil, "simulate", "--endpoint-url", s.url, "--trace", trace, "--resource-id", resource,
			"--max-invocations", "1200", "--start", "2026-11-25T00:00:00Z", "--output", "json")
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		var res struct {
			Activities []struct {
				Time, Policy, Alarm string
				From, To            int
			}
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range res.Activities {
			got = append(got, fmt.Sprintf("%s %d→%d %s %s", a.Time, a.From, a.To, a.Policy, a.Alarm))
		}
		return got
	}
	// 5000/min on one instance from minute 3: high2 fires two minutes
	// later, once, and once more a minute after (the new instance serves
	// from 00:06:01); on three instances it is below its threshold.
	want := []string{"2026-11-25T00:05:01Z 1→2 up2 high2", "2026-11-25T00:06:01Z 2→3 up2 high2"}
	if got := simulate(); !slices.Equal(got, want) {
		t.Errorf("activities:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Suspended scale-out on the server holds the scale-outs.
	call(autoscalingAPI, "RegisterScalableTarget", with("SuspendedState", map[string]any{"DynamicScalingOutSuspended": true}))
	if got := simulate(); len(got) != 0 {
		t.Errorf("with scale-out suspended, activities:\n%s", strings.Join(got, "\n"))
	}
}

// TestSimulateAlarmFile takes alarm files in PutMetricAlarm's JSON, as the
// aws CLI's skeleton has it, tags included.
func TestSimulateAlarmFile(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"trace.csv": "0\n0\n0\n5000\n5000\n5000\n",
		"up.json": `{"PolicyName": "up", "PolicyType": "StepScaling", "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity",
		  "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 3}]}}`,
		"alarm.json": `{"AlarmName": "high", "AlarmDescription": "", "ActionsEnabled": true, "OKActions": [], "AlarmActions": ["up"],
		  "InsufficientDataActions": [], "MetricName": "InvocationsPerInstance", "Namespace": "AWS/SageMaker", "Statistic": "Sum",
		  "Dimensions": [{"Name": "EndpointName", "Value": "simulated"}, {"Name": "VariantName", "Value": "AllTraffic"}],
		  "Period": 60, "Unit": "Count", "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Threshold": 3000,
		  "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "missing", "Tags": [{"Key": "team", "Value": "ml"}]}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCLI(t, nil, "simulate", "--trace", filepath.Join(dir, "trace.csv"), "--policy", filepath.Join(dir, "up.json"),
		"--alarm", filepath.Join(dir, "alarm.json"), "--max-invocations", "1200", "--start", "2026-11-25T00:00:00Z")
	if code != 0 || !strings.Contains(stdout, "2026-11-25 00:05:01  1     4   up      high") || stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// An alarm on another endpoint's metric never fires: a warning says so.
	alarm := strings.Replace(files["alarm.json"], `"Value": "simulated"`, `"Value": "my-endpoint"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "alarm.json"), []byte(alarm), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, nil, "simulate", "--trace", filepath.Join(dir, "trace.csv"), "--policy", filepath.Join(dir, "up.json"),
		"--alarm", filepath.Join(dir, "alarm.json"), "--max-invocations", "1200")
	if code != 0 || !strings.Contains(stdout, "0 scaling activities") ||
		!strings.Contains(stderr, "warning: alarm high had no datapoint in the whole simulation, so policy up never ran") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
